/**
 * The distributed deployment as operators run it: the five services and the gateway as separate
 * OS processes (`node dist/apps/<app>/src/main.js`) against one fresh PostgreSQL database, driven
 * only through the gateway over HTTP. Needs DATABASE_URL (a server, any database on it: a new
 * one is created and dropped); without it the suite prints one line and is skipped.
 */
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { GATEWAY_SERVICES, serviceFor } from '../apps/gateway/src/routes';
import { ROLES, signToken, type Role } from '../libs/auth/src';
import { ADJUDICABLE_KINDS } from '../libs/contracts/src';
import { TRIAL_ID, amputationExcludingPlannedMinor, legDebBtkCohort } from '../scripts/demo-cohort';
import { buildApps, freePort, logsOf, startProcess, waitForHealthy, type RunningProcess } from './support/processes';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-database';
import { expectPublishedTable, type EndpointReport } from './support/published-table';
import { routeKey, trialPath, trialRoutes } from './support/trial-routes';

const SERVICES = ['enrollment', 'procedures', 'adverse-events', 'adjudication', 'reporting'] as const;
type Service = (typeof SERVICES)[number];
const URL_VARIABLE: Record<Service, string> = {
  enrollment: 'ENROLLMENT_URL',
  procedures: 'PROCEDURES_URL',
  'adverse-events': 'ADVERSE_EVENTS_URL',
  adjudication: 'ADJUDICATION_URL',
  reporting: 'REPORTING_URL',
};
const SECRET = 'distributed-e2e-secret-0123456789-0123456789';
const serverUrl = process.env.DATABASE_URL?.trim();

