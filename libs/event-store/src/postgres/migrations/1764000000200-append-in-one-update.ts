import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * es_append takes the stream's row lock with the UPDATE that advances it, instead of a
 * SELECT … FOR UPDATE followed by an UPDATE: one row write per append, not two. The previous
 * last hash travels out through prev_hash (RETURNING only sees new values on PostgreSQL 15).
 */
export class AppendInOneUpdate1764000000200 implements MigrationInterface {
  name = 'AppendInOneUpdate1764000000200';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE es_streams ADD COLUMN prev_hash bytea NOT NULL DEFAULT '\\x';
      ALTER TABLE es_streams SET (fillfactor = 80);

      -- The hash after appending digests to a stream at version p_version with hash p_hash.
      CREATE FUNCTION es_chain(p_hash bytea, p_version bigint, p_events jsonb) RETURNS bytea
      LANGUAGE plpgsql IMMUTABLE AS $fn$
      DECLARE
        v_hash bytea := p_hash;
      BEGIN
        FOR i IN 1..jsonb_array_length(p_events) LOOP
          v_hash := sha256(v_hash || int8send(p_version + i) || decode(p_events -> (i - 1) ->> 'digest', 'hex'));
        END LOOP;
        RETURN v_hash;
      END
      $fn$;

      CREATE OR REPLACE FUNCTION es_append(p_stream_id text, p_expected text, p_events jsonb)
      RETURNS TABLE (stream_version bigint, global_position bigint, transaction_id text, hash text)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_count integer := jsonb_array_length(p_events);
        v_version bigint;
        v_hash bytea;
        v_hashes bytea[] := '{}';
      BEGIN
        UPDATE es_streams s
           SET version = s.version + v_count, prev_hash = s.last_hash, last_hash = es_chain(s.last_hash, s.version, p_events)
         WHERE s.stream_id = p_stream_id
        RETURNING s.version - v_count, s.prev_hash INTO v_version, v_hash;
        IF NOT FOUND THEN
          IF p_expected NOT IN ('any', 'no_stream', '0') THEN
            RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'ES409', DETAIL = '0';
          END IF;
          INSERT INTO es_streams (stream_id, version, last_hash, prev_hash)
            VALUES (p_stream_id, v_count, es_chain('\\x', 0, p_events), '\\x')
            ON CONFLICT DO NOTHING;
          IF FOUND THEN
            v_version := 0;
            v_hash := '\\x';
          ELSIF p_expected = 'any' THEN
            -- Created meanwhile by a concurrent writer, now committed: append after it.
            UPDATE es_streams s
               SET version = s.version + v_count, prev_hash = s.last_hash, last_hash = es_chain(s.last_hash, s.version, p_events)
             WHERE s.stream_id = p_stream_id
            RETURNING s.version - v_count, s.prev_hash INTO v_version, v_hash;
          ELSE
            SELECT s.version INTO v_version FROM es_streams s WHERE s.stream_id = p_stream_id;
            RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'ES409', DETAIL = v_version::text;
          END IF;
        ELSIF p_expected = 'no_stream' OR (p_expected ~ '^[0-9]+$' AND p_expected::bigint <> v_version) THEN
          -- Raising undoes the UPDATE above: nothing of this call is kept.
          RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'ES409', DETAIL = v_version::text;
        END IF;

        FOR i IN 1..v_count LOOP
          v_hash := sha256(v_hash || int8send(v_version + i) || decode(p_events -> (i - 1) ->> 'digest', 'hex'));
          v_hashes := array_append(v_hashes, v_hash);
        END LOOP;

        RETURN QUERY
          INSERT INTO es_events AS e (stream_id, stream_version, event_id, event_type, schema_version,
                                      data, metadata, recorded_at, hash)
          SELECT p_stream_id, v_version + x.ord, (x.ev ->> 'eventId')::uuid, x.ev ->> 'type',
                 (x.ev ->> 'schemaVersion')::integer, x.ev -> 'data', x.ev -> 'metadata',
                 (x.ev ->> 'recordedAt')::timestamptz, v_hashes[x.ord]
            FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(ev, ord)
           ORDER BY x.ord
          RETURNING e.stream_version, e.global_position, e.transaction_id::text, encode(e.hash, 'hex');
      END
      $fn$;
    `);
  }

  async down(): Promise<void> {
    throw new Error('AppendInOneUpdate1764000000200 is not reversible: restore the database from a backup taken before it');
  }
}
