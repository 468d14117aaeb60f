import { adtteCsv, adtteDatasetJson } from './adtte';
import { dataCutContent, type CutLogEvent, type DataCutParameters } from './data-cut-content';
import { dataCutHashes, renderDataCutHtml, renderDataCutPdf } from './data-cut-report';

const T = 'DC-T';
let position = 0;
const log: CutLogEvent[] = [];
const at = (day: number) => new Date(Date.UTC(2026, 0, 1) + day * 3_600_000).toISOString();
function add(streamId: string, type: string, data: object): number {
  position += 1;
  log.push({ streamId, type, data, globalPosition: position, recordedAt: at(position), hash: position.toString(16).padStart(64, '0') });
  return position;
}

add(`trial/${T}`, 'TrialRegistered', { trialId: T, title: 'DCB vs PTA – “below the knee”', protocolVersion: '2.1', arms: ['DCB', 'PTA'] });
add(`trial/${T}`, 'SiteAdded', { trialId: T, siteId: 'S1', name: 'Uno', country: 'IT' });
add(`trial/${T}`, 'SiteAdded', { trialId: T, siteId: 'S2', name: 'Zwei', country: 'DE' });
const patients = [
  { id: 'P1', site: 'S1', arm: 'DCB', diabetes: true, index: '2025-01-10' },
  { id: 'P2', site: 'S1', arm: 'DCB', diabetes: false, index: '2025-01-20' },
  { id: 'P3', site: 'S2', arm: 'PTA', diabetes: true, index: '2025-02-01' },
  { id: 'P4', site: 'S2', arm: 'PTA', diabetes: false, index: '2025-02-15' },
  { id: 'P5', site: 'S2', arm: 'PTA', diabetes: true, index: '2025-03-01' },
];
for (const p of patients) {
  add(`patient/${T}/${p.id}`, 'PatientEnrolled', {
    trialId: T,
    patientId: p.id,
    siteId: p.site,
    enrolledOn: p.index,
    arm: p.arm,
    baseline: { ageYears: 70, sex: 'F', diabetes: p.diabetes, presentation: p.diabetes ? 'cli' : 'claudication', rutherfordClass: 4 },
  });
  add(`procedures/${T}/${p.id}`, 'ProcedureRecorded', {
    trialId: T,
    patientId: p.id,
    procedureId: `${p.id}-1`,
    performedOn: p.index,
    limb: 'left',
    device: { kind: 'DCB', name: 'x' },
    lesions: [{ segment: 'btk', lengthMm: 100, occlusion: false }],
    technicalSuccess: true,
    index: true,
  });
}
const visit = (patientId: string, kind: string, visitOn: string) =>
  add(`patient/${T}/${patientId}`, 'VisitRecorded', { trialId: T, patientId, visitId: `${patientId}-${kind}`, visit: kind, visitOn });
visit('P1', '30d', '2025-02-09');
visit('P1', '6m', '2025-07-11');
visit('P2', '30d', '2025-02-19');
visit('P4', '30d', '2025-03-17');
visit('P4', '6m', '2025-08-16');
const report = (eventId: string, patientId: string, kind: string, onsetOn: string, extra: object = {}) => {
  add(`adverse-event/${T}/${eventId}`, 'AdverseEventReported', {
    trialId: T,
    patientId,
    siteId: 'S1',
    eventId,
    kind,
    onsetOn,
    description: 'x',
    ...extra,
  });
  return add(`case/${T}/${eventId}`, 'CaseOpened', { trialId: T, caseId: eventId, eventId, patientId });
};
report('AE1', 'P1', 'tvr', '2025-04-10', { limb: 'index', tvr: { clinicallyDriven: true } });
add(`case/${T}/AE1`, 'CaseFinalized', {
  caseId: 'AE1',
  round: 1,
  basis: 'concordant-reviews',
  charterVersion: 'default-1',
  outcome: { isEndpointEvent: true, kind: 'tvr', onsetOn: '2025-04-10', limb: 'index', tvr: { clinicallyDriven: true } },
});
report('AE2', 'P3', 'death', '2025-05-01');
add(`case/${T}/AE2`, 'CaseFinalized', {
  caseId: 'AE2',
  round: 1,
  basis: 'concordant-reviews',
  charterVersion: 'default-1',
  outcome: { isEndpointEvent: true, kind: 'death', onsetOn: '2025-05-01' },
});
report('AE3', 'P5', 'amputation', '2025-03-20', { limb: 'index', amputation: { level: 'minor', planned: false } });
add(`patient/${T}/P2`, 'PatientWithdrawn', { trialId: T, patientId: 'P2', withdrawnOn: '2025-05-05', reason: 'moved' });
const cutPosition = position;
// After the cut: must change nothing of it.
visit('P5', '30d', '2025-03-31');

const cut: DataCutParameters = { trialId: T, dataCutId: 'DC1', cutoff: '2025-09-30', position: cutPosition, note: 'first DSMB meeting' };

