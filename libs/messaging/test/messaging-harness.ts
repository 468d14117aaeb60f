import { randomBytes } from 'node:crypto';
import {
  eventStoreMigrations,
  FixedClock,
  openDataSource,
  PostgresEventStore,
  SequentialIds,
  type AppendResult,
  type EventStore,
  type NewEvent,
  type ReadAllOptions,
  type ReadAllResult,
  type ReadStreamResult,
  type RecordedEvent,
} from '@app/event-store';
import type { ConsumerConfig, ConsumerCrashEvent, EachMessageHandler, Kafka, Message, ProducerBatch, ProducerConfig } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { MessagingOutbox1764000000600, type InboundMessage, type MessagePublisher, type OutboundMessage } from '../src';

export interface MessagingFixture {
  dataSource: DataSource;
  store: PostgresEventStore;
  /** True on a server: several sessions, a real advisory lock. */
  server: boolean;
  close(): Promise<void>;
}

/** A fresh PGlite instance, or a fresh schema of the server at `databaseUrl`, migrated with the outbox. */
export async function openFixture(databaseUrl?: string): Promise<MessagingFixture> {
  const schema = databaseUrl ? `msg_test_${randomBytes(4).toString('hex')}` : undefined;
  const dataSource = await openDataSource({
    databaseUrl,
    schema,
    dataDir: databaseUrl ? undefined : 'memory://',
    migrations: [...eventStoreMigrations, MessagingOutbox1764000000600],
  });
  const store = new PostgresEventStore(
    dataSource,
    new FixedClock(new Date('2025-03-01T12:00:00.000Z')),
    new SequentialIds(randomBytes(4).toString('hex')),
  );
  return {
    dataSource,
    store,
    server: databaseUrl !== undefined,
    close: async () => {
      if (schema) await dataSource.query(`DROP SCHEMA ${schema} CASCADE`);
      await dataSource.destroy();
    },
  };
}

export const actor = { userId: 'u1', name: 'Dr. Jane Roe', roles: ['site-investigator'] };

export const event = (type: string, data: Record<string, unknown>, metadata: NewEvent['metadata'] = { actor }): NewEvent => ({
  type,
  data,
  metadata,
});

/**
 * A broker double: a log per topic and partition, as Kafka keeps it. `script` says what each
 * publish call does, in turn (then 'ok' forever): 'fail' delivers nothing and throws, 'partial'
 * delivers the first half then throws, 'deliver-then-throw' delivers everything then throws (the
 * relay cannot tell it from "published, then the delete failed").
 */
export class ScriptedBroker implements MessagePublisher {
  readonly log: Array<InboundMessage & { headers: Record<string, string | Buffer> }> = [];
  calls = 0;
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly script: Array<'ok' | 'fail' | 'partial' | 'deliver-then-throw'> = [],
    private readonly partitions = 3,
  ) {}

  async publish(messages: OutboundMessage[]): Promise<void> {
    const step = this.script[this.calls] ?? 'ok';
    this.calls += 1;
    if (step === 'fail') throw new Error(`broker unavailable (call ${this.calls})`);
    const delivered = step === 'partial' ? messages.slice(0, Math.ceil(messages.length / 2)) : messages;
    for (const message of delivered) this.append(message);
    if (step !== 'ok') throw new Error(`acknowledgement lost (call ${this.calls})`);
  }

  /** Messages of a topic in log order, across partitions by offset within each partition. */
  topic(topic: string): Array<InboundMessage & { headers: Record<string, string | Buffer> }> {
    return this.log.filter((m) => m.topic === topic);
  }

  private append(message: OutboundMessage): void {
    const partition = message.key === null ? 0 : [...message.key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % this.partitions;
    const slot = `${message.topic}/${partition}`;
    const offset = this.offsets.get(slot) ?? 0;
    this.offsets.set(slot, offset + 1);
    this.log.push({
      topic: message.topic,
      partition,
      offset: String(offset),
      key: message.key,
      value: message.value,
      headers: { ...message.headers },
    });
  }
}

export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A broker that stays down, and the waits of a relay meeting it: a 200 ms backoff, polled every 5 ms. */
export const brokerDown = (): ScriptedBroker => new ScriptedBroker(Array.from({ length: 1_000 }, () => 'fail' as const));
export const DOWN_BROKER_WAITS = { pollIntervalMs: 5, initialBackoffMs: 200, maxBackoffMs: 200 } as const;

