import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ProblemDetailsFilter } from '@app/http';
import { MetricsModule } from '@app/observability';
import { AppLogger, LifecycleLog, VersionController, authModule, loggingModule } from '@app/runtime';
import { serviceUrls, validateGatewayConfig, type GatewayConfig } from './config';
import { GatewayHealthController, SERVICE_URLS } from './service-health.controller';

/**
 * The HTTP edge of the distributed deployment: authenticates, routes to the services (see
 * setup.ts), reports their health and serves the whole API's documentation. No event store.
 */
@Module({})
export class GatewayModule {
  static forRoot(): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        // A `.env` beside the process is read; variables set in the environment win.
        ConfigModule.forRoot({ isGlobal: true, envFilePath: '.env', validate: validateGatewayConfig }),
        loggingModule('gateway'),
        // The gateway's configuration requires a secret or a JWKS URL: it never generates one.
        authModule(),
        TerminusModule,
        // The gateway's own GET /metrics (process metrics); each service serves its own.
        MetricsModule,
      ],
      controllers: [GatewayHealthController, VersionController],
      providers: [
        AppLogger,
        LifecycleLog,
        // The gateway's own answers (401 at the edge, unknown routes, unreachable services) are problem+json too.
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        {
          provide: SERVICE_URLS,
          inject: [ConfigService],
          useFactory: (config: ConfigService<GatewayConfig, true>) =>
            serviceUrls({
              ENROLLMENT_URL: config.get('ENROLLMENT_URL', { infer: true }),
              PROCEDURES_URL: config.get('PROCEDURES_URL', { infer: true }),
              ADVERSE_EVENTS_URL: config.get('ADVERSE_EVENTS_URL', { infer: true }),
              ADJUDICATION_URL: config.get('ADJUDICATION_URL', { infer: true }),
              REPORTING_URL: config.get('REPORTING_URL', { infer: true }),
            }),
        },
      ],
    };
  }
}