if (!serverUrl) {
  describe.skip('distributed deployment (skipped: DATABASE_URL is not set; the services need a PostgreSQL server)', () => {
    it('runs only against a PostgreSQL server', () => undefined);
  });
  console.log('skipped: distributed deployment needs a PostgreSQL server (DATABASE_URL is not set)');
} else {
  describe('distributed deployment: five services and the gateway as separate processes on one PostgreSQL', () => {
    const cohort = legDebBtkCohort();
    const processes: RunningProcess[] = [];
    const services = new Map<Service, RunningProcess>();
    let distDir: string;
    let databaseUrl: string;
    let database: ScratchDatabase | undefined;
    let gateway: string;
    let demoOutput = '';
    const ports = new Map<Service, number>();

    const mainOf = (app: string) => join(distDir, 'apps', app, 'src', 'main.js');
    const token = (roles: Role | Role[], o: { sub?: string; name?: string; sites?: string[] } = {}, secret = SECRET) => {
      const list = Array.isArray(roles) ? roles : [roles];
      return signToken(
        { userId: o.sub ?? `user-${list.join('-')}`, name: o.name ?? `Dr. ${list.join(' ')}`, roles: list, sites: o.sites ?? [] },
        secret,
      );
    };
    const call = async (
      method: string,
      path: string,
      options: { bearer?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.bearer) headers.Authorization = `Bearer ${options.bearer}`;
      if (options.body !== undefined) headers['Content-Type'] = 'application/json';
      const response = await fetch(`${gateway}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json: json as Record<string, unknown> };
    };
    /** Any failure carries the processes' logs: the cause is usually in a service's output. */
    const withLogs = async (step: () => Promise<void>) => {
      try {
        await step();
      } catch (error) {
        if (error instanceof Error) error.message = `${error.message}\n\nprocess logs:\n${logsOf(processes)}`;
        throw error;
      }
    };
    const runDemo = async () => {
      const demo = startProcess(
        'demo',
        join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        { DEMO_URL: gateway, JWT_SECRET: SECRET },
        ['scripts/demo.ts'],
      );
      const code = await demo.exited;
      if (code !== 0) throw new Error(`scripts/demo.ts through the gateway exited with ${code}:\n${demo.output()}`);
      return demo.output();
    };

    beforeAll(async () => {
      await withLogs(async () => {
        distDir = await buildApps('distributed-e2e');
        database = await createScratchDatabase(serverUrl, 'trials_distributed');
        databaseUrl = database.url;

        for (const service of SERVICES) ports.set(service, await freePort());
        // All five at once on an empty database: their migrations must serialise, not collide.
        for (const service of SERVICES) {
          const running = startProcess(service, mainOf(service), {
            DATABASE_URL: databaseUrl,
            JWT_SECRET: SECRET,
            PORT: String(ports.get(service)),
            LOG_LEVEL: 'info',
            DATABASE_POOL_SIZE: '8',
          });
          services.set(service, running);
          processes.push(running);
        }
        const gatewayPort = await freePort();
        const urls = Object.fromEntries(SERVICES.map((s) => [URL_VARIABLE[s], `http://127.0.0.1:${ports.get(s)}`]));
        processes.push(
          startProcess('gateway', mainOf('gateway'), {
            ...urls,
            JWT_SECRET: SECRET,
            PORT: String(gatewayPort),
            LOG_LEVEL: 'info',
            GATEWAY_TIMEOUT_MS: '20000',
          }),
        );
        gateway = `http://127.0.0.1:${gatewayPort}`;
        // The gateway's /health is 200 only once every service answers its own.
        await waitForHealthy(`${gateway}/health`, processes, 90_000);
      });
    }, 240_000);

    afterAll(async () => {
      await Promise.all(processes.map((p) => p.stop()));
      await database?.drop();
    }, 60_000);

    it('a service without DATABASE_URL refuses to start and says why', async () => {
      const alone = startProcess('enrollment without DATABASE_URL', mainOf('enrollment'), {
        DATABASE_URL: undefined,
        JWT_SECRET: SECRET,
        PORT: '0',
      });
      expect(await alone.exited).toBe(1);
      expect(alone.output()).toMatch(/DATABASE_URL: is required: the enrollment service shares one PostgreSQL server/);
    });

    it('loads the seed cohort through the gateway with scripts/demo.ts, and a second run changes nothing', async () => {
      await withLogs(async () => {
        demoOutput = await runDemo();
        const enrolled = cohort.patients.length;
        expect(demoOutput).toMatch(new RegExp(`patients\\s+${enrolled}\\s+\\(new ${enrolled}, already there 0\\)`));
        // The demo compares the server's report with the article and fails on a mismatch.
        expect(demoOutput).toContain('server report (site-reported, crude at 180 days)');
        // Idempotency-Key and its replay header pass through the gateway both ways.
        const again = await runDemo();
        expect(again).toContain(`already loaded: ${TRIAL_ID} was complete`);
        expect(again).toMatch(new RegExp(`patients\\s+${enrolled}\\s+\\(new 0, already there ${enrolled}\\)`));
      });
    }, 180_000);

    it('reports the published table by diabetes through the gateway, from the reporting service', async () => {
      await withLogs(async () => {
        const position = Number(/last global position: (\d+)/.exec(demoOutput)?.[1]);
        expect(position).toBeGreaterThan(0);
        const admin = await token('trial-admin', { sub: 'admin' });
        const path = `/trials/${TRIAL_ID}/reports/endpoints?basis=site-reported&groupBy=diabetes&cutoff=2025-12-31&asOfPosition=${position}`;
        // Other processes wrote the events: the reporting service may still be catching up.
        let answer = await call('GET', path, { bearer: admin });
        for (let attempt = 0; answer.status === 409 && attempt < 30; attempt++) {
          expect({ code: answer.json.code, retryAfter: answer.headers.get('retry-after') }).toEqual({
            code: 'NOT_YET_KNOWN',
            retryAfter: expect.any(String),
          });
          await new Promise((resolve) => setTimeout(resolve, 500));
          answer = await call('GET', path, { bearer: admin });
        }
        expect(answer.status).toBe(200);
        expectPublishedTable(answer.json as unknown as EndpointReport);
      });
    });

    it('the adjudication service opens a case for every adjudicable event reported to the adverse-events service', async () => {
      await withLogs(async () => {
        const chair = await token('cec-chair', { sub: 'cec-chair' });
        const reported = cohort.patients
          .flatMap((p) => p.adverseEvents.filter((e) => ADJUDICABLE_KINDS.includes(e.kind)).map((e) => e.eventId))
          .sort();
        expect(reported.length).toBeGreaterThan(0);
        let cases: string[] = [];
        for (let attempt = 0; attempt < 40 && cases.length < reported.length; attempt++) {
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250));
          const answer = await call('GET', `/trials/${TRIAL_ID}/adjudication/cases`, { bearer: chair });
          expect(answer.status).toBe(200);
          cases = (answer.json as unknown as Array<{ eventId: string }>).map((c) => c.eventId).sort();
        }
        expect(cases).toEqual(reported);
      });
    });

    it('refuses a bad or missing token at the gateway with 401 problem+json', async () => {
      const forged = await token('trial-admin', {}, 'another-secret-0123456789-0123456789-0123');
      const bad = await call('GET', `/trials/${TRIAL_ID}`, { bearer: forged });
      expect({
        status: bad.status,
        type: bad.headers.get('content-type'),
        code: bad.json.code,
        challenge: bad.headers.get('www-authenticate'),
      }).toEqual({
        status: 401,
        type: expect.stringMatching(/^application\/problem\+json/),
        code: 'TOKEN_INVALID',
        challenge: expect.stringMatching(/^Bearer/),
      });
      const missing = await call('POST', `/trials/${TRIAL_ID}/patients/BTK-001/procedures`, { body: {} });
      expect({ status: missing.status, code: missing.json.code }).toEqual({ status: 401, code: 'AUTHENTICATION_REQUIRED' });
    });

    it("passes the services' answers through unchanged: problem+json 4xx, ETag and If-Match, Idempotency-Key, Retry-After", async () => {
      await withLogs(async () => {
        const admin = await token('trial-admin', { sub: 'admin' });
        const site = await token('site-investigator', { sub: 'inv-S01', sites: ['S01'] });
        // 404 of the adverse-events service.
        const unknown = await call('GET', `/trials/${TRIAL_ID}/patients/BTK-001/adverse-events/NO-SUCH-EVENT`, { bearer: site });
        expect({ status: unknown.status, type: unknown.headers.get('content-type'), code: unknown.json.code }).toEqual({
          status: 404,
          type: expect.stringMatching(/^application\/problem\+json/),
          code: 'ADVERSE_EVENT_NOT_FOUND',
        });
        // One request id from the gateway to the service: both log the 404 under the id the client sees.
        const requestId = unknown.headers.get('x-request-id');
        expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(
          processes
            .filter((p) => p.output().includes(`"id":"${requestId}"`))
            .map((p) => p.name)
            .sort(),
        ).toEqual(['adverse-events', 'gateway']);
        // 400 with field errors from the procedures service: the body reached it unparsed by the gateway.
        const invalid = await call('POST', `/trials/${TRIAL_ID}/patients/BTK-001/procedures`, {
          bearer: site,
          body: { procedureId: 'P-X' },
        });
        expect({ status: invalid.status, code: invalid.json.code, errors: Array.isArray(invalid.json.errors) }).toEqual({
          status: 400,
          code: 'VALIDATION_FAILED',
          errors: true,
        });
        // 412 from enrollment for a stale If-Match.
        const trial = await call('GET', `/trials/${TRIAL_ID}`, { bearer: admin });
        const version = trial.json.version as number;
        const stale = await call('PUT', `/trials/${TRIAL_ID}/charter`, {
          bearer: admin,
          body: { version: 'gw-1', endpoints: [amputationExcludingPlannedMinor()] },
          headers: { 'If-Match': `"${version - 1}"` },
        });
        expect({ status: stale.status, code: stale.json.code, currentVersion: stale.json.currentVersion }).toEqual({
          status: 412,
          code: 'VERSION_MISMATCH',
          currentVersion: version,
        });
        // A command's ETag out, its Idempotency-Key replayed.
        const body = { siteId: 'S-GW', name: 'Site added through the gateway', country: 'IT' };
        const created = await call('POST', `/trials/${TRIAL_ID}/sites`, {
          bearer: admin,
          body,
          headers: { 'Idempotency-Key': 'gateway-site-1' },
        });
        expect(created.status).toBe(201);
        expect(created.headers.get('etag')).toBe(`"${String(created.json.streamVersion)}"`);
        const replay = await call('POST', `/trials/${TRIAL_ID}/sites`, {
          bearer: admin,
          body,
          headers: { 'Idempotency-Key': 'gateway-site-1' },
        });
        expect({ status: replay.status, replayed: replay.headers.get('idempotent-replayed'), body: replay.json }).toEqual({
          status: 201,
          replayed: 'true',
          body: created.json,
        });
        // 409 with Retry-After from the reporting service.
        const future = await call('GET', `/trials/${TRIAL_ID}/reports/endpoints?asOfPosition=999999999`, { bearer: admin });
        expect({ status: future.status, code: future.json.code, retryAfter: future.headers.get('retry-after') }).toEqual({
          status: 409,
          code: 'NOT_YET_KNOWN',
          retryAfter: '1',
        });
      });
    });

    it('streams the SVG curve and the NDJSON audit export through the gateway', async () => {
      await withLogs(async () => {
        const admin = await token('trial-admin', { sub: 'admin' });
        const svg = await call(
          'GET',
          `/trials/${TRIAL_ID}/reports/endpoints/freedom-from-amputation/curve?groupBy=diabetes&basis=site-reported&cutoff=2025-12-31`,
          {
            bearer: admin,
            headers: { Accept: 'image/svg+xml' },
          },
        );
        expect({ status: svg.status, type: svg.headers.get('content-type') }).toEqual({
          status: 200,
          type: expect.stringMatching(/^image\/svg\+xml/),
        });
        expect(svg.text.startsWith('<svg')).toBe(true);
        expect(svg.text).toContain('No. at risk');

        const auditor = await token('auditor', { sub: 'auditor-1' });
        const exported = await call('GET', `/trials/${TRIAL_ID}/audit/export`, { bearer: auditor });
        expect({ status: exported.status, type: exported.headers.get('content-type') }).toEqual({
          status: 200,
          type: expect.stringMatching(/^application\/x-ndjson/),
        });
        const lines = exported.text
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as { kind: string; count?: number });
        const manifest = lines.at(-1)!;
        expect(manifest).toMatchObject({ kind: 'manifest', trialId: TRIAL_ID, count: lines.length - 1 });
        expect(lines.length - 1).toBeGreaterThan(cohort.patients.length * 3);
      });
    });

    it('serves the whole API at /docs-json and /docs', async () => {
      const docs = await call('GET', '/docs-json');
      expect(docs.status).toBe(200);
      const paths = Object.keys((docs.json as { paths: Record<string, unknown> }).paths);
      for (const path of [
        '/health',
        '/trials',
        '/trials/{t}/patients/{p}/procedures',
        '/trials/{t}/patients/{p}/adverse-events',
        '/trials/{t}/adjudication/cases',
        '/trials/{t}/reports/endpoints',
        '/trials/{t}/audit/export',
      ]) {
        expect(paths).toContain(path);
      }
      const ui = await fetch(`${gateway}/docs`);
      expect({ status: ui.status, type: ui.headers.get('content-type') }).toEqual({
        status: 200,
        type: expect.stringMatching(/^text\/html/),
      });
    });

    it('every service answers 404 TRIAL_NOT_FOUND on every route under /trials/{t} of a misspelled trial, and writes nothing', async () => {
      await withLogs(async () => {
        const docs = await call('GET', '/docs-json');
        const routes = trialRoutes(docs.json as unknown as Parameters<typeof trialRoutes>[0]);
        // The routes of all five services, as merged by the gateway.
        expect(new Set(routes.map((r) => serviceFor(trialPath(r, TRIAL_ID))))).toEqual(new Set(GATEWAY_SERVICES));
        const misspelled = TRIAL_ID.toLowerCase();
        // One token that every route admits: this checks the trial, not the roles.
        const anyone = await token([...ROLES], { sub: 'anyone', sites: ['S01'] });
        const answers: string[] = [];
        for (const route of routes) {
          const answer = await call(route.method, trialPath(route, misspelled), {
            bearer: anyone,
            ...(route.method === 'GET' ? {} : { body: {} }),
          });
          answers.push(`${routeKey(route)}: ${answer.status} ${String(answer.json?.code)}`);
        }
        expect(answers.filter((a) => !a.endsWith(': 404 TRIAL_NOT_FOUND'))).toEqual([]);
        const dsmb = await token('dsmb-member', { sub: 'dsmb-1' });
        const byArm = await call('GET', `/trials/${misspelled}/reports/endpoints?groupBy=arm`, { bearer: dsmb });
        expect({ status: byArm.status, code: byArm.json.code }).toEqual({ status: 404, code: 'TRIAL_NOT_FOUND' });
        const db = new Client({ connectionString: databaseUrl });
        await db.connect();
        try {
          const { rows } = await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM es_events WHERE stream_id LIKE $1 OR data::text LIKE $1`,
            [`%${misspelled}%`],
          );
          expect(Number(rows[0]!.n)).toBe(0);
        } finally {
          await db.end();
        }
      });
    });

    it('answers 504 problem+json when a service accepts the connection but never answers', async () => {
      // A second gateway whose reporting URL is a socket that accepts and stays silent.
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const silentPort = (silent.address() as AddressInfo).port;
      const port = await freePort();
      const urls = Object.fromEntries(SERVICES.map((s) => [URL_VARIABLE[s], `http://127.0.0.1:${ports.get(s)}`]));
      const second = startProcess('gateway (silent reporting)', mainOf('gateway'), {
        ...urls,
        REPORTING_URL: `http://127.0.0.1:${silentPort}`,
        JWT_SECRET: SECRET,
        PORT: String(port),
        GATEWAY_TIMEOUT_MS: '500',
      });
      processes.push(second);
      try {
        await waitForHealthy(`http://127.0.0.1:${port}/docs-json`, [second], 30_000);
        const admin = await token('trial-admin', { sub: 'admin' });
        const started = Date.now();
        const response = await fetch(`http://127.0.0.1:${port}/trials/${TRIAL_ID}/reports/endpoints`, {
          headers: { Authorization: `Bearer ${admin}` },
        });
        const body = (await response.json()) as { code: string; service: string };
        expect(Date.now() - started).toBeLessThan(5000);
        expect({ status: response.status, type: response.headers.get('content-type'), code: body.code, service: body.service }).toEqual({
          status: 504,
          type: expect.stringMatching(/^application\/problem\+json/),
          code: 'SERVICE_TIMEOUT',
          service: 'reporting',
        });
      } finally {
        await second.stop();
        silent.close();
      }
    });

    it('answers 503 problem+json at once for a service that is down, and /health names it', async () => {
      await withLogs(async () => {
        await services.get('procedures')!.stop();
        const site = await token('site-investigator', { sub: 'inv-S01', sites: ['S01'] });
        const started = Date.now();
        const down = await call('POST', `/trials/${TRIAL_ID}/patients/BTK-001/procedures`, {
          bearer: site,
          body: cohort.patients[0]!.procedure,
        });
        expect(Date.now() - started).toBeLessThan(5000);
        expect({
          status: down.status,
          type: down.headers.get('content-type'),
          code: down.json.code,
          service: down.json.service,
          retryAfter: down.headers.get('retry-after'),
        }).toEqual({
          status: 503,
          type: expect.stringMatching(/^application\/problem\+json/),
          code: 'SERVICE_UNAVAILABLE',
          service: 'procedures',
          retryAfter: '5',
        });
        // The other services still answer.
        const admin = await token('trial-admin', { sub: 'admin' });
        expect((await call('GET', `/trials/${TRIAL_ID}`, { bearer: admin })).status).toBe(200);
        const health = await call('GET', '/health');
        expect({
          status: health.status,
          code: health.json.code,
          down: Object.keys((health.json.health as { error: object }).error),
        }).toEqual({
          status: 503,
          code: 'SERVICES_UNAVAILABLE',
          down: ['procedures'],
        });
      });
    });
  });
}
