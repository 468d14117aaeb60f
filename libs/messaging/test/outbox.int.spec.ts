import { WrongExpectedVersionError } from '@app/event-store';
import type { DataSource } from 'typeorm';
import {
  disableMessaging,
  DLQ_HEADERS,
  enableMessaging,
  ensureTopics,
  integrationTopics,
  KafkaPublisher,
  IdempotentConsumer,
  IntegrationEventV1,
  isMessagingEnabled,
  NonRetryableError,
  OutboxRelay,
  REPLAYED_FROM_HEADER,
  replayDeadLetters,
  topicForStream,
  TOPICS,
  type InboundMessage,
} from '../src';
import {
  actor,
  brokerDown,
  DOWN_BROKER_WAITS,
  event,
  KafkaDouble,
  keepAppending,
  openFixture,
  ScriptedBroker,
  waitFor,
  type MessagingFixture,
} from './messaging-harness';

const url = process.env.DATABASE_URL;
const backends: Array<[string, string | undefined]> = [['PGlite', undefined], ...(url ? [['PostgreSQL', url] as [string, string]] : [])];

if (!url) {
  it('messaging on a PostgreSQL server', () => {
    console.log('skipped: DATABASE_URL is not set (CI sets it)');
  });
}

async function outboxCount(fixture: MessagingFixture): Promise<number> {
  const rows: Array<{ n: string }> = await fixture.dataSource.query('SELECT count(*)::text AS n FROM msg_outbox');
  return Number(rows[0]!.n);
}

const envelopeOf = (message: InboundMessage): IntegrationEventV1 => IntegrationEventV1.parse(JSON.parse(String(message.value)));

