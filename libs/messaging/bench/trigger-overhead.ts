/**
 * Single-event append latency on PostgreSQL with the outbox trigger absent, present but
 * disabled, and enabled (capturing). Not a test: timings depend on the machine.
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/msg_test npx tsx libs/messaging/bench/trigger-overhead.ts
 */
import { randomBytes } from 'node:crypto';
import { eventStoreMigrations, openDataSource, PostgresEventStore } from '@app/event-store';
import { MessagingOutbox1764000000600 } from '@app/messaging';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/msg_test';
const appends = Number(process.env.APPENDS ?? 3000);
const rounds = Number(process.env.ROUNDS ?? 3);

async function measure(label: string, withTrigger: boolean, enabled: boolean): Promise<number> {
  const schema = `msg_bench_${randomBytes(4).toString('hex')}`;
  const dataSource = await openDataSource({
    databaseUrl: url,
    schema,
    migrations: withTrigger ? [...eventStoreMigrations, MessagingOutbox1764000000600] : eventStoreMigrations,
  });
  try {
    if (enabled) await dataSource.query('UPDATE msg_settings SET enabled = true');
    const store = new PostgresEventStore(dataSource);
    const payload = { trialId: 'T1', patientId: 'P1', siteId: 'S01', enrolledOn: '2025-01-01', baseline: { ageYears: 70, sex: 'female' } };
    const metadata = { actor: { userId: 'u1', name: 'Dr. Jane Roe', roles: ['site-investigator'] }, correlationId: 'c' };
    for (let i = 0; i < 300; i += 1) await store.appendToStream(`patient/T1/W${i % 50}`, [{ type: 'Warm', data: payload, metadata }]);
    const started = process.hrtime.bigint();
    for (let i = 0; i < appends; i += 1) await store.appendToStream(`patient/T1/P${i % 200}`, [{ type: 'PatientEnrolled', data: payload, metadata }]);
    const micros = Number(process.hrtime.bigint() - started) / 1000 / appends;
    console.log(`${label.padEnd(28)} ${micros.toFixed(1)} µs/append`);
    return micros;
  } finally {
    await dataSource.query(`DROP SCHEMA ${schema} CASCADE`);
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  const results: Record<string, number[]> = { none: [], disabled: [], enabled: [] };
  for (let round = 0; round < rounds; round += 1) {
    // Interleaved so that drift of a shared machine spreads over all three.
    results.none!.push(await measure('no trigger', false, false));
    results.disabled!.push(await measure('trigger, messaging disabled', true, false));
    results.enabled!.push(await measure('trigger, messaging enabled', true, true));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const none = median(results.none!);
  console.log(`median of ${rounds} rounds × ${appends} appends:`);
  console.log(`  no trigger ${none.toFixed(1)} µs; disabled ${median(results.disabled!).toFixed(1)} µs (×${(median(results.disabled!) / none).toFixed(3)}); enabled ${median(results.enabled!).toFixed(1)} µs (×${(median(results.enabled!) / none).toFixed(3)})`);
}

void main();
