import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { DomainError, Id, trialStream, type TrialEvent } from '@app/contracts';
import { EVENT_STORE, type EventStore } from '@app/event-store';
import { invalidIdParam } from './id-param.pipe';

/** The path parameter that names the trial in every route under /trials/{t}. */
export const TRIAL_PARAM = 't';

/** A trial's stream begins with its registration (the published language of enrollment). */
const REGISTRATION: TrialEvent['type'] = 'TrialRegistered';

/**
 * Every route under /trials/{t} answers 404 TRIAL_NOT_FOUND for a trial that does not exist,
 * reads included, before its handler runs: a read of a misspelled trial must neither answer an
 * empty 200 nor write (an unblinded view recorded for it). An interceptor, not a guard, so it
 * runs after every guard: no token still answers 401, a wrong role 403. Registered first among
 * the interceptors, so an Idempotency-Key is not claimed for a trial that does not exist.
 */
@Injectable()
export class TrialExistsInterceptor implements NestInterceptor {
  /**
   * Trials found registered. A trial is never deleted, so a positive answer holds forever and a
   * hot path reads the store once; a negative one is not kept, since the trial may be registered
   * a moment later (by this process or another sharing the store).
   */
  private readonly registered = new Set<string>();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const trialId = context.switchToHttp().getRequest<Request>().params[TRIAL_PARAM];
    if (trialId !== undefined) await this.assertRegistered(trialId);
    return next.handle();
  }

  private async assertRegistered(trialId: string | string[]): Promise<void> {
    // Refused as the route's own IdParamPipe would, before a stream is named after it.
    if (typeof trialId !== 'string' || !Id.safeParse(trialId).success) throw invalidIdParam(TRIAL_PARAM);
    if (this.registered.has(trialId)) return;
    const { events } = await this.store.readStream(trialStream(trialId), { maxCount: 1 });
    if (events[0]?.type !== REGISTRATION) throw new DomainError('TRIAL_NOT_FOUND', `no trial ${trialId}`, 'not_found');
    this.registered.add(trialId);
  }
}
