import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import {
  DLQ_HEADERS,
  IntegrationEventContext,
  IntegrationEventHandlers,
  IntegrationEventTransport,
  KafkaPublisher,
  NonRetryableError,
  TOPICS,
  deadLetterTopic,
  integrationMessage,
  integrationTopics,
  type IntegrationEventV1,
} from '../src';
import { KafkaDouble, openFixture, type MessagingFixture } from './messaging-harness';

/** What the handler does with the next deliveries, in turn (then 'ok'). */
type Step = 'ok' | 'fail' | 'database-restarting' | 'non-retryable';

@IntegrationEventHandlers()
class AdverseEventHandlers {
  static script: Step[] = [];
  static calls: string[] = [];

  @EventPattern(TOPICS.adverseEvents)
  async changed(@Payload() event: IntegrationEventV1, @Ctx() context: IntegrationEventContext): Promise<void> {
    AdverseEventHandlers.calls.push(event.messageId);
    // Written in the inbox's transaction: it commits only with the row that marks the message processed.
    await context.getManager().query('INSERT INTO seen (message_id, topic) VALUES ($1, $2)', [event.messageId, context.getTopic()]);
    const step = AdverseEventHandlers.script.shift() ?? 'ok';
    if (step === 'fail') throw new Error('the handler failed');
    if (step === 'non-retryable') throw new NonRetryableError('never acceptable');
    // What node-postgres reports while the server restarts (SQLSTATE 57P01, admin shutdown).
    if (step === 'database-restarting')
      throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  }
}

const message = (eventId: string, version = 1) =>
  integrationMessage({
    topic: TOPICS.adverseEvents,
    messageId: eventId,
    streamId: 'adverse-event/T1/E1',
    streamVersion: version,
    type: 'AdverseEventReported',
    schemaVersion: 1,
    globalPosition: version,
    recordedAt: '2025-03-01T12:00:00.000Z',
    data: { trialId: 'T1', eventId: 'E1', kind: 'amputation' },
    metadata: { actor: { userId: 'u1' }, correlationId: 'corr-1' },
  });

/**
 * The Nest microservice convention (architecture.md, "Delivery between contexts"): a context's
 * `@EventPattern` handler fed by the integration-event transport from Kafka (the broker double),
 * with the inbox, bounded retries and the dead-letter topic of the IdempotentConsumer.
 */
describe('integration-event transport (Nest custom transport strategy)', () => {
  let fixture: MessagingFixture;
  let broker: KafkaDouble;
  let app: INestApplication;
  let transport: IntegrationEventTransport;

  const seen = async (): Promise<string[]> =>
    (await fixture.dataSource.query<Array<{ message_id: string }>>('SELECT message_id FROM seen ORDER BY message_id')).map(
      (r) => r.message_id,
    );
  const publish = (...messages: ReturnType<typeof message>[]) => new KafkaPublisher(broker.client()).publish(messages);

  beforeEach(async () => {
    fixture = await openFixture(process.env.DATABASE_URL);
    await fixture.dataSource.query('CREATE TABLE seen (message_id uuid, topic text)');
    broker = new KafkaDouble({ topics: integrationTopics() });
    AdverseEventHandlers.script = [];
    AdverseEventHandlers.calls = [];
    const moduleRef = await Test.createTestingModule({ controllers: [AdverseEventHandlers] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    transport = new IntegrationEventTransport({
      name: 'test.case-opener',
      topics: [TOPICS.adverseEvents],
      kafka: broker.client(),
      dataSource: fixture.dataSource,
      maxAttempts: 3,
      transientBackoffMs: 1,
      transientMaxBackoffMs: 2,
    });
    app.connectMicroservice({ strategy: transport });
    await app.init();
    await app.startAllMicroservices();
  });

  afterEach(async () => {
    await app.close();
    await fixture.close();
  });

  it('delivers a message on trials.adverse-events.v1 to its @EventPattern handler, once in effect however often it arrives', async () => {
    const id = randomUUID();
    // The same message twice (a relay that republished after a lost acknowledgement), then another.
    await publish(message(id), message(id));
    const other = randomUUID();
    await publish(message(other, 2));
    await broker.drain();

    expect(broker.pending()).toBe(false);
    expect(AdverseEventHandlers.calls).toEqual([id, other]);
    expect(await seen()).toEqual([id, other].sort());
    expect(await transport.consumer.hasProcessed(id)).toBe(true);
    expect(broker.topic(deadLetterTopic(TOPICS.adverseEvents))).toEqual([]);
  });

  it('dead-letters a message whose handler keeps failing after the bounded retries, its writes rolled back, and goes on', async () => {
    AdverseEventHandlers.script = ['fail', 'fail', 'fail'];
    const poison = randomUUID();
    const next = randomUUID();
    await publish(message(poison), message(next, 2));
    await broker.drain();

    expect(AdverseEventHandlers.calls).toEqual([poison, poison, poison, next]);
    const dead = broker.topic(deadLetterTopic(TOPICS.adverseEvents));
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'retries-exhausted',
      [DLQ_HEADERS.attempts]: '3',
      [DLQ_HEADERS.consumer]: 'test.case-opener',
      [DLQ_HEADERS.originalTopic]: TOPICS.adverseEvents,
    });
    expect(String(dead[0]!.headers[DLQ_HEADERS.error])).toMatch(/the handler failed/);
    expect(await seen()).toEqual([next]);
    expect(await transport.consumer.hasProcessed(poison)).toBe(false);
  });

  it("passes the handler's own error to the consumer: a NonRetryableError is dead-lettered at once", async () => {
    AdverseEventHandlers.script = ['non-retryable'];
    const poison = randomUUID();
    await publish(message(poison));
    await broker.drain();

    expect(AdverseEventHandlers.calls).toEqual([poison]);
    expect(broker.topic(deadLetterTopic(TOPICS.adverseEvents))[0]!.headers).toMatchObject({ [DLQ_HEADERS.reason]: 'non-retryable' });
  });

  it('does not count a transient database error as an attempt: more of them than maxAttempts, then the message is applied', async () => {
    AdverseEventHandlers.script = Array<Step>(5).fill('database-restarting');
    const id = randomUUID();
    await publish(message(id));
    await broker.drain();

    expect(AdverseEventHandlers.calls).toEqual(Array<string>(6).fill(id));
    expect(broker.topic(deadLetterTopic(TOPICS.adverseEvents))).toEqual([]);
    expect(await seen()).toEqual([id]);
  });

  it('refuses to start a topic that no @EventPattern handles (its messages would all be dead-lettered)', async () => {
    const orphan = new IntegrationEventTransport({
      name: 'test.orphan',
      topics: [TOPICS.procedures],
      kafka: broker.client(),
      dataSource: fixture.dataSource,
    });
    const moduleRef = await Test.createTestingModule({ controllers: [AdverseEventHandlers] }).compile();
    const other = moduleRef.createNestApplication({ logger: false });
    other.connectMicroservice({ strategy: orphan });
    await other.init();
    await expect(other.startAllMicroservices()).rejects.toThrow(/no @EventPattern handler for trials.procedures.v1/);
    await other.close();
  });

  it('reports a crash kafkajs does not restart as `crashed`; a restarted one is not', async () => {
    broker.crash(new Error('group coordinator lost'), true);
    expect(transport.crashed).toBeUndefined();
    broker.crash(new Error('offsets out of range'), false);
    expect(transport.crashed?.message).toBe('offsets out of range');
  });
});
