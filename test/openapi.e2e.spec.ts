import { execFileSync } from 'node:child_process';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import type { z } from 'zod';
import { QUERY_SCHEMA_KEY } from '../libs/http/src';
import { buildInfo } from '../libs/runtime/src/version.controller';
import { startPlatform, type RunningPlatform } from './support/platform';

/**
 * The served OpenAPI document is usable on its own (issue #15): valid OpenAPI 3, every query
 * parameter a handler reads and no other, a summary, description and problem+json errors per
 * operation, and examples the API itself accepts.
 */

interface Parameter {
  name: string;
  in: string;
  example?: unknown;
}
interface Response {
  description?: string;
  content?: Record<string, { schema?: { $ref?: string } }>;
  headers?: Record<string, unknown>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  security?: unknown[];
  requestBody?: {
    content: Record<string, { schema?: { $ref?: string }; example?: unknown; examples?: Record<string, { value: unknown }> }>;
  };
  responses: Record<string, Response>;
}
interface Document {
  openapi: string;
  info: { version: string };
  paths: Record<string, Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', Operation>>>;
  components: { schemas: Record<string, { example?: unknown }>; securitySchemes: Record<string, { description?: string }> };
}

/**
 * @apidevtools/swagger-parser's errors for the document, checked in a plain Node process: the
 * validator loads an ES module, which Node requires natively and Jest's module loader does not.
 */
function openApiErrors(document: Document): string {
  const script = `
    const SwaggerParser = require('@apidevtools/swagger-parser');
    let input = '';
    process.stdin.on('data', (chunk) => (input += chunk)).on('end', () =>
      SwaggerParser.validate(JSON.parse(input)).then(() => process.stdout.write(''), (error) => process.stdout.write(error.message)));
  `;
  return execFileSync(process.execPath, ['-e', script], { input: JSON.stringify(document), cwd: __dirname, encoding: 'utf8' });
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
type Method = (typeof METHODS)[number];

function operations(document: Document): Array<{ method: Method; path: string; operation: Operation }> {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => (item[method] ? [{ method, path, operation: item[method] }] : [])),
  );
}

