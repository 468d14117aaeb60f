import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { StreamVersionETagInterceptor } from './command-response.interceptor';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { TrialExistsInterceptor } from './trial-exists.interceptor';

/**
 * The API's global interceptors, registered as one: for each interceptor it calls, Nest binds an
 * AsyncResource (whose bind builds a deprecation getter every time) and wraps the next step in an
 * rxjs defer and mergeAll, a cost paid per request that a direct call does not pay (issue #18).
 * The order is the one they had as three: the trial's existence outermost (nothing below runs,
 * claims or writes for an unknown trial), then the Idempotency-Key, then the answer's ETag.
 */
@Injectable()
export class ApiInterceptor implements NestInterceptor {
  constructor(
    @Inject(TrialExistsInterceptor) private readonly trialExists: TrialExistsInterceptor,
    @Inject(IdempotencyInterceptor) private readonly idempotency: IdempotencyInterceptor,
    @Inject(StreamVersionETagInterceptor) private readonly etag: StreamVersionETagInterceptor,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    return this.trialExists.intercept(context, {
      handle: () => this.idempotency.intercept(context, { handle: () => this.etag.intercept(context, next) }),
    });
  }
}
