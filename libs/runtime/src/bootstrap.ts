import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Logger as NestLogger, type INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { DataDirLockedError } from '@app/event-store';
import type { PlatformConfig } from './config';
import { NEST_OPTIONS, configureHttp } from './http-setup';
import { RuntimeModule, type RuntimeDefinition } from './runtime.module';

/** Creates the app, or prints why it cannot start and exits with code 1. */
async function create(definition: RuntimeDefinition): Promise<INestApplication> {
  try {
    // abortOnError: false so a failed start comes back here; autoFlushLogs: false so Nest's own
    // report of it (a stack trace) is printed only when there is no one-line explanation.
    return await NestFactory.create(RuntimeModule.forRoot(definition), { ...NEST_OPTIONS, abortOnError: false, autoFlushLogs: false });
  } catch (error) {
    if (error instanceof DataDirLockedError || definition.deployment === 'service') {
      process.stderr.write(`${definition.name}: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    } else {
      NestLogger.flush();
    }
    process.exit(1);
  }
}

/** main.ts of the platform and of each service: boots, listens, and says where. */
export async function bootstrap(definition: RuntimeDefinition): Promise<void> {
  const app = await create(definition);
  app.useLogger(app.get(Logger));
  app.flushLogs();
  configureHttp(app);
  const config = app.get<ConfigService<PlatformConfig, true>>(ConfigService);
  const port = config.get('PORT', { infer: true });
  try {
    await app.listen(port);
  } catch (error) {
    process.stderr.write(`${definition.name}: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  // PORT=0 lets the kernel choose: say the port actually bound, not the one asked for.
  const bound = (app.getHttpServer().address() as AddressInfo | null)?.port ?? port;
  const where = config.get('DATABASE_URL', { infer: true })
    ? 'PostgreSQL server'
    : `embedded PGlite in ${config.get('DATA_DIR', { infer: true })}`;
  const what = definition.deployment === 'service' ? `${definition.name} service listening` : 'listening';
  app.get(Logger).log(`${what} on http://localhost:${bound} (event store: ${where})`);
}
