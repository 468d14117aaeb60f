import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Visits leave the versioned patient facts: copying a growing visit list into every new version
 * made the history quadratic. A visit is only ever added, so one row each, known from its sequence.
 */
export class ReportingVisits1764000000500 implements MigrationInterface {
  name = 'ReportingVisits1764000000500';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE rpt_visits (
        trial_id    text NOT NULL,
        patient_id  text NOT NULL,
        visit_on    date NOT NULL,
        seq         bigint NOT NULL
      );
      CREATE INDEX rpt_visits_patient ON rpt_visits (trial_id, patient_id, visit_on, seq);
      -- Histories written before this migration kept visits inside the patient facts.
      INSERT INTO rpt_visits (trial_id, patient_id, visit_on, seq)
      SELECT f.trial_id, f.entity_id, (v.value ->> 'visitOn')::date, min(f.from_seq)
        FROM rpt_facts f, jsonb_each(f.facts -> 'patient' -> 'visits') v
       WHERE f.kind = 'patient'
       GROUP BY f.trial_id, f.entity_id, v.key, v.value ->> 'visitOn';
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE rpt_visits');
  }
}
