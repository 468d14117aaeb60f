import { ANY, NO_STREAM, STREAM_EXISTS } from '@kurrent/kurrentdb-client';
import {
  comparePositions,
  decodePositionCheckpoint,
  encodePositionCheckpoint,
  isSystemRecord,
  retriesOnConcurrentAppend,
  satisfiesExpectation,
  splitEnvelope,
  toStreamState,
  versionOfStreamState,
} from './kurrentdb-event-store';
import type { ExpectedVersion } from '../event-store.port';

describe('KurrentDB adapter mapping', () => {
  it('maps expected versions (1-based counts) to KurrentDB stream states (0-based revisions)', () => {
    expect(toStreamState('any')).toBe(ANY);
    expect(toStreamState('no_stream')).toBe(NO_STREAM);
    expect(toStreamState('stream_exists')).toBe(STREAM_EXISTS);
    expect(toStreamState(0)).toBe(NO_STREAM);
    expect(toStreamState(1)).toBe(0n);
    expect(toStreamState(42)).toBe(41n);
    expect(() => toStreamState(-1)).toThrow(RangeError);
    expect(() => toStreamState(1.5)).toThrow(RangeError);
  });

  it('maps a reported current stream state back to a version', () => {
    expect(versionOfStreamState(NO_STREAM)).toBe(0);
    expect(versionOfStreamState(0n)).toBe(1);
    expect(versionOfStreamState(41n)).toBe(42);
    for (const version of [0, 1, 7]) expect(versionOfStreamState(toStreamState(version) as typeof NO_STREAM | bigint)).toBe(version);
  });

  it('checks an expectation against the stream head, and retries only where a lost race is no conflict', () => {
    expect(satisfiesExpectation('any', 0)).toBe(true);
    expect(satisfiesExpectation('any', 5)).toBe(true);
    expect(satisfiesExpectation('no_stream', 0)).toBe(true);
    expect(satisfiesExpectation('no_stream', 1)).toBe(false);
    expect(satisfiesExpectation('stream_exists', 0)).toBe(false);
    expect(satisfiesExpectation('stream_exists', 1)).toBe(true);
    expect(satisfiesExpectation(0, 0)).toBe(true);
    expect(satisfiesExpectation(2, 2)).toBe(true);
    expect(satisfiesExpectation(2, 3)).toBe(false);
    const expectations: ExpectedVersion[] = ['any', 'stream_exists', 'no_stream', 0, 3];
    expect(expectations.map(retriesOnConcurrentAppend)).toEqual([true, true, false, false, false]);
  });

  it('encodes $all positions as "commit/prepare" checkpoints and decodes them losslessly', () => {
    const position = { commit: 18446744073709551615n, prepare: 9007199254740993n };
    expect(encodePositionCheckpoint({ commit: 120n, prepare: 118n })).toBe('120/118');
    expect(decodePositionCheckpoint('120/118')).toEqual({ commit: 120n, prepare: 118n });
    expect(decodePositionCheckpoint(encodePositionCheckpoint(position))).toEqual(position);
    for (const bad of ['', '120', '120:118', '-1/2', '1/2/3', 'a/b']) expect(() => decodePositionCheckpoint(bad)).toThrow();
  });

  it('orders positions by commit, then prepare', () => {
    expect(comparePositions({ commit: 1n, prepare: 9n }, { commit: 2n, prepare: 0n })).toBe(-1);
    expect(comparePositions({ commit: 2n, prepare: 3n }, { commit: 2n, prepare: 2n })).toBe(1);
    expect(comparePositions({ commit: 2n, prepare: 2n }, { commit: 2n, prepare: 2n })).toBe(0);
  });

  it('recognises system records and splits the envelope from the caller metadata', () => {
    expect(isSystemRecord('$stats-127.0.0.1:2113', 'ThingHappened')).toBe(true);
    expect(isSystemRecord('trial-1', '$metadata')).toBe(true);
    expect(isSystemRecord('trial-1', 'ThingHappened')).toBe(false);
    expect(splitEnvelope({ correlationId: 'c', recordedAt: '2025-01-01T00:00:00.000Z', schemaVersion: 2, hash: 'ab' })).toEqual({
      metadata: { correlationId: 'c' },
      recordedAt: '2025-01-01T00:00:00.000Z',
      schemaVersion: 2,
      hash: 'ab',
    });
    expect(splitEnvelope(undefined)).toEqual({ metadata: {}, recordedAt: undefined, schemaVersion: undefined, hash: undefined });
  });
});
