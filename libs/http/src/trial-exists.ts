import { Inject, Injectable } from '@nestjs/common';
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
 * empty 200 nor write (an unblinded view recorded for it). ApiGuard asks after authentication (no
 * token still answers 401, a wrong role 403) and before an Idempotency-Key is claimed.
 */
@Injectable()
export class TrialExists {
  /**
   * Trials found registered. A trial is never deleted, so a positive answer holds forever and a
   * hot path reads the store once; a negative one is not kept, since the trial may be registered
   * a moment later (by this process or another sharing the store).
   */
  private readonly registered = new Set<string>();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** Refuses the trial a route names, if it names one (params[TRIAL_PARAM]) that is not registered. */
  async assertRegistered(params: Record<string, string | string[] | undefined>): Promise<void> {
    const trialId = params[TRIAL_PARAM];
    if (trialId === undefined) return;
    // Refused as the route's own IdParamPipe would, before a stream is named after it.
    if (typeof trialId !== 'string' || !Id.safeParse(trialId).success) throw invalidIdParam(TRIAL_PARAM);
    if (this.registered.has(trialId)) return;
    const { events } = await this.store.readStream(trialStream(trialId), { maxCount: 1 });
    if (events[0]?.type !== REGISTRATION) throw new DomainError('TRIAL_NOT_FOUND', `no trial ${trialId}`, 'not_found');
    this.registered.add(trialId);
  }
}
