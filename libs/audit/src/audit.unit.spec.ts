import { chainHash, contentDigest, type RecordedEvent } from '@app/event-store';
import { buildManifest, compareDeliveryOrder, eventLine, exportLines, nextRootHash, verifyExport } from './export-format';
import { isTrialStream, matchesAuditFilter, toAuditItem } from './trial-log';

const actor = { userId: 'inv-1', name: 'Dr. Uno', roles: ['site-investigator'] };

/** A small, correctly chained log of trial T1 in delivery order. */
function log(): RecordedEvent[] {
  const specs: Array<[string, string, unknown, Record<string, unknown>]> = [
    ['trial/T1', 'TrialRegistered', { trialId: 'T1' }, { actor: { userId: 'admin', name: 'Ada', roles: ['trial-admin'] } }],
    ['trial/T1', 'SiteAdded', { siteId: 'S01' }, { actor: { userId: 'admin', name: 'Ada', roles: ['trial-admin'] } }],
    ['patient/T1/P1', 'PatientEnrolled', { patientId: 'P1' }, { actor }],
    ['adverse-event/T1/AE1', 'AdverseEventReported', { eventId: 'AE1', onsetOn: '2026-01-12' }, { actor, correlationId: 'c-1' }],
    [
      'adverse-event/T1/AE1',
      'AdverseEventCorrected',
      { changes: [{ field: 'onsetOn', previous: '2026-01-12', value: '2026-01-13' }] },
      { actor, reason: 'SDV' },
    ],
    [
      'unblinding/T1',
      'UnblindedResultsViewed',
      { what: 'endpoint report' },
      { actor: { userId: 'dsmb', name: 'Dr. D', roles: ['dsmb-member'] }, reason: 'unblinded report by arm' },
    ],
  ];
  const chains = new Map<string, { version: number; hash: Buffer }>();
  return specs.map(([streamId, type, data, metadata], i) => {
    const previous = chains.get(streamId) ?? { version: 0, hash: Buffer.alloc(0) };
    const content = {
      streamId,
      eventId: `e${i + 1}`,
      type,
      schemaVersion: 1,
      data,
      metadata,
      recordedAt: `2026-06-${10 + i}T12:00:00.000Z`,
    };
    const hash = chainHash(previous.hash, previous.version + 1, contentDigest(content));
    chains.set(streamId, { version: previous.version + 1, hash });
    return {
      ...content,
      streamVersion: previous.version + 1,
      globalPosition: i + 1,
      checkpoint: `${100 + i}:${i + 1}`,
      hash: hash.toString('hex'),
    };
  });
}

const lines = () => exportLines('T1', log());
const failure = (result: ReturnType<typeof verifyExport>) => {
  if (result.ok) throw new Error('expected the export to fail verification');
  return result;
};

describe('isTrialStream', () => {
  it.each([
    ['trial/T1', true],
    ['unblinding/T1', true],
    ['patient/T1/P1', true],
    ['procedures/T1/P1', true],
    ['adverse-event/T1/AE1', true],
    ['case/T1/AE1', true],
    ['trial/T10', false],
    ['patient/T10/P1', false],
    ['patient/T1', false],
    ['patient/T1/', false],
    ['unblinding/T1/x', false],
    ['other/T1/P1', false],
  ])('%s → %s', (streamId, expected) => {
    expect(isTrialStream(streamId, 'T1')).toBe(expected);
  });
});

describe('audit items and filters', () => {
  it('shows who, why, what and the previous value of a correction', () => {
    const correction = toAuditItem(log()[4]!);
    expect(correction).toMatchObject({
      position: 5,
      streamId: 'adverse-event/T1/AE1',
      streamVersion: 2,
      type: 'AdverseEventCorrected',
      recordedAt: '2026-06-14T12:00:00.000Z',
      who: actor,
      why: 'SDV',
      changes: [{ field: 'onsetOn', previous: '2026-01-12', value: '2026-01-13' }],
      correlationId: null,
    });
    expect(toAuditItem(log()[3]!)).toMatchObject({ why: null, changes: null, correlationId: 'c-1' });
  });

  it('filters by stream, type, actor and an inclusive recordedAt window', () => {
    const events = log();
    const pick = (filter: Parameters<typeof matchesAuditFilter>[1]) =>
      events.filter((e) => matchesAuditFilter(e, filter)).map((e) => e.eventId);
    expect(pick({ streamId: 'trial/T1' })).toEqual(['e1', 'e2']);
    expect(pick({ type: 'AdverseEventCorrected' })).toEqual(['e5']);
    expect(pick({ actor: 'inv-1' })).toEqual(['e3', 'e4', 'e5']);
    expect(pick({ from: Date.parse('2026-06-12T12:00:00Z'), to: Date.parse('2026-06-13T12:00:00Z') })).toEqual(['e3', 'e4']);
  });
});

