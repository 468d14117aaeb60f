import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { JwtVerifier } from '@app/auth';
import { ProblemException, sendProblem, toProblem, unauthorized } from '@app/http';
import { serviceFor, type ServiceName } from './routes';

const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

type ProxiedRequest = IncomingMessage & { gatewayService?: ServiceName; gatewayTimedOut?: boolean };

/**
 * Authenticates at the edge: a request without a valid bearer token never reaches a service.
 * Same verifier and same problem+json as the services' AuthGuard, which verify again (and check
 * roles and sites), so a service reached directly is no weaker.
 */
export function edgeAuthentication(verifier: JwtVerifier): (request: Request, response: Response) => Promise<boolean> {
  return async (request, response) => {
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (!match?.[1]) {
      sendProblem(response, unauthorized('AUTHENTICATION_REQUIRED', 'This request needs an Authorization: Bearer <token> header.'));
      return false;
    }
    try {
      await verifier.verify(match[1]);
      return true;
    } catch (error) {
      sendProblem(response, toProblem(error));
      return false;
    }
  };
}

/**
 * Routes API paths to their service and streams request and response through unchanged
 * (bodies are not parsed here; status, ETag, Retry-After, Idempotency-Replayed… pass as sent).
 * Other paths fall through to the gateway's own routes (/health, /docs) and its 404.
 */
export function gatewayMiddleware(options: {
  services: Record<ServiceName, string>;
  verifier: JwtVerifier;
  timeoutMs: number;
}): RequestHandler {
  const logger = new Logger('Gateway');
  const authenticate = edgeAuthentication(options.verifier);
  const proxy = createProxyMiddleware<Request, Response>({
    router: (request) => options.services[(request as ProxiedRequest).gatewayService ?? 'enrollment'],
    xfwd: true,
    // A service that accepts the connection but stops answering must not hold the client forever.
    proxyTimeout: options.timeoutMs,
    on: {
      proxyReq: (proxyReq, request) => {
        proxyReq.on('timeout', () => ((request as ProxiedRequest).gatewayTimedOut = true));
      },
      error: (error, request, response) => {
        const service = (request as ProxiedRequest).gatewayService ?? 'unknown';
        const code = (error as NodeJS.ErrnoException).code ?? error.message;
        logger.warn(`${request.method} ${request.url} → ${service} service failed: ${code}`);
        if (!isResponse(response)) {
          response.destroy();
          return;
        }
        if (response.headersSent) {
          // The service broke off mid-stream: cutting the client's connection is the only honest signal.
          response.destroy();
          return;
        }
        sendProblem(response, upstreamProblem(service, code, (request as ProxiedRequest).gatewayTimedOut === true, options.timeoutMs));
      },
    },
  });
  return (request: Request, response: Response, next: NextFunction) => {
    const service = serviceFor(request.path);
    if (service === undefined) {
      next();
      return;
    }
    (request as ProxiedRequest).gatewayService = service;
    authenticate(request, response).then(
      (ok) => (ok ? proxy(request, response, next) : undefined),
      (error: unknown) => next(error),
    );
  };
}

function isResponse(response: ServerResponse | Socket): response is ServerResponse {
  return typeof (response as ServerResponse).writeHead === 'function';
}

function upstreamProblem(service: string, code: string, timedOut: boolean, timeoutMs: number): ProblemException {
  if (timedOut) {
    return new ProblemException(504, 'SERVICE_TIMEOUT', `The ${service} service did not answer within ${timeoutMs} ms; retry later.`, {
      extensions: { service },
    });
  }
  // Not reachable (down, restarting, wrong URL): the client may retry once it is back.
  return new ProblemException(503, 'SERVICE_UNAVAILABLE', `The ${service} service cannot be reached (${code}); retry later.`, {
    headers: { 'Retry-After': '5' },
    extensions: { service },
  });
}
