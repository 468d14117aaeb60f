import type { RecordedEvent } from '@app/event-store';
import { reviewTrialLog } from './review';

let position = 0;
const event = (
  type: string,
  streamId: string,
  data: Record<string, unknown>,
  recordedAt: string,
  metadata: RecordedEvent['metadata'] = {},
): RecordedEvent => {
  position += 1;
  return {
    eventId: `e${position}`,
    type,
    schemaVersion: 1,
    data,
    metadata,
    streamId,
    streamVersion: 1,
    globalPosition: position,
    checkpoint: `1:${position}`,
    recordedAt,
    hash: '',
  };
};
const options = { startHour: 8, endHour: 18, lateDays: 30 };

describe('audit review helpers', () => {
  const log = [
    event('PatientEnrolled', 'patient/T/P1', { patientId: 'P1', siteId: 'S01' }, '2026-03-02T09:00:00.000Z'),
    event('PatientEnrolled', 'patient/T/P2', { patientId: 'P2', siteId: 'S02' }, '2026-03-02T09:00:00.000Z'),
    event(
      'AdverseEventReported',
      'adverse-event/T/A1',
      { patientId: 'P1', siteId: 'S01', eventId: 'A1', kind: 'amputation', onsetOn: '2026-01-01' },
      '2026-03-03T10:00:00.000Z',
    ),
    event(
      'AdverseEventReported',
      'adverse-event/T/A2',
      { patientId: 'P2', siteId: 'S02', eventId: 'A2', kind: 'tvr', onsetOn: '2026-03-01' },
      '2026-03-03T10:00:00.000Z',
    ),
    event('AdverseEventCorrected', 'adverse-event/T/A1', { patientId: 'P1', eventId: 'A1' }, '2026-03-03T22:15:00.000Z', {
      actor: { userId: 'inv-1', name: 'Dr. One', roles: [] },
      reason: 'typo',
    }),
    event('PatientDataCorrected', 'patient/T/P1', { patientId: 'P1' }, '2026-03-04T11:00:00.000Z'),
    event('AdverseEventRetracted', 'adverse-event/T/A2', { patientId: 'P2', eventId: 'A2' }, '2026-03-07T10:00:00.000Z'),
    event('VisitRecorded', 'patient/T/P2', { patientId: 'P2' }, '2026-03-08T23:00:00.000Z'),
  ];

  it('lists changes made outside working hours or at weekends (UTC), not other events', () => {
    const review = reviewTrialLog(log, options);
    expect(review.outOfHoursChanges.map((c) => [c.type, c.recordedAt, c.userId, c.reason])).toEqual([
      ['AdverseEventCorrected', '2026-03-03T22:15:00.000Z', 'inv-1', 'typo'],
      ['AdverseEventRetracted', '2026-03-07T10:00:00.000Z', null, null],
    ]);
  });

  it('counts corrections and retractions per site', () => {
    expect(reviewTrialLog(log, options).correctionsPerSite).toEqual([
      { siteId: 'S01', corrections: 2, retractions: 0 },
      { siteId: 'S02', corrections: 0, retractions: 1 },
    ]);
  });

  it('lists adverse events recorded long after their onset', () => {
    expect(reviewTrialLog(log, options).lateRecords).toEqual([
      {
        eventId: 'A1',
        siteId: 'S01',
        patientId: 'P1',
        kind: 'amputation',
        onsetOn: '2026-01-01',
        recordedAt: '2026-03-03T10:00:00.000Z',
        daysAfterOnset: 61,
      },
    ]);
    expect(reviewTrialLog(log, { ...options, lateDays: 90 }).lateRecords).toEqual([]);
  });

  it('moves the working hours', () => {
    expect(reviewTrialLog(log, { ...options, endHour: 23 }).outOfHoursChanges.map((c) => c.type)).toEqual(['AdverseEventRetracted']);
  });
});
