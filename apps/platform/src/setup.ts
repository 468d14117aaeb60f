import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';

/** Largest JSON body a command accepts; a charter with many endpoints stays well below. */
export const BODY_LIMIT = '256kb';

/** HTTP set-up shared by main.ts and the end-to-end tests, so tests run what users run. */
export function configureHttp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.useBodyParser('json', { limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] });
  express.disable('x-powered-by');
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Trial endpoint adjudication API')
      .setDescription('Sites report, the CEC adjudicates, the DSMB reviews endpoint rates as of any moment. Errors are application/problem+json.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, cleanupOpenApiDoc(document), { jsonDocumentUrl: 'docs-json' });
}
