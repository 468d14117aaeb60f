import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { signToken, type Principal, type Role } from '../../libs/auth/src';
import { DATA_SOURCE, FixedClock } from '../../libs/event-store/src';
import { PlatformModule } from '../../apps/platform/src/platform.module';
import { configureHttp, createApiApp } from '../../libs/runtime/src';

export const TEST_SECRET = 'e2e-secret-0123456789-0123456789-0123456789';

export interface TokenOptions {
  sub?: string;
  name?: string;
  sites?: string[];
  authTime?: Date | number | null;
  amr?: string[];
  acr?: string;
}

export interface RunningPlatform {
  app: INestApplication;
  http: ReturnType<typeof request>;
  clock: FixedClock;
  dataSource: DataSource;
  /**
   * A token as minted at a login now, by the test clock: its auth_time is the platform's clock, so
   * it can sign reviews and rulings for SIGNATURE_MAX_AGE of test time (21 CFR 11.200(a)(1)).
   * `authTime` sets another login instant (`null`: no auth_time claim); `amr`/`acr` add those claims.
   */
  token(roles: Role | Role[], options?: TokenOptions): Promise<string>;
  /** Events written by requests; case streams, which a subscriber derives in the background, are left out. */
  eventCount(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Boots the platform exactly as main.ts does, on an in-memory PGlite or, with `databaseUrl`,
 * on a PostgreSQL server (a fresh schema per boot is not needed: tests use unique ids).
 */
export async function startPlatform(
  options: { databaseUrl?: string; today?: string; signatureMaxAge?: number } = {},
): Promise<RunningPlatform> {
  const saved = { ...process.env };
  process.env.JWT_SECRET = TEST_SECRET;
  // Suites that move the test clock by hours between phases sign with tokens minted once before
  // (seed-cohort.ts in replay.e2e): for them a login stays fresh for a day of test time. Suites
  // about the signing ceremony itself pass the production default, 300 (api.md, SIGNATURE_MAX_AGE).
  process.env.SIGNATURE_MAX_AGE = String(options.signatureMaxAge ?? 86_400);
  process.env.LOG_LEVEL = 'silent';
  process.env.DATA_DIR = 'memory://';
  if (options.databaseUrl) process.env.DATABASE_URL = options.databaseUrl;
  else delete process.env.DATABASE_URL;
  const clock = new FixedClock(new Date(`${options.today ?? '2026-06-30'}T12:00:00.000Z`));
  try {
    const app = await createApiApp(PlatformModule.forRoot({ clock }), {
      bufferLogs: false,
      logger: false,
      abortOnError: false,
    });
    configureHttp(app);
    await app.listen(0);
    const dataSource = app.get<DataSource>(DATA_SOURCE);
    return {
      app,
      http: request(app.getHttpServer()),
      clock,
      dataSource,
      token: (roles, o = {}) => {
        const list = Array.isArray(roles) ? roles : [roles];
        const principal: Principal = {
          userId: o.sub ?? `user-${list.join('-')}`,
          name: o.name ?? `Dr. ${list.join(' ')}`,
          roles: list,
          sites: o.sites ?? [],
        };
        // The platform runs on the FixedClock, not the system time: a login "now" is the clock's now.
        const authTime = o.authTime === undefined ? clock.now() : o.authTime;
        return signToken(principal, TEST_SECRET, { authTime, ...(o.amr ? { amr: o.amr } : {}), ...(o.acr ? { acr: o.acr } : {}) });
      },
      eventCount: async () =>
        Number((await dataSource.query(`SELECT count(*) AS n FROM es_events WHERE stream_id NOT LIKE 'case/%'`))[0].n),
      close: () => app.close(),
    };
  } finally {
    process.env = saved;
  }
}

let counter = 0;
/** A fresh id per call, so suites sharing a server database never collide. */
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter += 1)}`;

/** A new trial (unique id) with one site S01, registered by a trial admin; returns the trial id. */
export async function registerTrialWithSite(p: RunningPlatform, title: string): Promise<string> {
  const admin = await p.token('trial-admin');
  const trialId = uniqueId('T');
  await p.http.post('/trials').set('Authorization', `Bearer ${admin}`).send({ trialId, title, protocolVersion: '1' }).expect(201);
  await p.http
    .post(`/trials/${trialId}/sites`)
    .set('Authorization', `Bearer ${admin}`)
    .send({ siteId: 'S01', name: 'One', country: 'IT' })
    .expect(201);
  return trialId;
}
