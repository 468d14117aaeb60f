import { join } from 'node:path';
import { type DynamicModule, Module, type ModuleMetadata, type Provider } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { TerminusModule } from '@nestjs/terminus';
import type { DataSource } from 'typeorm';
import { AuthModule } from '@app/auth';
import { BlobStoreModule } from '@app/blob-store';
import { DATA_SOURCE, EventStoreModule, type Clock, type IdGenerator } from '@app/event-store';
import type { IntegrationEventTransports } from '@app/messaging';
import { MetricsModule, measuredCqrsModule } from '@app/observability';
import { apiProviders } from './api-providers';
import { validatePlatformConfig, validateServiceConfig, type PlatformConfig, type ProcessIdentity, type ServiceConfig } from './config';
import { HealthController } from './health.controller';
import { VersionController } from './version.controller';
import { AppLogger, LifecycleLog, loggingModule } from './logging';
import { messagingImports } from './messaging';
import type { MigrationClass } from './migrations';

/** What a process runs: the platform (every context, the embedded default allowed) or one service. */
export interface RuntimeDefinition extends ProcessIdentity {
  /**
   * `platform`: PGlite in DATA_DIR unless DATABASE_URL is set, a generated JWT secret allowed.
   * `service`: one context of the distributed deployment, DATABASE_URL and a secret required.
   */
  deployment: 'platform' | 'service';
  /** The context modules this process serves. */
  contexts: NonNullable<ModuleMetadata['imports']>;
  /** Every migration this process runs, in order (`migrationsWith`). */
  migrations: MigrationClass[];
  /** Providers of the process beyond its contexts (e.g. a Kafka feed). */
  providers?: Provider[];
  /**
   * The process's Kafka consumers as Nest microservice strategies (their handlers are the contexts'
   * `@EventPattern`s), connected and started by bootstrap; called only when KAFKA_BROKERS is set.
   */
  microservices?: (transports: IntegrationEventTransports) => CustomTransportStrategy[];
  /**
   * The `.env` file read at start-up (default `./.env`; variables set in the environment win), or
   * false to read none (tests, which must not pick up a developer's file).
   */
  envFile?: string | false;
  /** For tests; production uses the system clock and random UUIDs. */
  clock?: Clock;
  ids?: IdGenerator;
}

type AnyConfig = ConfigService<PlatformConfig & Partial<Pick<ServiceConfig, 'DATABASE_POOL_SIZE'>>, true>;

/**
 * Bearer-token verification from JWT_SECRET or JWT_JWKS_URL (a secret generated in DATA_DIR on the embedded default only).
 * `globalGuard: false` when the app's own guard calls AuthGuard first (ApiGuard).
 */
export function authModule({ globalGuard = true }: { globalGuard?: boolean } = {}): DynamicModule {
  return AuthModule.forRootAsync({
    globalGuard,
    inject: [ConfigService],
    useFactory: (config: ConfigService<Partial<PlatformConfig>, true>) => ({
      jwtSecret: config.get('JWT_SECRET', { infer: true }),
      jwksUrl: config.get('JWT_JWKS_URL', { infer: true }),
      databaseUrl: config.get('DATABASE_URL', { infer: true }),
      // Without a DATA_DIR (services, the gateway) the configuration requires a secret or a JWKS URL.
      dataDir: config.get('DATA_DIR', { infer: true }) ?? '',
    }),
  });
}

/**
 * The root module of every process that serves the API: configuration, logging, the event store
 * and its migrations, authentication, CQRS, health, metrics and messaging, then the contexts.
 * Built when the process boots, so the environment is read then, not when this file loads.
 */
@Module({})
export class RuntimeModule {
  static forRoot(definition: RuntimeDefinition): DynamicModule {
    const messaging = messagingImports(`trials-${definition.name}`);
    const validate =
      definition.deployment === 'platform'
        ? validatePlatformConfig
        : (env: Record<string, unknown>) => validateServiceConfig(definition, env);
    return {
      module: RuntimeModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ...(definition.envFile === false ? { ignoreEnvFile: true } : { envFilePath: definition.envFile ?? '.env' }),
          validate,
        }),
        loggingModule(definition.deployment === 'service' ? definition.name : undefined),
        EventStoreModule.forRootAsync({
          clock: definition.clock,
          ids: definition.ids,
          inject: [ConfigService],
          useFactory: (config: AnyConfig) => {
            const databaseUrl = config.get('DATABASE_URL', { infer: true });
            // The event log may move to KurrentDB; read models, checkpoints and idempotency keys stay below.
            const kurrentDbUrl = config.get('KURRENTDB_URL', { infer: true });
            const migrations = definition.migrations;
            if (databaseUrl) return { databaseUrl, kurrentDbUrl, migrations, poolSize: config.get('DATABASE_POOL_SIZE', { infer: true }) };
            const dataDir = config.get('DATA_DIR', { infer: true });
            return { dataDir: dataDir.startsWith('memory://') ? dataDir : join(dataDir, 'pglite'), kurrentDbUrl, migrations };
          },
        }),
        // BLOB_STORE for every context: document bytes in the event store's database, or S3 (BLOB_STORE=s3://…).
        BlobStoreModule.forRootAsync({
          inject: [ConfigService, DATA_SOURCE],
          useFactory: (config: AnyConfig, dataSource: DataSource) => ({
            dataSource,
            env: {
              BLOB_STORE: config.get('BLOB_STORE', { infer: true }),
              S3_ENDPOINT: config.get('S3_ENDPOINT', { infer: true }),
              S3_REGION: config.get('S3_REGION', { infer: true }),
              S3_ACCESS_KEY_ID: config.get('S3_ACCESS_KEY_ID', { infer: true }),
              S3_SECRET_ACCESS_KEY: config.get('S3_SECRET_ACCESS_KEY', { infer: true }),
              S3_FORCE_PATH_STYLE: config.get('S3_FORCE_PATH_STYLE', { infer: true }),
            },
          }),
        }),
        // AuthGuard is ApiGuard's first step (apiProviders).
        authModule({ globalGuard: false }),
        // The one global command and query bus every context uses, measured (GET /metrics).
        measuredCqrsModule(),
        TerminusModule,
        // GET /metrics per process: Prometheus scrapes each one.
        MetricsModule,
        ...messaging.imports,
        ...definition.contexts,
      ],
      controllers: [HealthController, VersionController],
      providers: [AppLogger, LifecycleLog, ...apiProviders, ...messaging.providers, ...(definition.providers ?? [])],
    };
  }
}
