import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { parseEnv } from 'node:util';
import { Logger as NestLogger, type INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataDirLockedError } from '@app/event-store';
import { IntegrationEventTransports } from '@app/messaging';
import type { PlatformConfig } from './config';
import { configureHttp, createApiApp } from './http-setup';
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

/**
 * Fails fast with EADDRINUSE/EACCES when the port cannot be had, before the modules start (which
 * create the data directory, open the database and generate a secret). A port taken between this
 * probe and the real listen is still reported by listen, as one line too.
 */
export function probePort(port: number, host: string | undefined): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * What a server really listens on, for the start-up line: with HOST unset Node binds every
 * interface (`::`, IPv4 too where the system has IPv6, else `0.0.0.0`), reachable as localhost.
 */
export function describeListening(address: AddressInfo | string | null, fallbackPort: number): string {
  if (address === null || typeof address === 'string') return `http://localhost:${fallbackPort}`;
  const { address: host, port } = address;
  if (host === '::' || host === '0.0.0.0') return `http://localhost:${port} (all interfaces, ${host} port ${port}; HOST narrows it)`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port} (${host} only)`;
}

/** PORT and HOST as the configuration will read them (the environment winning over .env); undefined when invalid, for validation to report. */
function listenTarget(definition: RuntimeDefinition): { port: number | undefined; host: string | undefined } {
  let file: Record<string, string> = {};
  const path = definition.envFile === false ? undefined : (definition.envFile ?? '.env');
  if (path !== undefined && existsSync(path)) {
    try {
      file = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
    } catch {
      // unreadable: the configuration module reports it
    }
  }
  const read = (name: string) => (process.env[name] ?? file[name])?.trim() || undefined;
  const port = Number(read('PORT') ?? definition.defaultPort);
  return { port: Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined, host: read('HOST') };
}

/** main.ts of the platform and of each service: boots, listens, and says where. */
export async function bootstrap(definition: RuntimeDefinition): Promise<void> {
  let app: INestApplication;
  const { port: wanted, host } = listenTarget(definition);
  // Before the modules start, so a taken port leaves no data directory behind.
  if (wanted !== undefined) await probePort(wanted, host).catch((error: unknown) => refuseToStart(definition.name, error));
  try {
    // abortOnError: false so a failed start comes back here; autoFlushLogs: false so Nest's own
    // report of it (a stack trace) is printed only when there is no one-line explanation.
    app = await createApiApp(RuntimeModule.forRoot(definition), { abortOnError: false, autoFlushLogs: false });
  } catch (error) {
    refuseToStart(definition.name, error);
  }
  const logger = app.get(AppLogger);
  app.useLogger(logger);
  app.flushLogs();
  configureHttp(app);
  const config = app.get<ConfigService<PlatformConfig, true>>(ConfigService);
  const port = config.get('PORT', { infer: true });
  const transports = connectMicroservices(app, definition);
  if (transports) exitWhenConsumerStops(definition.name, app, transports);
  try {
    const configuredHost = config.get('HOST', { infer: true });
    await (configuredHost === undefined ? app.listen(port) : app.listen(port, configuredHost));
  } catch (error) {
    await app.close().catch(() => undefined);
    refuseToStart(definition.name, error);
  }
  // PORT=0 lets the kernel choose: say the address and port actually bound, not the ones asked for.
  const listening = describeListening((app.getHttpServer() as { address(): AddressInfo | string | null }).address(), port);
  const where = config.get('DATABASE_URL', { infer: true })
    ? 'PostgreSQL server'
    : `embedded PGlite in ${config.get('DATA_DIR', { infer: true })}`;
  const what = definition.deployment === 'service' ? `${definition.name} service listening` : 'listening';
  logger.log(`${what} on ${listening} (event store: ${where})`, 'Lifecycle');
  // After the application's bootstrap hooks (migrations, the opener told it is fed externally).
  try {
    await app.startAllMicroservices();
  } catch (error) {
    await app.close().catch(() => undefined);
    refuseToStart(definition.name, error);
  }
}

/**
 * Connects the process's Kafka consumers as Nest microservices (architecture.md, "Delivery between
 * contexts"), to be started with `app.startAllMicroservices()` once the application is up. Only
 * with KAFKA_BROKERS: without, there are none and the contexts' log subscriptions run instead.
 * Returns the transports' registry when it connected any.
 */
export function connectMicroservices(
  app: INestApplication,
  definition: Pick<RuntimeDefinition, 'microservices'>,
): IntegrationEventTransports | undefined {
  const transports = app.get(IntegrationEventTransports);
  if (!definition.microservices || !transports.enabled) return undefined;
  for (const strategy of definition.microservices(transports)) app.connectMicroservice({ strategy });
  return transports;
}

/**
 * kafkajs stops a consumer for good on an error it does not retry (CRASH without restart) and the
 * process would otherwise live on, healthy to every probe, consuming nothing: a reported adverse
 * event would never become a case. /health reports the stopped consumer (503) while the process
 * closes; then it exits non-zero with one line saying why, so the orchestrator restarts it and the
 * consumer resumes from its committed offsets.
 */
export function exitWhenConsumerStops(
  name: string,
  app: Pick<INestApplication, 'close'>,
  transports: Pick<IntegrationEventTransports, 'onStopped'>,
  exit: (code: number) => void = (code) => process.exit(code),
  graceMs = 10_000,
): void {
  let exiting = false;
  transports.onStopped(({ consumer, error }) => {
    if (exiting) return;
    exiting = true;
    NestLogger.error(
      `${name}: Kafka consumer ${consumer} stopped (kafkajs does not restart it): ${error.message}; exiting with code 1 for a restart`,
      'Lifecycle',
    );
    // A close that hangs (a broker that does not answer) must not keep a consumer-less process alive.
    const timer = setTimeout(() => exit(1), graceMs);
    timer.unref();
    void app
      .close()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timer);
        exit(1);
      });
  });
}
