import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BeforeApplicationShutdown, Injectable, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Logger, LoggerModule } from 'nestjs-pino';
import pino from 'pino';

/** Ids a client may send in X-Request-Id / X-Correlation-Id; anything else is replaced, never logged as sent. */
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,100}$/;

type LoggedRequest = IncomingMessage & {
  id?: unknown;
  originalUrl?: string;
  route?: { path?: string };
  principal?: { userId?: string };
};

/** Nest's start-up chatter (a line per route and per module) belongs at debug, not in every start's log. */
const START_UP_CHATTER = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader', 'NestFactory', 'NestApplication']);

/**
 * Nest's logger through pino, with the framework's start-up chatter demoted to debug: what stays
 * at info is what an operator reads (listening on, shutting down, warnings).
 */
@Injectable()
export class AppLogger extends Logger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && START_UP_CHATTER.has(context)) this.debug(message, ...optionalParams);
    else super.log(message, ...optionalParams);
  }

  /** The request log (requestLogger) on this logger's pino: register it before any other middleware. */
  requests(): ReturnType<typeof requestLogger> {
    return requestLogger(this.logger.logger);
  }
}

/** Says when the process stops and why, so a log ends with the reason rather than mid-sentence. */
@Injectable()
export class LifecycleLog implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(private readonly logger: AppLogger) {}

  beforeApplicationShutdown(signal?: string): void {
    this.logger.log(`shutting down${signal ? ` on ${signal}` : ''}`, 'Lifecycle');
  }

  onApplicationShutdown(): void {
    this.logger.log('stopped', 'Lifecycle');
  }
}

/** Pretty, coloured lines on a developer's terminal; JSON everywhere else (production, files, collectors). */
export function prettyLogs(env: NodeJS.ProcessEnv = process.env, stdout: { isTTY?: boolean } = process.stdout): boolean {
  if (env.LOG_FORMAT === 'json') return false;
  if (env.LOG_FORMAT === 'pretty') return true;
  return env.NODE_ENV !== 'production' && stdout.isTTY === true;
}

type LevelOfRequest = 'error' | 'info' | 'debug';

/**
 * One line per request: method, route, status, duration, request and correlation ids, user id;
 * never headers, tokens or bodies. Successful requests are logged at debug (a command must not
 * cost a log line at info: issue #18's throughput), refusals and requests the client dropped at
 * info, server errors at error. The request id is the client's valid X-Request-Id or a new UUID,
 * echoed in X-Request-Id.
 *
 * An Express middleware of its own rather than pino-http through nestjs-pino: that built a child
 * logger per request whether or not its line was written, and bound every request to an
 * AsyncLocalStorage, which makes Node run a hook on every promise of the process (about 7% of a
 * command's CPU together). Registered first, so every request gets its id and line, including one
 * the body parser refuses or the gateway proxies.
 */
export function requestLogger(logger: pino.Logger) {
  return (req: LoggedRequest, res: ServerResponse, next: () => void): void => {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && CLIENT_ID.test(given) ? given : randomUUID();
    req.id = id;
    // Passed on with the request: a proxy (the gateway) forwards it, so the service logs the same id.
    if (id !== given) req.headers['x-request-id'] = id;
    res.setHeader('X-Request-Id', id);
    const correlation = req.headers['x-correlation-id'];
    const correlationId = typeof correlation === 'string' && CLIENT_ID.test(correlation) ? correlation : undefined;
    if (correlationId) res.setHeader('X-Correlation-Id', correlationId);
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      const dropped = !res.writableFinished;
      const level: LevelOfRequest = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 || dropped ? 'info' : 'debug';
      if (!logger.isLevelEnabled(level)) return;
      const responseTime = Math.round(performance.now() - started);
      const route = req.route?.path ?? '(no route)';
      logger[level](
        {
          // The path without its query string: query parameters may carry ids a log collector should not index.
          req: { id, method: req.method, path: (req.originalUrl ?? req.url ?? '').split('?', 1)[0] },
          res: { statusCode: res.statusCode },
          responseTime,
          route,
          ...(req.principal?.userId ? { userId: req.principal.userId } : {}),
          ...(correlationId ? { correlationId } : {}),
        },
        dropped
          ? `${req.method} ${route} dropped by the client after ${responseTime} ms`
          : `${req.method} ${route} ${res.statusCode} ${responseTime} ms`,
      );
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}

/**
 * pino through nestjs-pino for Nest's own logger; the process name tells the lines of several
 * services apart in one collector. Requests are logged by requestLogger (see AppLogger.requests),
 * so nestjs-pino's per-request middleware is applied to no route.
 */
export function loggingModule(name: string | undefined): DynamicModule {
  return LoggerModule.forRootAsync({
    inject: [ConfigService],
    useFactory: (config: ConfigService<{ LOG_LEVEL: string }, true>) => {
      const options = {
        ...(name ? { name } : {}),
        level: config.get('LOG_LEVEL', { infer: true }),
        redact: ['req.headers.authorization'],
      };
      const logger = prettyLogs()
        ? pino({
            ...options,
            transport: {
              target: 'pino-pretty',
              options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,req,res' },
            },
          })
        : // Written synchronously: a line is out before the next statement, so a crash, a kill or a
          // signal's exit never swallows the last lines (the ones that say why). At info a command
          // writes none, so this costs nothing on the command path.
          pino(options, pino.destination({ dest: 1, sync: true }));
      return { pinoHttp: { logger }, forRoutes: [] };
    },
  });
}
