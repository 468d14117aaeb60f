import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { patientStream, trialStream } from '@app/contracts';
import { EVENT_STORE, loadState, type EventStore } from '@app/event-store';
import { patientDecider, type PatientState } from '../domain/patient.decider';
import { trialDecider, type TrialState } from '../domain/trial.decider';

/**
 * Enrollment's own views of a trial and a patient (GET /trials/{t}, GET …/patients/{p}): the
 * decider state folded from the stream, with its version for the ETag. No table: a trial or a
 * patient stream is short. Other contexts never see this state; they ask the published
 * GetTrialFacts / GetPatientFacts (EnrollmentFactsModule in @app/runtime).
 */

export class GetTrial {
  constructor(readonly trialId: string) {}
}
export class GetPatient {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
  ) {}
}

@QueryHandler(GetTrial)
export class GetTrialHandler implements IQueryHandler<GetTrial, { state: TrialState; version: number }> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId }: GetTrial) {
    return loadState(this.store, trialStream(trialId), trialDecider);
  }
}

@QueryHandler(GetPatient)
export class GetPatientHandler implements IQueryHandler<GetPatient, { state: PatientState; version: number }> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ trialId, patientId }: GetPatient) {
    return loadState(this.store, patientStream(trialId, patientId), patientDecider);
  }
}

export const enrollmentViewHandlers = [GetTrialHandler, GetPatientHandler];
