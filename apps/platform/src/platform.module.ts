import { join } from 'node:path';
import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { EventStoreModule } from '@app/event-store';
import { validatePlatformConfig, type PlatformConfig } from './config';
import { HealthController } from './health.controller';

/**
 * Every bounded context in one process: the embedded default and the single-server deployment.
 * Built by forRoot() so the environment is read when the app boots, not when this file loads.
 */
@Module({})
export class PlatformModule {
  static forRoot(): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validatePlatformConfig }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<PlatformConfig, true>) => ({
            pinoHttp: { level: config.get('LOG_LEVEL', { infer: true }), autoLogging: false },
          }),
        }),
        EventStoreModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<PlatformConfig, true>) => {
            const databaseUrl = config.get('DATABASE_URL', { infer: true });
            return databaseUrl ? { databaseUrl } : { dataDir: join(config.get('DATA_DIR', { infer: true }), 'pglite') };
          },
        }),
        TerminusModule,
      ],
      controllers: [HealthController],
    };
  }
}
