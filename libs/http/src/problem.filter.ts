import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ZodValidationException } from 'nestjs-zod';
import type { ZodError } from 'zod';
import { DomainError } from '@app/contracts';
import {
  ConcurrentModificationError,
  IdempotencyKeyReusedError,
  PreconditionFailedError,
  WrongExpectedVersionError,
} from '@app/event-store';
import { ProblemException, type ProblemFieldError } from './problem';

const DOMAIN_STATUS: Record<DomainError['kind'], number> = {
  rule: 422,
  conflict: 409,
  not_found: 404,
  invalid: 400,
  forbidden: 403,
  too_large: 413,
  unsupported_media_type: 415,
};

/** Zod issues as api.md's `errors[]`: the dotted path of the offending field and why. */
export function fieldErrors(error: ZodError, prefix = ''): ProblemFieldError[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
    return unknownKeys
      ? { path: [path, unknownKeys[0]].filter(Boolean).join('.'), message: `unknown field(s): ${unknownKeys.join(', ')}` }
      : { path: path || '(body)', message: issue.message };
  });
}

/** Turns anything thrown while serving a request into an application/problem+json response. */
export function toProblem(exception: unknown): ProblemException {
  if (exception instanceof ProblemException) return exception;
  if (exception instanceof ZodValidationException) {
    return new ProblemException(400, 'VALIDATION_FAILED', 'the request body is not valid', {
      errors: fieldErrors(exception.getZodError() as ZodError),
    });
  }
  if (exception instanceof DomainError) {
    return new ProblemException(DOMAIN_STATUS[exception.kind], exception.code, exception.message, {
      errors: exception.field ? [{ path: exception.field, message: exception.message }] : undefined,
    });
  }
  if (exception instanceof PreconditionFailedError) {
    return new ProblemException(412, exception.code, exception.message, { extensions: { currentVersion: exception.actual } });
  }
  if (exception instanceof ConcurrentModificationError) {
    return new ProblemException(
      409,
      'CONCURRENT_MODIFICATION',
      'other changes to this resource kept arriving while it was being decided; retry',
      {
        headers: { 'Retry-After': String(exception.retryAfterSeconds) },
      },
    );
  }
  if (exception instanceof WrongExpectedVersionError) {
    return new ProblemException(409, 'CONCURRENT_MODIFICATION', 'the resource was changed meanwhile; retry', {
      headers: { 'Retry-After': '1' },
      extensions: { currentVersion: exception.actual },
    });
  }
  if (exception instanceof IdempotencyKeyReusedError) {
    return new ProblemException(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request', {
      errors: [{ path: 'headers.idempotency-key', message: 'already used with a different request' }],
    });
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const cause = exception.cause as { type?: string } | undefined;
    if (status === 404) return new ProblemException(404, 'ROUTE_NOT_FOUND', exception.message);
    // The router could not percent-decode a path segment (`%`, `%E0%A4%A`): Nest passes it on as a
    // BadRequestException with the router's message, which quotes the segment but not its name.
    if (status === 400 && exception.message.startsWith('Failed to decode param')) {
      return new ProblemException(400, 'INVALID_ID', 'a path parameter is not valid percent-encoded UTF-8', {
        errors: [{ path: 'params', message: `${exception.message}; must match [A-Za-z0-9._-]{1,64}` }],
      });
    }
    return new ProblemException(status, status === 413 ? 'PAYLOAD_TOO_LARGE' : `HTTP_${status}`, exception.message, {
      extensions: cause?.type ? { cause: cause.type } : undefined,
    });
  }
  // body-parser errors reach us as plain errors with a status and a type.
  const bodyError = exception as { status?: number; type?: string; message?: string };
  if (bodyError.type === 'entity.parse.failed') return new ProblemException(400, 'MALFORMED_JSON', 'the request body is not valid JSON');
  if (bodyError.type === 'entity.too.large') return new ProblemException(413, 'PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (bodyError.type === 'encoding.unsupported' || bodyError.type === 'charset.unsupported') {
    return new ProblemException(415, 'UNSUPPORTED_ENCODING', bodyError.message ?? 'unsupported encoding');
  }
  if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    return new ProblemException(bodyError.status, `HTTP_${bodyError.status}`, bodyError.message ?? 'bad request');
  }
  return new ProblemException(500, 'INTERNAL_ERROR', 'an unexpected error occurred; it has been logged');
}

/** Writes a problem+json response. */
export function sendProblem(response: Response, problem: ProblemException): void {
  for (const [name, value] of Object.entries(problem.headers)) response.setHeader(name, value);
  response.status(problem.problem.status).type('application/problem+json').send(JSON.stringify(problem.problem));
}

/**
 * Express error middleware for the body parser: Nest would turn its errors into a bare 400
 * and lose why (malformed JSON, too large, bad charset), so they are answered here.
 */
export function bodyParserErrors(error: unknown, _request: unknown, response: Response, next: (error?: unknown) => void): void {
  if (typeof (error as { type?: unknown } | null)?.type === 'string' && !response.headersSent) sendProblem(response, toProblem(error));
  else next(error);
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const problem = toProblem(exception);
    if (problem.problem.status >= 500) this.logger.error(exception);
    if (!response.headersSent) sendProblem(response, problem);
  }
}
