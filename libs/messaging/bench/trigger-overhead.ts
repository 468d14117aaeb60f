/**
 * Single-event append latency on PostgreSQL with the outbox trigger absent, present but
 * disabled, and enabled (capturing). Not a test: timings depend on the machine.
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/msg_test npx tsx libs/messaging/bench/trigger-overhead.ts
 */
import { randomBytes } from 'node:crypto';
import { eventStoreMigrations, openDataSource, PostgresEventStore } from '@app/event-store';
import { enableMessaging, MessagingOutbox1764000000600 } from '@app/messaging';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/msg_test';
const appends = Number(process.env.APPENDS ?? 3000);
const rounds = Number(process.env.ROUNDS ?? 3);

async function measure(label: string, withTrigger: boolean, enabled: boolean): Promise<{ client: number; server: number }> {
  const schema = `msg_bench_${randomBytes(4).toString('hex')}`;
  const dataSource = await openDataSource({
    databaseUrl: url,
    schema,
    migrations: withTrigger ? [...eventStoreMigrations, MessagingOutbox1764000000600] : eventStoreMigrations,
  });
  try {
    if (enabled) await enableMessaging(dataSource);
    const store = new PostgresEventStore(dataSource);
    const payload = { trialId: 'T1', patientId: 'P1', siteId: 'S01', enrolledOn: '2025-01-01', baseline: { ageYears: 70, sex: 'female' } };
    const metadata = { actor: { userId: 'u1', name: 'Dr. Jane Roe', roles: ['site-investigator'] }, correlationId: 'c' };
    for (let i = 0; i < 300; i += 1) await store.appendToStream(`patient/T1/W${i % 50}`, [{ type: 'Warm', data: payload, metadata }]);
    const started = process.hrtime.bigint();
    for (let i = 0; i < appends; i += 1)
      await store.appendToStream(`patient/T1/P${i % 200}`, [{ type: 'PatientEnrolled', data: payload, metadata }]);
    const micros = Number(process.hrtime.bigint() - started) / 1000 / appends;
    // The same appends timed inside the server, in one transaction: no client, network or fsync noise.
    const session = dataSource.createQueryRunner();
    await session.query(
      `CREATE FUNCTION pg_temp.bench(n integer, payload jsonb, meta jsonb) RETURNS double precision LANGUAGE plpgsql AS $fn$
       DECLARE t0 timestamptz := clock_timestamp();
       BEGIN
         FOR i IN 1..n LOOP
           PERFORM es_append('patient/T1/S' || (i % 200), 'any', jsonb_build_array(jsonb_build_object(
             'eventId', gen_random_uuid(), 'type', 'PatientEnrolled', 'schemaVersion', 1, 'data', payload,
             'metadata', meta, 'recordedAt', now(), 'digest', md5(i::text))));
         END LOOP;
         RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
       END $fn$`,
    );
    const [row] = (await session.query('SELECT pg_temp.bench($1, $2::jsonb, $3::jsonb) AS micros', [
      appends,
      JSON.stringify(payload),
      JSON.stringify(metadata),
    ])) as Array<{
      micros: number;
    }>;
    await session.release();
    const server = Number(row!.micros);
    console.log(`${label.padEnd(28)} ${micros.toFixed(1)} µs/append from the client, ${server.toFixed(1)} µs inside the server`);
    return { client: micros, server };
  } finally {
    await dataSource.query(`DROP SCHEMA ${schema} CASCADE`);
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  const results: Record<'none' | 'disabled' | 'enabled', Array<{ client: number; server: number }>> = {
    none: [],
    disabled: [],
    enabled: [],
  };
  for (let round = 0; round < rounds; round += 1) {
    // Interleaved so that drift of a shared machine spreads over all three.
    results.none.push(await measure('no trigger', false, false));
    results.disabled.push(await measure('trigger, messaging disabled', true, false));
    results.enabled.push(await measure('trigger, messaging enabled', true, true));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`${rounds} rounds × ${appends} appends:`);
  // The minimum too: on a shared machine noise only ever adds time.
  const min = (xs: number[]): number => Math.min(...xs);
  for (const [stat, pick] of [
    ['median', median],
    ['min', min],
  ] as const) {
    for (const side of ['client', 'server'] as const) {
      const [none, disabled, enabled] = (['none', 'disabled', 'enabled'] as const).map((k) => pick(results[k].map((r) => r[side])));
      console.log(
        `  ${stat} ${side}: no trigger ${none!.toFixed(1)} µs; disabled ${disabled!.toFixed(1)} µs (×${(disabled! / none!).toFixed(3)}); enabled ${enabled!.toFixed(1)} µs (×${(enabled! / none!).toFixed(3)})`,
      );
    }
  }
}

void main();
