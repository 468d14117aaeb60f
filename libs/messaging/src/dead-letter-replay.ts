import type { Kafka } from 'kafkajs';
import { deadLetterTopic, TOPICS } from './integration-event';
import { DLQ_HEADERS, type InboundMessage, type MessagePublisher, type OutboundMessage } from './message-publisher.port';

/** Header naming where a replayed message was read: `<dlq topic>/<partition>/<offset>`. */
export const REPLAYED_FROM_HEADER = 'dlq-replayed-from';

/** The consumer group of the replay command: its committed offsets say what was replayed already. */
export const DLQ_REPLAY_GROUP = 'trials.dlq-replay';

export interface DeadLetterReplayOptions {
  /** Only what this consumer dead-lettered (its `dlq-consumer` header); default: every consumer's. */
  consumer?: string;
  /** Count and list, publish nothing. */
  dryRun?: boolean;
  /** Called once per message read, with what became of it. */
  onMessage?: (message: InboundMessage, decision: ReplayDecision) => void;
}

export type ReplayDecision =
  | { replay: true; to: string }
  | { replay: false; why: 'invalid-envelope' | 'other-consumer' | 'not-an-integration-topic' | 'set-aside-by-the-relay' };

export interface ReplayReport {
  read: number;
  replayed: number;
  skipped: number;
}

const INTEGRATION_TOPICS: ReadonlySet<string> = new Set(Object.values(TOPICS));

function header(message: InboundMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  const single = Array.isArray(value) ? value[value.length - 1] : value;
  return single === undefined ? undefined : single.toString();
}

/**
 * What to do with one dead letter. Replayed: what a consumer gave up on (retries exhausted, or a
 * non-retryable error since fixed), on its original integration topic. Skipped: an envelope that
 * failed the schema (replaying cannot cure it, it would only come back), and what the outbox relay
 * set aside (it carries identifying fields only; the event itself is in the store).
 */
export function replayDecision(message: InboundMessage, options: Pick<DeadLetterReplayOptions, 'consumer'> = {}): ReplayDecision {
  const consumer = header(message, DLQ_HEADERS.consumer);
  if (consumer === 'outbox-relay') return { replay: false, why: 'set-aside-by-the-relay' };
  if (header(message, DLQ_HEADERS.reason) === 'invalid-envelope') return { replay: false, why: 'invalid-envelope' };
  if (options.consumer !== undefined && consumer !== options.consumer) return { replay: false, why: 'other-consumer' };
  const to = header(message, DLQ_HEADERS.originalTopic) ?? message.topic.replace(/\.dlq$/, '');
  if (!INTEGRATION_TOPICS.has(to)) return { replay: false, why: 'not-an-integration-topic' };
  return { replay: true, to };
}

/**
 * The dead letter as it was first published: same topic, key (so the same partition and per-key
 * place), value and headers; the `dlq-*` headers dropped and where it was replayed from added.
 * Every consumer of the topic sees it again; the ones that applied it find it in their inbox.
 */
export function replayMessage(message: InboundMessage, to: string): OutboundMessage {
  const headers: Record<string, string | Buffer> = {};
  const dlqHeaders = new Set<string>(Object.values(DLQ_HEADERS));
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined || dlqHeaders.has(name) || name === REPLAYED_FROM_HEADER) continue;
    const single = Array.isArray(value) ? value[value.length - 1] : value;
    if (single !== undefined) headers[name] = single;
  }
  headers[REPLAYED_FROM_HEADER] = `${message.topic}/${message.partition}/${message.offset}`;
  return { topic: to, key: message.key === null ? null : message.key.toString(), value: message.value ?? '', headers };
}

/**
 * Replays dead letters in the order given (one at a time, so a key's messages keep their order);
 * resolves each only after the publisher accepted it, so a transport that acknowledges on return
 * (the Kafka reader below) replays at least once and never skips one.
 */
