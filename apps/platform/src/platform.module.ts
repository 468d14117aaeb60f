import { join } from 'node:path';
import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from '@app/audit';
import { AuthModule } from '@app/auth';
import { EventStoreModule, eventStoreMigrations, type Clock, type IdGenerator } from '@app/event-store';
import { Idempotency1764000000100 } from '@app/http';
import { MessagingOutbox1764000000600 } from '@app/messaging';
import { MetricsModule } from '@app/observability';
import { AdjudicationModule, AdjudicationReadModel1764000000300 } from '../../adjudication/src';
import { AdverseEventsModule } from '../../adverse-events/src';
import { EnrollmentModule } from '../../enrollment/src';
import { ProceduresModule } from '../../procedures/src';
import { KnowledgePerTrial1764000000700, ReportingHistory1764000000400, ReportingModule, ReportingVisits1764000000500 } from '../../reporting/src';
import { apiProviders } from './api-providers';
import { validatePlatformConfig, type PlatformConfig } from './config';
import { HealthController } from './health.controller';
import { messagingImports } from './messaging';

/** Migrations of every context, in order; the event store's come first. */
export const platformMigrations = [...eventStoreMigrations, Idempotency1764000000100, AdjudicationReadModel1764000000300, ReportingHistory1764000000400, ReportingVisits1764000000500, MessagingOutbox1764000000600, KnowledgePerTrial1764000000700];

/**
 * Every bounded context in one process: the embedded default and the single-server deployment.
 * Built by forRoot() so the environment is read when the app boots, not when this file loads.
 */
@Module({})
export class PlatformModule {
  /** `clock` and `ids` are for tests; production uses the system clock and random UUIDs. */
  static forRoot(options: { clock?: Clock; ids?: IdGenerator } = {}): DynamicModule {
    const messaging = messagingImports('trials-platform');
    return {
      module: PlatformModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validatePlatformConfig }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<PlatformConfig, true>) => ({
            pinoHttp: {
              level: config.get('LOG_LEVEL', { infer: true }),
              autoLogging: false,
              redact: ['req.headers.authorization'],
            },
          }),
        }),
        EventStoreModule.forRootAsync({
          clock: options.clock,
          ids: options.ids,
          inject: [ConfigService],
          useFactory: (config: ConfigService<PlatformConfig, true>) => {
            const databaseUrl = config.get('DATABASE_URL', { infer: true });
            const dataDir = config.get('DATA_DIR', { infer: true });
            // The event log moves to KurrentDB; read models, checkpoints and idempotency keys stay below.
            const kurrentDbUrl = config.get('KURRENTDB_URL', { infer: true });
            if (databaseUrl) return { databaseUrl, kurrentDbUrl, migrations: platformMigrations };
            return { dataDir: dataDir.startsWith('memory://') ? dataDir : join(dataDir, 'pglite'), kurrentDbUrl, migrations: platformMigrations };
          },
        }),
        AuthModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<PlatformConfig, true>) => ({
            jwtSecret: config.get('JWT_SECRET', { infer: true }),
            jwksUrl: config.get('JWT_JWKS_URL', { infer: true }),
            databaseUrl: config.get('DATABASE_URL', { infer: true }),
            dataDir: config.get('DATA_DIR', { infer: true }),
          }),
        }),
        CqrsModule.forRoot(),
        TerminusModule,
        EnrollmentModule,
        ProceduresModule,
        AdverseEventsModule,
        AdjudicationModule,
        ReportingModule,
        AuditModule,
        MetricsModule,
        ...messaging.imports,
      ],
      controllers: [HealthController],
      providers: [...apiProviders, ...messaging.providers],
    };
  }
}
