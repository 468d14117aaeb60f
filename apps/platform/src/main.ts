import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Logger as NestLogger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { Logger } from 'nestjs-pino';
import { DataDirLockedError } from '@app/event-store';
import { PlatformModule } from './platform.module';
import { NEST_OPTIONS, configureHttp } from './setup';
import type { PlatformConfig } from './config';

async function create(): Promise<INestApplication> {
  try {
    // abortOnError: false so a failed start comes back here; autoFlushLogs: false so Nest's own
    // report of it (a stack trace) is printed only when there is no one-line explanation.
    return await NestFactory.create(PlatformModule.forRoot(), { ...NEST_OPTIONS, abortOnError: false, autoFlushLogs: false });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      process.stderr.write(`platform: cannot start: ${error.message}\n`);
    } else {
      NestLogger.flush();
    }
    process.exit(1);
  }
}

async function bootstrap(): Promise<void> {
  const app = await create();
  app.useLogger(app.get(Logger));
  app.flushLogs();
  configureHttp(app);
  const config = app.get<ConfigService<PlatformConfig, true>>(ConfigService);
  const port = config.get('PORT', { infer: true });
  await app.listen(port);
  // PORT=0 lets the kernel choose: say the port actually bound, not the one asked for.
  const bound = (app.getHttpServer().address() as AddressInfo | null)?.port ?? port;
  const where = config.get('DATABASE_URL', { infer: true }) ? 'PostgreSQL server' : `embedded PGlite in ${config.get('DATA_DIR', { infer: true })}`;
  app.get(Logger).log(`listening on http://localhost:${bound} (event store: ${where})`);
}

void bootstrap();
