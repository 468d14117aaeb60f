import { applyRecordedChanges } from './domain-error';
import type { PatientEvent, TrialEvent } from './enrollment';

/**
 * What other contexts may ask of enrollment, in the published language: the query messages, the
 * shapes they answer with, and the folds of enrollment's published events into those shapes.
 * Enrollment's deciders keep their own state; nothing here depends on it.
 */

export interface CommitteeMemberFacts {
  userId: string;
  name: string;
  role: 'cec-reviewer' | 'cec-chair';
  affiliatedSiteIds: string[];
}

/** A registered trial as other contexts see it. */
export interface TrialFacts {
  trialId: string;
  arms: string[];
  siteIds: string[];
  committee: Record<string, CommitteeMemberFacts>;
  /** The charter version in force (the latest published), if any. */
  charterVersion?: string;
}

/** An enrolled patient as other contexts see it (never the arm: it stays with enrollment and the DSMB). */
export interface PatientFacts {
  trialId: string;
  patientId: string;
  siteId: string;
  enrolledOn: string;
  withdrawnOn?: string;
}

/** Answers `TrialFacts | undefined` (undefined: no such trial). */
export class GetTrialFacts {
  constructor(readonly trialId: string) {}
}

/**
 * Answers `PatientFactsRead | undefined` (undefined: no such patient in that trial). Unless `fresh`,
 * the facts may come from what the answering process last saw of the patient's stream, unread.
 */
export class GetPatientFacts {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly fresh = false,
  ) {}
}

/** A patient's facts, the version of the patient's stream they were folded from, and whether that stream was read for them. */
export interface PatientFactsRead {
  facts: PatientFacts;
  version: number;
  /** Folded from the answering process's kept copy of the stream, not read: possibly stale. */
  kept: boolean;
}

export function evolveTrialFacts(state: TrialFacts | undefined, event: TrialEvent): TrialFacts | undefined {
  if (event.type === 'TrialRegistered') return { trialId: event.data.trialId, arms: [...event.data.arms], siteIds: [], committee: {} };
  if (!state) return state;
  switch (event.type) {
    case 'SiteAdded':
      return { ...state, siteIds: [...state.siteIds, event.data.siteId] };
    case 'CommitteeMemberAdded': {
      const { userId, name, role, affiliatedSiteIds } = event.data;
      return { ...state, committee: { ...state.committee, [userId]: { userId, name, role, affiliatedSiteIds: [...affiliatedSiteIds] } } };
    }
    case 'CharterVersionPublished':
      return { ...state, charterVersion: event.data.version };
    default:
      return state;
  }
}

export function evolvePatientFacts(state: PatientFacts | undefined, event: PatientEvent): PatientFacts | undefined {
  if (event.type === 'PatientEnrolled') {
    const { trialId, patientId, siteId, enrolledOn } = event.data;
    return { trialId, patientId, siteId, enrolledOn };
  }
  if (!state) return state;
  switch (event.type) {
    case 'PatientDataCorrected':
      return {
        ...state,
        enrolledOn: applyRecordedChanges(
          { enrolledOn: state.enrolledOn },
          event.data.changes.filter((c) => c.field === 'enrolledOn'),
        ).enrolledOn,
      };
    case 'PatientWithdrawn':
      return { ...state, withdrawnOn: event.data.withdrawnOn };
    default:
      return state;
  }
}
