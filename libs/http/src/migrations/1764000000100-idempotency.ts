import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Responses of commands sent with an Idempotency-Key, per user, replayed on retry. */
export class Idempotency1764000000100 implements MigrationInterface {
  name = 'Idempotency1764000000100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE http_idempotency (
        user_id       text NOT NULL,
        key           text NOT NULL,
        request_hash  text NOT NULL,
        status        integer,
        body          jsonb,
        created_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, key)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE http_idempotency');
  }
}
