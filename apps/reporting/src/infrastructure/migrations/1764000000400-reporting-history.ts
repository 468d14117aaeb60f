import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The reporting read model keeps history: every delivered event gets a knowledge sequence and a
 * knownAt, and each fact row is valid for the sequences [from_seq, to_seq). A report as of any
 * moment selects the rows valid at its sequence, without replaying the log.
 */
export class ReportingHistory1764000000400 implements MigrationInterface {
  name = 'ReportingHistory1764000000400';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE rpt_knowledge (
        seq              bigint PRIMARY KEY,
        global_position  bigint NOT NULL UNIQUE,
        known_at         timestamptz NOT NULL
      );
      CREATE INDEX rpt_knowledge_known_at ON rpt_knowledge (known_at, seq);
      CREATE TABLE rpt_facts (
        trial_id   text NOT NULL,
        kind       text NOT NULL,
        entity_id  text NOT NULL,
        facts      jsonb NOT NULL,
        from_seq   bigint NOT NULL,
        to_seq     bigint,
        PRIMARY KEY (trial_id, kind, entity_id, from_seq)
      );
      CREATE INDEX rpt_facts_current ON rpt_facts (trial_id, kind, entity_id) WHERE to_seq IS NULL;
      -- The rows valid at a sequence, found without scanning every older version.
      CREATE INDEX rpt_facts_as_of ON rpt_facts USING gist (int8range(from_seq, to_seq));
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE rpt_facts; DROP TABLE rpt_knowledge;');
  }
}