describe('export manifest', () => {
  it('chains the root hash over the event hashes in export order', () => {
    const events = log();
    let root: Buffer = Buffer.alloc(32);
    for (const e of events) root = nextRootHash(root, e.hash);
    expect(buildManifest('T1', events)).toEqual({
      kind: 'manifest',
      trialId: 'T1',
      count: 6,
      lastPosition: 6,
      rootHash: root.toString('hex'),
      algorithm: 'sha256',
    });
    expect(buildManifest('T1', [])).toEqual({
      kind: 'manifest',
      trialId: 'T1',
      count: 0,
      lastPosition: null,
      rootHash: '0'.repeat(64),
      algorithm: 'sha256',
    });
  });

  it('orders checkpoints as (transaction, position) tuples', () => {
    expect(compareDeliveryOrder({ checkpoint: '9:20', globalPosition: 20 }, { checkpoint: '10:3', globalPosition: 3 })).toBeLessThan(0);
    expect(compareDeliveryOrder({ checkpoint: '10:3', globalPosition: 3 }, { checkpoint: '10:3', globalPosition: 3 })).toBe(0);
    expect(compareDeliveryOrder({ checkpoint: '10:3', globalPosition: 3 }, { checkpoint: '9:20', globalPosition: 20 })).toBeGreaterThan(0);
  });

  it('orders KurrentDB checkpoints as (commit, prepare) pairs: one append shares its commit position', () => {
    const at = (commit: number, prepare: number) => ({ checkpoint: `${commit}/${prepare}`, globalPosition: commit });
    expect(compareDeliveryOrder(at(1000, 1000), at(1000, 1180))).toBeLessThan(0);
    expect(compareDeliveryOrder(at(1000, 1180), at(1000, 1000))).toBeGreaterThan(0);
    expect(compareDeliveryOrder(at(1000, 1180), at(1000, 1180))).toBe(0);
    expect(compareDeliveryOrder(at(1000, 1180), at(1400, 1400))).toBeLessThan(0);
    expect(compareDeliveryOrder(at(1400, 1400), at(1000, 1180))).toBeGreaterThan(0);
  });
});

/** log() as the KurrentDB adapter records it: the two events of trial/T1's first append share commit position 1000. */
function kurrentLog(): RecordedEvent[] {
  const positions: Array<[number, number]> = [
    [1000, 1000],
    [1000, 1180],
    [1400, 1400],
    [1700, 1700],
    [2000, 2000],
    [2300, 2300],
  ];
  return log().map((event, i) => {
    const [commit, prepare] = positions[i]!;
    return { ...event, globalPosition: commit, checkpoint: `${commit}/${prepare}` };
  });
}

describe('verifyExport of a KurrentDB export', () => {
  it('accepts events of one append, which share a commit position (no false "reordered")', () => {
    expect(verifyExport(exportLines('T1', kurrentLog()))).toMatchObject({ ok: true, count: 6, lastPosition: 2300 });
  });

  it('still reports events reordered across appends', () => {
    const l = exportLines('T1', kurrentLog());
    [l[2], l[3]] = [l[3]!, l[2]!];
    expect(failure(verifyExport(l))).toMatchObject({ line: 4, eventId: 'e3', problem: expect.stringContaining('position') });
  });

  it('still reports a prepare position stepping back within one commit (positions edited)', () => {
    const events = kurrentLog();
    // Chains intact (the hash does not cover positions), but the pair order of the append is inverted.
    const edited = [{ ...events[0]!, checkpoint: '1000/1180' }, { ...events[1]!, checkpoint: '1000/1000' }, ...events.slice(2)];
    const l = [...edited.map(eventLine), JSON.stringify(buildManifest('T1', edited))];
    expect(failure(verifyExport(l))).toMatchObject({ line: 2, eventId: 'e2', problem: expect.stringContaining('position') });
  });
});

