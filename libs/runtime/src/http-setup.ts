import type { DynamicModule, INestApplication, NestApplicationOptions } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { IS_PUBLIC_KEY, ROLES_KEY } from '@app/auth';
import { ApiHttpAdapter, applySecurity, bodyParserErrors, completeApiDocument } from '@app/http';
import type { PlatformConfig } from './config';
import { AppLogger } from './logging';
import { buildInfo } from './version.controller';

/** Largest JSON body a command accepts; a charter with many endpoints stays well below. */
export const BODY_LIMIT = '256kb';

/** Options for NestFactory.create that configureHttp relies on. */
export const NEST_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

/**
 * The Nest app of a process that serves the API, on ApiHttpAdapter (ETag, Idempotent-Replayed;
 * ApiGuard refuses to start without it) with NEST_OPTIONS: main.ts and the end-to-end tests
 * create it so, then call configureHttp.
 */
export function createApiApp(module: DynamicModule, options: NestApplicationOptions = {}): Promise<INestApplication> {
  return NestFactory.create(module, new ApiHttpAdapter(), { ...NEST_OPTIONS, ...options });
}

/** What the Authorize dialog of /docs tells a newcomer. */
export const BEARER_AUTH_DESCRIPTION =
  'A JWT (HS256 with `JWT_SECRET` by default, or RS256/ES256 from `JWT_JWKS_URL`) carrying `sub`, `name`, `roles`, `sites` and `auth_time`. ' +
  'On a development machine mint one against the same `DATA_DIR`: ' +
  '`npm run -s token -- --sub u1 --name "Dr. Jane Roe" --roles site-investigator --sites S01` ' +
  '(roles: trial-admin, site-investigator, cec-coordinator, cec-reviewer, cec-chair, dsmb-member, sponsor, auditor; several as a comma list).';

/** The OpenAPI document of the API this process serves, as /docs and /docs-json show it. */
export function apiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setOpenAPIVersion('3.1.0')
      .setTitle('Trial endpoint adjudication API')
      .setDescription(
        'Sites report, the CEC adjudicates, the DSMB reviews endpoint rates as of any moment. ' +
          'Errors are `application/problem+json` with a stable `code`. Commands take an `Idempotency-Key` and an `If-Match`, ' +
          'and answer `{id, streamVersion, position}` with the stream version as ETag.',
      )
      .setVersion(buildInfo().version)
      .addBearerAuth({ type: 'http', description: BEARER_AUTH_DESCRIPTION })
      .build(),
  );
  return withRoles(app, completeApiDocument(cleanupOpenApiDoc(document)));
}

/** HTTP set-up shared by main.ts and the end-to-end tests, so tests run what users run. */
export function configureHttp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  // First of all, so every request has its id and its line, one the body parser refuses included.
  express.use(app.get(AppLogger).requests());
  // Then, so every answer carries the headers: JSON, problem+json and the /docs UI alike.
  const config = app.get<ConfigService<Pick<PlatformConfig, 'CORS_ORIGINS'>, true>>(ConfigService);
  applySecurity(app, { corsOrigins: config.get('CORS_ORIGINS', { infer: true }) });
  // The app is created with bodyParser: false so this parser, with its limit, is the only one.
  express.useBodyParser('json', { limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] });
  express.use(bodyParserErrors);
  express.disable('x-powered-by');
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, apiDocument(app), { jsonDocumentUrl: 'docs-json' });
}

/**
 * Each operation's description ends with the roles its @Roles admits (read from the same
 * metadata the auth guard reads), keyed by Nest's default operation id `<Controller>_<method>`.
 */
function withRoles(app: INestApplication, document: OpenAPIObject): OpenAPIObject {
  const roles = new Map<string, string[] | 'public'>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (typeof metatype !== 'function') continue;
      const prototype = metatype.prototype as Record<string, unknown>;
      for (const method of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[method];
        if (method === 'constructor' || typeof handler !== 'function') continue;
        const isPublic = Reflect.getMetadata(IS_PUBLIC_KEY, handler) ?? Reflect.getMetadata(IS_PUBLIC_KEY, metatype);
        const admitted = (Reflect.getMetadata(ROLES_KEY, handler) ?? Reflect.getMetadata(ROLES_KEY, metatype)) as string[] | undefined;
        if (isPublic) roles.set(`${metatype.name}_${method}`, 'public');
        else if (admitted) roles.set(`${metatype.name}_${method}`, admitted);
      }
    }
  }
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.put, item.post, item.delete, item.patch]) {
      const admitted = operation?.operationId ? roles.get(operation.operationId) : undefined;
      if (!operation || !admitted) continue;
      const line = admitted === 'public' ? 'No token needed.' : `Roles: ${admitted.map((r) => `\`${r}\``).join(', ')}.`;
      operation.description = [operation.description, line].filter(Boolean).join('\n\n');
    }
  }
  return document;
}
