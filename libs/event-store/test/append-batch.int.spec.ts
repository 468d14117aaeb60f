import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import {
  IdempotencyKeyReusedError,
  openDataSource,
  PostgresEventStore,
  verifyChains,
  WrongExpectedVersionError,
  type ExpectedVersion,
  type IdempotencyClaim,
} from '../src';
import { READ_STREAMS } from '../src/postgres/postgres-event-store';

/**
 * Appends and stream reads that arrive together leave as one statement (es_append_batch, one read
 * of several streams). A batch must answer each of them exactly as it would have been answered
 * alone, one after the other in the order they were made.
 */
const targets: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) targets.push(['PostgreSQL', process.env.DATABASE_URL]);
else console.log('[append batches] PostgreSQL skipped: DATABASE_URL is not set (CI sets it)');

describe.each(targets)('batched appends and reads on %s', (_name, databaseUrl) => {
  let dataSource: DataSource;
  let schema: string | undefined;
  /** Every append of a turn of the event loop in one batch. */
  let store: PostgresEventStore;

  beforeAll(async () => {
    schema = databaseUrl ? `es_batch_${randomBytes(4).toString('hex')}` : undefined;
    dataSource = await openDataSource({ databaseUrl, schema });
  });
  beforeEach(() => {
    store = new PostgresEventStore(dataSource, undefined, undefined, {
      appends: { maxInFlight: 1, maxBatch: 32 },
      reads: { maxInFlight: 1, maxBatch: 64 },
    });
  });
  afterAll(async () => {
    if (schema) await dataSource.query(`DROP SCHEMA ${schema} CASCADE`);
    await dataSource.destroy();
  });

  const ev = (n: number) => ({ type: 'Counted', data: { n } });
  const fresh = (label: string) => `${label}-${randomUUID()}`;
  const transactionOf = (checkpoint: string) => checkpoint.split(':')[0];

  it('plans the read of several streams as a key lookup per stream, never a scan of all streams', async () => {
    // bench:http: a pool connection's cached plan joined es_streams by hashing all of it (12,015 whole
    // scans, 108 million rows read in one run), slower with every stream added.
    await dataSource.query(
      `INSERT INTO es_streams (stream_id, version, last_hash) SELECT 'plan-probe/' || g, 1, '\\x'::bytea FROM generate_series(1, 2000) g`,
    );
    await dataSource.query('ANALYZE es_streams');
    const plan = await dataSource.transaction(async (manager) => {
      await manager.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await manager.query(`PREPARE read_streams_plan(text[], bigint[], bigint[]) AS ${READ_STREAMS}`);
      const rows: Array<Record<string, string>> = await manager.query(
        `EXPLAIN EXECUTE read_streams_plan('{plan-probe/1}', '{1}', '{null}')`,
      );
      await manager.query('DEALLOCATE read_streams_plan');
      return rows.map((row) => Object.values(row).join('')).join('\n');
    });
    expect(plan).toContain('Index Scan using es_streams_pkey');
    expect(plan).not.toMatch(/Seq Scan on es_streams/);
  });

  it('appends to many streams in one transaction, each with its own versions and hash chain', async () => {
    const streams = Array.from({ length: 20 }, (_, i) => fresh(`many${i}`));
    const results = await Promise.all(streams.map((s, i) => store.appendToStream(s, [ev(i), ev(i + 1)], { expectedVersion: 'no_stream' })));
    expect(results.map((r) => r.streamVersion)).toEqual(streams.map(() => 2));
    expect(new Set(results.flatMap((r) => r.events.map((e) => transactionOf(e.checkpoint)))).size).toBe(1);
    const read = await Promise.all(streams.map((s) => store.readStream(s)));
    read.forEach((r, i) => {
      expect(r.events.map((e) => e.data)).toEqual([{ n: i }, { n: i + 1 }]);
      expect(r.events.map((e) => e.hash)).toEqual(results[i]!.events.map((e) => e.hash));
    });
    expect(verifyChains(read.flatMap((r) => r.events))).toMatchObject({ ok: true });
  });

  it('refuses one append of a batch for its version or its key and keeps the others', async () => {
    const existing = fresh('existing');
    await store.appendToStream(existing, [ev(1)]);
    const keyed = fresh('keyed');
    const claim = (requestHash: string): IdempotencyClaim => ({
      scope: 'user-1',
      key: `key-${existing}`,
      requestHash,
      notBefore: '2000-01-01T00:00:00.000Z',
    });
    await store.appendToStream(keyed, [ev(1)], { idempotency: claim('first') });

    const other = fresh('other');
    const reused = fresh('reused');
    const fine = fresh('fine');
    const outcomes = await Promise.allSettled([
      store.appendToStream(existing, [ev(2)], { expectedVersion: 0 }),
      store.appendToStream(reused, [ev(1)], { idempotency: claim('second') }),
      store.appendToStream(other, [ev(1)], { expectedVersion: 'no_stream' }),
      store.appendToStream(fine, [ev(1)], { idempotency: { ...claim('third'), key: `another-${fine}` } }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    const wrong = (outcomes[0] as PromiseRejectedResult).reason as WrongExpectedVersionError;
    expect(wrong).toBeInstanceOf(WrongExpectedVersionError);
    expect(wrong.actual).toBe(1);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyKeyReusedError);
    expect((await store.readStream(existing)).streamVersion).toBe(1);
    expect(await store.readStream(reused)).toEqual({ streamVersion: 0, events: [] });
    const [okA, okB] = [outcomes[2], outcomes[3]] as Array<PromiseFulfilledResult<{ events: Array<{ checkpoint: string }> }>>;
    expect(transactionOf(okA!.value.events[0]!.checkpoint)).toBe(transactionOf(okB!.value.events[0]!.checkpoint));
  });

  it('lets two appends of one stream in one batch see each other, in the order they were made', async () => {
    const stream = fresh('twice');
    const [first, second, third] = await Promise.allSettled([
      store.appendToStream(stream, [ev(1)], { expectedVersion: 0 }),
      store.appendToStream(stream, [ev(2), ev(3)], { expectedVersion: 1 }),
      store.appendToStream(stream, [ev(4)], { expectedVersion: 1 }),
    ]);
    expect((first as PromiseFulfilledResult<{ streamVersion: number }>).value.streamVersion).toBe(1);
    expect((second as PromiseFulfilledResult<{ streamVersion: number }>).value.streamVersion).toBe(3);
    expect(((third as PromiseRejectedResult).reason as WrongExpectedVersionError).actual).toBe(3);
    const read = await store.readStream(stream);
    expect(read.events.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(verifyChains(read.events)).toMatchObject({ ok: true });
  });

  it('answers the others when the server refuses the batch as a whole (a duplicate event id), and that one as it would alone', async () => {
    const eventId = randomUUID();
    await store.appendToStream(fresh('first'), [{ ...ev(0), eventId }]);
    const alone = await store.appendToStream(fresh('alone'), [{ ...ev(0), eventId }]).catch((error: unknown) => error);
    const streams = [fresh('a'), fresh('b'), fresh('c')];
    const outcomes = await Promise.allSettled([
      store.appendToStream(streams[0]!, [ev(1)]),
      store.appendToStream(streams[1]!, [{ ...ev(2), eventId }]),
      store.appendToStream(streams[2]!, [ev(3)], { expectedVersion: 'no_stream' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = (outcomes[1] as PromiseRejectedResult).reason as Error;
    expect(refused.constructor).toBe((alone as Error).constructor);
    expect(refused.message).toBe((alone as Error).message);
    expect((await store.readStream(streams[1]!)).streamVersion).toBe(0);
    expect((await store.readStream(streams[2]!)).events.map((e) => e.data)).toEqual([{ n: 3 }]);
  });

  it('reads many streams and ranges in one statement, each as a read of its own would', async () => {
    const streams = Array.from({ length: 12 }, (_, i) => fresh(`read${i}`));
    for (const [i, s] of streams.entries())
      if (i % 3 !== 0)
        await store.appendToStream(
          s,
          Array.from({ length: i }, (_, n) => ev(n)),
        );
    const alone = new PostgresEventStore(dataSource);
    const expected = [];
    for (const s of streams) expected.push(await alone.readStream(s));
    const asked = [...streams, streams[1]!, streams[0]!];
    const together = await Promise.all(asked.map((s) => store.readStream(s)));
    expect(together).toEqual([...expected, expected[1], expected[0]]);
    expect(together[0]).toEqual({ streamVersion: 0, events: [] });
    // Ranges too, beside whole streams, each answered as alone.
    const ranges = [{ fromVersion: 3, maxCount: 2 }, { fromVersion: 2 }, { maxCount: 1 }, { fromVersion: 50 }];
    const rangesAlone = [];
    for (const range of ranges) rangesAlone.push(await alone.readStream(streams[5]!, range));
    const rangesTogether = await Promise.all([
      ...ranges.map((range) => store.readStream(streams[5]!, range)),
      store.readStream(streams[5]!),
    ]);
    expect(rangesTogether.slice(0, ranges.length)).toEqual(rangesAlone);
    expect(rangesTogether[0].events.map((e) => e.streamVersion)).toEqual([3, 4]);
    expect(rangesTogether[3]).toEqual({ streamVersion: 5, events: [] });
    expect(rangesTogether[4]).toEqual(expected[5]);
  });

  it('property: a batch of appends on a few streams ends as the same appends one after the other would', async () => {
    type Op = { stream: number; expected: ExpectedVersion; count: number };
    const opArb: fc.Arbitrary<Op> = fc.record({
      stream: fc.integer({ min: 0, max: 2 }),
      expected: fc.oneof(fc.constantFrom<ExpectedVersion>('any', 'no_stream', 'stream_exists'), fc.integer({ min: 0, max: 4 })),
      count: fc.integer({ min: 1, max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
        const streams = [0, 1, 2].map((i) => fresh(`prop${i}`));
        const outcomes = await Promise.allSettled(
          ops.map((op, i) =>
            store.appendToStream(
              streams[op.stream]!,
              Array.from({ length: op.count }, (_, n) => ev(i * 10 + n)),
              { expectedVersion: op.expected },
            ),
          ),
        );
        // The model: each stream's appends in the order they were made.
        const versions = [0, 0, 0];
        const kept: unknown[][] = [[], [], []];
        ops.forEach((op, i) => {
          const v = versions[op.stream]!;
          const accepted =
            op.expected === 'any' ||
            (op.expected === 'no_stream' && v === 0) ||
            (op.expected === 'stream_exists' && v > 0) ||
            op.expected === v;
          const outcome = outcomes[i]!;
          expect(outcome.status).toBe(accepted ? 'fulfilled' : 'rejected');
          if (accepted) {
            versions[op.stream] = v + op.count;
            expect((outcome as PromiseFulfilledResult<{ streamVersion: number }>).value.streamVersion).toBe(v + op.count);
            for (let n = 0; n < op.count; n++) kept[op.stream]!.push({ n: i * 10 + n });
          } else {
            const reason = (outcome as PromiseRejectedResult).reason as WrongExpectedVersionError;
            expect(reason).toBeInstanceOf(WrongExpectedVersionError);
            expect(reason.actual).toBe(v);
          }
        });
        const read = await Promise.all(streams.map((s) => store.readStream(s)));
        read.forEach((r, s) => {
          expect(r.streamVersion).toBe(versions[s]);
          expect(r.events.map((e) => e.data)).toEqual(kept[s]);
        });
        expect(verifyChains(read.flatMap((r) => r.events))).toMatchObject({ ok: true });
      }),
      { numRuns: databaseUrl ? 60 : 30 },
    );
  });
});