/** A busy log: `append` every 5 ms for `ms`, each append waking whoever listens. */
export async function keepAppending(append: (i: number) => Promise<unknown>, ms = 1_000): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until; i += 1) {
    await append(i);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What a send of the Kafka double does, in turn: deliver, deliver but lose the acknowledgement, or find the broker down. */
export type SendStep = 'ok' | 'lost-ack' | 'down';

interface SequenceState {
  next: number;
  lastFirst: number;
  lastCount: number;
}

/** A kafkajs error as the broker's answer, with the protocol's type and whether kafkajs retries it. */
function protocolError(type: string, message: string, retriable: boolean): Error {
  return Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type, retriable });
}

/**
 * The broker double one level down, for the kafkajs adapter: a kafkajs `Kafka` (producer, consumer,
 * admin) over a log kept as Kafka keeps it, with what a real broker does that the port-level
 * ScriptedBroker cannot show:
 * - topics exist only once created (admin.createTopics, with their partitions). A client that
 *   allows auto-creation (kafkajs' default, for consumers too) gets a 1-partition topic, as a
 *   broker with `auto.create.topics.enable` gives it; one that does not gets UNKNOWN_TOPIC_OR_PARTITION.
 * - idempotent producers: each connect gets a new producer id; the broker keeps, per producer and
 *   partition, the next sequence and the last batch. A batch at the next sequence is appended, the
 *   last batch sent again is acknowledged without appending, anything else is
 *   OUT_OF_ORDER_SEQUENCE_NUMBER. A producer advances its sequences only on an acknowledgement, so
 *   after a lost one ('lost-ack') its next, different batch is out of order, and stays so.
 */
export class KafkaDouble {
  readonly topics = new Map<string, number>();
  readonly log: Array<InboundMessage & { headers: Record<string, string | Buffer> }> = [];
  readonly consumerConfigs: Array<Record<string, unknown>> = [];
  sends = 0;
  producerIds = 0;
  private readonly offsets = new Map<string, number>();
  private readonly sequences = new Map<string, SequenceState>();

  constructor(private readonly options: { script?: SendStep[]; topics?: string[]; partitions?: number; autoCreateTopics?: boolean } = {}) {
    for (const topic of options.topics ?? []) this.topics.set(topic, options.partitions ?? 3);
  }

  /** The double as kafkajs' client type; only what the adapters call is there. */
  client(): Kafka {
    const double = {
      producer: (config: ProducerConfig = {}) => this.producer(config),
      consumer: (config: ConsumerConfig) => this.consumer(config),
      admin: () => this.admin(),
    };
    return double as unknown as Kafka;
  }

  topic(topic: string): Array<InboundMessage & { headers: Record<string, string | Buffer> }> {
    return this.log.filter((m) => m.topic === topic);
  }

