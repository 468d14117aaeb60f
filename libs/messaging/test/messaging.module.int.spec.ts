import { DATA_SOURCE, EVENT_STORE, EVENT_STORE_ADAPTER, EventStoreModule, eventStoreMigrations, type EventStore } from '@app/event-store';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { DataSource } from 'typeorm';
import {
  IntegrationEventV1,
  integrationTopics,
  isMessagingEnabled,
  MessagingModule,
  MessagingOutbox1764000000600,
  MessagingRelay,
  TOPICS,
  type KafkaClientFactory,
  type MessagingOptions,
} from '../src';
import { event, InMemoryLogStore, KafkaDouble, waitFor } from './messaging-harness';

async function boot(
  options: MessagingOptions,
  with_: { kafka?: KafkaClientFactory; logStore?: EventStore } = {},
): Promise<INestApplicationContext> {
  let builder = Test.createTestingModule({
    imports: [
      EventStoreModule.forRootAsync({
        useFactory: () => ({ dataDir: 'memory://', migrations: [...eventStoreMigrations, MessagingOutbox1764000000600] }),
      }),
      MessagingModule.forRootAsync({ useFactory: () => options, ...(with_.kafka ? { kafka: with_.kafka } : {}) }),
    ],
  });
  // The log elsewhere than PostgreSQL (KurrentDB), as the event-store module provides it: adapter and port.
  if (with_.logStore)
    builder = builder.overrideProvider(EVENT_STORE_ADAPTER).useValue(with_.logStore).overrideProvider(EVENT_STORE).useValue(with_.logStore);
  const moduleRef = await builder.compile();
  moduleRef.useLogger(false);
  moduleRef.enableShutdownHooks();
  return moduleRef.init();
}

describe('MessagingModule', () => {
  it('without brokers does nothing: no relay, no capture, an empty backlog', async () => {
    const app = await boot({ clientId: 'platform' });
    try {
      const relay = app.get(MessagingRelay);
      await app.get<EventStore>(EVENT_STORE).appendToStream('patient/T1/P1', [event('PatientEnrolled', { patientId: 'P1' })]);
      expect(relay.enabled).toBe(false);
      expect(relay.active).toBe(false);
      expect(await relay.backlog()).toBe(0);
      expect(relay.counters()).toEqual({ published: 0, failures: 0, deadLettered: 0 });
    } finally {
      await app.close();
    }
  });

  it('refuses an invalid configuration at start-up, naming the field', async () => {
    await expect(boot({ clientId: 'platform', kafkaBrokers: ['kafka:9092,other:9092'] })).rejects.toThrow(
      'invalid messaging configuration: kafkaBrokers.0: a broker is host:port',
    );
  });

  it('with brokers captures from start-up on, and an unreachable broker only grows the backlog', async () => {
    // Port 9 (discard) on loopback: nothing listens, so every connect is refused.
    const app = await boot({ clientId: 'platform', kafkaBrokers: ['127.0.0.1:9'], maxBackoffMs: 50 });
    try {
      const relay = app.get(MessagingRelay);
      expect(relay.enabled).toBe(true);
      expect(relay.active).toBe(true);
      const store = app.get<EventStore>(EVENT_STORE);
      await store.appendToStream('patient/T1/P1', [event('PatientEnrolled', { patientId: 'P1' })]);
      await store.appendToStream('case/T1/C1', [event('CaseOpened', { caseId: 'C1' })]);
      await waitFor(() => relay.counters().failures >= 1, 90_000);
      expect(await relay.backlog()).toBe(2);
      expect(relay.counters().published).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('with KAFKA_CREATE_TOPICS creates the topics with their partitions at start-up, before the first publish', async () => {
    const broker = new KafkaDouble();
    const app = await boot(
      { clientId: 'platform', kafkaBrokers: ['kafka:9092'], createTopics: { numPartitions: 4, replicationFactor: 1 }, pollIntervalMs: 5 },
      { kafka: () => broker.client() },
    );
    try {
      expect(Object.fromEntries(broker.topics)).toEqual(Object.fromEntries(integrationTopics().map((topic) => [topic, 4])));
      await app.get<EventStore>(EVENT_STORE).appendToStream('adverse-event/T1/E1', [event('AdverseEventReported', { eventId: 'E1' })]);
      await waitFor(() => broker.topic(TOPICS.adverseEvents).length === 1);
      expect(app.get(MessagingRelay).counters()).toMatchObject({ published: 1, failures: 0 });
    } finally {
      await app.close();
    }
  });

  it('without it creates no topic, and the relay backs off with the events kept until the deployment creates them', async () => {
    const broker = new KafkaDouble();
    const app = await boot({ clientId: 'platform', kafkaBrokers: ['kafka:9092'], maxBackoffMs: 20 }, { kafka: () => broker.client() });
    try {
      const relay = app.get(MessagingRelay);
      await app.get<EventStore>(EVENT_STORE).appendToStream('adverse-event/T1/E1', [event('AdverseEventReported', { eventId: 'E1' })]);
      await waitFor(() => relay.counters().failures >= 2);
      expect(broker.topics.size).toBe(0);
      expect(await relay.backlog()).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('with the log on KurrentDB relays the log itself (the outbox would capture nothing): same topics, keys and envelopes', async () => {
    const broker = new KafkaDouble({ topics: integrationTopics() });
    const store = new InMemoryLogStore();
    const app = await boot(
      { clientId: 'platform', kafkaBrokers: ['kafka:9092'], pollIntervalMs: 5 },
      { kafka: () => broker.client(), logStore: store },
    );
    try {
      const relay = app.get(MessagingRelay);
      expect(relay.source).toBe('log');
      await store.appendToStream('adverse-event/T1/E1', [event('AdverseEventReported', { eventId: 'E1', kind: 'death' })]);
      await store.appendToStream('unblinding/T1', [event('UnblindedReportViewed', { trialId: 'T1' })]);
      await waitFor(async () => broker.topic(TOPICS.adverseEvents).length === 1 && (await relay.backlog()) === 0);
      const [message] = broker.topic(TOPICS.adverseEvents);
      expect(message!.key).toBe('adverse-event/T1/E1');
      expect(IntegrationEventV1.parse(JSON.parse(String(message!.value)))).toMatchObject({
        messageId: store.events[0]!.eventId,
        streamVersion: 1,
        data: { eventId: 'E1', kind: 'death' },
      });
      expect(broker.log).toHaveLength(1);
      expect(relay.active).toBe(true);
      expect(await isMessagingEnabled(app.get<DataSource>(DATA_SOURCE))).toBe(false);
    } finally {
      await app.close();
    }
  });
});
