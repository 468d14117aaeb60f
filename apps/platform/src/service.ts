import 'reflect-metadata';
import { type DynamicModule, Module, type ModuleMetadata, type Provider } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { Logger, LoggerModule } from 'nestjs-pino';
import { z } from 'zod';
import { AuthModule } from '@app/auth';
import { EventStoreModule } from '@app/event-store';
import { MetricsModule } from '@app/observability';
import { apiProviders } from './api-providers';
import { platformConfigSchema } from './config';
import { HealthController } from './health.controller';
import { messagingImports } from './messaging';
import { platformMigrations } from './platform.module';
import { NEST_OPTIONS, configureHttp } from './setup';

/** One bounded context run alone: what it serves and what it needs from the others in-process. */
export interface ServiceDefinition {
  /** The app's name (`apps/<name>`), used in logs and messages. */
  name: string;
  /** PORT when unset: distinct per service so they can all run on one machine untouched. */
  defaultPort: number;
  /** The context's module(s); the audit routes ride with reporting. */
  imports: NonNullable<ModuleMetadata['imports']>;
  /**
   * Read-side query handlers of other contexts this one asks through the QueryBus (a patient's
   * enrolment, a trial's committee). They only read those contexts' streams from the shared store.
   */
  providers?: Provider[];
}

/**
 * The platform's variables, with DATABASE_URL required: PGlite is one process per data
 * directory, so services that share one event store need a PostgreSQL server.
 */
export function serviceConfigSchema(service: Pick<ServiceDefinition, 'name' | 'defaultPort'>) {
  return platformConfigSchema.omit({ DATA_DIR: true }).extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(service.defaultPort),
    DATABASE_URL: z
      .string({
        error: `is required: the ${service.name} service shares one PostgreSQL server with the other services (PGlite serves one process only; run "platform" for the embedded deployment)`,
      })
      .trim()
      .pipe(z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })),
    // Five services and their subscriptions share one server's max_connections (100 by default).
    DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(10),
  });
}

export type ServiceConfig = z.infer<ReturnType<typeof serviceConfigSchema>>;

/** Parses the environment; the error names every offending variable and the service. */
export function validateServiceConfig(service: Pick<ServiceDefinition, 'name' | 'defaultPort'>, env: Record<string, unknown>): ServiceConfig {
  const parsed = serviceConfigSchema(service).safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid configuration of the ${service.name} service: ${problems}`);
  }
  if (!parsed.data.JWT_SECRET && !parsed.data.JWT_JWKS_URL) {
    throw new Error(`Invalid configuration of the ${service.name} service: JWT_SECRET or JWT_JWKS_URL is required (the same as the gateway's and the other services')`);
  }
  return parsed.data;
}

/** Root module of one standalone service; built when the process boots, not when this file loads. */
@Module({})
export class ServiceModule {
  static forService(service: ServiceDefinition): DynamicModule {
    const messaging = messagingImports(`trials-${service.name}`);
    return {
      module: ServiceModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: (env) => validateServiceConfig(service, env) }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<ServiceConfig, true>) => ({
            pinoHttp: {
              // Lines of five services interleave in one log collector; the name tells them apart.
              name: service.name,
              level: config.get('LOG_LEVEL', { infer: true }),
              autoLogging: false,
              redact: ['req.headers.authorization'],
            },
          }),
        }),
        EventStoreModule.forRootAsync({
          inject: [ConfigService],
          // Every service runs the whole, ordered migration list: the database is one schema shared
          // by all of them, so whichever starts first brings it up to date and none ever runs on a
          // half-migrated schema; the advisory lock in openDataSource serialises simultaneous starts.
          useFactory: (config: ConfigService<ServiceConfig, true>) => ({
            databaseUrl: config.get('DATABASE_URL', { infer: true }),
            poolSize: config.get('DATABASE_POOL_SIZE', { infer: true }),
            // As in the platform: the event log may live on KurrentDB, read models and checkpoints stay here.
            kurrentDbUrl: config.get('KURRENTDB_URL', { infer: true }),
            migrations: platformMigrations,
          }),
        }),
        AuthModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<ServiceConfig, true>) => ({
            jwtSecret: config.get('JWT_SECRET', { infer: true }),
            jwksUrl: config.get('JWT_JWKS_URL', { infer: true }),
            databaseUrl: config.get('DATABASE_URL', { infer: true }),
            // Never used: with a server database the verifier needs a configured secret or JWKS.
            dataDir: '',
          }),
        }),
        CqrsModule.forRoot(),
        TerminusModule,
        // GET /metrics per service, as the platform serves it: Prometheus scrapes each process.
        MetricsModule,
        ...messaging.imports,
        ...service.imports,
      ],
      controllers: [HealthController],
      providers: [...apiProviders, ...messaging.providers, ...(service.providers ?? [])],
    };
  }
}

/** main.ts of a service: boots it, or prints why it cannot start and exits with code 1. */
export async function bootstrapService(service: ServiceDefinition): Promise<void> {
  try {
    // abortOnError: false so a failed start throws here and exits with a message, not an abort.
    const app = await NestFactory.create(ServiceModule.forService(service), { ...NEST_OPTIONS, abortOnError: false });
    app.useLogger(app.get(Logger));
    configureHttp(app);
    const config = app.get<ConfigService<ServiceConfig, true>>(ConfigService);
    const port = config.get('PORT', { infer: true });
    await app.listen(port);
    app.get(Logger).log(`${service.name} service listening on http://localhost:${port} (event store: PostgreSQL server)`);
  } catch (error) {
    process.stderr.write(`${service.name}: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