  private requireTopic(topic: string, allowAutoCreation: boolean | undefined): number {
    const partitions = this.topics.get(topic);
    if (partitions !== undefined) return partitions;
    if (allowAutoCreation !== false && this.options.autoCreateTopics !== false) {
      this.topics.set(topic, 1);
      return 1;
    }
    throw protocolError('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host this topic-partition (${topic})`, true);
  }

  private partitionOf(key: string | null, partitions: number): number {
    return key === null ? 0 : [...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % partitions;
  }

  private producer(config: ProducerConfig) {
    let producerId: number | undefined;
    const own = new Map<string, number>();
    return {
      connect: async () => {
        this.producerIds += 1;
        producerId = this.producerIds;
      },
      disconnect: async () => {
        producerId = undefined;
      },
      sendBatch: async ({ topicMessages = [] }: ProducerBatch) => {
        if (producerId === undefined) throw new Error('producer not connected');
        const step = this.options.script?.[this.sends] ?? 'ok';
        this.sends += 1;
        if (step === 'down') throw Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
        const batches = new Map<string, Array<{ topic: string; partition: number; message: Message }>>();
        for (const { topic, messages } of topicMessages) {
          const partitions = this.requireTopic(topic, config.allowAutoTopicCreation);
          for (const message of messages) {
            const key = message.key === null || message.key === undefined ? null : message.key.toString();
            const partition = this.partitionOf(key, partitions);
            const slot = `${topic}/${partition}`;
            let batch = batches.get(slot);
            if (!batch) batches.set(slot, (batch = []));
            batch.push({ topic, partition, message });
          }
        }
        // The broker checks every partition's batch before the double appends any (all or nothing, for a readable test).
        const verdicts = [...batches].map(([slot, batch]) => {
          const state = this.sequences.get(`${producerId}/${slot}`) ?? { next: 0, lastFirst: -1, lastCount: 0 };
          const first = own.get(slot) ?? 0;
          if (first === state.next) return { slot, batch, first, duplicate: false };
          if (first === state.lastFirst && batch.length === state.lastCount) return { slot, batch, first, duplicate: true };
          throw protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', 'The broker received an out of order sequence number', false);
        });
        for (const { slot, batch, first, duplicate } of verdicts) {
          if (duplicate) continue;
          for (const { topic, partition, message } of batch) this.append(topic, partition, message);
          this.sequences.set(`${producerId}/${slot}`, { next: first + batch.length, lastFirst: first, lastCount: batch.length });
        }
        if (step === 'lost-ack') throw Object.assign(new Error('Request Produce timed out'), { name: 'KafkaJSRequestTimeoutError' });
        for (const { slot, batch, first } of verdicts) own.set(slot, first + batch.length);
        return [];
      },
    };
  }

  /**
   * Crashes every consumer of the double as kafkajs does on an error it gives up on: CRASH with
   * `restart: false` (a non-retriable error, e.g. the group's offsets gone) stops consuming for good.
   */
  crash(error: Error, restart = false): void {
    for (const [groupId, listeners] of this.crashListeners) {
      // A consumer that kafkajs does not restart fetches nothing more.
      if (!restart) {
        const group = this.groups.get(groupId);
        if (group) group.stopped = true;
      }
      for (const listener of listeners)
        listener({ id: '0', type: 'consumer.crash', timestamp: Date.now(), payload: { error, groupId, restart } });
    }
  }

  private readonly crashListeners = new Map<string, Array<(event: ConsumerCrashEvent) => void>>();

  private readonly groups = new Map<string, { topics: string[]; eachMessage: EachMessageHandler | undefined; stopped: boolean }>();
  /** Committed offsets: `<group>/<topic>/<partition>` → the next offset to deliver. */
  private readonly committed = new Map<string, number>();

  /**
   * One fetch round for every running consumer: each partition's messages from the group's
   * committed offset, in order, each committed once eachMessage resolves. A rejection stops that
   * partition for the round with its offset uncommitted, so the next round delivers the message
   * again, as kafkajs does. Returns how many messages were committed.
   */
  async deliver(): Promise<number> {
    let committed = 0;
    for (const [groupId, group] of this.groups) {
      if (!group.eachMessage || group.stopped) continue;
      for (const topic of group.topics) {
        for (let partition = 0; partition < (this.topics.get(topic) ?? 0); partition += 1) {
          const slot = `${groupId}/${topic}/${partition}`;
          const pending = this.log.filter(
            (m) => m.topic === topic && m.partition === partition && Number(m.offset) >= (this.committed.get(slot) ?? 0),
          );
          for (const m of pending) {
            try {
              await group.eachMessage({
                topic,
                partition,
                message: {
                  key: m.key === null ? null : Buffer.from(m.key),
                  value: m.value === null ? null : Buffer.from(m.value),
                  headers: m.headers,
                  offset: m.offset,
                  timestamp: '0',
                  attributes: 0,
                },
                heartbeat: async () => undefined,
                pause: () => () => undefined,
              });
            } catch {
              break;
            }
            this.committed.set(slot, Number(m.offset) + 1);
            committed += 1;
          }
        }
      }
    }
    return committed;
  }

  /** Fetch rounds until every running consumer has committed everything, or `rounds` are spent. */
  async drain(rounds = 20): Promise<void> {
    for (let round = 0; round < rounds; round += 1) {
      await this.deliver();
      if (!this.pending()) return;
    }
  }

  /** True while a running consumer has uncommitted messages. */
  pending(): boolean {
    for (const [groupId, group] of this.groups) {
      if (!group.eachMessage || group.stopped) continue;
      for (const m of this.log) {
        if (group.topics.includes(m.topic) && Number(m.offset) >= (this.committed.get(`${groupId}/${m.topic}/${m.partition}`) ?? 0))
          return true;
      }
    }
    return false;
  }

  /** Appends a message as a producer would, with the double's partitioning by key. */
  produce(topic: string, key: string | null, value: string, headers: Record<string, string> = {}): void {
    const partitions = this.requireTopic(topic, false);
    this.append(topic, this.partitionOf(key, partitions), { key, value, headers });
  }

  private consumer(config: ConsumerConfig) {
    this.consumerConfigs.push({ ...config });
    const listeners: Array<(event: ConsumerCrashEvent) => void> = [];
    this.crashListeners.set(config.groupId, listeners);
    const group = { topics: [] as string[], eachMessage: undefined as EachMessageHandler | undefined, stopped: false };
    this.groups.set(config.groupId, group);
    return {
      connect: async () => undefined,
      disconnect: async () => {
        group.stopped = true;
      },
      subscribe: async ({ topics }: { topics: Array<string | RegExp> }) => {
        for (const topic of topics) {
          if (typeof topic !== 'string') continue;
          this.requireTopic(topic, config.allowAutoTopicCreation);
          group.topics.push(topic);
        }
      },
      run: async ({ eachMessage }: { eachMessage?: EachMessageHandler } = {}) => {
        group.eachMessage = eachMessage;
      },
      on: (event: string, listener: (event: ConsumerCrashEvent) => void) => {
        if (event === 'consumer.crash') listeners.push(listener);
        return () => listeners.splice(listeners.indexOf(listener), 1);
      },
      events: { CRASH: 'consumer.crash' },
    };
  }

  private admin() {
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      listTopics: async () => [...this.topics.keys()],
      createTopics: async ({ topics }: { topics: Array<{ topic: string; numPartitions?: number }> }) => {
        let created = false;
        for (const { topic, numPartitions } of topics) {
          if (this.topics.has(topic)) continue;
          this.topics.set(topic, numPartitions === undefined || numPartitions < 1 ? 1 : numPartitions);
          created = true;
        }
        return created;
      },
    };
  }

  private append(topic: string, partition: number, message: Message): void {
    const slot = `${topic}/${partition}`;
    const offset = this.offsets.get(slot) ?? 0;
    this.offsets.set(slot, offset + 1);
    const headers: Record<string, string | Buffer> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (typeof value === 'string' || Buffer.isBuffer(value)) headers[name] = value;
    }
    this.log.push({
      topic,
      partition,
      offset: String(offset),
      key: message.key === undefined || message.key === null ? null : message.key.toString(),
      value: message.value === null ? null : message.value,
      headers,
    });
  }
}