describe('the OpenAPI document at /docs-json', () => {
  let p: RunningPlatform;
  let document: Document;

  beforeAll(async () => {
    p = await startPlatform();
    document = (await p.http.get('/docs-json').expect(200)).body as Document;
  });
  afterAll(async () => {
    await p?.close();
  });

  it('validates against the OpenAPI 3 schema, with the package version and how to get a token', () => {
    expect(openApiErrors(document)).toBe('');
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.version).toBe(buildInfo().version);
    expect(document.components.securitySchemes.bearer?.description).toContain('npm run -s token -- --sub u1');
  });

  it('declares every query parameter a handler reads, and no other', () => {
    const byOperationId = new Map(operations(document).map((o) => [o.operation.operationId, o.operation]));
    const checked: string[] = [];
    for (const module of p.app.get(ModulesContainer).values()) {
      for (const { metatype } of module.controllers.values()) {
        if (typeof metatype !== 'function') continue;
        const prototype = metatype.prototype as Record<string, unknown>;
        for (const name of Object.getOwnPropertyNames(prototype)) {
          const handler = prototype[name];
          if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
          const operationId = `${metatype.name}_${name}`;
          // A raw @Query() would read parameters no schema names: every handler reads its query through ValidQuery.
          const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, metatype, name) ?? {}) as Record<string, unknown>;
          expect({ operationId, rawQuery: Object.keys(args).filter((key) => key.startsWith(`${RouteParamtypes.QUERY}:`)) }).toEqual({
            operationId,
            rawQuery: [],
          });
          const operation = byOperationId.get(operationId);
          if (!operation) continue; // left out of the document on purpose (@ApiExcludeController: /metrics)
          const schema = Reflect.getMetadata(QUERY_SCHEMA_KEY, handler) as z.ZodObject | undefined;
          const read = Object.keys(schema?.shape ?? {}).sort();
          const documented = (operation.parameters ?? [])
            .filter((parameter) => parameter.in === 'query')
            .map((parameter) => parameter.name)
            .sort();
          expect({ operationId, documented }).toEqual({ operationId, documented: read });
          checked.push(`${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod]} ${operationId} ${read.join(',')}`);
        }
      }
    }
    // The reads of api.md with query parameters are among them, so a document without any cannot pass.
    expect(checked).toEqual(
      expect.arrayContaining([
        'GET ReportingController_endpoints asOf,asOfPosition,basis,cutoff,groupBy',
        'GET ReportingController_curve asOf,asOfPosition,basis,cutoff,groupBy',
        'GET AuditController_trail actor,after,from,limit,streamId,to,type',
      ]),
    );
  });

  it('gives every operation a summary, a description, described answers and problem+json errors', () => {
    const problems: string[] = [];
    const complain = (where: string, what: string) => problems.push(`${where}: ${what}`);
    for (const { method, path, operation } of operations(document)) {
      const where = `${method.toUpperCase()} ${path}`;
      if (!operation.summary?.trim()) complain(where, 'no summary');
      if (!operation.description?.trim()) complain(where, 'no description');
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response.description?.trim()) complain(where, `${status} has no description`);
        if (
          /^4\d\d$/.test(status) &&
          response.content?.['application/problem+json']?.schema?.$ref !== '#/components/schemas/ProblemDetails'
        )
          complain(where, `${status} is not application/problem+json ProblemDetails`);
        if (status === '409' && !response.headers?.['Retry-After']) complain(where, '409 without Retry-After');
      }
      const secured = (operation.security ?? []).length > 0;
      if (secured) for (const status of ['400', '401']) if (!operation.responses[status]) complain(where, `no ${status}`);
      if (method === 'post' || method === 'put') {
        const headers = (operation.parameters ?? []).filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name);
        if (!headers.includes('Idempotency-Key') || !headers.includes('If-Match')) complain(where, 'no Idempotency-Key or If-Match');
        const success = Object.entries(operation.responses).find(([status]) => status.startsWith('2'))?.[1];
        if (!success?.headers?.ETag) complain(where, 'no ETag on its answer');
        for (const status of ['409', '412', '422']) if (!operation.responses[status]) complain(where, `no ${status}`);
      }
    }
    expect(problems).toEqual([]);
    const curve = document.paths['/trials/{t}/reports/endpoints/{endpointId}/curve']?.get;
    expect(Object.keys(curve?.responses['200']?.content ?? {})).toEqual(['application/json', 'image/svg+xml']);
    expect(operations(document).length).toBeGreaterThanOrEqual(30);
  });

  describe('examples', () => {
    let admin: string;
    let investigator: string;
    let chair: string;
    const reviewers: Record<string, string> = {};
    let trials = 0;

    beforeAll(async () => {
      admin = await p.token('trial-admin', { sub: 'admin-1' });
      investigator = await p.token('site-investigator', { sub: 'inv-1', name: 'Dr. Site One', sites: ['S01'] });
      chair = await p.token('cec-chair', { sub: 'chair-1', name: 'Prof. Chair' });
      for (const id of ['rev-1', 'rev-2']) reviewers[id] = await p.token('cec-reviewer', { sub: id, name: `Dr. ${id}` });
    });

    const send = async (method: 'post' | 'put', path: string, token: string, body: unknown, expected = 201) => {
      const response = await p.http[method](path)
        .set('Authorization', `Bearer ${token}`)
        .send(body as object);
      if (response.status !== expected)
        throw new Error(`${method.toUpperCase()} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
      return response;
    };
    const outcome = {
      isEndpointEvent: true,
      kind: 'amputation',
      onsetOn: '2026-04-02',
      limb: 'index',
      amputation: { level: 'major', planned: false },
    };
    const review = (t: string, reviewer: string, reviewed: unknown) =>
      send('post', `/trials/${t}/adjudication/cases/AE001/reviews`, reviewers[reviewer]!, {
        outcome: reviewed,
        rationale: `${reviewer} read the operative note`,
        signature: { meaning: 'review' },
      });

    /** A fresh trial with what the operation's path and rules need, on the ids of the document's path examples. */
    async function prepare(template: string): Promise<string> {
      trials += 1;
      const t = `OA-${trials}`;
      const at = (suffix: string) => template === `/trials/{t}${suffix}`;
      const under = (prefix: string) => template.startsWith(`/trials/{t}${prefix}`);
      await send('post', '/trials', admin, { trialId: t, title: 'OpenAPI examples', protocolVersion: '1', arms: ['DCB', 'PTA'] });
      if (at('/sites') || at('/committee-members') || at('/charter')) return t;
      await send('post', `/trials/${t}/sites`, admin, { siteId: 'S01', name: 'Site One', country: 'IT' });
      if (at('/patients')) return t;
      await send('post', `/trials/${t}/patients`, investigator, {
        patientId: 'P001',
        siteId: 'S01',
        enrolledOn: '2026-01-12',
        arm: 'DCB',
        baseline: { ageYears: 70, sex: 'F', diabetes: false, presentation: 'cli', rutherfordClass: 4 },
      });
      if (at('/patients/{p}/corrections') || at('/patients/{p}/procedures')) return t;
      await send('post', `/trials/${t}/patients/P001/procedures`, investigator, {
        procedureId: 'PR000',
        performedOn: '2026-01-12',
        limb: 'left',
        device: { kind: 'PTA', name: 'Balloon' },
        lesions: [{ segment: 'btk', lengthMm: 80, occlusion: true }],
        technicalSuccess: true,
      });
      if (at('/patients/{p}/visits') || at('/patients/{p}/withdrawal') || at('/patients/{p}/adverse-events')) return t;
      await send('post', `/trials/${t}/patients/P001/adverse-events`, investigator, {
        eventId: 'AE001',
        kind: 'amputation',
        onsetOn: '2026-04-02',
        limb: 'index',
        amputation: { level: 'major', planned: false },
        description: 'Amputation after acute limb ischaemia',
      });
      if (!under('/adjudication/cases/{c}')) return t;
      for (const [userId, role] of [
        ['rev-1', 'cec-reviewer'],
        ['rev-2', 'cec-reviewer'],
        ['chair-1', 'cec-chair'],
      ] as const)
        await send('post', `/trials/${t}/committee-members`, admin, { userId, name: `Dr. ${userId}`, role, affiliatedSiteIds: [] });
      if (at('/adjudication/cases/{c}/assignment')) return t;
      if (at('/adjudication/cases/{c}/queries/{q}/answer')) {
        await send('post', `/trials/${t}/adjudication/cases/AE001/queries`, chair, { queryId: 'Q001', question: 'Operative note?' });
        return t;
      }
      if (at('/adjudication/cases/{c}/queries')) return t;
      await send('post', `/trials/${t}/adjudication/cases/AE001/assignment`, chair, { reviewerIds: ['rev-1', 'rev-2'] });
      if (at('/adjudication/cases/{c}/reviews')) return t;
      await review(t, 'rev-2', at('/adjudication/cases/{c}/resolution') ? { isEndpointEvent: false, kind: 'none' } : outcome);
      if (at('/adjudication/cases/{c}/resolution')) {
        await review(t, 'rev-1', outcome);
        return t;
      }
      await review(t, 'rev-1', outcome);
      return t;
    }

    /** Who sends the operation's example: the role it admits, as the user the set-up made. */
    function sender(template: string): string {
      if (template === '/trials' || /\/(charter|sites|committee-members|data-cuts)$/.test(template)) return admin;
      if (template.endsWith('/reviews')) return reviewers['rev-1']!;
      if (template.startsWith('/trials/{t}/adjudication') && !template.endsWith('/answer')) return chair;
      return investigator;
    }

    /** Every example of a request body in the document: inline, named, or on the body's schema. */
    function examples(): Array<{ method: 'post' | 'put'; template: string; path: string; example: unknown }> {
      const found = [];
      for (const { method, path: template, operation } of operations(document)) {
        for (const media of Object.values(operation.requestBody?.content ?? {})) {
          const named = Object.values(media.examples ?? {}).map((e) => e.value);
          const ref = media.schema?.$ref?.replace('#/components/schemas/', '');
          const onSchema = ref ? document.components.schemas[ref]?.example : undefined;
          const path = template.replace(/\{(\w+)\}/g, (_whole, name: string) =>
            String((operation.parameters ?? []).find((parameter) => parameter.in === 'path' && parameter.name === name)?.example),
          );
          for (const example of [media.example, ...named, onSchema].filter((e) => e !== undefined))
            found.push({ method: method as 'post' | 'put', template, path, example });
        }
      }
      return found;
    }

    /** A file upload: documented as multipart/form-data with a binary `file` part (test/documents.e2e.spec.ts sends real ones). */
    const isUpload = (o: { operation: Operation }) => Object.keys(o.operation.requestBody?.content ?? {}).includes('multipart/form-data');

    it('documents each upload as multipart/form-data with a binary file part and its required fields', () => {
      const uploads = operations(document).filter(isUpload);
      expect(uploads.map((o) => `${o.method} ${o.path}`).sort()).toEqual([
        'post /trials/{t}/adjudication/cases/{c}/dossier',
        'post /trials/{t}/patients/{p}/adverse-events/{e}/documents',
      ]);
      for (const { operation } of uploads) {
        const schema = operation.requestBody?.content['multipart/form-data']?.schema as
          { required?: string[]; properties?: Record<string, { type?: string; format?: string }> } | undefined;
        expect(schema?.properties?.file).toEqual(expect.objectContaining({ type: 'string', format: 'binary' }));
        expect(schema?.required).toEqual(expect.arrayContaining(['file', 'documentId']));
      }
    });

    it('gives every JSON request body an example, and the API accepts each', async () => {
      const all = examples();
      const withBody = operations(document).filter((o) => o.operation.requestBody && !isUpload(o));
      expect(new Set(all.map((e) => `${e.method} ${e.template}`)).size).toBe(withBody.length);
      expect(withBody.length).toBeGreaterThanOrEqual(18);
      const refused: string[] = [];
      for (const { method, template, path, example } of all) {
        // POST /trials registers the example's own trial; every other example gets a fresh trial set up for it.
        const t = template === '/trials' ? undefined : await prepare(template);
        const target = t ? path.replace(/^\/trials\/[^/]+/, `/trials/${t}`) : path;
        const response = await p.http[method](target)
          .set('Authorization', `Bearer ${sender(template)}`)
          .send(example as object);
        if (response.status < 200 || response.status >= 300)
          refused.push(`${method.toUpperCase()} ${template}: ${response.status} ${JSON.stringify(response.body)}`);
      }
      expect(refused).toEqual([]);
    });
  });
});
