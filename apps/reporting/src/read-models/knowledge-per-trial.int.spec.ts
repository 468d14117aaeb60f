import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { MigrationInterface } from 'typeorm';
import { FixedClock, PostgresEventStore, SequentialIds, eventStoreMigrations, openDataSource, type NewEvent } from '@app/event-store';
import { untilSettled } from '../../../../libs/event-store/test/settled';
import { replayReportInput } from '../domain/replay';
import { defaultCharter } from '../domain/default-charter';
import { KnowledgePerTrial1764000000700 } from '../infrastructure/migrations/1764000000700-knowledge-per-trial';
import { reportingMigrations } from '../infrastructure/migrations/reporting-migrations';
import { HistoryProjection } from './history';

/** The store's migrations and reporting's: all this read model needs. */
const migrationsOf = (reporting: Array<new () => MigrationInterface>) => [...eventStoreMigrations, ...reporting];

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const at = (time: string) => new Date(`2026-03-01T${time}.000Z`);
const event = (type: string): NewEvent => ({ type, data: { n: 1 } });

/**
 * Knowledge time per trial: an event recorded at 11:00 but delivered after another trial's 12:00
 * event is known at 11:00 for its own trial, which is what a replay of that trial's export derives.
 */
describe.each(backends)('knowledge time per trial on %s', (_name, databaseUrl) => {
  let dataSource: DataSource;
  const open = (migrations: Array<new () => MigrationInterface>) =>
    openDataSource({
      databaseUrl,
      dataDir: databaseUrl ? undefined : 'memory://',
      schema: databaseUrl ? `rpt_k_${randomBytes(4).toString('hex')}` : undefined,
      migrations,
    });

  afterEach(async () => {
    if (databaseUrl) await dataSource.query(`DROP SCHEMA IF EXISTS ${(dataSource.options as { schema?: string }).schema} CASCADE`);
    await dataSource.destroy();
  });

  async function appendInterleaved(store: PostgresEventStore, clock: FixedClock): Promise<void> {
    clock.set(at('10:00:00'));
    await store.appendToStream('unblinding/A', [event('UnblindedResultsViewed')]);
    clock.set(at('12:00:00'));
    await store.appendToStream('unblinding/B', [event('UnblindedResultsViewed')]);
    // Recorded earlier than B's event, delivered after it (a transaction that started first).
    clock.set(at('11:00:00'));
    await store.appendToStream('unblinding/A', [event('UnblindedResultsViewed')]);
  }

  const knowledge = async () =>
    (
      await dataSource.query<Array<{ trial_id: string; global_position: string | number; known_at: string }>>(
        `SELECT trial_id, global_position, to_char(known_at AT TIME ZONE 'UTC', 'HH24:MI:SS') AS known_at FROM rpt_knowledge ORDER BY seq`,
      )
    ).map((r) => [r.trial_id, Number(r.global_position), r.known_at]);

  it('the projection runs knownAt per trial, as a replay of the trial log does', async () => {
    dataSource = await open(migrationsOf(reportingMigrations));
    const clock = new FixedClock(at('09:00:00'));
    const store = new PostgresEventStore(dataSource, clock, new SequentialIds());
    await appendInterleaved(store, clock);
    const projection = new HistoryProjection(store, dataSource);
    // Driven here, after the log has settled: a 2 s wait runs out while a transaction elsewhere on a shared server holds the log back.
    await untilSettled(store);
    await projection.subscription.catchUp();
    const rows = await knowledge();
    expect(rows.map((r) => [r[0], r[2]])).toEqual([
      ['A', '10:00:00'],
      ['B', '12:00:00'],
      ['A', '11:00:00'],
    ]);
    const log = (await store.readAll({ maxCount: 100 })).events;
    const replayed = replayReportInput(
      'A',
      log,
      { asOf: at('11:30:00').toISOString(), basis: 'adjudicated', groupBy: [] },
      defaultCharter(),
    );
    expect(replayed.asOf.position).toBe(rows[2]![1]);
  });

  it('the migration recomputes knowledge projected with the global knownAt, in place', async () => {
    // The read model as it stood before this migration (the later ones assume it ran).
    dataSource = await open(migrationsOf(reportingMigrations.slice(0, reportingMigrations.indexOf(KnowledgePerTrial1764000000700))));
    const clock = new FixedClock(at('09:00:00'));
    const store = new PostgresEventStore(dataSource, clock, new SequentialIds());
    await appendInterleaved(store, clock);
    // What the projection wrote before: one knownAt for the whole log.
    await dataSource.query(
      `INSERT INTO rpt_knowledge (seq, global_position, known_at)
       SELECT row_number() OVER (ORDER BY global_position), global_position, max(recorded_at) OVER (ORDER BY global_position) FROM es_events`,
    );
    await dataSource.query(`INSERT INTO rpt_visits (trial_id, patient_id, visit_on, seq) VALUES ('A', 'P1', '2026-02-27', 3)`);
    const runner = dataSource.createQueryRunner();
    try {
      await new KnowledgePerTrial1764000000700().up(runner);
    } finally {
      await runner.release();
    }
    expect((await knowledge()).map((r) => [r[0], r[2]])).toEqual([
      ['A', '10:00:00'],
      ['B', '12:00:00'],
      ['A', '11:00:00'],
    ]);
    // Visits moved onto their events' knowledge rows.
    expect(
      await dataSource.query(
        `SELECT seq, patient_id, to_char(visit_on, 'YYYY-MM-DD') AS visit_on FROM rpt_knowledge WHERE visit_on IS NOT NULL`,
      ),
    ).toEqual([{ seq: databaseUrl ? '3' : 3, patient_id: 'P1', visit_on: '2026-02-27' }]);
    expect((await dataSource.query(`SELECT to_regclass('rpt_visits') AS t`))[0].t).toBeNull();
  });
});
