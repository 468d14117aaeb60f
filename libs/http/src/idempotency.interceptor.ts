import { hash } from 'node:crypto';
import { type CallHandler, type ExecutionContext, Inject, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { finalize, tap, throwError, type Observable } from 'rxjs';
import type { DataSource } from 'typeorm';
import { CLOCK, DATA_SOURCE, canonicalJson, type Clock, type IdempotentCommand } from '@app/event-store';
import { ProblemException } from './problem';

const KEY = /^[\x21-\x7e]{1,200}$/;
const COMMAND_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const HOUR_MS = 3_600_000;

/** The user a request acts for, as set by the authentication guard. */
export type RequestUser = (request: Request) => string | undefined;

/** Injection token: how long an Idempotency-Key is kept, in milliseconds (IDEMPOTENCY_TTL). */
export const IDEMPOTENCY_TTL_MS = 'IDEMPOTENCY_TTL_MS';

/** Where the interceptor leaves a command's key for the command context (and so its events). */
export type RequestWithIdempotency = Request & { idempotency?: IdempotentCommand };

/**
 * Idempotency-Key (api.md). Nothing is claimed before the command runs: the key travels with the
 * command into its events and is recorded by the append that carries it out, in the same
 * transaction (executeCommand, es_append_keyed). So a crash leaves both or neither, and a retry
 * either finds the request's events and replays their answer, or runs the command. Keys are
 * scoped to the user. A duplicate arriving while the first is still running in this process
 * answers 409 IDEMPOTENCY_KEY_IN_PROGRESS; one arriving at another process loses the stream's
 * version race and then replays the winner's answer.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Idempotency');
  private readonly running = new Set<string>();
  private nextPurge = 0;

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject('REQUEST_USER') private readonly userOf: RequestUser,
    @Inject(IDEMPOTENCY_TTL_MS) private readonly ttlMs: number,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<RequestWithIdempotency>();
    const key = request.header('idempotency-key');
    if (key === undefined || !COMMAND_METHODS.has(request.method)) return next.handle();
    if (!KEY.test(key)) {
      return throwError(
        () =>
          new ProblemException(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-200 visible ASCII characters', {
            errors: [{ path: 'headers.idempotency-key', message: 'must be 1-200 visible ASCII characters' }],
          }),
      );
    }
    const scope = this.userOf(request) ?? '';
    const slot = `${scope}\n${key}`;
    if (this.running.has(slot)) {
      return throwError(
        () =>
          new ProblemException(409, 'IDEMPOTENCY_KEY_IN_PROGRESS', 'a request with this Idempotency-Key is still running; retry shortly', {
            headers: { 'Retry-After': '1' },
          }),
      );
    }
    const now = this.clock.now().getTime();
    const claim: IdempotentCommand = {
      scope,
      key,
      requestHash: hash('sha256', `${request.method} ${request.originalUrl}\n${canonicalJson(request.body ?? null) ?? ''}`, 'hex'),
      notBefore: new Date(now - this.ttlMs).toISOString(),
    };
    request.idempotency = claim;
    this.running.add(slot);
    this.purgeExpired(now);
    const response = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      tap(() => {
        if (claim.replayed && !response.headersSent) response.setHeader('Idempotent-Replayed', 'true');
      }),
      finalize(() => this.running.delete(slot)),
    );
  }

  /** Expired keys answer nothing already; at most once an hour their rows are deleted too. */
  private purgeExpired(now: number): void {
    if (now < this.nextPurge) return;
    this.nextPurge = now + HOUR_MS;
    this.dataSource
      .query('DELETE FROM es_idempotency WHERE recorded_at < $1', [new Date(now - this.ttlMs).toISOString()])
      .catch((error: unknown) => this.logger.warn(`could not delete expired idempotency keys: ${String(error)}`));
  }
}