describe.each(backends)('messaging outbox on %s', (_name, databaseUrl) => {
  let fixture: MessagingFixture;
  const relays: OutboxRelay[] = [];
  const quiet = (): void => undefined;

  // One database per backend (PGlite takes seconds to boot and migrate), emptied between tests.
  beforeAll(async () => {
    fixture = await openFixture(databaseUrl);
  });
  afterAll(async () => {
    await fixture.close();
  });
  beforeEach(async () => {
    await fixture.dataSource.query(`
      TRUNCATE es_events, es_streams, msg_outbox, msg_inbox;
      DROP TABLE IF EXISTS test_effects;
    `);
    await disableMessaging(fixture.dataSource);
  });
  afterEach(async () => {
    for (const relay of relays.splice(0)) await relay.stop();
  });

  const relay = (broker: ScriptedBroker, options: { batchSize?: number; standbyRetryMs?: number } = {}): OutboxRelay => {
    const r = new OutboxRelay({
      dataSource: fixture.dataSource,
      publisher: broker,
      batchSize: options.batchSize ?? 50,
      pollIntervalMs: 5,
      standbyRetryMs: options.standbyRetryMs ?? 20,
      initialBackoffMs: 2,
      maxBackoffMs: 20,
      onError: quiet,
      wakeOn: (listener) => fixture.store.onAppended(listener),
    });
    relays.push(r);
    return r;
  };

  describe('capture', () => {
    it('captures nothing while messaging is disabled', async () => {
      expect(await isMessagingEnabled(fixture.dataSource)).toBe(false);
      await fixture.store.appendToStream('trial/T1', [event('TrialRegistered', { trialId: 'T1' })]);
      expect(await outboxCount(fixture)).toBe(0);
    });

    it('writes one row per published event in the appending transaction, none for unblinding streams', async () => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('patient/T1/P1', [
        event('PatientEnrolled', { patientId: 'P1' }),
        event('VisitRecorded', { patientId: 'P1' }),
      ]);
      await fixture.store.appendToStream('unblinding/T1', [event('UnblindedReportViewed', { trialId: 'T1' })]);
      const rows: Array<{ topic: string; message_key: string; stream_version: string; message_id: string }> =
        await fixture.dataSource.query(
          'SELECT topic, message_key, stream_version::text AS stream_version, message_id::text AS message_id FROM msg_outbox ORDER BY id',
        );
      const events: Array<{ event_id: string }> = await fixture.dataSource.query(
        "SELECT event_id::text AS event_id FROM es_events WHERE stream_id = 'patient/T1/P1' ORDER BY stream_version",
      );
      expect(rows).toEqual([
        { topic: TOPICS.enrollment, message_key: 'patient/T1/P1', stream_version: '1', message_id: events[0]!.event_id },
        { topic: TOPICS.enrollment, message_key: 'patient/T1/P1', stream_version: '2', message_id: events[1]!.event_id },
      ]);
    });

    it('leaves no row when the append is rolled back: a wrong expected version, or a failing transaction', async () => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('case/T1/C1', [event('CaseOpened', { caseId: 'C1' })]);
      await expect(
        fixture.store.appendToStream('case/T1/C1', [event('CaseCancelled', { caseId: 'C1' })], { expectedVersion: 0 }),
      ).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await expect(
        fixture.dataSource.transaction(async (manager) => {
          await fixture.store.appendToStream('case/T1/C2', [event('CaseOpened', { caseId: 'C2' })], { manager });
          expect(Number((await manager.query('SELECT count(*) AS n FROM msg_outbox'))[0].n)).toBe(2);
          throw new Error('handler failed after appending');
        }),
      ).rejects.toThrow('handler failed');
      expect(await outboxCount(fixture)).toBe(1);
    });

    it('routes streams in SQL exactly as topicForStream does', async () => {
      const streams = [
        'trial/T1',
        'patient/T1/P1',
        'procedures/T1/P1',
        'adverse-event/T1/E1',
        'case/T1/C1',
        'unblinding/T1',
        'trials/T1',
        'patients/T1/P1',
        '',
      ];
      for (const streamId of streams) {
        const [row] = await fixture.dataSource.query<Array<{ topic: string | null }>>('SELECT msg_topic_for($1) AS topic', [streamId]);
        expect([streamId, row!.topic ?? undefined]).toEqual([streamId, topicForStream(streamId)]);
      }
    });
  });

  describe('relay', () => {
    it('through a failing and recovering publisher: every message delivered, per-key order kept, each effect applied once', async () => {
      await fixture.dataSource.query(
        'CREATE TABLE test_effects (seq bigserial PRIMARY KEY, message_id uuid NOT NULL, stream_id text NOT NULL, stream_version integer NOT NULL)',
      );
      const broker = new ScriptedBroker([
        'ok',
        'fail',
        'fail',
        'deliver-then-throw',
        'ok',
        'partial',
        'fail',
        'deliver-then-throw',
        'ok',
        'partial',
      ]);
      const r = relay(broker, { batchSize: 7 });
      await r.start();

      const streams = ['patient/T1/P1', 'patient/T1/P2', 'procedures/T1/P1', 'adverse-event/T1/E1', 'case/T1/C1', 'trial/T1'];
      const appendsPerStream = 12;
      // Concurrent writers on a server; serialised by PGlite's single session on the embedded database.
      await Promise.all(
        streams.map(async (streamId) => {
          for (let i = 0; i < appendsPerStream; i += 1) {
            const events = [event('Happened', { i }), ...(i % 3 === 0 ? [event('Happened', { i, second: true })] : [])];
            await fixture.store.appendToStream(streamId, events);
          }
        }),
      );
      const expected: Array<{ event_id: string; stream_id: string; stream_version: string }> = await fixture.dataSource.query(
        'SELECT event_id::text AS event_id, stream_id, stream_version::text AS stream_version FROM es_events ORDER BY global_position',
      );
      await waitFor(async () => (await r.backlog()) === 0 && broker.calls >= 10);

      // Every event reached the broker; some more than once (the script guarantees duplicates).
      const delivered = broker.log.map(envelopeOf);
      expect(new Set(delivered.map((e) => e.messageId))).toEqual(new Set(expected.map((e) => e.event_id)));
      expect(delivered.length).toBeGreaterThan(expected.length);
      expect(r.counters().failures).toBe(7);

      // Per key, in log order, each first occurrence is the stream's next version.
      for (const streamId of streams) {
        const versions = delivered.filter((e) => e.streamId === streamId).map((e) => e.streamVersion);
        const firsts = versions.filter((v, i) => versions.indexOf(v) === i);
        expect(firsts).toEqual(Array.from({ length: firsts.length }, (_, i) => i + 1));
        expect(firsts.length).toBe(expected.filter((e) => e.stream_id === streamId).length);
      }

      // A consumer applying effects through the inbox sees each message exactly once, in order per key.
      const consumer = new IdempotentConsumer({
        name: 'warehouse',
        dataSource: fixture.dataSource,
        deadLetters: broker,
        handler: async (envelope, manager) => {
          await manager.query('INSERT INTO test_effects (message_id, stream_id, stream_version) VALUES ($1, $2, $3)', [
            envelope.messageId,
            envelope.streamId,
            envelope.streamVersion,
          ]);
        },
      });
      const outcomes: string[] = [];
      for (const message of [...broker.log]) outcomes.push(await consumer.handle(message));
      expect(outcomes.filter((o) => o === 'processed')).toHaveLength(expected.length);
      expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(delivered.length - expected.length);
      const effects: Array<{ message_id: string; stream_id: string; stream_version: number }> = await fixture.dataSource.query(
        'SELECT message_id::text AS message_id, stream_id, stream_version FROM test_effects ORDER BY seq',
      );
      expect(effects.map((e) => e.message_id).sort()).toEqual(expected.map((e) => e.event_id).sort());
      for (const streamId of streams) {
        const versions = effects.filter((e) => e.stream_id === streamId).map((e) => e.stream_version);
        expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
      }
    });

    it('fails its first batch while the topics do not exist, creating none, and relays it once the deployment created them', async () => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('adverse-event/T1/E1', [event('AdverseEventReported', { eventId: 'E1' })]);
      const broker = new KafkaDouble();
      const r = new OutboxRelay({ dataSource: fixture.dataSource, publisher: new KafkaPublisher(broker.client()), onError: quiet });
      relays.push(r);
      expect(await r.tryAcquire()).toBe(true);
      await expect(r.relayBatch()).rejects.toThrow(/does not host this topic-partition/);
      expect(broker.topics.size).toBe(0);
      expect(await r.backlog()).toBe(1);

      await ensureTopics(broker.client(), integrationTopics(), { numPartitions: 6, replicationFactor: 1 });
      expect(await r.relayBatch()).toBe(1);
      expect(broker.topics.get(TOPICS.adverseEvents)).toBe(6);
      expect(broker.topic(TOPICS.adverseEvents).map((m) => envelopeOf(m).type)).toEqual(['AdverseEventReported']);
    });

    it('does not stall after lost acknowledgements (a broker restart): the producer is rebuilt, duplicates meet the inbox', async () => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('adverse-event/T1/E1', [event('AdverseEventReported', { eventId: 'E1' })]);
      await fixture.store.appendToStream('adverse-event/T1/E2', [event('AdverseEventReported', { eventId: 'E2' })]);
      const broker = new KafkaDouble({ topics: integrationTopics(), partitions: 1, script: ['lost-ack'] });
      const publisher = new KafkaPublisher(broker.client());
      const r = new OutboxRelay({ dataSource: fixture.dataSource, publisher, onError: quiet });
      relays.push(r);
      expect(await r.tryAcquire()).toBe(true);
      await expect(r.relayBatch()).rejects.toThrow(/timed out/);
      // Appended meanwhile: the retried batch is not the batch the broker holds, so the old producer's sequence is out of order.
      await fixture.store.appendToStream('adverse-event/T1/E3', [event('AdverseEventReported', { eventId: 'E3' })]);
      for (let attempt = 0; attempt < 5 && (await r.backlog()) > 0; attempt += 1) await r.relayBatch().catch(() => undefined);
      expect(await r.backlog()).toBe(0);
      expect(publisher.rebuilds).toBe(1);

      const delivered = broker.topic(TOPICS.adverseEvents);
      expect(delivered.map((m) => envelopeOf(m).streamId)).toEqual([
        'adverse-event/T1/E1',
        'adverse-event/T1/E2',
        'adverse-event/T1/E1',
        'adverse-event/T1/E2',
        'adverse-event/T1/E3',
      ]);
      const consumer = new IdempotentConsumer({
        name: 'case-opener',
        dataSource: fixture.dataSource,
        deadLetters: new ScriptedBroker(),
        handler: async () => undefined,
      });
      const outcomes: string[] = [];
      for (const message of delivered) outcomes.push(await consumer.handle(message));
      expect(outcomes).toEqual(['processed', 'processed', 'duplicate', 'duplicate', 'processed']);
    });

    it('backs off from a broker that is down while the store is busy: appends do not cut the backoff short', async () => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('adverse-event/T1/B1', [event('AdverseEventReported', { eventId: 'B1' })]);
      const broker = brokerDown();
      const wakeOn = (listener: () => void) => fixture.store.onAppended(listener);
      const r = new OutboxRelay({ dataSource: fixture.dataSource, publisher: broker, ...DOWN_BROKER_WAITS, onError: quiet, wakeOn });
      relays.push(r);
      await r.start();
      await waitFor(() => broker.calls >= 1);
      await keepAppending((i) =>
        fixture.store.appendToStream('adverse-event/T1/B1', [event('AdverseEventCorrected', { eventId: 'B1', i })]),
      );
      // One attempt per 200 ms backoff (about 6 in all), not one per append.
      expect(broker.calls).toBeLessThanOrEqual(10);
    });

    it('never publishes past a failing batch: nothing is published and nothing leaves the outbox until it succeeds', async () => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('patient/T1/P1', [event('A', {}), event('B', {}), event('C', {})]);
      const broker = new ScriptedBroker(['fail', 'fail']);
      const r = relay(broker, { batchSize: 2 });
      expect(await r.tryAcquire()).toBe(true);
      await expect(r.relayBatch()).rejects.toThrow('broker unavailable');
      await expect(r.relayBatch()).rejects.toThrow('broker unavailable');
      expect(broker.log).toHaveLength(0);
      expect(await r.backlog()).toBe(3);
      expect(await r.drain()).toBe(3);
      expect(broker.log.map((m) => envelopeOf(m).type)).toEqual(['A', 'B', 'C']);
      expect(await r.backlog()).toBe(0);
    });

    it('publishes a row that took a lower id but committed later (no position to skip past)', async () => {
      if (!fixture.server) {
        console.log('skipped on PGlite: one session, so no transaction can stay open beside another');
        return;
      }
      await enableMessaging(fixture.dataSource);
      const runner = fixture.dataSource.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      try {
        await fixture.store.appendToStream('patient/T1/P1', [event('PatientEnrolled', { patientId: 'P1' })], { manager: runner.manager });
        await fixture.store.appendToStream('patient/T1/P2', [event('PatientEnrolled', { patientId: 'P2' })]);
        const broker = new ScriptedBroker();
        const r = relay(broker);
        expect(await r.tryAcquire()).toBe(true);
        expect(await r.drain()).toBe(1);
        await runner.commitTransaction();
        expect(await r.drain()).toBe(1);
        expect(broker.log.map((m) => m.key)).toEqual(['patient/T1/P2', 'patient/T1/P1']);
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
    });

    it('runs one active relay: the other waits, publishes nothing, and takes over when the first stops', async () => {
      const first = new ScriptedBroker();
      const second = new ScriptedBroker();
      const a = relay(first);
      const b = relay(second);
      await a.start();
      await waitFor(() => a.active);
      await b.start();
      await fixture.store.appendToStream('trial/T1', [event('TrialRegistered', { trialId: 'T1' })]);
      await fixture.store.appendToStream('patient/T1/P1', [event('PatientEnrolled', { patientId: 'P1' })]);
      await waitFor(async () => (await a.backlog()) === 0);
      expect(b.active).toBe(false);
      expect(await b.tryAcquire()).toBe(false);
      expect(first.log).toHaveLength(2);
      expect(second.log).toHaveLength(0);

      await a.stop();
      await waitFor(() => b.active);
      await fixture.store.appendToStream('patient/T1/P1', [event('VisitRecorded', { patientId: 'P1' })]);
      await waitFor(async () => (await b.backlog()) === 0);
      expect(second.log.map((m) => envelopeOf(m).type)).toEqual(['VisitRecorded']);
      expect(first.log).toHaveLength(2);
    });

    it('publishes no blinded field: arm, device and corrections of the arm are stripped', async () => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('trial/T1', [event('TrialRegistered', { trialId: 'T1', arms: ['DCB', 'PTA'] })]);
      await fixture.store.appendToStream('patient/T1/P1', [
        event('PatientEnrolled', { trialId: 'T1', patientId: 'P1', siteId: 'S01', arm: 'DCB', baseline: { ageYears: 71 } }),
        event('PatientDataCorrected', {
          trialId: 'T1',
          patientId: 'P1',
          changes: [
            { field: 'arm', previous: 'DCB', value: 'PTA' },
            { field: 'baseline.ageYears', previous: 71, value: 72 },
          ],
          reason: 'randomisation entry error',
        }),
      ]);
      await fixture.store.appendToStream('procedures/T1/P1', [
        event('ProcedureRecorded', {
          procedureId: 'X1',
          limb: 'left',
          device: { kind: 'DCB', name: 'Brand' },
          lesions: [{ segment: 'btk' }],
        }),
      ]);
      const broker = new ScriptedBroker();
      const r = relay(broker);
      expect(await r.tryAcquire()).toBe(true);
      await r.drain();
      const raw = broker.log.map((m) => String(m.value)).join('\n');
      expect(raw).not.toMatch(/"arm"|"device"|Brand|"PTA"}/);
      expect(broker.log.map((m) => envelopeOf(m).data)).toEqual([
        { trialId: 'T1', arms: ['DCB', 'PTA'] },
        { trialId: 'T1', patientId: 'P1', siteId: 'S01', baseline: { ageYears: 71 } },
        {
          trialId: 'T1',
          patientId: 'P1',
          changes: [{ field: 'baseline.ageYears', previous: 71, value: 72 }],
          reason: 'randomisation entry error',
        },
        { procedureId: 'X1', limb: 'left', lesions: [{ segment: 'btk' }] },
      ]);
      expect(broker.log.map((m) => [m.topic, m.key, m.headers['message-id'], m.headers['schema'], m.headers['type']])).toEqual(
        broker.log.map((m) => {
          const e = envelopeOf(m);
          return [e.topic, e.streamId, e.messageId, 'trials.integration.v1', e.type];
        }),
      );
    });

    it('sends an event that cannot form an envelope to the dead-letter topic in its place, without its data', async () => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('adverse-event/T1/E1', [event('AdverseEventReported', { arm: 'DCB' }, {})]);
      await fixture.store.appendToStream('adverse-event/T1/E1', [event('AdverseEventCorrected', { eventId: 'E1' }, { actor })]);
      const broker = new ScriptedBroker();
      const r = relay(broker);
      expect(await r.tryAcquire()).toBe(true);
      expect(await r.drain()).toBe(2);
      expect(broker.log.map((m) => m.topic)).toEqual(['trials.adverse-events.v1.dlq', 'trials.adverse-events.v1']);
      const [dead] = broker.log;
      expect(dead!.headers[DLQ_HEADERS.reason]).toBe('invalid-envelope');
      expect(String(dead!.headers[DLQ_HEADERS.error])).toMatch(/actor/);
      expect(String(dead!.value)).not.toMatch(/arm/);
      expect(r.counters()).toEqual({ published: 2, failures: 0, deadLettered: 1 });
    });
  });

  describe('idempotent consumer', () => {
    const inbound = async (): Promise<InboundMessage> => {
      await enableMessaging(fixture.dataSource);
      await fixture.store.appendToStream('case/T1/C1', [event('CaseOpened', { caseId: 'C1' })]);
      const broker = new ScriptedBroker();
      const r = relay(broker);
      expect(await r.tryAcquire()).toBe(true);
      await r.drain();
      return { ...broker.log[0]!, partition: 2, offset: '41' };
    };

    it.each([
      ['not JSON', (m: InboundMessage) => ({ ...m, value: '{oops' }), /not JSON/],
      ['no value', (m: InboundMessage) => ({ ...m, value: null }), /no value/],
      [
        'another schema',
        (m: InboundMessage) => ({ ...m, value: String(m.value).replace('trials.integration.v1', 'trials.integration.v9') }),
        /schema/,
      ],
      ['a blinded field', (m: InboundMessage) => ({ ...m, value: String(m.value).replace('"caseId"', '"arm"') }), /blinded/],
      ['the wrong topic', (m: InboundMessage) => ({ ...m, topic: TOPICS.procedures }), /arrived on/],
    ])('dead-letters an envelope with %s at once, naming the error and where it was read', async (_case, corrupt, error) => {
      const message = corrupt(await inbound());
      const dlq = new ScriptedBroker();
      const handler = jest.fn(async () => undefined);
      const consumer = new IdempotentConsumer({ name: 'safety-db', dataSource: fixture.dataSource, handler, deadLetters: dlq });
      await expect(consumer.handle(message)).resolves.toBe('dead-lettered');
      expect(handler).not.toHaveBeenCalled();
      expect(dlq.log).toHaveLength(1);
      const [dead] = dlq.log;
      expect(dead!.topic).toBe(`${message.topic}.dlq`);
      expect(dead!.key).toBe('case/T1/C1');
      expect(dead!.value).toEqual(message.value ?? '');
      expect(dead!.headers).toMatchObject({
        [DLQ_HEADERS.reason]: 'invalid-envelope',
        [DLQ_HEADERS.consumer]: 'safety-db',
        [DLQ_HEADERS.originalTopic]: message.topic,
        [DLQ_HEADERS.originalPartition]: '2',
        [DLQ_HEADERS.originalOffset]: '41',
        'message-id': message.headers!['message-id'],
      });
      expect(String(dead!.headers[DLQ_HEADERS.error])).toMatch(error);
    });

    it('dead-letters at once on a non-retryable error, with nothing of the handler kept', async () => {
      const message = await inbound();
      await fixture.dataSource.query('CREATE TABLE test_effects (message_id uuid NOT NULL)');
      const dlq = new ScriptedBroker();
      const consumer = new IdempotentConsumer({
        name: 'edc',
        dataSource: fixture.dataSource,
        deadLetters: dlq,
        handler: async (envelope, manager) => {
          await manager.query('INSERT INTO test_effects (message_id) VALUES ($1)', [envelope.messageId]);
          throw new NonRetryableError('unknown site S99');
        },
      });
      await expect(consumer.handle(message)).resolves.toBe('dead-lettered');
      expect(dlq.log[0]!.headers).toMatchObject({ [DLQ_HEADERS.reason]: 'non-retryable', [DLQ_HEADERS.attempts]: '1' });
      expect(String(dlq.log[0]!.headers[DLQ_HEADERS.error])).toBe('NonRetryableError: unknown site S99');
      expect(await fixture.dataSource.query('SELECT * FROM test_effects')).toEqual([]);
      expect(await consumer.hasProcessed(envelopeOf(message).messageId)).toBe(false);
    });

    it('retries a failing message (rejecting, so the transport redelivers) and dead-letters it after maxAttempts', async () => {
      const message = await inbound();
      const dlq = new ScriptedBroker();
      let calls = 0;
      const consumer = new IdempotentConsumer({
        name: 'edc',
        dataSource: fixture.dataSource,
        deadLetters: dlq,
        maxAttempts: 3,
        handler: async () => {
          calls += 1;
          throw new Error('warehouse timeout');
        },
      });
      await expect(consumer.handle(message)).rejects.toThrow('warehouse timeout');
      await expect(consumer.handle(message)).rejects.toThrow('warehouse timeout');
      expect(dlq.log).toHaveLength(0);
      await expect(consumer.handle(message)).resolves.toBe('dead-lettered');
      expect(calls).toBe(3);
      expect(dlq.log[0]!.headers).toMatchObject({ [DLQ_HEADERS.reason]: 'retries-exhausted', [DLQ_HEADERS.attempts]: '3' });
    });

    /** The transport's side: a rejected message is delivered again, as Kafka does, until handle() resolves. */
    const deliverUntilAcknowledged = async (consumer: IdempotentConsumer, message: InboundMessage, limit = 50): Promise<string> => {
      for (let delivery = 1; ; delivery += 1) {
        try {
          return await consumer.handle(message);
        } catch (error) {
          if (delivery >= limit) throw error;
        }
      }
    };

    /** The database as seen during an outage: its first `failures` transactions fail as a lost server makes them fail. */
    const outage = (failures: number): DataSource => {
      const errors = [
        () => new Error('Connection terminated unexpectedly'),
        () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
        () =>
          Object.assign(new Error('terminating connection due to administrator command'), {
            driverError: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
          }),
      ];
      let calls = 0;
      const real = fixture.dataSource;
      return new Proxy(real, {
        get(target, property, receiver) {
          if (property !== 'transaction') return Reflect.get(target, property, receiver) as unknown;
          return (...args: unknown[]) => {
            calls += 1;
            if (calls <= failures) return Promise.reject(errors[calls % errors.length]!());
            return (target.transaction as (...a: unknown[]) => Promise<unknown>)(...args);
          };
        },
      });
    };

    it('does not count a database outage as attempts: the message waits it out and is processed, not dead-lettered', async () => {
      const message = await inbound();
      const dlq = new ScriptedBroker();
      const applied: string[] = [];
      const consumer = new IdempotentConsumer({
        name: 'case-opener',
        dataSource: outage(12),
        deadLetters: dlq,
        maxAttempts: 3,
        transientBackoffMs: 1,
        transientMaxBackoffMs: 4,
        handler: async (envelope) => {
          applied.push(envelope.messageId);
        },
      });
      await expect(deliverUntilAcknowledged(consumer, message)).resolves.toBe('processed');
      expect(dlq.log).toHaveLength(0);
      expect(applied).toEqual([envelopeOf(message).messageId]);
      expect(await consumer.hasProcessed(envelopeOf(message).messageId)).toBe(true);
    });

    it('hands a message back uncounted when an outage outlasts the wait, and processes it once the database is back', async () => {
      const message = await inbound();
      const dlq = new ScriptedBroker();
      const consumer = new IdempotentConsumer({
        name: 'case-opener',
        dataSource: outage(40),
        deadLetters: dlq,
        maxAttempts: 2,
        transientBackoffMs: 1,
        transientMaxBackoffMs: 2,
        transientWaitLimitMs: 5,
        handler: async () => undefined,
      });
      let rejected = 0;
      for (;;) {
        try {
          expect(await consumer.handle(message)).toBe('processed');
          break;
        } catch (error) {
          expect(String(error)).toMatch(/Connection terminated|ECONNREFUSED|administrator command/);
          rejected += 1;
        }
      }
      // Far more deliveries than maxAttempts failed, and none was counted.
      expect(rejected).toBeGreaterThan(2);
      expect(dlq.log).toHaveLength(0);
    });

    it('still dead-letters a real handler error after maxAttempts, transient errors in between not counted', async () => {
      const message = await inbound();
      const dlq = new ScriptedBroker();
      let calls = 0;
      const consumer = new IdempotentConsumer({
        name: 'edc',
        dataSource: fixture.dataSource,
        deadLetters: dlq,
        maxAttempts: 3,
        transientBackoffMs: 1,
        handler: async () => {
          calls += 1;
          // Every other call the database connection drops; the others fail on the message itself.
          if (calls % 2 === 1) throw new Error('Connection terminated unexpectedly');
          throw new Error('warehouse rejected the row');
        },
      });
      await expect(deliverUntilAcknowledged(consumer, message)).resolves.toBe('dead-lettered');
      expect(calls).toBe(6);
      expect(dlq.log).toHaveLength(1);
      expect(dlq.log[0]!.headers).toMatchObject({ [DLQ_HEADERS.reason]: 'retries-exhausted', [DLQ_HEADERS.attempts]: '3' });
      expect(String(dlq.log[0]!.headers[DLQ_HEADERS.error])).toBe('Error: warehouse rejected the row');
    });

    it('replays a dead-letter topic into the consumer: processed once the cause is gone, a duplicate when replayed again', async () => {
      const message = await inbound();
      const dlq = new ScriptedBroker();
      let broken = true;
      const applied: string[] = [];
      const consumer = new IdempotentConsumer({
        name: 'case-opener',
        dataSource: fixture.dataSource,
        deadLetters: dlq,
        maxAttempts: 1,
        handler: async (envelope) => {
          if (broken) throw new Error('charter not loaded');
          applied.push(envelope.messageId);
        },
      });
      expect(await consumer.handle(message)).toBe('dead-lettered');
      // Beside it in the dead-letter topic: a malformed envelope, and a letter of another consumer.
      expect(await consumer.handle({ ...message, offset: '42', value: '{oops' })).toBe('dead-lettered');
      await new IdempotentConsumer({
        name: 'edc',
        dataSource: fixture.dataSource,
        deadLetters: dlq,
        handler: async () => {
          throw new NonRetryableError('unknown site');
        },
      }).handle({ ...message, offset: '43' });
      expect(dlq.log.map((m) => m.topic)).toEqual(Array(3).fill(`${TOPICS.adjudication}.dlq`));

      broken = false;
      const topic = new ScriptedBroker();
      const decisions: string[] = [];
      const report = await replayDeadLetters(dlq.topic(`${TOPICS.adjudication}.dlq`), topic, {
        consumer: 'case-opener',
        onMessage: (_m, decision) => decisions.push(decision.replay ? `replay to ${decision.to}` : decision.why),
      });
      expect(report).toEqual({ read: 3, replayed: 1, skipped: 2 });
      expect(decisions).toEqual([`replay to ${TOPICS.adjudication}`, 'invalid-envelope', 'other-consumer']);
      const [replayed] = topic.log;
      expect(replayed).toMatchObject({ topic: TOPICS.adjudication, key: message.key, value: message.value });
      // The original headers travel again; the dead-letter ones do not, and the replay says where it came from.
      expect(replayed!.headers).toEqual({
        ...message.headers,
        [REPLAYED_FROM_HEADER]: `${TOPICS.adjudication}.dlq/${dlq.log[0]!.partition}/${dlq.log[0]!.offset}`,
      });

      // The transport delivers it to the consumer again.
      expect(await consumer.handle(replayed!)).toBe('processed');
      expect(applied).toEqual([envelopeOf(message).messageId]);
      await replayDeadLetters(dlq.topic(`${TOPICS.adjudication}.dlq`), topic, { consumer: 'case-opener' });
      expect(await consumer.handle(topic.log[1]!)).toBe('duplicate');
      expect(applied).toHaveLength(1);

      // A dry run publishes nothing.
      const untouched = new ScriptedBroker();
      expect(await replayDeadLetters(dlq.log, untouched, { dryRun: true })).toEqual({ read: 3, replayed: 2, skipped: 1 });
      expect(untouched.log).toHaveLength(0);
    });

    it('does not acknowledge a poison message while the dead-letter topic is unreachable', async () => {
      const message = await inbound();
      const consumer = new IdempotentConsumer({
        name: 'edc',
        dataSource: fixture.dataSource,
        deadLetters: new ScriptedBroker(['fail']),
        handler: async () => {
          throw new NonRetryableError('bad');
        },
      });
      await expect(consumer.handle(message)).rejects.toThrow('broker unavailable');
      await expect(consumer.handle(message)).resolves.toBe('dead-lettered');
    });

    it('applies a message once per consumer: a redelivery is a duplicate, another consumer applies it too', async () => {
      const message = await inbound();
      const seen: string[] = [];
      const make = (name: string) =>
        new IdempotentConsumer({
          name,
          dataSource: fixture.dataSource,
          deadLetters: new ScriptedBroker(),
          handler: async (envelope) => {
            seen.push(`${name}:${envelope.type}`);
          },
        });
      const edc = make('edc');
      expect(await edc.handle(message)).toBe('processed');
      expect(await edc.handle({ ...message, offset: '99' })).toBe('duplicate');
      expect(await make('warehouse').handle(message)).toBe('processed');
      expect(seen).toEqual(['edc:CaseOpened', 'warehouse:CaseOpened']);
    });
  });
});
