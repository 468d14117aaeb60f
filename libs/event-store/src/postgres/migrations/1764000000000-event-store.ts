import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event log: streams, events with a gap-safe global order, subscription checkpoints,
 * and es_append, which checks the expected version, chains the hashes and inserts in one call.
 */
export class EventStore1764000000000 implements MigrationInterface {
  name = 'EventStore1764000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE es_streams (
        stream_id   text PRIMARY KEY,
        version     bigint NOT NULL,
        last_hash   bytea NOT NULL
      );

      CREATE TABLE es_events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id       text NOT NULL,
        stream_version  bigint NOT NULL,
        event_id        uuid NOT NULL UNIQUE,
        event_type      text NOT NULL,
        schema_version  integer NOT NULL,
        data            jsonb NOT NULL,
        metadata        jsonb NOT NULL,
        recorded_at     timestamptz NOT NULL,
        hash            bytea NOT NULL,
        CONSTRAINT es_events_stream_version UNIQUE (stream_id, stream_version)
      );
      CREATE INDEX es_events_delivery_order ON es_events (transaction_id, global_position);

      CREATE TABLE es_subscriptions (
        name        text PRIMARY KEY,
        checkpoint  text,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );

      -- p_expected: 'any' | 'no_stream' | 'stream_exists' | a version number.
      -- p_events: [{eventId, type, schemaVersion, data, metadata, recordedAt, digest(hex)}].
      -- Raises SQLSTATE ES409 with DETAIL = the actual version when the expectation fails.
      CREATE FUNCTION es_append(p_stream_id text, p_expected text, p_events jsonb)
      RETURNS TABLE (stream_version bigint, global_position bigint, transaction_id text, hash text)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_version bigint;
        v_hash bytea;
        v_hashes bytea[] := '{}';
        v_count integer := jsonb_array_length(p_events);
        v_found boolean;
      BEGIN
        SELECT s.version, s.last_hash INTO v_version, v_hash
          FROM es_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        v_found := FOUND;
        IF NOT v_found THEN
          IF p_expected NOT IN ('any', 'no_stream', '0') THEN
            RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'ES409', DETAIL = '0';
          END IF;
          INSERT INTO es_streams (stream_id, version, last_hash) VALUES (p_stream_id, 0, '\\x')
            ON CONFLICT DO NOTHING;
          IF FOUND THEN
            v_version := 0;
            v_hash := '\\x';
          ELSE
            -- Created meanwhile by a concurrent writer, now committed.
            SELECT s.version, s.last_hash INTO v_version, v_hash
              FROM es_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
            IF p_expected <> 'any' THEN
              RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'ES409', DETAIL = v_version::text;
            END IF;
          END IF;
        ELSIF p_expected = 'no_stream' OR (p_expected ~ '^[0-9]+$' AND p_expected::bigint <> v_version) THEN
          RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'ES409', DETAIL = v_version::text;
        END IF;

        FOR i IN 1..v_count LOOP
          v_hash := sha256(v_hash || int8send(v_version + i) || decode(p_events -> (i - 1) ->> 'digest', 'hex'));
          v_hashes := array_append(v_hashes, v_hash);
        END LOOP;

        UPDATE es_streams SET version = v_version + v_count, last_hash = v_hash
          WHERE es_streams.stream_id = p_stream_id;

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

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP FUNCTION es_append(text, text, jsonb);
      DROP TABLE es_subscriptions;
      DROP TABLE es_events;
      DROP TABLE es_streams;
    `);
  }
}
