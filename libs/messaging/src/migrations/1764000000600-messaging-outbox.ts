import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox and the consumers' inbox. A statement-level trigger on es_events
 * copies every integration-relevant event into msg_outbox inside the appending transaction, so
 * every writer (es_append, imports, subscribers) fills it without the event store knowing of
 * Kafka, and a rolled-back append leaves nothing behind. The trigger is created disabled and a
 * relay enables it at start (ALTER TABLE … ENABLE TRIGGER): the catalog flag is the setting, and
 * a disabled trigger is skipped before any function call, so a deployment without Kafka pays
 * nothing measurable per append (a flag looked up inside the trigger function cost ~12 µs of a
 * ~60 µs append, server side) and never grows an outbox.
 */
export class MessagingOutbox1764000000600 implements MigrationInterface {
  name = 'MessagingOutbox1764000000600';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      -- Rows leave once published. Ids of one stream are taken in commit order (es_append holds
      -- the stream's row lock while inserting), so id order is per-key publication order.
      CREATE TABLE msg_outbox (
        id               bigserial PRIMARY KEY,
        topic            text NOT NULL,
        message_key      text NOT NULL,
        message_id       uuid NOT NULL,
        stream_version   bigint NOT NULL,
        event_type       text NOT NULL,
        schema_version   integer NOT NULL,
        global_position  bigint NOT NULL,
        recorded_at      timestamptz NOT NULL,
        data             jsonb NOT NULL,
        metadata         jsonb NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now()
      );

      -- A message a consumer has applied; its insert shares the handler's transaction.
      CREATE TABLE msg_inbox (
        consumer      text NOT NULL,
        message_id    uuid NOT NULL,
        processed_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
      );

      -- The topic of a stream, one per context; NULL = never published (e.g. unblinding/{t}).
      -- Mirrors topicForStream in integration-event.ts; the integration suite checks both agree.
      CREATE FUNCTION msg_topic_for(p_stream_id text) RETURNS text
      LANGUAGE sql IMMUTABLE AS $fn$
        SELECT CASE split_part(p_stream_id, '/', 1)
                 WHEN 'trial' THEN 'trials.enrollment.v1'
                 WHEN 'patient' THEN 'trials.enrollment.v1'
                 WHEN 'procedures' THEN 'trials.procedures.v1'
                 WHEN 'adverse-event' THEN 'trials.adverse-events.v1'
                 WHEN 'case' THEN 'trials.adjudication.v1'
               END
      $fn$;

      CREATE FUNCTION msg_capture_events() RETURNS trigger
      LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO msg_outbox (topic, message_key, message_id, stream_version, event_type, schema_version,
                                global_position, recorded_at, data, metadata)
        SELECT t.topic, n.stream_id, n.event_id, n.stream_version, n.event_type, n.schema_version,
               n.global_position, n.recorded_at, n.data, n.metadata
          FROM new_events n CROSS JOIN LATERAL (SELECT msg_topic_for(n.stream_id) AS topic) t
         WHERE t.topic IS NOT NULL
         ORDER BY n.global_position;
        RETURN NULL;
      END
      $fn$;

      CREATE TRIGGER msg_outbox_capture AFTER INSERT ON es_events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION msg_capture_events();
      ALTER TABLE es_events DISABLE TRIGGER msg_outbox_capture;
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TRIGGER msg_outbox_capture ON es_events;
      DROP FUNCTION msg_capture_events();
      DROP FUNCTION msg_topic_for(text);
      DROP TABLE msg_inbox;
      DROP TABLE msg_outbox;
    `);
  }
}