/**
 * A store double through the EventStore port, shaped like the KurrentDB adapter: no es_events rows
 * (the outbox sees nothing), checkpoints "commit/prepare" with the events of one append sharing
 * the commit position, and `failReads` to make the next reads fail like a lost server.
 */
export class InMemoryLogStore implements EventStore {
  readonly events: RecordedEvent[] = [];
  failReads = 0;
  private commit = 1000;
  private readonly listeners = new Set<() => void>();
  private ids = 0;

  async appendToStream(streamId: string, events: NewEvent[]): Promise<AppendResult> {
    const version = this.events.filter((e) => e.streamId === streamId).length;
    const commit = (this.commit += 500);
    const recorded = events.map((e, i): RecordedEvent => {
      this.ids += 1;
      return {
        eventId: e.eventId ?? `00000000-0000-4000-8000-${String(this.ids).padStart(12, '0')}`,
        type: e.type,
        schemaVersion: e.schemaVersion ?? 1,
        data: e.data,
        metadata: e.metadata ?? {},
        streamId,
        streamVersion: version + i + 1,
        globalPosition: commit,
        checkpoint: `${commit}/${commit + 100 * i}`,
        recordedAt: '2025-03-01T12:00:00.000Z',
        hash: 'ab'.repeat(32),
      };
    });
    this.events.push(...recorded);
    for (const listener of this.listeners) listener();
    return { streamVersion: version + events.length, globalPosition: commit, events: recorded };
  }

  async readStream(streamId: string): Promise<ReadStreamResult> {
    const events = this.events.filter((e) => e.streamId === streamId);
    return { streamVersion: events.length, events };
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    if (this.failReads > 0) {
      this.failReads -= 1;
      throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    }
    const key = (checkpoint: string) => checkpoint.split('/').map(BigInt) as [bigint, bigint];
    const after = options.after === undefined ? undefined : key(options.after);
    const events = this.events
      .filter((e) => {
        if (!after) return true;
        const [c, p] = key(e.checkpoint);
        return c > after[0] || (c === after[0] && p > after[1]);
      })
      .slice(0, options.maxCount ?? 1000);
    return { events, checkpoint: events.length > 0 ? events[events.length - 1]!.checkpoint : options.after };
  }

  onAppended(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
