import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Knowledge time per trial: knownAt becomes the running maximum of recordedAt over the trial's
 * own events, so an export of one trial's log re-derives every report's knowledge time without
 * the rest of the store (trialctl replay). Rows already projected are recomputed from the log
 * when it is in this database; otherwise (KurrentDB) the history is rebuilt from the start.
 *
 * Reports now read a trial's history incrementally by sequence into memory (HistoryCache)
 * instead of probing the versions valid at a sequence and each patient's visits, so the indexes
 * follow those reads, and a visit lives on its own knowledge row (one row per event either way)
 * rather than in a table of its own: a rebuild writes each event once.
 */
export class KnowledgePerTrial1764000000700 implements MigrationInterface {
  name = 'KnowledgePerTrial1764000000700';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE rpt_knowledge ADD COLUMN trial_id text, ADD COLUMN patient_id text, ADD COLUMN visit_on date`);
    const [log] = (await runner.query(`SELECT to_regclass('es_events') IS NOT NULL AS present`)) as Array<{ present: boolean }>;
    const [missing] = log?.present
      ? ((await runner.query(
          `SELECT EXISTS (SELECT 1 FROM rpt_knowledge k WHERE NOT EXISTS (SELECT 1 FROM es_events e WHERE e.global_position = k.global_position)) AS any`,
        )) as Array<{ any: boolean }>)
      : [{ any: true }];
    if (missing?.any) {
      await rebuildHistory(runner);
    } else {
      await runner.query(`
        UPDATE rpt_knowledge k SET trial_id = r.trial_id, known_at = r.known_at
          FROM (SELECT k2.seq, t.trial_id,
                       max(date_trunc('milliseconds', e.recorded_at)) OVER (PARTITION BY t.trial_id ORDER BY k2.seq) AS known_at
                  FROM rpt_knowledge k2
                  JOIN es_events e ON e.global_position = k2.global_position
                  CROSS JOIN LATERAL (SELECT CASE
                    WHEN e.stream_id ~ '^(trial|unblinding)/[^/]+$' THEN split_part(e.stream_id, '/', 2)
                    WHEN e.stream_id ~ '^(patient|procedures|adverse-event|case)/[^/]+/[^/]+$' THEN split_part(e.stream_id, '/', 2)
                  END AS trial_id) t) r
         WHERE k.seq = r.seq`);
      await runner.query(
        `UPDATE rpt_knowledge k SET patient_id = v.patient_id, visit_on = v.visit_on FROM rpt_visits v WHERE v.seq = k.seq`,
      );
    }
    await runner.query(`
      DROP TABLE rpt_visits;
      DROP INDEX rpt_knowledge_known_at;
      CREATE INDEX rpt_knowledge_trial_known_at ON rpt_knowledge (trial_id, known_at, seq);
      DROP INDEX rpt_facts_as_of;
      CREATE INDEX rpt_facts_trial_from ON rpt_facts (trial_id, from_seq);`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP INDEX rpt_facts_trial_from;
      CREATE INDEX rpt_facts_as_of ON rpt_facts USING gist (int8range(from_seq, to_seq));
      DROP INDEX rpt_knowledge_trial_known_at;
      CREATE TABLE rpt_visits (trial_id text NOT NULL, patient_id text NOT NULL, visit_on date NOT NULL, seq bigint NOT NULL);
      CREATE INDEX rpt_visits_patient ON rpt_visits (trial_id, patient_id, visit_on, seq);
      ALTER TABLE rpt_knowledge DROP COLUMN trial_id, DROP COLUMN patient_id, DROP COLUMN visit_on;
      CREATE INDEX rpt_knowledge_known_at ON rpt_knowledge (known_at, seq);`);
    // The global knownAt cannot be recovered from per-trial values: project again.
    await rebuildHistory(runner);
  }
}

/** Empties the history read model; its subscription then projects the log again from the start. */
async function rebuildHistory(runner: QueryRunner): Promise<void> {
  await runner.query(`TRUNCATE rpt_knowledge, rpt_facts, rpt_visits`);
  await runner.query(`DELETE FROM es_subscriptions WHERE name = 'reporting.history'`);
}
