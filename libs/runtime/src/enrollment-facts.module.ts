import { Inject, Injectable, Module } from '@nestjs/common';
import { type IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { assertSiteAccess, principalOf } from '@app/auth';
import {
  DomainError,
  GetPatientFacts,
  GetTrialFacts,
  evolvePatientFacts,
  evolveTrialFacts,
  patientStream,
  trialStream,
  type PatientEvent,
  type PatientFacts,
  type TrialEvent,
  type TrialFacts,
} from '@app/contracts';
import { EVENT_STORE, type EventStore } from '@app/event-store';
import type { CommandContext } from '@app/http';

/**
 * Enrollment's read side for the other contexts: answers the published query messages by folding
 * enrollment's published events (the trial and patient streams) into the published shapes. A
 * context imports this module; it never imports enrollment's code.
 */

async function fold<E, S>(
  store: EventStore,
  streamId: string,
  evolve: (state: S | undefined, event: E) => S | undefined,
): Promise<S | undefined> {
  const { events } = await store.readStream(streamId);
  return events.reduce<S | undefined>((state, e) => evolve(state, { type: e.type, data: e.data } as E), undefined);
}

@QueryHandler(GetTrialFacts)
export class GetTrialFactsHandler implements IQueryHandler<GetTrialFacts, TrialFacts | undefined> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId }: GetTrialFacts): Promise<TrialFacts | undefined> {
    return fold<TrialEvent, TrialFacts>(this.store, trialStream(trialId), evolveTrialFacts);
  }
}

@QueryHandler(GetPatientFacts)
export class GetPatientFactsHandler implements IQueryHandler<GetPatientFacts, PatientFacts | undefined> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId, patientId }: GetPatientFacts): Promise<PatientFacts | undefined> {
    return fold<PatientEvent, PatientFacts>(this.store, patientStream(trialId, patientId), evolvePatientFacts);
  }
}

/** The queries as the contexts' command handlers use them, with the not-found and site-scope rules. */
@Injectable()
export class EnrollmentFacts {
  constructor(private readonly queries: QueryBus) {}

  /** The registered trial, else 404 TRIAL_NOT_FOUND. */
  async trial(trialId: string): Promise<TrialFacts> {
    const trial = await this.queries.execute<GetTrialFacts, TrialFacts | undefined>(new GetTrialFacts(trialId));
    if (!trial) throw new DomainError('TRIAL_NOT_FOUND', `no trial ${trialId}`, 'not_found');
    return trial;
  }

  /** The enrolled patient, if the sender may act at its site as its investigator; else 404 or 403. */
  async patientInScope(trialId: string, patientId: string, context: CommandContext): Promise<PatientFacts> {
    const patient = await this.queries.execute<GetPatientFacts, PatientFacts | undefined>(new GetPatientFacts(trialId, patientId));
    if (!patient) throw new DomainError('PATIENT_NOT_FOUND', `no patient ${patientId} in trial ${trialId}`, 'not_found');
    assertSiteAccess(principalOf(context), patient.siteId, ['site-investigator']);
    return patient;
  }
}

@Module({
  providers: [GetTrialFactsHandler, GetPatientFactsHandler, EnrollmentFacts],
  exports: [EnrollmentFacts],
})
export class EnrollmentFactsModule {}
