import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Read model of CEC cases (listing, worklists) and of review rounds (committee metrics). */
export class AdjudicationReadModel1764000000300 implements MigrationInterface {
  name = 'AdjudicationReadModel1764000000300';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE adj_cases (
        trial_id      text NOT NULL,
        case_id       text NOT NULL,
        event_id      text NOT NULL,
        patient_id    text NOT NULL,
        site_id       text NOT NULL,
        status        text NOT NULL,
        round         integer NOT NULL,
        reviewer_ids  jsonb NOT NULL DEFAULT '[]',
        reviewed_by   jsonb NOT NULL DEFAULT '[]',
        open_queries  integer NOT NULL DEFAULT 0,
        reported_at   timestamptz NOT NULL,
        finalized_at  timestamptz,
        decision      jsonb,
        state         jsonb NOT NULL,
        PRIMARY KEY (trial_id, case_id)
      );
      CREATE INDEX adj_cases_event ON adj_cases (trial_id, event_id);
      CREATE TABLE adj_reviews (
        trial_id     text NOT NULL,
        case_id      text NOT NULL,
        round        integer NOT NULL,
        reviewer_id  text NOT NULL,
        outcome      jsonb NOT NULL,
        PRIMARY KEY (trial_id, case_id, round, reviewer_id)
      );
      CREATE TABLE adj_decisions (
        trial_id      text NOT NULL,
        case_id       text NOT NULL,
        round         integer NOT NULL,
        basis         text NOT NULL,
        reported_at   timestamptz NOT NULL,
        finalized_at  timestamptz NOT NULL,
        PRIMARY KEY (trial_id, case_id, round)
      );
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE adj_decisions; DROP TABLE adj_reviews; DROP TABLE adj_cases;');
  }
}
