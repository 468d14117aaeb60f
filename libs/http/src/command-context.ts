import { randomUUID } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { Actor, EventMetadata, ExecuteOptions, IdempotentCommand } from '@app/event-store';
import { parseIfMatch } from './command-response';
import { ProblemException } from './problem';

/** Who sends a command and the request facts that travel into its events' metadata. */
export interface CommandContext {
  actor: Actor & { sites: string[] };
  correlationId: string;
  /** The Idempotency-Key's claim (IdempotencyKeys): executeCommand replays it, or records it in the events' metadata and with the append. */
  idempotency?: IdempotentCommand;
  /** Stream version named by If-Match, when the client sent one. */
  ifMatch?: number;
}

const CORRELATION = /^[A-Za-z0-9._:-]{1,100}$/;

/** The metadata every event written for this command carries (executeCommand adds the Idempotency-Key's, from the claim). */
export function eventMetadata(context: CommandContext, extra: { reason?: string; causationId?: string } = {}): EventMetadata {
  const { userId, name, roles } = context.actor;
  return {
    actor: { userId, name, roles },
    correlationId: context.correlationId,
    ...(extra.reason ? { reason: extra.reason } : {}),
    ...(extra.causationId ? { causationId: extra.causationId } : {}),
  };
}

/** executeCommand's options for this command: If-Match, the events' metadata and the Idempotency-Key. */
export function commandOptions(context: CommandContext, extra: { reason?: string; causationId?: string } = {}): ExecuteOptions {
  return {
    metadata: eventMetadata(context, extra),
    ...(context.ifMatch !== undefined ? { ifMatch: context.ifMatch } : {}),
    ...(context.idempotency ? { idempotency: context.idempotency } : {}),
  };
}

/** Reads a CommandContext from the authenticated request (principal set by the auth guard). */
export function commandContextOf(
  request: Request & {
    principal?: { userId: string; name: string; roles: string[]; sites: string[] };
    idempotency?: IdempotentCommand;
    id?: unknown;
  },
): CommandContext {
  const principal = request.principal;
  if (!principal) throw new ProblemException(401, 'AUTHENTICATION_REQUIRED', 'This request needs an Authorization: Bearer <token> header.');
  const ifMatch = parseIfMatch(request.header('if-match'));
  if (ifMatch === 'invalid') {
    throw new ProblemException(400, 'INVALID_IF_MATCH', 'If-Match must be an ETag returned by this API, e.g. "3"', {
      errors: [{ path: 'headers.if-match', message: 'must be a stream version ETag such as "3"' }],
    });
  }
  const correlation = request.header('x-correlation-id');
  return {
    actor: { userId: principal.userId, name: principal.name, roles: [...principal.roles], sites: [...principal.sites] },
    // Without the client's own id, the request id (X-Request-Id, in the request's log line) ties the events to the request.
    correlationId: correlation && CORRELATION.test(correlation) ? correlation : typeof request.id === 'string' ? request.id : randomUUID(),
    ...(request.idempotency ? { idempotency: request.idempotency } : {}),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
  };
}

/** Parameter decorator: the CommandContext of the current request. */
export const Ctx = createParamDecorator((_: unknown, host: ExecutionContext) => commandContextOf(host.switchToHttp().getRequest()));
