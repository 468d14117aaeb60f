import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type KeyLike } from 'jose';
import { Logger } from '@nestjs/common';
import { ProblemException } from '@app/http';
import { resolveJwtSettings } from './jwt-settings';
import { JwtVerifier } from './jwt-verifier';
import type { Principal } from './principal';
import { signToken } from './sign-token';

const SECRET = 'unit-test-secret-of-at-least-32-bytes';
const jane: Principal = { userId: 'u1', name: 'Dr. Jane Roe', roles: ['site-investigator'], sites: ['S01'] };
const claims: JWTPayload = { name: jane.name, roles: jane.roles, sites: jane.sites };
const dataDir = mkdtempSync(join(tmpdir(), 'auth-verifier-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function problemOf(promise: Promise<unknown>): Promise<ProblemException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProblemException) return error;
    throw error;
  }
  throw new Error('expected the token to be refused');
}

function hs256(payload: JWTPayload): SignJWT {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setIssuedAt();
}
const key = (secret: string) => new TextEncoder().encode(secret);

describe('JwtVerifier with an HS256 secret', () => {
  const verifier = new JwtVerifier(resolveJwtSettings({ jwtSecret: SECRET, dataDir }, () => undefined));

  it('reads the Principal of a valid token', async () => {
    await expect(verifier.verify(await signToken(jane, SECRET, { authTime: null }))).resolves.toEqual(jane);
  });

  it('reads when and how the user authenticated (auth_time, amr, acr); signToken sets auth_time to now by default', async () => {
    const before = Math.floor(Date.now() / 1000);
    const principal = await verifier.verify(await signToken(jane, SECRET));
    expect(principal.authTime).toBeGreaterThanOrEqual(before);
    expect(principal.authTime).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    const stepUp = await signToken(jane, SECRET, { authTime: 1_780_000_000, amr: ['pwd', 'otp'], acr: 'urn:example:loa:2' });
    await expect(verifier.verify(stepUp)).resolves.toEqual({
      ...jane,
      authTime: 1_780_000_000,
      amr: ['pwd', 'otp'],
      acr: 'urn:example:loa:2',
    });
  });

  it('refuses a malformed auth_time with TOKEN_INVALID naming the claim', async () => {
    const token = await hs256({ ...claims, auth_time: '1780000000' })
      .setExpirationTime('1h')
      .sign(key(SECRET));
    const problem = (await problemOf(verifier.verify(token))).problem;
    expect(problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    expect(problem.detail).toContain('"auth_time"');
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const token = await hs256(claims).setIssuedAt('-2h').setExpirationTime('-1h').sign(key(SECRET));
    const problem = (await problemOf(verifier.verify(token))).problem;
    expect(problem).toMatchObject({ status: 401, code: 'TOKEN_EXPIRED' });
  });

  it('tolerates a few seconds of clock drift', async () => {
    const token = await hs256(claims).setExpirationTime('-5s').sign(key(SECRET));
    await expect(verifier.verify(token)).resolves.toEqual(jane);
  });

  it('refuses a token signed with another secret', async () => {
    const problem = (await problemOf(verifier.verify(await signToken(jane, 'another-secret-entirely')))).problem;
    expect(problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    expect(problem.detail).toMatch(/signature/);
    // Says why: the usual cause is a token minted for another DATA_DIR or JWT_SECRET.
    expect(problem.detail).toMatch(/signed with another secret .*another DATA_DIR .*JWT_SECRET/);
  });

  it('refuses a token of another algorithm, even one signed with the same secret', async () => {
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).setSubject('u1').setExpirationTime('1h').sign(key(SECRET));
    const { privateKey } = await generateKeyPair('ES256');
    const es256 = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setSubject('u1').setExpirationTime('1h').sign(privateKey);
    for (const token of [hs512, es256]) {
      const problem = (await problemOf(verifier.verify(token))).problem;
      expect(problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
      expect(problem.detail).toMatch(/alg/);
    }
  });

  it('refuses an unsigned token', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ ...claims, sub: 'u1', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
    expect((await problemOf(verifier.verify(`${header}.${body}.`))).problem.code).toBe('TOKEN_INVALID');
  });

  it('refuses a token without an expiry', async () => {
    const problem = (await problemOf(verifier.verify(await hs256(claims).sign(key(SECRET))))).problem;
    expect(problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    expect(problem.detail).toContain('exp');
  });

  it.each(['not-a-jwt', 'a.b.c', '', 'eyJhbGciOiJIUzI1NiJ9..'])('refuses the malformed token %j', async (token) => {
    expect((await problemOf(verifier.verify(token))).problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
  });

  it.each([
    ['sub', { name: jane.name, roles: jane.roles }],
    ['name', { roles: jane.roles }],
    ['roles', { name: jane.name }],
    ['roles', { name: jane.name, roles: ['site-investigator', 'root'] }],
  ])('refuses a valid signature over a bad "%s" claim', async (claim, payload) => {
    const builder = new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h');
    const token = await (claim === 'sub' ? builder : builder.setSubject('u1')).sign(key(SECRET));
    const problem = (await problemOf(verifier.verify(token))).problem;
    expect(problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    expect(problem.detail).toContain(`"${claim}"`);
  });
});

describe('JwtVerifier with a JWKS URL', () => {
  let server: Server;
  let jwksUrl: string;
  let ecKey: KeyLike;
  let rsaKey: KeyLike;
  let requests = 0;

  beforeAll(async () => {
    const ec = await generateKeyPair('ES256');
    const rsa = await generateKeyPair('RS256');
    ecKey = ec.privateKey;
    rsaKey = rsa.privateKey;
    const jwks = JSON.stringify({
      keys: [
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      ],
    });
    server = createServer((request, response) => {
      requests += 1;
      if (request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    // Node's global agent keeps connections alive, which would hold close() open.
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  const verifier = () => new JwtVerifier(resolveJwtSettings({ jwksUrl, databaseUrl: 'postgres://db/trials', dataDir }, () => undefined));
  const signed = (alg: 'ES256' | 'RS256', kid: string, privateKey: KeyLike, payload: JWTPayload = claims) =>
    new SignJWT(payload).setProtectedHeader({ alg, kid }).setSubject('u1').setIssuedAt().setExpirationTime('10m').sign(privateKey);

  it('verifies ES256 and RS256 tokens against keys fetched over HTTP', async () => {
    const subject = verifier();
    await expect(subject.verify(await signed('ES256', 'ec-1', ecKey))).resolves.toEqual(jane);
    await expect(subject.verify(await signed('RS256', 'rsa-1', rsaKey))).resolves.toEqual(jane);
    // An identity provider's auth_time, amr and acr reach the Principal the same way as with a secret.
    const stepUp = { ...claims, auth_time: 1_780_000_000, amr: ['hwk', 'pin'], acr: 'phr' };
    await expect(subject.verify(await signed('ES256', 'ec-1', ecKey, stepUp))).resolves.toEqual({
      ...jane,
      authTime: 1_780_000_000,
      amr: ['hwk', 'pin'],
      acr: 'phr',
    });
    expect(requests).toBeGreaterThan(0);
  });

  it('refuses an HS256 token, whatever secret it was signed with', async () => {
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'ec-1' })
      .setSubject('u1')
      .setExpirationTime('10m')
      .sign(key(SECRET));
    const problem = (await problemOf(verifier().verify(token))).problem;
    expect(problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    expect(problem.detail).toMatch(/alg/);
  });

  it('refuses a token signed by a key outside the set', async () => {
    const stranger = (await generateKeyPair('ES256')).privateKey;
    const subject = verifier();
    expect((await problemOf(subject.verify(await signed('ES256', 'ec-1', stranger)))).problem).toMatchObject({
      status: 401,
      code: 'TOKEN_INVALID',
    });
    expect((await problemOf(subject.verify(await signed('ES256', 'unknown-kid', stranger)))).problem).toMatchObject({
      status: 401,
      code: 'TOKEN_INVALID',
    });
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'ec-1' })
      .setSubject('u1')
      .setExpirationTime('-1h')
      .sign(ecKey);
    expect((await problemOf(verifier().verify(token))).problem).toMatchObject({ status: 401, code: 'TOKEN_EXPIRED' });
  });

  it('answers 503 AUTHENTICATION_UNAVAILABLE, not 401, when the key set cannot be fetched', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const broken = new JwtVerifier(resolveJwtSettings({ jwksUrl: jwksUrl.replace('jwks.json', 'missing.json'), dataDir }, () => undefined));
    const exception = await problemOf(broken.verify(await signed('ES256', 'ec-1', ecKey)));
    expect(exception.problem).toMatchObject({ status: 503, code: 'AUTHENTICATION_UNAVAILABLE' });
    expect(exception.headers['Retry-After']).toBeDefined();
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('missing.json'));
    logged.mockRestore();
  });
});

describe('resolveJwtSettings on the embedded default', () => {
  it('refuses to generate a secret for an in-memory DATA_DIR, writing nothing, and says what to set', () => {
    const cwd = process.cwd();
    const scratch = mkdtempSync(join(tmpdir(), 'jwt-memory-'));
    process.chdir(scratch);
    try {
      expect(() => resolveJwtSettings({ dataDir: 'memory://' }, () => undefined)).toThrow(/memory:\/\/ keeps nothing on disk.*JWT_SECRET/);
      expect(readdirSync(scratch)).toEqual([]);
    } finally {
      process.chdir(cwd);
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('generates a secret once into an on-disk DATA_DIR and reads it back on the next start', () => {
    const disk = mkdtempSync(join(tmpdir(), 'jwt-disk-'));
    try {
      const lines: string[] = [];
      const first = resolveJwtSettings({ dataDir: disk }, (line) => lines.push(line));
      const second = resolveJwtSettings({ dataDir: disk }, (line) => lines.push(line));
      expect(first).toMatchObject({ mode: 'secret' });
      expect(second).toEqual(first);
      expect(lines[0]).toMatch(/generated an HS256 secret into/);
      expect(lines[1]).toMatch(/generated earlier/);
    } finally {
      rmSync(disk, { recursive: true, force: true });
    }
  });
});

describe('JwtVerifier keeps tokens it verified until they expire', () => {
  afterEach(() => jest.useRealTimers());

  it('answers a token again from memory, and refuses it once expired (with the same 30 s tolerance)', async () => {
    jest.useFakeTimers({ now: new Date('2026-06-30T12:00:00Z'), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const verifier = new JwtVerifier(resolveJwtSettings({ jwtSecret: SECRET, dataDir }, () => undefined));
    const token = await hs256(claims)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 10)
      .sign(key(SECRET));
    const first = await verifier.verify(token);
    jest.setSystemTime(new Date('2026-06-30T12:00:39Z')); // exp + 29 s: still within the tolerance
    await expect(verifier.verify(token)).resolves.toBe(first);
    jest.setSystemTime(new Date('2026-06-30T12:00:41Z')); // exp + 31 s
    expect((await problemOf(verifier.verify(token))).problem.code).toBe('TOKEN_EXPIRED');
  });

  it('never answers a token that differs in one character from one verified', async () => {
    const verifier = new JwtVerifier(resolveJwtSettings({ jwtSecret: SECRET, dataDir }, () => undefined));
    const token = await signToken(jane, SECRET);
    await verifier.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await problemOf(verifier.verify(forged))).problem.code).toBe('TOKEN_INVALID');
    const otherPayload = Buffer.from(JSON.stringify({ ...claims, sub: 'u1', roles: ['auditor'], exp: 4_000_000_000 })).toString(
      'base64url',
    );
    expect((await problemOf(verifier.verify(`${header}.${otherPayload}.${signature}`))).problem.code).toBe('TOKEN_INVALID');
  });
});
