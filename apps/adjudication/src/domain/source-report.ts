import {
  applyRecordedChanges,
  caseOpenedFor,
  type AdverseEventEvent,
  type AdverseEventReport,
  type CaseOpened,
  type DocumentAttached,
  type IndexProcedureSummary,
  type ProcedureEvent,
} from '@app/contracts';

/** api.md: a trial without a published charter is adjudicated under the default charter. */
export const DEFAULT_CHARTER_VERSION = 'default-1';

/**
 * The site's adverse-event report as adjudication keeps it, folded from the published events: what
 * a case shows the committee, and the case it opened. Adverse events' own state stays theirs.
 */
export interface SourceReport {
  trialId: string;
  patientId: string;
  siteId: string;
  eventId: string;
  report: AdverseEventReport;
  retracted: boolean;
  /** The source documents the site attached to the event, by document id: what the coordinator may redact and release. */
  documents: Record<string, SourceDocument>;
  /**
   * The case the report opened once one of its versions was adjudicable (caseOpenedFor). It stays
   * when a correction makes the kind non-adjudicable: that case must still follow the report.
   */
  caseId?: string;
}

/** A source document as adjudication knows it: what it is and which bytes (by hash). */
export type SourceDocument = Pick<DocumentAttached, 'documentId' | 'kind' | 'title' | 'filename' | 'mediaType' | 'size' | 'sha256'>;

export function evolveSourceReport(state: SourceReport | undefined, event: AdverseEventEvent): SourceReport | undefined {
  switch (event.type) {
    case 'AdverseEventReported': {
      const { trialId, patientId, siteId, eventId, ...report } = event.data;
      const caseId = caseOpenedFor({ eventId, kind: report.kind });
      return { trialId, patientId, siteId, eventId, report, retracted: false, documents: {}, ...(caseId ? { caseId } : {}) };
    }
    case 'AdverseEventCorrected': {
      if (!state) return state;
      const report = applyRecordedChanges(state.report, event.data.changes);
      const caseId = state.caseId ?? caseOpenedFor({ eventId: state.eventId, kind: report.kind });
      return { ...state, report, ...(caseId ? { caseId } : {}) };
    }
    case 'AdverseEventRetracted':
      return state ? { ...state, retracted: true } : state;
    case 'DocumentAttached': {
      if (!state) return state;
      const { documentId, kind, title, filename, mediaType, size, sha256 } = event.data;
      return { ...state, documents: { ...state.documents, [documentId]: { documentId, kind, title, filename, mediaType, size, sha256 } } };
    }
    default: {
      // A type published later leaves the report as it is.
      const _unknown: never = event;
      return state;
    }
  }
}

/** True when this version of the report, standing and adjudicable, opens its case should none exist yet. */
export function opensCase(source: SourceReport): boolean {
  return !source.retracted && caseOpenedFor({ eventId: source.eventId, kind: source.report.kind }) !== undefined;
}

/** What the dossier may show of the index procedure: date, limb, lesions; never the device (blinding). */
export function indexProcedureSummary(procedures: ProcedureEvent[]): IndexProcedureSummary | undefined {
  const index = procedures.map((e) => e.data).find((p) => p.index);
  return index
    ? {
        performedOn: index.performedOn,
        limb: index.limb,
        lesions: index.lesions.map(({ segment, lengthMm, occlusion }) => ({ segment, lengthMm, occlusion })),
      }
    : undefined;
}

/** The case a report opens, at the source version that opened it, under the trial's charter in force. */
export function caseOpenedFrom(
  source: SourceReport,
  caseId: string,
  opening: {
    sourceVersion: number;
    reportedAt: string;
    charterVersion: string | undefined;
    indexProcedure: IndexProcedureSummary | undefined;
  },
): CaseOpened {
  return {
    trialId: source.trialId,
    caseId,
    eventId: source.eventId,
    patientId: source.patientId,
    siteId: source.siteId,
    charterVersion: opening.charterVersion ?? DEFAULT_CHARTER_VERSION,
    report: source.report,
    sourceVersion: opening.sourceVersion,
    reportedAt: opening.reportedAt,
    ...(opening.indexProcedure ? { indexProcedure: opening.indexProcedure } : {}),
  };
}
