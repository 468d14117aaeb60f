import fc from 'fast-check';
import {
  evolvePatientFacts,
  evolveTrialFacts,
  type PatientEvent,
  type PatientFacts,
  type TrialEvent,
  type TrialFacts,
} from '@app/contracts';
import { patientDecider, type PatientCommand, type PatientState } from './patient.decider';
import { trialDecider, type TrialCommand, type TrialState } from './trial.decider';

/**
 * Deliberate twins: enrollment's decider state and the published facts other contexts fold from the
 * same events must agree on every fact the published shape carries, whatever the history.
 */
const day = fc.integer({ min: 0, max: 400 }).map((n) => new Date(Date.UTC(2025, 0, 1) + n * 86_400_000).toISOString().slice(0, 10));
const baseline = { ageYears: 70, sex: 'F' as const, diabetes: false, presentation: 'cli' as const, rutherfordClass: 4 };
const trial = { arms: ['DCB', 'PTA'], siteIds: ['S1', 'S2'] };
const today = '2026-12-31';

const patientCommand: fc.Arbitrary<PatientCommand> = fc.oneof(
  day.map((d) => ({ type: 'CorrectPatientData' as const, data: { changes: { enrolledOn: d }, reason: 'r' }, trial, today })),
  fc
    .constantFrom('DCB', 'PTA')
    .map((arm) => ({ type: 'CorrectPatientData' as const, data: { changes: { arm }, reason: 'r' }, trial, today })),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 3 }), day)
    .map(([visitId, visitOn]) => ({ type: 'RecordVisit' as const, data: { visitId, visit: '6m' as const, visitOn }, today })),
  day.map((withdrawnOn) => ({ type: 'WithdrawPatient' as const, data: { withdrawnOn, reason: 'r' }, today })),
);

function run<S, C, E>(decider: { initialState(): S; decide(c: C, s: S): E[]; evolve(s: S, e: E): S }, commands: C[]): E[] {
  const events: E[] = [];
  let state = decider.initialState();
  for (const command of commands) {
    try {
      for (const event of decider.decide(command, state)) {
        events.push(event);
        state = decider.evolve(state, event);
      }
    } catch {
      // A refused command records nothing.
    }
  }
  return events;
}

describe("published facts agree with enrollment's own state", () => {
  it('for any patient history', () => {
    fc.assert(
      fc.property(day, fc.array(patientCommand, { maxLength: 12 }), (enrolledOn, commands) => {
        const enroll: PatientCommand = {
          type: 'EnrollPatient',
          data: { trialId: 'T1', patientId: 'P1', siteId: 'S1', enrolledOn, arm: 'DCB', baseline },
          trial,
          today,
        };
        const events = run<PatientState, PatientCommand, PatientEvent>(patientDecider, [enroll, ...commands]);
        const state = events.reduce(patientDecider.evolve, patientDecider.initialState());
        const facts = events.reduce<PatientFacts | undefined>(evolvePatientFacts, undefined);
        if (state.status !== 'enrolled') throw new Error('enrolment refused');
        expect(facts).toEqual({
          trialId: 'T1',
          patientId: 'P1',
          siteId: state.siteId,
          enrolledOn: state.enrolledOn,
          ...(state.withdrawal ? { withdrawnOn: state.withdrawal.withdrawnOn } : {}),
        });
      }),
    );
  });

  it('for any trial set-up', () => {
    const member = fc.record({
      userId: fc.constantFrom('u1', 'u2', 'u3'),
      role: fc.constantFrom('cec-reviewer' as const, 'cec-chair' as const),
      site: fc.constantFrom('S1', 'S2', 'S9'),
    });
    const trialCommand: fc.Arbitrary<TrialCommand> = fc.oneof(
      fc
        .constantFrom('S1', 'S2')
        .map((siteId) => ({ type: 'AddSite' as const, data: { trialId: 'T1', siteId, name: siteId, country: 'DE' } })),
      member.map((m) => ({
        type: 'AddCommitteeMember' as const,
        data: { trialId: 'T1', userId: m.userId, name: m.userId, role: m.role, affiliatedSiteIds: [m.site] },
      })),
      fc
        .constantFrom('1', '2', '3')
        .map((version) => ({ type: 'PublishCharter' as const, data: { trialId: 'T1', version, endpoints: [] } })),
    );
    fc.assert(
      fc.property(fc.array(trialCommand, { maxLength: 12 }), (commands) => {
        const register: TrialCommand = {
          type: 'RegisterTrial',
          data: { trialId: 'T1', title: 't', protocolVersion: '1', arms: ['DCB', 'PTA'] },
        };
        const events = run<TrialState, TrialCommand, TrialEvent>(trialDecider, [register, ...commands]);
        const state = events.reduce(trialDecider.evolve, trialDecider.initialState());
        const facts = events.reduce<TrialFacts | undefined>(evolveTrialFacts, undefined);
        if (state.status !== 'registered') throw new Error('registration refused');
        expect(facts).toEqual({
          trialId: 'T1',
          arms: state.arms,
          siteIds: Object.keys(state.sites),
          committee: state.committee,
          ...(state.charters.length > 0 ? { charterVersion: state.charters[state.charters.length - 1]?.version } : {}),
        });
      }),
    );
  });
});
