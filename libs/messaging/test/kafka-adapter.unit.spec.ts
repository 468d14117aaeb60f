import { Logger, type LoggerService } from '@nestjs/common';
import { logLevel } from 'kafkajs';
import {
  createKafka,
  ensureTopics,
  integrationTopics,
  KafkaConsumerRunner,
  KafkaPublisher,
  nestLogCreator,
  parseTopicCreation,
  TOPICS,
} from '../src';
import { KafkaDouble } from './messaging-harness';

const message = (key: string, n: number) => ({ topic: TOPICS.adverseEvents, key, value: JSON.stringify({ n }), headers: {} });

describe('Kafka adapter against the broker double', () => {
  describe('topics are created by the deployment, never by a client', () => {
    it('a consumer does not auto-create a missing topic: subscribing fails and the topic still does not exist', async () => {
      const broker = new KafkaDouble();
      const runner = new KafkaConsumerRunner({
        kafka: broker.client(),
        groupId: 'adjudication.case-opener',
        topics: [TOPICS.adverseEvents],
        handler: { handle: async () => undefined },
      });
      await expect(runner.start()).rejects.toThrow(/does not host this topic-partition/);
      expect(broker.topics.has(TOPICS.adverseEvents)).toBe(false);
      expect(broker.consumerConfigs).toEqual([expect.objectContaining({ allowAutoTopicCreation: false })]);
    });

    it('a publisher does not auto-create either; after ensureTopics both work, with the partitions asked for', async () => {
      const broker = new KafkaDouble();
      const publisher = new KafkaPublisher(broker.client());
      await expect(publisher.publish([message('adverse-event/T1/E1', 1)])).rejects.toThrow(/does not host/);
      expect(broker.topics.size).toBe(0);

      expect(await ensureTopics(broker.client(), integrationTopics(), { numPartitions: 6, replicationFactor: 1 })).toHaveLength(8);
      expect(Object.fromEntries(broker.topics)).toEqual(Object.fromEntries(integrationTopics().map((topic) => [topic, 6])));
      // A second deployment step finds them all and creates nothing.
      expect(await ensureTopics(broker.client(), integrationTopics(), { numPartitions: 3 })).toEqual([]);

      await publisher.publish([message('adverse-event/T1/E1', 1)]);
      expect(broker.topic(TOPICS.adverseEvents)).toHaveLength(1);
      const runner = new KafkaConsumerRunner({
        kafka: broker.client(),
        groupId: 'g',
        topics: [TOPICS.adverseEvents],
        handler: { handle: async () => undefined },
      });
      await expect(runner.start()).resolves.toBeUndefined();
    });
  });

  describe('consumer crash', () => {
    it('reports a crash kafkajs does not restart (consumption stopped for good), and passes every crash on', async () => {
      const broker = new KafkaDouble({ topics: [TOPICS.adverseEvents] });
      const crashes: Array<{ error: Error; restart: boolean }> = [];
      const runner = new KafkaConsumerRunner({
        kafka: broker.client(),
        groupId: 'adjudication.case-opener',
        topics: [TOPICS.adverseEvents],
        handler: { handle: async () => undefined },
        onCrash: (crash) => crashes.push(crash),
      });
      await runner.start();
      broker.crash(new Error('The coordinator is not aware of this member'), true);
      expect(runner.crashed).toBeUndefined();
      broker.crash(new Error('Offset out of range'));
      expect(runner.crashed?.message).toBe('Offset out of range');
      expect(crashes.map((c) => [c.error.message, c.restart])).toEqual([
        ['The coordinator is not aware of this member', true],
        ['Offset out of range', false],
      ]);
    });
  });

  describe('publisher after lost acknowledgements', () => {
    it('replaces its producer after a failed publish, so a sequence error cannot stall it', async () => {
      const broker = new KafkaDouble({ topics: [TOPICS.adverseEvents], script: ['lost-ack'] });
      const publisher = new KafkaPublisher(broker.client());
      await expect(publisher.publish([message('adverse-event/T1/E1', 1), message('adverse-event/T1/E1', 2)])).rejects.toThrow(/timed out/);
      expect(broker.log).toHaveLength(2);
      // The relay's next batch: the same rows and one appended meanwhile.
      const next = [message('adverse-event/T1/E1', 1), message('adverse-event/T1/E1', 2), message('adverse-event/T1/E1', 3)];
      await publisher.publish(next);
      await publisher.publish([message('adverse-event/T1/E1', 4)]);
      expect(publisher.rebuilds).toBe(1);
      expect(broker.producerIds).toBe(2);
      expect(broker.log.map((m) => (JSON.parse(String(m.value)) as { n: number }).n)).toEqual([1, 2, 1, 2, 3, 4]);
    });

    it('the double: the same producer gets OUT_OF_ORDER_SEQUENCE_NUMBER on every send after a lost acknowledgement', async () => {
      const broker = new KafkaDouble({ topics: [TOPICS.adverseEvents], script: ['lost-ack'] });
      const producer = broker.client().producer({ idempotent: true });
      await producer.connect();
      const send = (...ns: number[]) =>
        producer.sendBatch({ topicMessages: [{ topic: TOPICS.adverseEvents, messages: ns.map((n) => ({ key: 'k', value: String(n) })) }] });
      await expect(send(1, 2)).rejects.toThrow(/timed out/);
      for (let retry = 0; retry < 3; retry += 1)
        await expect(send(1, 2, 3)).rejects.toMatchObject({ type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
      // The very batch sent again is a duplicate the broker acknowledges without appending it.
      await expect(send(1, 2)).resolves.toEqual([]);
      expect(broker.log).toHaveLength(2);
    });
  });

  describe('configuration', () => {
    it.each([
      ['6', { numPartitions: 6, replicationFactor: -1 }],
      [' 12:3 ', { numPartitions: 12, replicationFactor: 3 }],
      ['', undefined],
      [undefined, undefined],
    ])('KAFKA_CREATE_TOPICS=%p', (value, expected) => {
      expect(parseTopicCreation(value)).toEqual(expected);
    });

    it.each(['0', 'six', '6:0', '6:', '-1', '6:3:1'])('refuses KAFKA_CREATE_TOPICS=%p, naming the variable', (value) => {
      expect(() => parseTopicCreation(value)).toThrow(/^KAFKA_CREATE_TOPICS must be <partitions>\[:<replication factor>\]/);
    });
  });

  describe('logging', () => {
    const lines: Array<[string, string, string | undefined]> = [];
    const sink: LoggerService = {
      log: (m: string, context?: string) => lines.push(['log', m, context]),
      error: (m: string, ...rest: unknown[]) => lines.push(['error', m, rest[rest.length - 1] as string]),
      warn: (m: string, context?: string) => lines.push(['warn', m, context]),
      debug: (m: string, context?: string) => lines.push(['debug', m, context]),
      verbose: (m: string, context?: string) => lines.push(['verbose', m, context]),
    };
    beforeEach(() => {
      lines.length = 0;
      Logger.overrideLogger(sink);
    });
    afterEach(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']));

    it("sends kafkajs' log through Nest's logger (pino in the apps) by default, with its fields", () => {
      const kafka = createKafka({ brokers: ['127.0.0.1:9'], clientId: 't' });
      kafka.logger().error('Connection error', { broker: 'kafka:9092', error: new Error('ECONNREFUSED') });
      expect(lines).toEqual([
        ['error', expect.stringMatching(/Connection error .*"broker":"kafka:9092".*"error":"ECONNREFUSED"/), 'kafkajs'],
      ]);
    });

    it('maps kafkajs levels to Nest levels', () => {
      const log = nestLogCreator('kafkajs')(logLevel.DEBUG);
      for (const level of [logLevel.ERROR, logLevel.WARN, logLevel.INFO, logLevel.DEBUG])
        log({ namespace: 'Producer', level, label: '', log: { timestamp: 'now', message: 'm' } });
      expect(lines.map(([method, text]) => [method, text])).toEqual([
        ['error', 'Producer: m'],
        ['warn', 'Producer: m'],
        ['log', 'Producer: m'],
        ['debug', 'Producer: m'],
      ]);
    });
  });
});
