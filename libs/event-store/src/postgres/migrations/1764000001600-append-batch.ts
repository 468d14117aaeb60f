import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * es_append_batch carries out several appends in one statement and one transaction: each entry is
 * es_append (or es_append_keyed) in a block of its own, so an entry refused for its expected version
 * (ES409) or its Idempotency-Key (ES422) is undone alone and reported in its rows, and the others are
 * kept. Any other error undoes the whole call, and the caller then appends each entry on its own.
 *
 * Entries run in the order given (the caller sorts them by stream id, so two batches take stream
 * locks in the same order); two entries of one stream see each other as two calls one after the
 * other would. Every event of the batch has the batch's transaction id, which the gap-safe read
 * orders by, exactly as for the events of one append.
 */
export class AppendBatch1764000001600 implements MigrationInterface {
  name = 'AppendBatch1764000001600';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE FUNCTION es_append_batch(p_entries jsonb)
      RETURNS TABLE (entry integer, stream_version bigint, global_position bigint, transaction_id text, hash text,
                     error_code text, error_detail text)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_entry jsonb;
        v_code text;
        v_detail text;
      BEGIN
        FOR i IN 0..jsonb_array_length(p_entries) - 1 LOOP
          v_entry := p_entries -> i;
          BEGIN
            -- A plpgsql set-returning function hands over its rows only once it has returned,
            -- so a refused entry adds none.
            IF v_entry ? 'key' THEN
              RETURN QUERY SELECT i, a.stream_version, a.global_position, a.transaction_id, a.hash, NULL::text, NULL::text
                FROM es_append_keyed(v_entry ->> 'streamId', v_entry ->> 'expected', v_entry -> 'events',
                                     v_entry ->> 'scope', v_entry ->> 'key', v_entry ->> 'requestHash',
                                     (v_entry ->> 'notBefore')::timestamptz) a;
            ELSE
              RETURN QUERY SELECT i, a.stream_version, a.global_position, a.transaction_id, a.hash, NULL::text, NULL::text
                FROM es_append(v_entry ->> 'streamId', v_entry ->> 'expected', v_entry -> 'events') a;
            END IF;
          EXCEPTION WHEN SQLSTATE 'ES409' OR SQLSTATE 'ES422' THEN
            GET STACKED DIAGNOSTICS v_code = RETURNED_SQLSTATE, v_detail = PG_EXCEPTION_DETAIL;
            RETURN QUERY SELECT i, NULL::bigint, NULL::bigint, NULL::text, NULL::text, v_code, v_detail;
          END;
        END LOOP;
      END
      $fn$;
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP FUNCTION es_append_batch(jsonb)');
  }
}