export async function replayDeadLetters(
  messages: AsyncIterable<InboundMessage> | Iterable<InboundMessage>,
  publisher: MessagePublisher,
  options: DeadLetterReplayOptions = {},
): Promise<ReplayReport> {
  const report: ReplayReport = { read: 0, replayed: 0, skipped: 0 };
  for await (const message of messages) {
    await replayOne(message, publisher, options, report);
  }
  return report;
}

async function replayOne(
  message: InboundMessage,
  publisher: MessagePublisher,
  options: DeadLetterReplayOptions,
  report: ReplayReport,
): Promise<void> {
  report.read += 1;
  const decision = replayDecision(message, options);
  options.onMessage?.(message, decision);
  if (!decision.replay) {
    report.skipped += 1;
    return;
  }
  if (!options.dryRun) await publisher.publish([replayMessage(message, decision.to)]);
  report.replayed += 1;
}

export interface KafkaDeadLetterReplayOptions extends DeadLetterReplayOptions {
  kafka: Kafka;
  /** An integration topic or its dead-letter topic. */
  topic: string;
  publisher: MessagePublisher;
  groupId?: string;
  /** Gives up waiting for the group's assignment and messages after this long. Default 60 s. */
  timeoutMs?: number;
}

/**
 * Replays a dead-letter topic on Kafka up to its end as of the start (what arrives meanwhile waits
 * for the next run). Progress is the replay group's committed offsets, so a second run replays only
 * what was dead-lettered since; a dry run commits nothing.
 */
export async function replayDeadLetterTopic(options: KafkaDeadLetterReplayOptions): Promise<ReplayReport> {
  const dlq = options.topic.endsWith('.dlq') ? options.topic : deadLetterTopic(options.topic);
  const groupId = options.groupId ?? DLQ_REPLAY_GROUP;
  const ends = new Map<number, bigint>();
  const admin = options.kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [dlq] });
    const done = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    for (const { partition, high, low } of await admin.fetchTopicOffsets(dlq)) {
      const from = (done.get(partition) ?? -1n) >= 0n ? done.get(partition)! : BigInt(low);
      if (from < BigInt(high)) ends.set(partition, BigInt(high));
    }
  } finally {
    await admin.disconnect();
  }
  const report: ReplayReport = { read: 0, replayed: 0, skipped: 0 };
  if (ends.size === 0) return report;

  const consumer = options.kafka.consumer({ groupId, allowAutoTopicCreation: false });
  let finish: () => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  finished.catch(() => undefined);
  // A publish that keeps failing ends kafkajs' retries in a crash: report it rather than wait out the timeout.
  consumer.on(consumer.events.CRASH, (event) => fail(event.payload.error));
  const reached = (partition: number) => {
    ends.delete(partition);
    if (ends.size === 0) finish();
  };
  const timer = setTimeout(
    () => fail(new Error(`${dlq}: not at its end after ${options.timeoutMs ?? 60_000} ms (${report.read} read)`)),
    options.timeoutMs ?? 60_000,
  );
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [dlq], fromBeginning: true });
    await consumer.run({
      // A dry run resolves nothing, so the group's position stays where it was.
      autoCommit: !options.dryRun,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const end = ends.get(batch.partition);
        for (const message of batch.messages) {
          if (end === undefined || !payload.isRunning() || payload.isStale()) break;
          if (BigInt(message.offset) >= end) break;
          const inbound: InboundMessage = {
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            headers: message.headers,
          };
          await replayOne(inbound, options.publisher, options, report);
          if (!options.dryRun) payload.resolveOffset(message.offset);
          await payload.heartbeat();
          if (BigInt(message.offset) + 1n >= end) reached(batch.partition);
        }
      },
    });
    await finished;
  } finally {
    clearTimeout(timer);
    // Stops fetching and commits the resolved offsets.
    await consumer.disconnect();
  }
  return report;
}
