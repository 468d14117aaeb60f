import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { applySecurity, bodyParserErrors } from '@app/http';
import type { PlatformConfig } from './config';

/** Largest JSON body a command accepts; a charter with many endpoints stays well below. */
export const BODY_LIMIT = '256kb';

/** Options for NestFactory.create that configureHttp relies on. */
export const NEST_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

/** HTTP set-up shared by main.ts and the end-to-end tests, so tests run what users run. */
export function configureHttp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  // First, so every answer carries the headers: JSON, problem+json and the /docs UI alike.
  const config = app.get<ConfigService<Pick<PlatformConfig, 'CORS_ORIGINS'>, true>>(ConfigService);
  applySecurity(app, { corsOrigins: config.get('CORS_ORIGINS', { infer: true }) });
  // The app is created with bodyParser: false so this parser, with its limit, is the only one.
  express.useBodyParser('json', { limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] });
  express.use(bodyParserErrors);
  express.disable('x-powered-by');
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Trial endpoint adjudication API')
      .setDescription(
        'Sites report, the CEC adjudicates, the DSMB reviews endpoint rates as of any moment. Errors are application/problem+json.',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, cleanupOpenApiDoc(document), { jsonDocumentUrl: 'docs-json' });
}
