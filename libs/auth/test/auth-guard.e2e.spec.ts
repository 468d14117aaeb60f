import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ArgumentsHost,
  Catch,
  Controller,
  type ExceptionFilter,
  Get,
  type INestApplication,
  Module,
  Param,
  Post,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SignJWT } from 'jose';
import request from 'supertest';
import { ProblemException } from '@app/http';
import { AuthModule, CurrentPrincipal, Public, Roles, assertSiteAccess, signToken, type Principal, type Role } from '@app/auth';

const SECRET = 'e2e-test-secret-of-at-least-32-bytes!';

/** Stands in for the app's problem+json filter, which lives elsewhere. */
@Catch(ProblemException)
class ProblemJsonFilter implements ExceptionFilter {
  catch(exception: ProblemException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<{
      status(code: number): { set(headers: Record<string, string>): { type(type: string): { send(body: string): void } } };
    }>();
    response
      .status(exception.problem.status)
      .set(exception.headers)
      .type('application/problem+json')
      .send(JSON.stringify(exception.problem));
  }
}

@Controller('trials/:trialId')
class TrialsController {
  @Public()
  @Get('ping')
  ping(): { ok: true } {
    return { ok: true };
  }

  @Get('me')
  me(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }

  @Roles('trial-admin')
  @Post('sites')
  addSite(@CurrentPrincipal() principal: Principal): { by: string } {
    return { by: principal.userId };
  }

  @Roles('site-investigator')
  @Post('sites/:siteId/patients')
  enroll(@CurrentPrincipal() principal: Principal, @Param('siteId') siteId: string): { siteId: string; by: string } {
    assertSiteAccess(principal, siteId, ['site-investigator']);
    return { siteId, by: principal.userId };
  }
}

@Module({ controllers: [TrialsController] })
class TrialsModule {}

// Exercises forRootAsync's imports/inject the way the platform passes ConfigService.
@Module({ providers: [{ provide: 'AUTH_TEST_SECRET', useValue: SECRET }], exports: ['AUTH_TEST_SECRET'] })
class SecretModule {}

describe('AuthModule over HTTP', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-e2e-'));
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuthModule.forRootAsync({
          inject: ['AUTH_TEST_SECRET'],
          useFactory: (secret: string) => ({ jwtSecret: secret, dataDir }),
          imports: [SecretModule],
        }),
        TrialsModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new ProblemJsonFilter());
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const http = () => request(app.getHttpServer());
  const token = (roles: Role[], sites: string[] = []) => signToken({ userId: 'u1', name: 'Dr. Jane Roe', roles, sites }, SECRET);

  it('lets a @Public route through without a token', async () => {
    await http().get('/trials/T1/ping').expect(200, { ok: true });
  });

  it.each([
    ['no header', undefined],
    ['a Basic header', 'Basic dTE6cGFzcw=='],
    ['an empty Bearer', 'Bearer '],
  ])('answers 401 AUTHENTICATION_REQUIRED with %s', async (_what, header) => {
    const call = http().get('/trials/T1/me');
    const response = await (header ? call.set('Authorization', header) : call).expect(401);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(JSON.parse(response.text)).toMatchObject({ status: 401, code: 'AUTHENTICATION_REQUIRED' });
  });

  it('answers 401 TOKEN_INVALID to a token signed with another secret', async () => {
    const forged = await signToken({ userId: 'u1', name: 'Mallory', roles: ['trial-admin'], sites: [] }, 'not-the-server-secret');
    const response = await http().post('/trials/T1/sites').set('Authorization', `Bearer ${forged}`).expect(401);
    expect(JSON.parse(response.text)).toMatchObject({ code: 'TOKEN_INVALID' });
    expect(response.headers['www-authenticate']).toContain('invalid_token');
  });

  it('answers 401 TOKEN_EXPIRED to an expired token', async () => {
    const expired = await new SignJWT({ name: 'Dr. Jane Roe', roles: ['trial-admin'], sites: [] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setExpirationTime('-1h')
      .sign(new TextEncoder().encode(SECRET));
    const response = await http().get('/trials/T1/me').set('Authorization', `Bearer ${expired}`).expect(401);
    expect(JSON.parse(response.text)).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('puts the Principal on the request', async () => {
    const response = await http()
      .get('/trials/T1/me')
      .set('Authorization', `bearer ${await token(['sponsor'])}`)
      .expect(200);
    expect(response.body).toEqual({ userId: 'u1', name: 'Dr. Jane Roe', roles: ['sponsor'], sites: [], authTime: expect.any(Number) });
  });

  it('answers 403 ROLE_FORBIDDEN naming the roles needed, and 2xx to the role', async () => {
    const response = await http()
      .post('/trials/T1/sites')
      .set('Authorization', `Bearer ${await token(['site-investigator'], ['S01'])}`)
      .expect(403);
    const problem = JSON.parse(response.text);
    expect(problem).toMatchObject({ status: 403, code: 'ROLE_FORBIDDEN', requiredRoles: ['trial-admin'] });
    expect(problem.detail).toContain('trial-admin');

    await http()
      .post('/trials/T1/sites')
      .set('Authorization', `Bearer ${await token(['trial-admin'])}`)
      .expect(201, { by: 'u1' });
  });

  it('scopes a site-investigator to its sites with 403 SITE_FORBIDDEN', async () => {
    const investigator = `Bearer ${await token(['site-investigator', 'cec-reviewer'], ['S01'])}`;
    await http().post('/trials/T1/sites/S01/patients').set('Authorization', investigator).expect(201, { siteId: 'S01', by: 'u1' });
    const response = await http().post('/trials/T1/sites/S02/patients').set('Authorization', investigator).expect(403);
    expect(JSON.parse(response.text)).toMatchObject({ status: 403, code: 'SITE_FORBIDDEN' });
  });

  it('checks the role before the site, so a trial-admin cannot enroll patients anywhere', async () => {
    const response = await http()
      .post('/trials/T1/sites/S01/patients')
      .set('Authorization', `Bearer ${await token(['trial-admin'])}`)
      .expect(403);
    expect(JSON.parse(response.text)).toMatchObject({ code: 'ROLE_FORBIDDEN' });
  });
});
