import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * es_append_batch entries may carry guards: other streams the decision rests on (a patient's, for
 * an adverse event), each at the version decided on (0: no such stream). An entry whose guarded
 * stream is at another version is refused alone with ES412 (detail: the stream id, the version
 * decided on and the actual one) before anything of it is written; the others are kept.
 *
 * Each guard is read with the statement's own fresh snapshot inside the entry, so the check is as
 * late as the append itself: a decision stands only on facts that were still the stream's when
 * its events were inserted. (No lock is taken on the guarded stream: a write to it that commits
 * after this check but before this batch commits is as concurrent as it ever was; what the guard
 * rules out is a decision on facts already superseded.)
 */
export class AppendGuards1764000001700 implements MigrationInterface {
  name = 'AppendGuards1764000001700';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(batchFunction(true));
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(batchFunction(false));
  }
}

function batchFunction(guards: boolean): string {
  const guardCheck = guards
    ? `IF v_entry ? 'guards' THEN
              -- LATERAL: one index lookup per guard. A plain join's cached generic plan, made for a guess
              -- of the guards' number, scanned all of es_streams once the table had grown.
              SELECT g.stream_id, g.version, coalesce(s.version, 0)
                INTO v_guard_stream, v_guard_expected, v_guard_actual
                FROM jsonb_to_recordset(v_entry -> 'guards') AS g(stream_id text, version bigint)
                LEFT JOIN LATERAL (SELECT version FROM es_streams WHERE stream_id = g.stream_id LIMIT 1) s ON true
               WHERE coalesce(s.version, 0) <> g.version
               LIMIT 1;
              IF FOUND THEN
                RAISE EXCEPTION 'guarded stream % is at version %, not %', v_guard_stream, v_guard_actual, v_guard_expected
                  USING ERRCODE = 'ES412',
                        DETAIL = json_build_object('streamId', v_guard_stream, 'expected', v_guard_expected, 'actual', v_guard_actual)::text;
              END IF;
            END IF;`
    : '';
  return `
      CREATE OR REPLACE FUNCTION es_append_batch(p_entries jsonb)
      RETURNS TABLE (entry integer, stream_version bigint, global_position bigint, transaction_id text, hash text,
                     error_code text, error_detail text)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_entry jsonb;
        v_code text;
        v_detail text;
        v_guard_stream text;
        v_guard_expected bigint;
        v_guard_actual bigint;
      BEGIN
        FOR i IN 0..jsonb_array_length(p_entries) - 1 LOOP
          v_entry := p_entries -> i;
          BEGIN
            ${guardCheck}
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
          EXCEPTION WHEN SQLSTATE 'ES409' OR SQLSTATE 'ES412' OR SQLSTATE 'ES422' THEN
            GET STACKED DIAGNOSTICS v_code = RETURNED_SQLSTATE, v_detail = PG_EXCEPTION_DETAIL;
            RETURN QUERY SELECT i, NULL::bigint, NULL::bigint, NULL::text, NULL::text, v_code, v_detail;
          END;
        END LOOP;
      END
      $fn$;
    `;
}
