import { hash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
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

/** Where IdempotencyKeys leaves a command's key for the command context (and so its events). */
export type RequestWithIdempotency = Request & { idempotency?: IdempotentCommand };

/**
 * Idempotency-Key (api.md). Nothing is claimed before the command runs: the key travels with the
 * command into its events and is recorded by the append that carries it out, in the same
 * transaction (executeCommand, es_append_keyed). So a crash leaves both or neither, and a retry
 * either finds the request's events and replays their answer, or runs the command. Keys are
 * scoped to the user. A duplicate arriving while the first is still answering in this process
 * answers 409 IDEMPOTENCY_KEY_IN_PROGRESS; one arriving at another process loses the stream's
 * version race and then replays the winner's answer.
 */
@Injectable()
export class IdempotencyKeys {
  private readonly logger = new Logger('Idempotency');
  /** Keys whose request is still answering here: freed when its response closes, however it ends. */
  private readonly running = new Set<string>();
  private nextPurge = 0;

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject('REQUEST_USER') private readonly userOf: RequestUser,
    @Inject(IDEMPOTENCY_TTL_MS) private readonly ttlMs: number,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
  ) {}

  /**
   * Checks a command's Idempotency-Key and hands its claim to the command (request.idempotency);
   * ApiHttpAdapter marks a replayed answer. Requests without a key, and reads, pass untouched.
   */
  claim(request: RequestWithIdempotency, response: Response): void {
    const key = request.header('idempotency-key');
    if (key === undefined || !COMMAND_METHODS.has(request.method)) return;
    if (!KEY.test(key)) {
      throw new ProblemException(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-200 visible ASCII characters', {
        errors: [{ path: 'headers.idempotency-key', message: 'must be 1-200 visible ASCII characters' }],
      });
    }
    const scope = this.userOf(request) ?? '';
    const slot = `${scope}\n${key}`;
    if (this.running.has(slot)) {
      throw new ProblemException(
        409,
        'IDEMPOTENCY_KEY_IN_PROGRESS',
        'a request with this Idempotency-Key is still running; retry shortly',
        {
          headers: { 'Retry-After': '1' },
        },
      );
    }
    const now = this.clock.now().getTime();
    request.idempotency = {
      scope,
      key,
      requestHash: hash('sha256', `${request.method} ${request.originalUrl}\n${canonicalJson(request.body ?? null) ?? ''}`, 'hex'),
      notBefore: new Date(now - this.ttlMs).toISOString(),
    };
    this.purgeExpired(now);
    // A response whose connection is already gone has closed: a listener added now would never
    // run and the key would stay "in progress" for the life of the process. Its command still
    // runs (its key goes into its events); only the in-process 409 is not needed for it.
    if (request.socket.destroyed) return;
    this.running.add(slot);
    response.once('close', () => this.running.delete(slot));
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
