export { EnrollmentModule } from './enrollment.module';
export { GetPatient, GetTrial } from './application/enrollment.messages';
export type { CommandResult } from './application/enrollment.messages';
export { enrolledPatientInScope, principalOf, validateCorrection } from './application/enrollment.handlers';
export type { EnrolledPatient, PatientState, TrialFacts } from './domain/patient.decider';
export type { TrialState } from './domain/trial.decider';
