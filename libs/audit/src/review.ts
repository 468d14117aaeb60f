import type { RecordedEvent } from '@app/event-store';

/** Changes to data already entered: what a monitor reviews (ICH E6(R3) 4.2.3, EMA 2023 §6.2.2). */
const CHANGE_TYPES = new Set([
  'PatientDataCorrected',
  'AdverseEventCorrected',
  'AdverseEventRetracted',
  'PatientWithdrawn',
  'CaseReopened',
]);

export interface ReviewOptions {
  /** Working hours in UTC, [startHour, endHour), Monday to Friday. */
  startHour: number;
  endHour: number;
  /** An adverse event recorded more than this many days after its onset is late. */
  lateDays: number;
}

export interface AuditReview {
  outOfHoursChanges: Array<{
    position: number;
    eventId: string;
    type: string;
    streamId: string;
    recordedAt: string;
    userId: string | null;
    reason: string | null;
  }>;
  correctionsPerSite: Array<{ siteId: string; corrections: number; retractions: number }>;
  lateRecords: Array<{
    eventId: string;
    siteId: string;
    patientId: string;
    kind: string;
    onsetOn: string;
    recordedAt: string;
    daysAfterOnset: number;
  }>;
}

const DAY_MS = 86_400_000;

/** Audit-trail review helpers over a trial's log in delivery order. Pure: times come from the events. */
export function reviewTrialLog(events: Iterable<RecordedEvent>, options: ReviewOptions): AuditReview {
  const siteOfPatient = new Map<string, string>();
  const siteOfEvent = new Map<string, string>();
  const perSite = new Map<string, { corrections: number; retractions: number }>();
  const review: AuditReview = { outOfHoursChanges: [], correctionsPerSite: [], lateRecords: [] };
  for (const event of events) {
    const data = event.data as { patientId?: string; siteId?: string; eventId?: string; kind?: string; onsetOn?: string };
    if (event.type === 'PatientEnrolled' && data.patientId && data.siteId) siteOfPatient.set(data.patientId, data.siteId);
    if (event.type === 'AdverseEventReported' && data.eventId && data.siteId) {
      siteOfEvent.set(data.eventId, data.siteId);
      const days = Math.floor((Date.parse(event.recordedAt) - Date.parse(`${data.onsetOn}T00:00:00Z`)) / DAY_MS);
      if (days > options.lateDays) {
        review.lateRecords.push({
          eventId: data.eventId,
          siteId: data.siteId,
          patientId: data.patientId ?? '',
          kind: data.kind ?? '',
          onsetOn: data.onsetOn ?? '',
          recordedAt: event.recordedAt,
          daysAfterOnset: days,
        });
      }
    }
    if (!CHANGE_TYPES.has(event.type)) continue;
    const when = new Date(event.recordedAt);
    const weekend = when.getUTCDay() === 0 || when.getUTCDay() === 6;
    if (weekend || when.getUTCHours() < options.startHour || when.getUTCHours() >= options.endHour) {
      review.outOfHoursChanges.push({
        position: event.globalPosition,
        eventId: event.eventId,
        type: event.type,
        streamId: event.streamId,
        recordedAt: event.recordedAt,
        userId: event.metadata.actor?.userId ?? null,
        reason: event.metadata.reason ?? null,
      });
    }
    const siteId = (data.eventId && siteOfEvent.get(data.eventId)) || (data.patientId && siteOfPatient.get(data.patientId));
    if (
      siteId &&
      (event.type === 'PatientDataCorrected' || event.type === 'AdverseEventCorrected' || event.type === 'AdverseEventRetracted')
    ) {
      const counts = perSite.get(siteId) ?? { corrections: 0, retractions: 0 };
      if (event.type === 'AdverseEventRetracted') counts.retractions += 1;
      else counts.corrections += 1;
      perSite.set(siteId, counts);
    }
  }
  review.correctionsPerSite = [...perSite.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([siteId, counts]) => ({ siteId, ...counts }));
  return review;
}