describe('data cut content', () => {
  const content = dataCutContent(log, cut);

  it('states the cut: knowledge instant and chain head of the event at its position', () => {
    expect(content.cut).toMatchObject({ dataCutId: 'DC1', position: cutPosition, knownAt: at(cutPosition) });
    expect(content.cut.chainHead).toBe(cutPosition.toString(16).padStart(64, '0'));
    expect(content.trial).toEqual({ title: 'DCB vs PTA – “below the knee”', protocolVersion: '2.1', arms: ['DCB', 'PTA'] });
  });

  it('counts patient flow and visits due by the cut-off, excusing a withdrawn or dead patient', () => {
    expect(content.flow).toMatchObject({
      enrolled: 5,
      indexProcedure: 5,
      withdrawn: [{ patientId: 'P2', withdrawnOn: '2025-05-05' }],
      died: [{ patientId: 'P3', diedOn: '2025-05-01' }],
    });
    // 30d due for all five; 6m (window closed by day 212) for P1, P2 (withdrawn before day 182: excused), P3 (dead: excused), P4, P5.
    const due = content.flow.visits;
    expect(due.overdue.map((v) => `${v.patientId} ${v.visit}`)).toEqual(['P3 30d', 'P5 30d', 'P5 6m']);
    expect(due.due).toBe(5 + 3);
    expect(due.done).toBe(5);
  });

  it('groups adverse events by kind and CEC status with the oldest pending case', () => {
    expect(content.adverseEvents.byKind).toEqual([
      { kind: 'amputation', reported: 1, adjudicated: 0, pending: 1, noCase: 0 },
      { kind: 'tvr', reported: 1, adjudicated: 1, pending: 0, noCase: 0 },
      { kind: 'death', reported: 1, adjudicated: 1, pending: 0, noCase: 0 },
      { kind: 'other', reported: 0, adjudicated: 0, pending: 0, noCase: 0 },
    ]);
    expect(content.adverseEvents.oldestPending).toMatchObject({ eventId: 'AE3', patientId: 'P5' });
  });

  it('gives one ADTTE record per patient and endpoint with CNSR 0 event, 1 last contact, 2 death competing, 3 withdrawal', () => {
    expect(content.adtte).toHaveLength(5 * 5);
    const tvr = content.adtte.filter((r) => r.PARAMCD === 'freedom-from-cd-tvr');
    expect(tvr.map((r) => [r.USUBJID, r.CNSR, r.AVAL, r.ADT, r.SRCDOM, r.TRTP])).toEqual([
      ['DC-T-P1', 0, 90, '2025-04-10', 'CE', 'DCB'],
      ['DC-T-P2', 3, 105, '2025-05-05', 'DS', 'DCB'],
      ['DC-T-P3', 2, 89, '2025-05-01', 'CE', 'PTA'],
      ['DC-T-P4', 1, 182, '2025-08-16', 'SV', 'PTA'],
      ['DC-T-P5', 1, 19, '2025-03-20', 'AE', 'PTA'],
    ]);
    const p4 = tvr[3]!;
    expect(p4.SRCSEQ).toBe(
      log.find((e) => e.type === 'VisitRecorded' && (e.data as { visitOn: string }).visitOn === '2025-08-16')?.globalPosition,
    );
    // The pending amputation is no event (adjudicated basis) and no contact beyond its onset.
    const survival = content.adtte.filter((r) => r.PARAMCD === 'survival');
    expect(survival.find((r) => r.USUBJID === 'DC-T-P3')).toMatchObject({ CNSR: 0, EVNTDESC: 'DEATH (CEC ADJUDICATED)' });
  });

  it('tests arms in the closed session only', () => {
    expect(content.closed.endpoints[0]?.logRank).toMatchObject({ df: 1, groups: [{ group: 'DCB' }, { group: 'PTA' }] });
    expect(content.open.endpoints[0]?.logRank).toBeUndefined();
    expect(content.open.endpoints[0]?.tables.map((t) => t.by)).toEqual(['pooled', 'diabetes', 'presentation']);
  });

  it('ignores what was recorded after the cut', () => {
    expect(dataCutContent(log.slice(0, -1), cut)).toEqual(content);
  });
});

describe('data cut documents', () => {
  const content = dataCutContent(log, cut);

  it('renders the same bytes every time', async () => {
    const first = await dataCutHashes(content);
    const second = await dataCutHashes(dataCutContent(log, cut));
    expect(second).toEqual(first);
    const pdf = await renderDataCutPdf(content, 'closed');
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.toString('latin1')).toContain(`(D:${content.cut.knownAt.replace(/[-:T]/g, '').slice(0, 14)}Z)`);
  });

  it('shows arms only in the closed session', () => {
    const open = renderDataCutHtml(content, 'open');
    const closed = renderDataCutHtml(content, 'closed');
    expect(open).not.toContain('arm DCB');
    expect(closed).toContain('arm DCB');
    expect(closed).toContain('Log-rank test across arms');
    expect(open).toContain(content.cut.chainHead);
    expect(open).toContain('DCB vs PTA – “below the knee”');
  });

  it('leaves treatment variables out of the blinded ADTTE', () => {
    const blinded = JSON.parse(adtteDatasetJson(content, false)) as {
      columns: Array<{ name: string }>;
      rows: unknown[][];
      records: number;
    };
    expect(blinded.columns.map((c) => c.name)).not.toContain('TRTP');
    expect(blinded.records).toBe(blinded.rows.length);
    expect(adtteCsv(content, true).split('\r\n')[0]).toContain(',TRTP,TRTA');
    expect(adtteCsv(content, false)).not.toContain('TRTP');
    expect(adtteCsv(content, false)).not.toContain('DCB');
  });
});
