import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { eventStoreMigrations, openDataSource } from '@app/event-store';
import type { PatientHistoryFacts } from '../domain/history-fold';
import { reportingMigrations } from '../infrastructure/migrations/reporting-migrations';
import { HistoryCache } from './history';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

/** The mirror must answer exactly what the versioned tables hold at each sequence, however it was loaded. */
describe.each(backends)('history cache on %s', (_name, databaseUrl) => {
  let dataSource: DataSource;
  const schema = `rpt_cache_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    dataSource = await openDataSource({
      databaseUrl,
      dataDir: databaseUrl ? undefined : 'memory://',
      schema: databaseUrl ? schema : undefined,
      migrations: [...eventStoreMigrations, ...reportingMigrations],
    });
  });
  afterAll(async () => {
    if (databaseUrl) await dataSource.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await dataSource.destroy();
  });

  /** What one projected batch writes: knowledge rows up to `seq` (visits on theirs), versions closing their predecessors. */
  async function project(
    seq: number,
    versions: Array<[string, string, string, unknown, number]>,
    visits: Array<[string, string, string, number]> = [],
  ) {
    const [last] = await dataSource.query<Array<{ seq: string | number }>>('SELECT coalesce(max(seq), 0) AS seq FROM rpt_knowledge');
    for (let s = Number(last?.seq ?? 0) + 1; s <= seq; s += 1) {
      await dataSource.query(`INSERT INTO rpt_knowledge (seq, global_position, trial_id, known_at) VALUES ($1, $1, 'T', now())`, [s]);
    }
    for (const [trialId, kind, entityId, facts, from] of versions) {
      await dataSource.query(`UPDATE rpt_facts SET to_seq = $4 WHERE trial_id = $1 AND kind = $2 AND entity_id = $3 AND to_seq IS NULL`, [
        trialId,
        kind,
        entityId,
        from,
      ]);
      await dataSource.query(`INSERT INTO rpt_facts (trial_id, kind, entity_id, facts, from_seq) VALUES ($1, $2, $3, $4, $5)`, [
        trialId,
        kind,
        entityId,
        JSON.stringify(facts),
        from,
      ]);
    }
    for (const [trialId, patientId, visitOn, s] of visits) {
      await dataSource.query(`UPDATE rpt_knowledge SET trial_id = $1, patient_id = $2, visit_on = $3 WHERE seq = $4`, [
        trialId,
        patientId,
        visitOn,
        s,
      ]);
    }
  }
  /** Facts of reporting's shape whose version shows in the enrolment date (the cache keeps them as they are). */
  const patient = (version: number): PatientHistoryFacts => ({
    patientId: 'P',
    enrolment: { siteId: 'S1', diabetes: false, presentation: 'cli', enrolledOn: `2025-01-0${version}` },
  });
  const versionOf = (facts: PatientHistoryFacts) => Number(facts.enrolment?.enrolledOn.slice(8));

  it('answers each sequence from versions and visits loaded in several steps, per trial', async () => {
    await project(
      3,
      [
        ['T', 'patient', 'P1', patient(1), 1],
        ['U', 'patient', 'X', patient(1), 2],
        ['T', 'charter', '1', { version: '1' }, 3],
      ],
      [['T', 'P1', '2025-03-01', 2]],
    );
    const cache = new HistoryCache(dataSource);
    const first = await cache.at('T', 3, '2025-12-31');
    expect(first.patients).toEqual([{ patientId: 'P1', facts: patient(1), lastVisitOn: '2025-03-01' }]);
    expect(first.latestCharter).toEqual({ version: '1' });

    // Later batches: a new version of P1, a second patient, a visit recorded late for an early date, charter 2.
    await project(
      9,
      [
        ['T', 'patient', 'P1', patient(2), 5],
        ['T', 'patient', 'P2', patient(1), 6],
        ['T', 'charter', '2', { version: '2' }, 8],
      ],
      [
        ['T', 'P1', '2025-06-01', 4],
        ['T', 'P1', '2025-01-15', 7],
        ['U', 'X', '2025-05-05', 9],
      ],
    );
    const at = async (seq: number, cutoff: string) => {
      const snapshot = await cache.at('T', seq, cutoff);
      return {
        patients: snapshot.patients.map((p) => [p.patientId, versionOf(p.facts), p.lastVisitOn ?? null]).sort(),
        charter: snapshot.latestCharter?.version ?? null,
      };
    };
    expect(await at(8, '2025-12-31')).toEqual({
      patients: [
        ['P1', 2, '2025-06-01'],
        ['P2', 1, null],
      ],
      charter: '2',
    });
    // The past, from the same mirror: versions valid then, visits known then.
    expect(await at(4, '2025-12-31')).toEqual({ patients: [['P1', 1, '2025-06-01']], charter: '1' });
    expect(await at(3, '2025-12-31')).toEqual({ patients: [['P1', 1, '2025-03-01']], charter: '1' });
    expect(await at(1, '2025-12-31')).toEqual({ patients: [['P1', 1, null]], charter: null });
    // The cutoff: the latest visit on or before it, including one recorded later.
    expect(await at(8, '2025-02-28')).toEqual({
      patients: [
        ['P1', 2, '2025-01-15'],
        ['P2', 1, null],
      ],
      charter: '2',
    });
    expect(await at(6, '2025-02-28')).toEqual({
      patients: [
        ['P1', 2, null],
        ['P2', 1, null],
      ],
      charter: '1',
    });

    // A fresh mirror loaded in one step agrees with the incrementally loaded one.
    const fresh = new HistoryCache(dataSource);
    for (const seq of [1, 3, 4, 6, 8]) {
      for (const cutoff of ['2025-02-28', '2025-12-31']) {
        expect(JSON.stringify(await fresh.at('T', seq, cutoff))).toBe(JSON.stringify(await cache.at('T', seq, cutoff)));
      }
    }
    await expect(cache.at('T', 10, '2025-12-31')).rejects.toThrow(/not reached sequence 10/);
  });

  it('drops a trial not reported on for the idle time, and loads it again when it is', async () => {
    let now = 0;
    const cache = new HistoryCache(dataSource, () => now, 60_000);
    const before = JSON.stringify(await cache.at('T', 8, '2025-12-31'));
    await cache.at('U', 9, '2025-12-31');
    expect(cache.loadedTrials.sort()).toEqual(['T', 'U']);
    now = 45_000;
    await cache.at('U', 9, '2025-12-31');
    now = 90_000;
    await cache.at('U', 9, '2025-12-31');
    expect(cache.loadedTrials).toEqual(['U']);
    expect(JSON.stringify(await cache.at('T', 8, '2025-12-31'))).toBe(before);
    expect(cache.loadedTrials.sort()).toEqual(['T', 'U']);
  });
});
