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
  type PatientFactsRead,
  type TrialEvent,
  type TrialFacts,
} from '@app/contracts';
import { EVENT_STORE, decideOnFacts, readKeptState, type EventStore, type StreamGuard } from '@app/event-store';
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

/** Enrollment's published patient facts as a fold (one object, so its folds are kept with the streams). */
const patientFacts = {
  initialState: (): PatientFacts | undefined => undefined,
  evolve: (state: PatientFacts | undefined, event: PatientEvent) => evolvePatientFacts(state, event),
};

@QueryHandler(GetPatientFacts)
export class GetPatientFactsHandler implements IQueryHandler<GetPatientFacts, PatientFactsRead | undefined> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  async execute({ trialId, patientId, fresh }: GetPatientFacts): Promise<PatientFactsRead | undefined> {
    const { state: facts, version, kept } = await readKeptState(this.store, patientStream(trialId, patientId), patientFacts, { fresh });
    return facts && { facts, version, kept };
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

  /**
   * The enrolled patient, if the sender may act at its site as its investigator; else 404 or 403.
   * For a check of who may act only: the patient's existence and site never change once enrolled,
   * so they may come from what this process last saw of the patient. A decision on the patient's
   * other facts goes through decideOnPatient.
   */
  async patientInScope(trialId: string, patientId: string, context: CommandContext): Promise<PatientFacts> {
    return (await this.patientRead(trialId, patientId, context, false)).facts;
  }

  /**
   * Runs a decision on the enrolled patient's facts (404 and 403 as patientInScope) with the patient's
   * stream as a guard: its append stands only if the patient's stream is still at the version the
   * facts were folded from. The facts come first from what this process last saw of the stream, with
   * no read; a refusal on them, or a patient moved on meanwhile (a withdrawal, a corrected enrolment
   * date, a visit), reads the stream and decides again, so no answer rests on a stale view.
   */
  async decideOnPatient<T>(
    trialId: string,
    patientId: string,
    context: CommandContext,
    decide: (patient: PatientFacts, guards: StreamGuard[]) => Promise<T>,
  ): Promise<T> {
    return decideOnFacts(
      patientStream(trialId, patientId),
      (fresh) => this.patientRead(trialId, patientId, context, fresh),
      decide,
      (error) => error instanceof DomainError,
    );
  }

  private async patientRead(trialId: string, patientId: string, context: CommandContext, fresh: boolean): Promise<PatientFactsRead> {
    const read = await this.queries.execute<GetPatientFacts, PatientFactsRead | undefined>(new GetPatientFacts(trialId, patientId, fresh));
    if (!read) throw new DomainError('PATIENT_NOT_FOUND', `no patient ${patientId} in trial ${trialId}`, 'not_found');
    assertSiteAccess(principalOf(context), read.facts.siteId, ['site-investigator']);
    return read;
  }
}

@Module({
  providers: [GetTrialFactsHandler, GetPatientFactsHandler, EnrollmentFacts],
  exports: [EnrollmentFacts],
})
export class EnrollmentFactsModule {}
