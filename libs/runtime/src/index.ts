export { EnrollmentFacts, EnrollmentFactsModule } from './enrollment-facts.module';
export { RuntimeModule, authModule } from './runtime.module';
export { AppLogger, LifecycleLog, loggingModule, prettyLogs, requestLogger } from './logging';
export type { RuntimeDefinition } from './runtime.module';
export { bootstrap, describeListening, probePort, refuseToStart } from './bootstrap';
export { BODY_LIMIT, NEST_OPTIONS, configureHttp, createApiApp } from './http-setup';
export {
  MIN_JWT_SECRET_BYTES,
  durationMs,
  hostSchema,
  jwtSecretSchema,
  platformConfigSchema,
  serviceConfigSchema,
  validatePlatformConfig,
  validateServiceConfig,
} from './config';
export type { PlatformConfig, ProcessIdentity, ServiceConfig } from './config';
export { libraryMigrations, migrationsWith } from './migrations';
export type { MigrationClass } from './migrations';
export { HealthController } from './health.controller';
export { VersionController, buildInfo } from './version.controller';
export type { BuildInfo } from './version.controller';
