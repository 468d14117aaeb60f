/**
 * api.md, Conventions: every route under /trials/{t} answers 404 TRIAL_NOT_FOUND for a trial that
 * does not exist, reads included, and a read never writes anything for an unknown trial. The routes
 * come from the served OpenAPI document, checked against the Nest router, so a new route is covered
 * the day it is added.
 */
import type { INestApplication } from '@nestjs/common';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';
import type { Response } from 'supertest';
import { ROLES, ROLES_KEY, type Role } from '../libs/auth/src';
import { startPlatform, uniqueId, type RunningPlatform } from './support/platform';
import { routeKey, trialPath, trialRoutes, type TrialRoute } from './support/trial-routes';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

type Handler = (...args: unknown[]) => unknown;

/** The routes Nest serves under trials/:t, with the roles each admits (undefined: any authenticated user). */
function routerRoutes(app: INestApplication): Map<string, { key: string; roles: readonly Role[] | undefined }> {
  const reflector = app.get(Reflector);
  const byOperation = new Map<string, { key: string; roles: readonly Role[] | undefined }>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (abstract new (...args: never[]) => unknown) | null;
      if (!controller) continue;
      const prototype = controller.prototype as Record<string, Handler>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined)
          continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        const path = [Reflect.getMetadata(PATH_METADATA, controller) as string, Reflect.getMetadata(PATH_METADATA, handler) as string]
          .flatMap((part) => part.split('/'))
          .filter((segment) => segment !== '')
          .join('/');
        if (!path.startsWith('trials/:t')) continue;
        byOperation.set(`${controller.name}_${name}`, {
          key: `${method} /${path}`,
          roles: reflector.getAllAndOverride<readonly Role[] | undefined>(ROLES_KEY, [handler, controller]),
        });
      }
    }
  }
  return byOperation;
}

