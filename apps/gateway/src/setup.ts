import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { JwtVerifier } from '@app/auth';
import { AppLogger } from '@app/runtime';
import { applySecurity } from '@app/http';
import { mergedApiDocument } from './api-docs';
import type { GatewayConfig } from './config';
import { gatewayMiddleware } from './proxy';
import type { ServiceName } from './routes';
import { SERVICE_URLS } from './service-health.controller';

/** Options for NestFactory.create: no body parser, so request bodies stream to the services as sent. */
export const GATEWAY_NEST_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

/** HTTP set-up of the gateway, shared by main.ts and tests. */
export function configureGateway(app: INestApplication): void {
  const express = app as NestExpressApplication;
  // First, so proxied requests have their id and their line too.
  express.use(app.get(AppLogger).requests());
  express.disable('x-powered-by');
  app.enableShutdownHooks();
  const services = app.get<Record<ServiceName, string>>(SERVICE_URLS);
  const config = app.get<ConfigService<GatewayConfig, true>>(ConfigService);
  // Before the proxy: proxied answers, the gateway's own problem+json and /docs all carry the headers.
  applySecurity(app, { corsOrigins: config.get('CORS_ORIGINS', { infer: true }) });
  // Registered before Nest's router (which is added at init), so API paths never reach it.
  app.use(gatewayMiddleware({ services, verifier: app.get(JwtVerifier), timeoutMs: config.get('GATEWAY_TIMEOUT_MS', { infer: true }) }));
  const base = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Trial endpoint adjudication API')
      .setDescription(
        'Sites report, the CEC adjudicates, the DSMB reviews endpoint rates as of any moment. Errors are application/problem+json. ' +
          'Served through the gateway: every path below is routed to the service that owns it.',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, base, {
    jsonDocumentUrl: 'docs-json',
    patchDocumentOnRequest: (_request, _response, document) => mergedApiDocument(document, services),
  });
}
