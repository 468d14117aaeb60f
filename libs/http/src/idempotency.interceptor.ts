import { createHash } from 'node:crypto';
import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import canonicalize from 'canonicalize';
import type { Request, Response } from 'express';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE } from '@app/event-store';
import { ProblemException } from './problem';

const KEY = /^[\x21-\x7e]{1,200}$/;
const COMMAND_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The user a request acts for, as set by the authentication guard. */
export type RequestUser = (request: Request) => string | undefined;

/**
 * Idempotency-Key (api.md): the same key with the same request replays the first response;
 * with another request → 422 IDEMPOTENCY_KEY_REUSED. Keys are scoped to the user. A key is
 * claimed before the command runs, so two concurrent retries cannot both write.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject('REQUEST_USER') private readonly userOf: RequestUser,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<Request>();
    const key = request.header('idempotency-key');
    if (key === undefined || !COMMAND_METHODS.has(request.method)) return next.handle();
    return from(this.run(request, context.switchToHttp().getResponse<Response>(), key, next));
  }

  private async run(request: Request, response: Response, key: string, next: CallHandler): Promise<unknown> {
    if (!KEY.test(key)) {
      throw new ProblemException(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-200 visible ASCII characters', {
        errors: [{ path: 'headers.idempotency-key', message: 'must be 1-200 visible ASCII characters' }],
      });
    }
    const user = this.userOf(request) ?? '';
    const hash = createHash('sha256')
      .update(`${request.method} ${request.originalUrl}\n${canonicalize(request.body ?? null) ?? ''}`)
      .digest('hex');
    const claimed: unknown[] = await this.dataSource.query(
      `INSERT INTO http_idempotency (user_id, key, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING key`,
      [user, key, hash],
    );
    if (claimed.length === 0) return this.replay(user, key, hash, response);
    try {
      const body = await lastValueFrom(next.handle(), { defaultValue: undefined });
      await this.dataSource.query('UPDATE http_idempotency SET status = $3, body = $4::jsonb WHERE user_id = $1 AND key = $2', [
        user,
        key,
        response.statusCode,
        JSON.stringify(body ?? null),
      ]);
      return body;
    } catch (error) {
      // A refused or failed command leaves nothing to replay: the key may be used again.
      await this.dataSource.query('DELETE FROM http_idempotency WHERE user_id = $1 AND key = $2', [user, key]);
      throw error;
    }
  }

  private async replay(user: string, key: string, hash: string, response: Response): Promise<unknown> {
    const [row] = (await this.dataSource.query('SELECT request_hash, status, body FROM http_idempotency WHERE user_id = $1 AND key = $2', [
      user,
      key,
    ])) as Array<{ request_hash: string; status: number | null; body: unknown }>;
    if (!row) throw new ProblemException(409, 'IDEMPOTENCY_KEY_IN_PROGRESS', 'a request with this Idempotency-Key just failed or is running; retry');
    if (row.request_hash !== hash) {
      throw new ProblemException(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request');
    }
    if (row.status === null) throw new ProblemException(409, 'IDEMPOTENCY_KEY_IN_PROGRESS', 'a request with this Idempotency-Key is still running');
    response.setHeader('Idempotent-Replayed', 'true');
    const body = row.body as { streamVersion?: unknown } | null;
    if (body && typeof body.streamVersion === 'number') response.setHeader('ETag', `"${body.streamVersion}"`);
    return row.body;
  }
}
