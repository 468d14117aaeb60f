import { randomBytes } from 'node:crypto';
import { eventStoreMigrations, FixedClock, openDataSource, PostgresEventStore, SequentialIds, type NewEvent } from '@app/event-store';
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
