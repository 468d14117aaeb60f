import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Logger as NestLogger, type INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { DataDirLockedError } from '@app/event-store';
import type { PlatformConfig } from './config';
import { NEST_OPTIONS, configureHttp } from './http-setup';
import { AppLogger } from './logging';
import { RuntimeModule, type RuntimeDefinition } from './runtime.module';

/** Start-up failures a user can act on from one line: a bad variable, a data directory in use, a port taken. */
function explained(error: unknown): string | undefined {
  if (error instanceof DataDirLockedError) return error.message;
  if (!(error instanceof Error)) return undefined;
  if (/^Invalid configuration/.test(error.message)) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `port already in use (${error.message}); set PORT to a free one`;
  if (code === 'EACCES') return `not allowed to listen (${error.message}); set PORT above 1023`;
  return undefined;
}

/**
 * Prints why the process cannot start, as one line (JSON in production, for the log collector),
 * and exits with code 1. An unexpected error also gets Nest's own report with its stack trace.
 */
export function refuseToStart(name: string, error: unknown, env: NodeJS.ProcessEnv = process.env): never {
  const reason = explained(error);
  if (!reason) NestLogger.flush();
  const message = `${name}: cannot start: ${reason ?? (error instanceof Error ? error.message : String(error))}`;
  if (env.NODE_ENV === 'production') {
    process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), name, msg: message })}\n`);
  } else {
    process.stderr.write(`${message}\n`);
  }
  process.exit(1);
}

/** main.ts of the platform and of each service: boots, listens, and says where. */
export async function bootstrap(definition: RuntimeDefinition): Promise<void> {
  let app: INestApplication;
  try {
    // abortOnError: false so a failed start comes back here; autoFlushLogs: false so Nest's own
    // report of it (a stack trace) is printed only when there is no one-line explanation.
    app = await NestFactory.create(RuntimeModule.forRoot(definition), { ...NEST_OPTIONS, abortOnError: false, autoFlushLogs: false });
  } catch (error) {
    refuseToStart(definition.name, error);
  }
  const logger = app.get(AppLogger);
  app.useLogger(logger);
  app.flushLogs();
  configureHttp(app);
  const config = app.get<ConfigService<PlatformConfig, true>>(ConfigService);
  const port = config.get('PORT', { infer: true });
  try {
    await app.listen(port);
  } catch (error) {
    await app.close().catch(() => undefined);
    refuseToStart(definition.name, error);
  }
  // PORT=0 lets the kernel choose: say the port actually bound, not the one asked for.
  const bound = (app.getHttpServer().address() as AddressInfo | null)?.port ?? port;
  const where = config.get('DATABASE_URL', { infer: true })
    ? 'PostgreSQL server'
    : `embedded PGlite in ${config.get('DATA_DIR', { infer: true })}`;
  const what = definition.deployment === 'service' ? `${definition.name} service listening` : 'listening';
  logger.log(`${what} on http://localhost:${bound} (event store: ${where})`, 'Lifecycle');
}
