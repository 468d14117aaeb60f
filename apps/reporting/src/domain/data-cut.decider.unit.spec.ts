import type { DataCutEvent, DataCutFrozen } from '@app/contracts';
import { deciderSpec } from '../../../../libs/contracts/src/testing/decider-spec';
import { decideDataCut, evolveDataCuts, initialDataCutsState } from './data-cut.decider';

const spec = deciderSpec({ decide: decideDataCut, evolve: evolveDataCuts, initialState: initialDataCutsState });

const hash = (c: string) => c.repeat(64);
const cut = (dataCutId: string, extra: Partial<DataCutFrozen> = {}): DataCutFrozen => ({
  trialId: 'T1',
  dataCutId,
  cutoff: '2026-06-30',
  position: 42,
  knownAt: '2026-07-01T08:00:00.000Z',
  charterVersion: 'default-1',
  censoring: { withdrawal: 'withdrawal-date' },
  note: 'DSMB meeting 1',
  hashes: {
    openHtml: hash('a'),
    openPdf: hash('b'),
    closedHtml: hash('c'),
    closedPdf: hash('d'),
    adtteJson: hash('e'),
    adtteCsv: hash('f'),
    adtteJsonBlinded: hash('1'),
    adtteCsvBlinded: hash('2'),
  },
  ...extra,
});
const frozen = (data: DataCutFrozen): DataCutEvent => ({ type: 'DataCutFrozen', data });

describe('data cut decider', () => {
  it('freezes a first cut', () => {
    spec
      .given([])
      .when({ type: 'FreezeDataCut', data: cut('DC1') })
      .then([frozen(cut('DC1'))]);
  });

  it('freezes a corrected cut that names the one it replaces', () => {
    const corrected = cut('DC1-corrected', { position: 50, replaces: 'DC1' });
    spec
      .given([frozen(cut('DC1'))])
      .when({ type: 'FreezeDataCut', data: corrected })
      .then([frozen(corrected)]);
  });

  it('never edits a cut: the same id again is a conflict on dataCutId', () => {
    const error = spec
      .given([frozen(cut('DC1'))])
      .when({ type: 'FreezeDataCut', data: cut('DC1', { position: 50 }) })
      .thenThrows('DATA_CUT_EXISTS', 'conflict');
    expect(error.field).toBe('dataCutId');
  });

  it('refuses to replace a cut that does not exist', () => {
    const error = spec
      .given([frozen(cut('DC1'))])
      .when({ type: 'FreezeDataCut', data: cut('DC2', { replaces: 'DC0' }) })
      .thenThrows('REPLACED_DATA_CUT_NOT_FOUND', 'rule');
    expect(error.field).toBe('replaces');
  });

  it('refuses a cut that replaces itself', () => {
    spec
      .given([])
      .when({ type: 'FreezeDataCut', data: cut('DC1', { replaces: 'DC1' }) })
      .thenThrows('DATA_CUT_REPLACES_ITSELF', 'invalid');
  });

  it.each(['2026-02-30', '2026-6-30', 'yesterday'])('refuses the cut-off %s', (cutoff) => {
    const error = spec
      .given([])
      .when({ type: 'FreezeDataCut', data: cut('DC1', { cutoff }) })
      .thenThrows('INVALID_CUTOFF', 'invalid');
    expect(error.field).toBe('cutoff');
  });

  it('treats an id like constructor as any other id', () => {
    spec
      .given([])
      .when({ type: 'FreezeDataCut', data: cut('constructor') })
      .then([frozen(cut('constructor'))]);
  });
});
