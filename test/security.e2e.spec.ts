/**
 * Security headers and CORS as a browser meets them, on the platform (configureHttp, which every
 * standalone service shares) and on the gateway (configureGateway): every kind of answer carries
 * the headers, and Access-Control-* appears only for an origin named in CORS_ORIGINS.
 */
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { GatewayModule } from '../apps/gateway/src/gateway.module';
import { GATEWAY_NEST_OPTIONS, configureGateway } from '../apps/gateway/src/setup';
import { startPlatform, TEST_SECRET, type RunningPlatform } from './support/platform';

const LISTED = 'https://app.example.org';
const ALSO_LISTED = 'http://localhost:5173';
const OTHER = 'https://evil.example.com';

type Answer = { status: number; headers: Record<string, string | undefined>; text: string };

/** What every answer carries, whatever it is. */
function expectCommonHeaders(response: Answer): void {
  expect(response.headers).toMatchObject({
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
  });
  expect(response.headers['x-powered-by']).toBeUndefined();
  // Plain HTTP: HSTS is the TLS terminator's to send (see libs/http/src/security.ts).
  expect(response.headers['strict-transport-security']).toBeUndefined();
}

/** A JSON or problem+json answer: data, never a page, so nothing may load or frame it. */
function expectApiHeaders(response: Answer): void {
  expectCommonHeaders(response);
  expect(response.headers['cache-control']).toMatch(/\bno-store\b/);
  const csp = directives(response);
  expect(csp).toEqual({ 'default-src': ["'none'"], 'frame-ancestors': ["'none'"], 'base-uri': ["'none'"], 'form-action': ["'none'"] });
}

