import type { AdverseEventEvent, AdverseEventReported, ProcedureEvent } from '@app/contracts';
import { caseOpenedFrom, evolveSourceReport, indexProcedureSummary, opensCase, type SourceReport } from './source-report';

const reported = (kind: AdverseEventReported['kind'], extra: Partial<AdverseEventReported> = {}): AdverseEventEvent => ({
  type: 'AdverseEventReported',
  data: { trialId: 'T', patientId: 'P', siteId: 'S', eventId: 'E', kind, onsetOn: '2025-02-01', description: 'as reported', ...extra },
});
const corrected = (changes: Array<{ field: string; previous: unknown; value: unknown }>): AdverseEventEvent => ({
  type: 'AdverseEventCorrected',
  data: { trialId: 'T', patientId: 'P', eventId: 'E', changes, reason: 'source document' },
});
const retracted: AdverseEventEvent = {
  type: 'AdverseEventRetracted',
  data: { trialId: 'T', patientId: 'P', eventId: 'E', reason: 'entered in error' },
};

const fold = (events: AdverseEventEvent[]) => events.reduce<SourceReport | undefined>(evolveSourceReport, undefined);
const amputation = reported('amputation', { limb: 'index', amputation: { level: 'minor', planned: false } });

describe('source report (published adverse-event events folded into adjudication’s shape)', () => {
  it('names the case an adjudicable report opens', () => {
    expect(fold([amputation])).toEqual({
      documents: {},
      trialId: 'T',
      patientId: 'P',
      siteId: 'S',
      eventId: 'E',
      report: {
        kind: 'amputation',
        onsetOn: '2025-02-01',
        limb: 'index',
        amputation: { level: 'minor', planned: false },
        description: 'as reported',
      },
      retracted: false,
      caseId: 'E',
    });
    expect(opensCase(fold([amputation])!)).toBe(true);
  });

  it('opens no case for an event of kind other, until a correction makes it adjudicable', () => {
    const other = fold([reported('other')]);
    expect(other?.caseId).toBeUndefined();
    expect(opensCase(other!)).toBe(false);
    const nowDeath = fold([reported('other'), corrected([{ field: 'kind', previous: 'other', value: 'death' }])]);
    expect(nowDeath).toMatchObject({ caseId: 'E', report: { kind: 'death' } });
  });

  it('applies corrections by dotted path, a null value removing the details of a former kind', () => {
    const tvr = fold([
      amputation,
      corrected([
        { field: 'kind', previous: 'amputation', value: 'tvr' },
        { field: 'tvr.clinicallyDriven', previous: null, value: true },
        { field: 'amputation', previous: { level: 'minor', planned: false }, value: null },
      ]),
    ]);
    expect(tvr?.report).toEqual({
      kind: 'tvr',
      onsetOn: '2025-02-01',
      limb: 'index',
      tvr: { clinicallyDriven: true },
      description: 'as reported',
    });
  });

  it('keeps the case of a report corrected to a kind that opens none: the case follows its report', () => {
    const source = fold([amputation, corrected([{ field: 'kind', previous: 'amputation', value: 'other' }])]);
    expect(source?.caseId).toBe('E');
    expect(opensCase(source!)).toBe(false);
  });

  it('a retracted report opens no case', () => {
    const source = fold([amputation, retracted]);
    expect(source).toMatchObject({ retracted: true, caseId: 'E' });
    expect(opensCase(source!)).toBe(false);
  });

  it('a correction or retraction without a report changes nothing', () => {
    expect(fold([retracted, corrected([{ field: 'kind', previous: 'other', value: 'tvr' }])])).toBeUndefined();
  });
});

describe('opening a case', () => {
  const procedure = (procedureId: string, index: boolean, performedOn: string): ProcedureEvent => ({
    type: 'ProcedureRecorded',
    data: {
      trialId: 'T',
      patientId: 'P',
      procedureId,
      index,
      performedOn,
      limb: 'right',
      device: { kind: 'DCB', name: 'SecretBalloon' },
      lesions: [{ segment: 'btk', lengthMm: 110, occlusion: true }],
      technicalSuccess: true,
    },
  });

  it('summarises the index procedure without its device', () => {
    expect(indexProcedureSummary([procedure('IDX', true, '2025-01-05'), procedure('RE', false, '2025-03-01')])).toEqual({
      performedOn: '2025-01-05',
      limb: 'right',
      lesions: [{ segment: 'btk', lengthMm: 110, occlusion: true }],
    });
    expect(indexProcedureSummary([])).toBeUndefined();
  });

  it('opens under the charter in force, else the default charter', () => {
    const source = fold([amputation])!;
    const opening = { sourceVersion: 1, reportedAt: '2025-02-02T10:00:00.000Z', indexProcedure: undefined };
    expect(caseOpenedFrom(source, 'E', { ...opening, charterVersion: '3' })).toMatchObject({
      caseId: 'E',
      charterVersion: '3',
      sourceVersion: 1,
      siteId: 'S',
    });
    expect(caseOpenedFrom(source, 'E', { ...opening, charterVersion: undefined })).not.toHaveProperty('indexProcedure');
    expect(caseOpenedFrom(source, 'E', { ...opening, charterVersion: undefined }).charterVersion).toBe('default-1');
  });
});
