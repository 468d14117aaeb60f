import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import {
  createKafka,
  deadLetterTopic,
  DLQ_HEADERS,
  enableMessaging,
  ensureTopics,
  IdempotentConsumer,
  integrationTopics,
  KafkaConsumerRunner,
  KafkaPublisher,
  OutboxRelay,
  REPLAYED_FROM_HEADER,
  replayDeadLetterTopic,
  TOPICS,
  type InboundMessage,
  type IntegrationEventV1,
} from '../src';
import { event, openFixture, waitFor, type MessagingFixture } from './messaging-harness';

const brokers = process.env.KAFKA_BROKERS;

if (!brokers) {
  it('Kafka contract', () => {
    console.log('skipped: no broker (KAFKA_BROKERS not set)');
  });
} else {
  /**
   * The real kafkajs adapter against the broker at KAFKA_BROKERS. Topics are the production
   * names (the envelope only admits those), so every run uses its own trial id and consumer
   * group and looks only at its own streams.
   */
  describe('Kafka adapter contract', () => {
    const run = randomBytes(4).toString('hex');
    const trial = `KC${run}`;
    let kafka: Kafka;
    let fixture: MessagingFixture;
    let publisher: KafkaPublisher;
    const runners: KafkaConsumerRunner[] = [];

    beforeAll(async () => {
      kafka = createKafka({ brokers: brokers.split(',').map((b) => b.trim()), clientId: `contract-${run}` });
      await ensureTopics(kafka, integrationTopics(), { numPartitions: 3, replicationFactor: 1 });
      fixture = await openFixture();
      publisher = new KafkaPublisher(kafka);
    });
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.stop();
    });
    afterAll(async () => {
      await publisher.close();
      await fixture.close();
    });

    const consume = async (name: string, topics: string[], handle: (message: InboundMessage) => Promise<unknown>): Promise<void> => {
      const runner = new KafkaConsumerRunner({ kafka, groupId: `contract-${run}-${name}`, topics, handler: { handle } });
      runners.push(runner);
      await runner.start();
    };

    it('relays the outbox to Kafka and consumes it in order per key, each effect once', async () => {
      await enableMessaging(fixture.dataSource);
      const streams = [`patient/${trial}/P1`, `patient/${trial}/P2`, `procedures/${trial}/P1`, `case/${trial}/C1`];
      for (let i = 0; i < 5; i += 1) {
        for (const streamId of streams)
          await fixture.store.appendToStream(streamId, [event('Happened', { i }), event('Happened', { i, again: true })]);
      }
      const relay = new OutboxRelay({ dataSource: fixture.dataSource, publisher, batchSize: 7 });
      expect(await relay.tryAcquire()).toBe(true);
      expect(await relay.drain()).toBe(40);
      await relay.stop();

      const applied: IntegrationEventV1[] = [];
      const consumer = new IdempotentConsumer({
        name: `contract-${run}`,
        dataSource: fixture.dataSource,
        deadLetters: publisher,
        handler: async (envelope) => {
          if (envelope.streamId.includes(`/${trial}`)) applied.push(envelope);
        },
      });
      await consume('order', [TOPICS.enrollment, TOPICS.procedures, TOPICS.adjudication], (message) => consumer.handle(message));
      await waitFor(() => applied.length >= 40, 60_000);
      expect(applied).toHaveLength(40);
      for (const streamId of streams) {
        expect(applied.filter((e) => e.streamId === streamId).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      }
    });

    it('dead-letters a poison message with its origin in the headers, and moves on', async () => {
      const key = `case/${trial}/POISON`;
      await publisher.publish([{ topic: TOPICS.adjudication, key, value: '{not json', headers: { 'message-id': 'none' } }]);
      await fixture.store.appendToStream(`case/${trial}/AFTER`, [event('CaseOpened', { caseId: 'AFTER' })]);
      const relay = new OutboxRelay({ dataSource: fixture.dataSource, publisher });
      expect(await relay.tryAcquire()).toBe(true);
      await relay.drain();
      await relay.stop();

      const processed: string[] = [];
      const consumer = new IdempotentConsumer({
        name: `contract-${run}-dlq`,
        dataSource: fixture.dataSource,
        deadLetters: publisher,
        handler: async (envelope) => {
          processed.push(envelope.streamId);
        },
      });
      await consume('poison', [TOPICS.adjudication], (message) => consumer.handle(message));
      const dead: InboundMessage[] = [];
      await consume('dlq-reader', [deadLetterTopic(TOPICS.adjudication)], async (message) => {
        if (message.key?.toString() === key) dead.push(message);
      });
      await waitFor(() => dead.length >= 1 && processed.includes(`case/${trial}/AFTER`), 60_000);
      const headers = Object.fromEntries(Object.entries(dead[0]!.headers ?? {}).map(([name, value]) => [name, String(value)]));
      expect(headers).toMatchObject({
        [DLQ_HEADERS.reason]: 'invalid-envelope',
        [DLQ_HEADERS.originalTopic]: TOPICS.adjudication,
        [DLQ_HEADERS.consumer]: `contract-${run}-dlq`,
      });
      expect(Number(headers[DLQ_HEADERS.originalOffset])).toBeGreaterThanOrEqual(0);
      expect(Number(headers[DLQ_HEADERS.originalPartition])).toBeGreaterThanOrEqual(0);
      expect(String(dead[0]!.value)).toBe('{not json');
    });

    it('applies a message delivered twice (a batch published again) once', async () => {
      const streamId = `adverse-event/${trial}/E1`;
      await fixture.store.appendToStream(streamId, [event('AdverseEventReported', { eventId: 'E1' })]);
      const captured: Array<Parameters<KafkaPublisher['publish']>[0]> = [];
      const relay = new OutboxRelay({
        dataSource: fixture.dataSource,
        // "Published, then the delete failed": the relay publishes the same batch again.
        publisher: {
          publish: async (messages) => {
            captured.push(messages);
            await publisher.publish(messages);
            if (captured.length === 1) throw new Error('acknowledgement lost');
          },
        },
      });
      expect(await relay.tryAcquire()).toBe(true);
      await expect(relay.relayBatch()).rejects.toThrow('acknowledgement lost');
      await relay.drain();
      await relay.stop();
      expect(captured).toHaveLength(2);

      const outcomes: string[] = [];
      let effects = 0;
      const consumer = new IdempotentConsumer({
        name: `contract-${run}-dedup`,
        dataSource: fixture.dataSource,
        deadLetters: publisher,
        handler: async (envelope) => {
          if (envelope.streamId === streamId) effects += 1;
        },
      });
      await consume('dedup', [TOPICS.adverseEvents], async (message) => {
        const outcome = await consumer.handle(message);
        if (message.key?.toString() === streamId) outcomes.push(outcome);
      });
      await waitFor(() => outcomes.length >= 2, 60_000);
      expect(outcomes).toEqual(['processed', 'duplicate']);
      expect(effects).toBe(1);
    });

    it('creates a topic only through ensureTopics, with its partitions; a consumer of a missing topic creates none', async () => {
      const missing = `contract-${run}-missing`;
      const runner = new KafkaConsumerRunner({
        kafka,
        groupId: `contract-${run}-missing`,
        topics: [missing],
        handler: { handle: async () => undefined },
      });
      await expect(runner.start()).rejects.toThrow();
      await runner.stop().catch(() => undefined);
      const admin = kafka.admin();
      await admin.connect();
      try {
        expect(await admin.listTopics()).not.toContain(missing);
        const made = `contract-${run}-made`;
        expect(await ensureTopics(kafka, [made], { numPartitions: 3, replicationFactor: 1 })).toEqual([made]);
        const { topics } = await admin.fetchTopicMetadata({ topics: [made] });
        expect(topics[0]!.partitions).toHaveLength(3);
        expect(await ensureTopics(kafka, [made], { numPartitions: 5 })).toEqual([]);
        await admin.deleteTopics({ topics: [made] });
      } finally {
        await admin.disconnect();
      }
    });

    it('replays a dead letter of one consumer onto its original topic, once per replay group', async () => {
      const name = `contract-${run}-replayed`;
      await fixture.store.appendToStream(`case/${trial}/REPLAY`, [event('CaseOpened', { caseId: 'REPLAY' })]);
      const relay = new OutboxRelay({ dataSource: fixture.dataSource, publisher });
      expect(await relay.tryAcquire()).toBe(true);
      await relay.drain();
      await relay.stop();
      let broken = true;
      const applied: string[] = [];
      const consumer = new IdempotentConsumer({
        name,
        dataSource: fixture.dataSource,
        deadLetters: publisher,
        maxAttempts: 1,
        handler: async (envelope) => {
          if (!envelope.streamId.endsWith(`/${trial}/REPLAY`)) return;
          if (broken) throw new Error('not yet');
          applied.push(envelope.messageId);
        },
      });
      const replayedSeen: InboundMessage[] = [];
      await consume('replay', [TOPICS.adjudication], async (message) => {
        if (message.headers?.[REPLAYED_FROM_HEADER] !== undefined && message.key?.toString() === `case/${trial}/REPLAY`)
          replayedSeen.push(message);
        return consumer.handle(message);
      });
      // Dead-lettered (maxAttempts 1); then the cause is fixed and the letter replayed for this consumer only.
      const deadSeen: InboundMessage[] = [];
      await consume('replay-dlq', [deadLetterTopic(TOPICS.adjudication)], async (message) => {
        if (message.key?.toString() === `case/${trial}/REPLAY`) deadSeen.push(message);
      });
      await waitFor(() => deadSeen.length >= 1, 60_000);
      broken = false;
      const report = await replayDeadLetterTopic({
        kafka,
        topic: TOPICS.adjudication,
        publisher,
        groupId: `contract-${run}-replay-group`,
        consumer: name,
      });
      expect(report.replayed).toBe(1);
      await waitFor(() => applied.length === 1 && replayedSeen.length === 1, 60_000);
      // The group's committed offsets: a second run replays nothing new.
      expect(
        (
          await replayDeadLetterTopic({
            kafka,
            topic: TOPICS.adjudication,
            publisher,
            groupId: `contract-${run}-replay-group`,
            consumer: name,
          })
        ).replayed,
      ).toBe(0);
    });
  });
}