describe.each(backends)('every route under /trials/{t} of a trial that does not exist, on %s', (_name, databaseUrl) => {
  let p: RunningPlatform;
  let trialId: string;
  /** The registered trial's id as a user might mistype it: another stream, never written. */
  let misspelled: string;
  let routes: TrialRoute[];
  let router: ReturnType<typeof routerRoutes>;

  const tokenOf = (role: Role) => p.token(role, { sub: `${role}-1`, sites: ['S01'] });
  const send = async (route: TrialRoute, trial: string, token: string | undefined, query = ''): Promise<Response> => {
    const path = `${trialPath(route, trial)}${query}`;
    const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
    const request = p.http[method](path);
    if (token) void request.set('Authorization', `Bearer ${token}`);
    // An empty body: the trial is refused before the body would be.
    return route.method === 'GET' ? request : request.send({});
  };
  const rolesOf = (route: TrialRoute): readonly Role[] => {
    const served = route.operationId ? router.get(route.operationId) : undefined;
    if (!served) throw new Error(`${routeKey(route)} (operation ${route.operationId}) is not a route of the Nest router`);
    return served.roles ?? ROLES;
  };
  /** Events in any stream, or with any payload, that names the trial id. */
  const eventsNaming = async (id: string) =>
    Number(
      (
        await p.dataSource.query<Array<{ n: string }>>(
          `SELECT count(*) AS n FROM es_events WHERE stream_id LIKE $1 OR data::text LIKE $1`,
          [`%${id}%`],
        )
      )[0]!.n,
    );
  const outcome = (response: Response) => ({
    status: response.status,
    type: response.headers['content-type'],
    code: (response.body as { code?: string }).code,
  });

  beforeAll(async () => {
    p = await startPlatform({ databaseUrl });
    trialId = uniqueId('LEG-DEB');
    misspelled = trialId.toLowerCase();
    const admin = await tokenOf('trial-admin');
    await p.http
      .post('/trials')
      .set('Authorization', `Bearer ${admin}`)
      .send({ trialId, title: 'Known trial', protocolVersion: '1.0', arms: ['DCB', 'PTA'] })
      .expect(201);
    await p.http
      .post(`/trials/${trialId}/sites`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ siteId: 'S01', name: 'Site one', country: 'DE' })
      .expect(201);
    const docs = await p.http.get('/docs-json').expect(200);
    routes = trialRoutes(docs.body as Parameters<typeof trialRoutes>[0]);
    router = routerRoutes(p.app);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('takes its routes from the OpenAPI document, which lists every route the router serves under /trials/:t', () => {
    expect(routes.map(routeKey).sort()).toEqual([...router.values()].map((r) => r.key).sort());
    // The reads of issue 11 among them, so an empty or truncated document cannot pass this suite.
    for (const read of [
      '/reports/endpoints',
      '/reports/endpoints/:endpointId/curve',
      '/adjudication/cases',
      '/adjudication/worklist',
      '/adjudication/metrics',
      '/audit',
      '/audit/review',
      '/audit/export',
    ]) {
      expect(routes.map(routeKey)).toContain(`GET /trials/:t${read}`);
    }
  });

  it('answers 404 TRIAL_NOT_FOUND problem+json on every route, to every role the route admits, and writes nothing', async () => {
    const before = await p.eventCount();
    const answers: string[] = [];
    for (const route of routes) {
      for (const role of rolesOf(route)) {
        const { status, type, code } = outcome(await send(route, misspelled, await tokenOf(role)));
        answers.push(`${routeKey(route)} as ${role}: ${status} ${code} ${type?.split(';')[0]}`);
      }
    }
    expect(answers.length).toBeGreaterThanOrEqual(routes.length);
    expect(answers.filter((a) => !a.endsWith(': 404 TRIAL_NOT_FOUND application/problem+json'))).toEqual([]);
    expect(await eventsNaming(misspelled)).toBe(0);
    // The embedded store is this suite's alone: nothing at all was written.
    if (!databaseUrl) expect(await p.eventCount()).toBe(before);
  });

  it('records no unblinded view for a DSMB read by arm of a misspelled trial, as it does for the trial itself', async () => {
    const dsmb = await tokenOf('dsmb-member');
    const unblindedViews = async (id: string) =>
      Number(
        (
          await p.dataSource.query<Array<{ n: string }>>(
            `SELECT count(*) AS n FROM es_events WHERE stream_id = $1 AND event_type = 'UnblindedResultsViewed'`,
            [`unblinding/${id}`],
          )
        )[0]!.n,
      );
    const report = routes.find((r) => routeKey(r) === 'GET /trials/:t/reports/endpoints')!;
    const curve = routes.find((r) => routeKey(r) === 'GET /trials/:t/reports/endpoints/:endpointId/curve')!;
    const curveOf = { ...curve, template: curve.template.replace('{endpointId}', 'freedom-from-amputation') };

    const before = await p.eventCount();
    for (const route of [report, curveOf]) {
      expect(outcome(await send(route, misspelled, dsmb, '?groupBy=arm'))).toEqual({
        status: 404,
        type: expect.stringMatching(/^application\/problem\+json/),
        code: 'TRIAL_NOT_FOUND',
      });
    }
    expect(await unblindedViews(misspelled)).toBe(0);
    expect(await eventsNaming(misspelled)).toBe(0);
    if (!databaseUrl) expect(await p.eventCount()).toBe(before);

    // The same reads of the registered trial are recorded, one event each (ICH E6(R3) 3.16.1(g)).
    const recorded = await unblindedViews(trialId);
    for (const route of [report, curveOf]) expect((await send(route, trialId, dsmb, '?groupBy=arm')).status).toBe(200);
    expect(await unblindedViews(trialId)).toBe(recorded + 2);
  });

  it('still answers 401 without a token, and 403 to a role the route does not admit', async () => {
    const answers: string[] = [];
    for (const route of routes) {
      answers.push(`${routeKey(route)} without a token: ${outcome(await send(route, misspelled, undefined)).code}`);
      for (const role of ROLES.filter((r) => !rolesOf(route).includes(r))) {
        answers.push(`${routeKey(route)} as ${role}: ${outcome(await send(route, misspelled, await tokenOf(role))).code}`);
      }
    }
    expect(answers.filter((a) => !/without a token: AUTHENTICATION_REQUIRED$|as [a-z-]+: ROLE_FORBIDDEN$/.test(a))).toEqual([]);
    expect(await eventsNaming(misspelled)).toBe(0);
  });

  it('refuses a trial id that is not an id with 400 INVALID_ID before it reads anything', async () => {
    const answers: string[] = [];
    for (const route of routes) {
      const [role] = rolesOf(route);
      answers.push(`${routeKey(route)}: ${outcome(await send(route, 'not an id', await tokenOf(role!))).code}`);
    }
    expect(answers.filter((a) => !a.endsWith(': INVALID_ID'))).toEqual([]);
  });

  it('answers the registered trial as before: its reads 200, its commands still run', async () => {
    const reads = routes.filter((r) => r.method === 'GET' && !/\{(?!t\})\w+\}/.test(r.template));
    expect(reads.length).toBeGreaterThanOrEqual(8);
    const answers: string[] = [];
    for (const route of reads)
      answers.push(`${routeKey(route)}: ${(await send(route, trialId, await tokenOf(rolesOf(route)[0]!))).status}`);
    expect(answers.filter((a) => !a.endsWith(': 200'))).toEqual([]);

    const exported = await p.http
      .get(`/trials/${trialId}/audit/export`)
      .set('Authorization', `Bearer ${await tokenOf('auditor')}`)
      .expect(200);
    const manifest = JSON.parse(exported.text.trimEnd().split('\n').at(-1)!) as { kind: string; count: number; rootHash: string };
    expect(manifest).toMatchObject({ kind: 'manifest', trialId, rootHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(manifest.count).toBeGreaterThanOrEqual(2);
    expect(manifest.rootHash).not.toBe('0'.repeat(64));

    const admin = await tokenOf('trial-admin');
    await p.http
      .post(`/trials/${trialId}/sites`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ siteId: 'S02', name: 'Site two', country: 'IT' })
      .expect(201);
  });

  it('finds a trial registered a moment after a 404 for it: a miss is never remembered', async () => {
    const late = uniqueId('LATE');
    const admin = await tokenOf('trial-admin');
    const audit = () => p.http.get(`/trials/${late}/audit`).set('Authorization', `Bearer ${admin}`);
    expect(outcome(await audit()).code).toBe('TRIAL_NOT_FOUND');
    await p.http
      .post('/trials')
      .set('Authorization', `Bearer ${admin}`)
      .send({ trialId: late, title: 'Registered late', protocolVersion: '1.0' })
      .expect(201);
    expect((await audit()).status).toBe(200);
  });
});
