import { DomainError, applyChanges } from './domain-error';

interface Report {
  kind: string;
  onsetOn: string;
  limb?: string;
  amputation?: { level: string; planned: boolean } | null;
  baseline: { diabetes: boolean; ageYears: number };
}

const report = (): Report => ({
  kind: 'amputation',
  onsetOn: '2025-05-01',
  limb: 'index',
  amputation: { level: 'major', planned: false },
  baseline: { diabetes: false, ageYears: 70 },
});

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('applyChanges', () => {
  it('changes a top-level field and records the value it replaced', () => {
    const { result, changes } = applyChanges(report(), { onsetOn: '2025-05-02' });
    expect(result.onsetOn).toBe('2025-05-02');
    expect(changes).toStrictEqual([{ field: 'onsetOn', previous: '2025-05-01', value: '2025-05-02' }]);
  });

  it('follows dotted paths into nested objects and keeps their siblings', () => {
    const { result, changes } = applyChanges(report(), { 'amputation.level': 'minor', 'baseline.diabetes': true });
    expect(result.amputation).toStrictEqual({ level: 'minor', planned: false });
    expect(result.baseline).toStrictEqual({ diabetes: true, ageYears: 70 });
    expect(changes).toStrictEqual([
      { field: 'amputation.level', previous: 'major', value: 'minor' },
      { field: 'baseline.diabetes', previous: false, value: true },
    ]);
  });

  it('leaves the target untouched and returns a deep copy', () => {
    const target = report();
    const { result } = applyChanges(target, { 'baseline.ageYears': 71 });
    expect(target).toStrictEqual(report());
    expect(result.baseline).not.toBe(target.baseline);
    expect(result.amputation).not.toBe(target.amputation);
  });

  it('records previous as null for a field that was absent', () => {
    const { limb: _limb, ...withoutLimb } = report();
    const { result, changes } = applyChanges<Report>(withoutLimb, { limb: 'contralateral' });
    expect(result.limb).toBe('contralateral');
    expect(changes).toStrictEqual([{ field: 'limb', previous: null, value: 'contralateral' }]);
  });

  it('creates missing or null intermediate objects along a dotted path', () => {
    const { amputation: _amputation, ...withoutAmputation } = report();
    const created = applyChanges<Report>(withoutAmputation, { 'amputation.level': 'minor' });
    expect(created.result.amputation).toStrictEqual({ level: 'minor' });
    expect(created.changes).toStrictEqual([{ field: 'amputation.level', previous: null, value: 'minor' }]);

    const fromNull = applyChanges<Report>({ ...report(), amputation: null }, { 'amputation.planned': true });
    expect(fromNull.result.amputation).toStrictEqual({ planned: true });
  });

  it('applies several changes in the order given', () => {
    const { result, changes } = applyChanges(report(), { onsetOn: '2025-05-03', kind: 'tvr', 'baseline.ageYears': 72 });
    expect(changes.map((c) => c.field)).toStrictEqual(['onsetOn', 'kind', 'baseline.ageYears']);
    expect(result).toMatchObject({ onsetOn: '2025-05-03', kind: 'tvr', baseline: { ageYears: 72 } });
  });

  it('refuses a change to the value already there with CORRECTION_UNCHANGED on that field', () => {
    const error = refusal(() => applyChanges(report(), { onsetOn: '2025-05-01' }));
    expect(error).toMatchObject({ code: 'CORRECTION_UNCHANGED', kind: 'rule', field: 'changes.onsetOn' });
  });

  it('refuses an unchanged nested value, and an unchanged object compared by value', () => {
    expect(refusal(() => applyChanges(report(), { 'baseline.diabetes': false }))).toMatchObject({
      code: 'CORRECTION_UNCHANGED',
      field: 'changes.baseline.diabetes',
    });
    expect(refusal(() => applyChanges(report(), { amputation: { level: 'major', planned: false } }))).toMatchObject({
      code: 'CORRECTION_UNCHANGED',
      field: 'changes.amputation',
    });
  });

  it('refuses the whole correction when any one change is unchanged, without touching the target', () => {
    const target = report();
    expect(refusal(() => applyChanges(target, { onsetOn: '2025-05-09', limb: 'index' }))).toMatchObject({
      code: 'CORRECTION_UNCHANGED',
      field: 'changes.limb',
    });
    expect(target).toStrictEqual(report());
  });

  it('does not treat setting an absent field to null as unchanged', () => {
    const { limb: _limb, ...withoutLimb } = report();
    expect(applyChanges<Report>(withoutLimb, { limb: null }).changes).toStrictEqual([{ field: 'limb', previous: null, value: null }]);
  });

  it('with refuseUnchanged: false applies an unchanged value and records it (replaying history)', () => {
    const { result, changes } = applyChanges(report(), { onsetOn: '2025-05-01', 'baseline.diabetes': true }, { refuseUnchanged: false });
    expect(result.onsetOn).toBe('2025-05-01');
    expect(result.baseline.diabetes).toBe(true);
    expect(changes).toStrictEqual([
      { field: 'onsetOn', previous: '2025-05-01', value: '2025-05-01' },
      { field: 'baseline.diabetes', previous: false, value: true },
    ]);
  });

  it('walks and writes only own properties: no path reaches a prototype the process shares', () => {
    const shared = Object.getOwnPropertyNames(Object.prototype).sort();
    expect(refusal(() => applyChanges(report(), { '__proto__.polluted': true }))).toMatchObject({
      code: 'INVALID_CORRECTION',
      kind: 'invalid',
      field: 'changes.__proto__.polluted',
    });
    expect(refusal(() => applyChanges(report(), JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>))).toMatchObject(
      { code: 'INVALID_CORRECTION' },
    );
    const { result, changes } = applyChanges(report(), { 'constructor.prototype.polluted': true, 'toString.polluted': true, valueOf: 1 });
    expect(changes).toStrictEqual([
      { field: 'constructor.prototype.polluted', previous: null, value: true },
      { field: 'toString.polluted', previous: null, value: true },
      { field: 'valueOf', previous: null, value: 1 },
    ]);
    expect(Object.getOwnPropertyNames(result)).toEqual(expect.arrayContaining(['constructor', 'toString', 'valueOf']));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype.toString as unknown as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toStrictEqual(shared);
  });

  it('with no changes returns an equal copy and records nothing', () => {
    const { result, changes } = applyChanges(report(), {});
    expect(result).toStrictEqual(report());
    expect(changes).toStrictEqual([]);
  });
});
