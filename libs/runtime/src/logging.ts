import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BeforeApplicationShutdown, Injectable, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Logger, LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import type { Options } from 'pino-http';

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

/**
 * One line per request: method, route, status, duration, request and correlation ids, user id;
 * never headers, tokens or bodies. Successful requests are logged at debug (a command must not
 * cost a log line at info: issue #18's throughput), refusals at info, server errors at error.
 * The request id is the client's valid X-Request-Id or a new UUID, echoed in X-Request-Id.
 */
export function requestLogOptions(): Options<IncomingMessage, ServerResponse> {
  const route = (req: LoggedRequest) => req.route?.path ?? '(no route)';
  return {
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && CLIENT_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      const correlation = req.headers['x-correlation-id'];
      if (typeof correlation === 'string' && CLIENT_ID.test(correlation)) res.setHeader('X-Correlation-Id', correlation);
      return id;
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
    customProps: (req: LoggedRequest) => {
      const correlation = req.headers['x-correlation-id'];
      return {
        route: route(req),
        ...(req.principal?.userId ? { userId: req.principal.userId } : {}),
        ...(typeof correlation === 'string' && CLIENT_ID.test(correlation) ? { correlationId: correlation } : {}),
      };
    },
    customSuccessMessage: (req, res, ms) => `${req.method} ${route(req)} ${res.statusCode} ${Math.round(ms)} ms`,
    customErrorMessage: (req, res) => `${req.method} ${route(req)} ${res.statusCode}`,
    // The path without its query string: query parameters may carry ids a log collector should not index.
    serializers: {
      req: (req: { id?: unknown; method?: string; url?: string }) => ({
        id: req.id,
        method: req.method,
        path: (req.url ?? '').split('?', 1)[0],
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

/** pino through nestjs-pino; the process name tells the lines of several services apart in one collector. */
export function loggingModule(name: string | undefined): DynamicModule {
  return LoggerModule.forRootAsync({
    inject: [ConfigService],
    useFactory: (config: ConfigService<{ LOG_LEVEL: string }, true>) => {
      const options = {
        ...(name ? { name } : {}),
        level: config.get('LOG_LEVEL', { infer: true }),
        ...requestLogOptions(),
        redact: ['req.headers.authorization'],
      };
      if (prettyLogs()) {
        return {
          pinoHttp: {
            ...options,
            transport: {
              target: 'pino-pretty',
              options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,req,res' },
            },
          },
        };
      }
      // Written synchronously: a line is out before the next statement, so a crash, a kill or a
      // signal's exit never swallows the last lines (the ones that say why). At info a command
      // writes none, so this costs nothing on the command path.
      return { pinoHttp: [options, pino.destination({ dest: 1, sync: true })] };
    },
  });
}
