import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An Idempotency-Key is recorded by the append that carries out its command, in the same
 * statement, so a crash leaves both the events and the key or neither (api.md: a key is never
 * stuck). The events themselves carry the key and the request's hash in their metadata, which is
 * what a retry on the same stream replays from; this table adds the one thing a stream cannot
 * tell: that the key was already spent on another request elsewhere. It replaces the HTTP layer's
 * claim table, whose claim was committed on its own before the command ran and, after a crash,
 * never released.
 */
export class IdempotentAppend1764000000800 implements MigrationInterface {
  name = 'IdempotentAppend1764000000800';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE es_idempotency (
        scope         text NOT NULL,
        key           text NOT NULL,
        request_hash  text NOT NULL,
        stream_id     text NOT NULL,
        recorded_at   timestamptz NOT NULL,
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX es_idempotency_recorded_at ON es_idempotency (recorded_at);

      -- es_append, and the key recorded for the request it carries out. A key still held by
      -- another request (recorded at or after p_not_before) aborts the whole call: no events.
      CREATE FUNCTION es_append_keyed(p_stream_id text, p_expected text, p_events jsonb,
                                      p_scope text, p_key text, p_request_hash text, p_not_before timestamptz)
      RETURNS TABLE (stream_version bigint, global_position bigint, transaction_id text, hash text)
      LANGUAGE plpgsql AS $fn$
      BEGIN
        RETURN QUERY SELECT * FROM es_append(p_stream_id, p_expected, p_events);
        INSERT INTO es_idempotency AS k (scope, key, request_hash, stream_id, recorded_at)
          VALUES (p_scope, p_key, p_request_hash, p_stream_id, (p_events -> 0 ->> 'recordedAt')::timestamptz)
          ON CONFLICT (scope, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, stream_id = EXCLUDED.stream_id, recorded_at = EXCLUDED.recorded_at
            WHERE k.recorded_at < p_not_before OR (k.request_hash = EXCLUDED.request_hash AND k.stream_id = EXCLUDED.stream_id);
        IF NOT FOUND THEN
          RAISE EXCEPTION 'idempotency key already used for another request' USING ERRCODE = 'ES422';
        END IF;
      END
      $fn$;
    `);
    // The claim table of the HTTP layer, if this database has one: its rows only ever answered
    // retries within the TTL, and the events now carry what a retry needs.
    await runner.query('DROP TABLE IF EXISTS http_idempotency');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP FUNCTION es_append_keyed(text, text, jsonb, text, text, text, timestamptz); DROP TABLE es_idempotency');
  }
}