function directives(response: Answer): Record<string, string[]> {
  const header = response.headers['content-security-policy'];
  expect(header).toBeDefined();
  return Object.fromEntries(
    header!
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

/** The Swagger UI page: its own scripts only, no inline script a strict script-src would block. */
async function expectDocsUi(http: () => ReturnType<typeof request>): Promise<void> {
  const page = await http().get('/docs').expect(200);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expectCommonHeaders(page);
  const csp = directives(page);
  expect(csp['script-src']).toEqual(["'self'"]);
  expect(csp['connect-src']).toEqual(["'self'"]);
  expect(csp['frame-ancestors']).toEqual(["'none'"]);
  expect(csp['object-src']).toEqual(["'none'"]);
  expect(csp['default-src']).toEqual(["'self'"]);

  const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  expect(scripts.length).toBeGreaterThan(0);
  for (const [, attributes, body] of scripts) {
    // An inline script would be refused by script-src 'self': every script is a file of this origin,
    // resolved as the browser at /docs resolves it.
    expect(body!.trim()).toBe('');
    const src = /src=["']([^"']+)["']/.exec(attributes!)?.[1];
    expect(src).toMatch(/^\.?\/?[\w./-]+\.js$/);
    // nosniff makes the browser refuse a script not served as JavaScript.
    const script = await http().get(new URL(src!, 'http://host/docs').pathname).expect(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expectCommonHeaders(script);
  }
}

function expectNoCors(response: Answer): void {
  const cors = Object.keys(response.headers).filter((name) => name.startsWith('access-control-'));
  expect(cors).toEqual([]);
}

const preflight = (http: ReturnType<typeof request>, path: string, origin: string) =>
  http
    .options(path)
    .set('Origin', origin)
    .set('Access-Control-Request-Method', 'POST')
    .set('Access-Control-Request-Headers', 'authorization,content-type,idempotency-key');

/** Runs `boot` with `env` added to the environment, which is restored afterwards. */
async function withEnv<T>(env: Record<string, string>, boot: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await boot();
  } finally {
    process.env = saved;
  }
}

describe('security headers and CORS on the platform', () => {
  let plain: RunningPlatform;
  let withCors: RunningPlatform;

  beforeAll(async () => {
    plain = await withEnv({ CORS_ORIGINS: '' }, () => startPlatform());
    withCors = await withEnv({ CORS_ORIGINS: ` ${LISTED}, ${ALSO_LISTED} ` }, () => startPlatform());
  });
  afterAll(async () => {
    await plain?.close();
    await withCors?.close();
  });

  it('puts the headers on a JSON answer, a problem+json error and the OpenAPI document', async () => {
    const health = await plain.http.get('/health').expect(200);
    expect(health.headers['content-type']).toMatch(/^application\/json/);
    expectApiHeaders(health);

    const admin = await plain.token('trial-admin');
    const created = await plain.http
      .post('/trials')
      .set('Authorization', `Bearer ${admin}`)
      .send({ trialId: 'SEC-1', title: 'Headers', protocolVersion: '1' })
      .expect(201);
    expectApiHeaders(created);

    const unauthenticated = await plain.http.get('/trials/SEC-1').expect(401);
    expect(unauthenticated.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectApiHeaders(unauthenticated);
    const malformed = await plain.http
      .post('/trials')
      .set('Authorization', `Bearer ${admin}`)
      .set('Content-Type', 'application/json')
      .send('{"trialId":')
      .expect(400);
    expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectApiHeaders(malformed);
    const unknownRoute = await plain.http.get('/no-such-route').expect(404);
    expectApiHeaders(unknownRoute);

    expectApiHeaders(await plain.http.get('/docs-json').expect(200));
  });

  it('serves /docs with a policy that lets the Swagger UI load its own files and nothing else', async () => {
    await expectDocsUi(() => plain.http);
  });

  it('answers no origin with CORS headers when CORS_ORIGINS is empty, preflights included', async () => {
    for (const origin of [LISTED, OTHER]) {
      const read = await plain.http.get('/health').set('Origin', origin).expect(200);
      expectNoCors(read);
      const refused = await plain.http.get('/trials/SEC-1').set('Origin', origin).expect(401);
      expectNoCors(refused);
      const answer = await preflight(plain.http, '/trials', origin);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expectNoCors(answer);
      expectApiHeaders(answer);
    }
  });

  it('allows exactly the listed origins: reads, errors and preflights', async () => {
    for (const origin of [LISTED, ALSO_LISTED]) {
      const read = await withCors.http.get('/health').set('Origin', origin).expect(200);
      expect(read.headers['access-control-allow-origin']).toBe(origin);
      expect(read.headers['access-control-allow-credentials']).toBeUndefined();
      expect(read.headers['access-control-expose-headers']?.split(',')).toEqual(
        expect.arrayContaining(['ETag', 'Location', 'Retry-After', 'WWW-Authenticate']),
      );
      expect(read.headers.vary).toMatch(/Origin/);
      expectApiHeaders(read);
      // A browser app can read why it was refused.
      const refused = await withCors.http.get('/trials/SEC-1').set('Origin', origin).expect(401);
      expect(refused.headers['access-control-allow-origin']).toBe(origin);

      const answer = await preflight(withCors.http, '/trials', origin).expect(204);
      expect(answer.headers['access-control-allow-origin']).toBe(origin);
      expect(answer.headers['access-control-allow-methods']?.split(',')).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT']));
      expect(answer.headers['access-control-allow-headers']?.split(',')).toEqual(
        expect.arrayContaining(['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match']),
      );
    }
  });

  it('gives another origin nothing, not even a partial preflight answer', async () => {
    for (const origin of [OTHER, `${LISTED}:8443`, 'http://app.example.org', 'null']) {
      const read = await withCors.http.get('/health').set('Origin', origin).expect(200);
      expectNoCors(read);
      expect(read.headers.vary).toMatch(/Origin/);
      const answer = await preflight(withCors.http, '/trials', origin);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expectNoCors(answer);
    }
    // Same-origin requests send no Origin and are served as ever.
    expectNoCors(await withCors.http.get('/health').expect(200));
  });

  it('refuses to start on an invalid CORS_ORIGINS, naming the variable', async () => {
    await expect(withEnv({ CORS_ORIGINS: `${LISTED},*` }, () => startPlatform())).rejects.toThrow(/CORS_ORIGINS: "\*" is not an origin/);
    await expect(withEnv({ CORS_ORIGINS: `${LISTED}/app` }, () => startPlatform())).rejects.toThrow(/CORS_ORIGINS: .*is not an origin/);
  });
});

describe('security headers and CORS on the gateway', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    // No service runs: the gateway's own answers (401 at the edge, /docs, preflights) are what is tested.
    const nowhere = 'http://127.0.0.1:9';
    app = await withEnv(
      {
        ENROLLMENT_URL: nowhere,
        PROCEDURES_URL: nowhere,
        ADVERSE_EVENTS_URL: nowhere,
        ADJUDICATION_URL: nowhere,
        REPORTING_URL: nowhere,
        JWT_SECRET: TEST_SECRET,
        LOG_LEVEL: 'silent',
        CORS_ORIGINS: LISTED,
      },
      async () => {
        const options = { ...GATEWAY_NEST_OPTIONS, bufferLogs: false, logger: false, abortOnError: false } as const;
        const created = await NestFactory.create(GatewayModule.forRoot(), options);
        configureGateway(created);
        await created.listen(0);
        return created;
      },
    );
    http = request(app.getHttpServer());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('puts the headers on its own problem+json and on /docs', async () => {
    const refused = await http.get('/trials/T1/reports/endpoints').expect(401);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectApiHeaders(refused);
    expectApiHeaders(await http.get('/no-such-route').expect(404));
    await expectDocsUi(() => http);
  });

  it('answers CORS for the listed origin before routing, and nothing for another', async () => {
    const refused = await http.get('/trials/T1').set('Origin', LISTED).expect(401);
    expect(refused.headers['access-control-allow-origin']).toBe(LISTED);
    const answer = await preflight(http, '/trials/T1/patients', LISTED).expect(204);
    expect(answer.headers['access-control-allow-origin']).toBe(LISTED);

    expectNoCors(await http.get('/trials/T1').set('Origin', OTHER).expect(401));
    const other = await preflight(http, '/trials/T1/patients', OTHER);
    expect(other.status).toBeGreaterThanOrEqual(400);
    expectNoCors(other);
  });
});