describe('verifyExport', () => {
  it('accepts an intact export (with or without the final newline) and an empty one', () => {
    const result = verifyExport(lines());
    expect(result).toMatchObject({ ok: true, trialId: 'T1', count: 6, streams: 4, lastPosition: 6 });
    expect(verifyExport(`${lines().join('\n')}\n`.split('\n')).ok).toBe(true);
    expect(verifyExport(exportLines('T1', [])).ok).toBe(true);
  });

  it('an edited payload breaks that event’s hash', () => {
    const l = lines();
    l[3] = l[3]!.replace('2026-01-12', '2026-01-11');
    expect(failure(verifyExport(l))).toMatchObject({ line: 4, eventId: 'e4', problem: expect.stringContaining('hash') });
  });

  it('edited metadata (the reason) breaks the hash too', () => {
    const l = lines();
    l[4] = l[4]!.replace('"SDV"', '"typo"');
    expect(failure(verifyExport(l))).toMatchObject({ line: 5, eventId: 'e5' });
  });

  it('a deleted event breaks its stream’s chain', () => {
    const l = lines();
    l.splice(3, 1); // AE1 v1
    expect(failure(verifyExport(l))).toMatchObject({ line: 4, eventId: 'e5', problem: expect.stringContaining('expected version 1') });
  });

  it('a deleted last event of a stream is caught by the manifest', () => {
    const l = lines();
    l.splice(5, 1); // unblinding/T1 v1, the last event
    expect(failure(verifyExport(l))).toMatchObject({ line: 6, problem: expect.stringContaining('count') });
  });

  it('a deleted event with a re-computed manifest still fails on the chain when not last of its stream', () => {
    const events = log();
    events.splice(0, 1);
    expect(failure(verifyExport(exportLines('T1', events)))).toMatchObject({ line: 1, eventId: 'e2' });
  });

  it('an inserted event (a forged correction) fails', () => {
    const events = log();
    const forged: RecordedEvent = { ...events[4]!, eventId: 'forged', streamVersion: 3, globalPosition: 7, checkpoint: '106:7' };
    const l = lines();
    l.splice(6, 0, eventLine(forged));
    expect(failure(verifyExport(l))).toMatchObject({ line: 7, eventId: 'forged', problem: expect.stringContaining('hash') });
  });

  it('a duplicated event fails', () => {
    const l = lines();
    l.splice(2, 0, l[1]!);
    expect(failure(verifyExport(l))).toMatchObject({ line: 3, eventId: 'e2' });
  });

  it('events reordered within a stream fail', () => {
    const l = lines();
    [l[3], l[4]] = [l[4]!, l[3]!];
    expect(failure(verifyExport(l))).toMatchObject({ line: 4, eventId: 'e5' });
  });

  it('events reordered across streams fail (delivery order), even with positions rewritten', () => {
    const l = lines();
    [l[2], l[3]] = [l[3]!, l[2]!];
    expect(failure(verifyExport(l))).toMatchObject({ line: 4, eventId: 'e3', problem: expect.stringContaining('position') });
    // Swap the lines but keep positions increasing: the chains still hold, the root hash does not.
    const events = log();
    const [a, b] = [events[2]!, events[3]!];
    const swapped = [
      ...events.slice(0, 2),
      { ...b, globalPosition: a.globalPosition, checkpoint: a.checkpoint },
      { ...a, globalPosition: b.globalPosition, checkpoint: b.checkpoint },
      ...events.slice(4),
    ];
    const tampered = [...swapped.map(eventLine), lines()[6]!];
    expect(failure(verifyExport(tampered))).toMatchObject({ line: 7, problem: expect.stringContaining('rootHash') });
  });

  it('a truncated file fails: cut inside a line, or at a line boundary', () => {
    const text = lines().join('\n');
    expect(failure(verifyExport(text.slice(0, text.length - 20).split('\n')))).toMatchObject({
      line: 7,
      problem: expect.stringContaining('JSON'),
    });
    expect(failure(verifyExport(lines().slice(0, 4)))).toMatchObject({ line: 5, problem: expect.stringContaining('no manifest') });
    expect(failure(verifyExport([]))).toMatchObject({ line: 1 });
  });

  it('an edited manifest fails: count, lastPosition, rootHash, trial, extra field', () => {
    const withManifest = (edit: (m: Record<string, unknown>) => void) => {
      const l = lines();
      const m = JSON.parse(l[6]!) as Record<string, unknown>;
      edit(m);
      l[6] = JSON.stringify(m);
      return failure(verifyExport(l));
    };
    expect(withManifest((m) => (m.count = 5))).toMatchObject({ line: 7, problem: expect.stringContaining('count') });
    expect(withManifest((m) => (m.lastPosition = 9))).toMatchObject({ line: 7, problem: expect.stringContaining('lastPosition') });
    expect(withManifest((m) => (m.rootHash = 'a'.repeat(64)))).toMatchObject({ line: 7, problem: expect.stringContaining('rootHash') });
    expect(withManifest((m) => (m.trialId = 'T2'))).toMatchObject({ line: 1, problem: expect.stringContaining('not part of trial T2') });
    expect(withManifest((m) => (m.algorithm = 'md5'))).toMatchObject({ line: 7, problem: expect.stringContaining('malformed manifest') });
  });

  it('exactly one manifest, last', () => {
    const l = lines();
    expect(failure(verifyExport([...l, l[6]!]))).toMatchObject({ line: 8, problem: expect.stringContaining('last line') });
    expect(failure(verifyExport([l[6]!, ...l.slice(0, 6)]))).toMatchObject({ line: 2, eventId: 'e1' });
  });

  it('a blank or non-object line fails', () => {
    const l = lines();
    expect(failure(verifyExport([...l.slice(0, 2), '', ...l.slice(2)]))).toMatchObject({
      line: 3,
      problem: expect.stringContaining('JSON'),
    });
    expect(failure(verifyExport([...l.slice(0, 2), '42', ...l.slice(2)]))).toMatchObject({
      line: 3,
      problem: expect.stringContaining('malformed event'),
    });
  });
});
