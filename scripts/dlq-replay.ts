/**
 * Replays a dead-letter topic into its consumers: each message a consumer gave up on is published
 * again on its original topic, with its key, value and headers, and every consumer of that topic
 * reads it again (the ones that had applied it find it in their inbox and skip it).
 *
 *   npm run dlq:replay -- --topic trials.adverse-events.v1 [--consumer adjudication.case-opener] [--dry-run]
 *                         [--brokers host:port,...] [--group trials.dlq-replay] [--timeout-ms 60000]
 *
 * `--topic` names the integration topic or its `.dlq`. Brokers default to KAFKA_BROKERS. The replay
 * group's committed offsets record what was replayed, so a second run replays only later dead
 * letters; `--dry-run` lists what would be replayed and commits nothing. Skipped: envelopes that
 * failed the schema (replaying cannot cure them) and what the outbox relay set aside.
 * Fix the cause first (a deployed fix, the database back): a message that fails again returns to
 * the dead-letter topic after the consumer's retries.
 */
import { parseArgs } from 'node:util';
import { DLQ_REPLAY_GROUP, replayDeadLetterTopic, type ReplayDecision } from '../libs/messaging/src/dead-letter-replay';
import { DLQ_HEADERS, type InboundMessage } from '../libs/messaging/src/message-publisher.port';
import { KafkaPublisher, createKafka, parseBrokers } from '../libs/messaging/src/kafka/kafka-publisher';

const USAGE = `usage: npm run dlq:replay -- --topic <topic or topic.dlq> [--consumer <name>] [--dry-run]
                          [--brokers host:port,...] [--group ${DLQ_REPLAY_GROUP}] [--timeout-ms 60000]`;

class UsageError extends Error {}

function describe(message: InboundMessage, decision: ReplayDecision): string {
  const header = (name: string) => {
    const value = message.headers?.[name];
    return (Array.isArray(value) ? value[value.length - 1] : value)?.toString() ?? '-';
  };
  const where = `${message.topic}/${message.partition}/${message.offset}`;
  const what = `key ${message.key?.toString() ?? '-'} consumer ${header(DLQ_HEADERS.consumer)} reason ${header(DLQ_HEADERS.reason)}`;
  return decision.replay ? `replay ${where} -> ${decision.to}  ${what}` : `skip   ${where} (${decision.why})  ${what}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topic: { type: 'string' },
      consumer: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      brokers: { type: 'string' },
      group: { type: 'string', default: DLQ_REPLAY_GROUP },
      'timeout-ms': { type: 'string', default: '60000' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const topic = values.topic?.trim();
  if (!topic) throw new UsageError('--topic is required');
  const brokers = parseBrokers(values.brokers ?? process.env.KAFKA_BROKERS);
  if (brokers.length === 0) throw new UsageError('no brokers: pass --brokers or set KAFKA_BROKERS');
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new UsageError('--timeout-ms must be a positive integer');

  const kafka = createKafka({ brokers, clientId: 'trials-dlq-replay' });
  const publisher = new KafkaPublisher(kafka);
  try {
    const report = await replayDeadLetterTopic({
      kafka,
      topic,
      publisher,
      groupId: values.group,
      timeoutMs,
      dryRun: values['dry-run'],
      ...(values.consumer ? { consumer: values.consumer.trim() } : {}),
      onMessage: (message, decision) => console.log(describe(message, decision)),
    });
    const verb = values['dry-run'] ? 'would replay' : 'replayed';
    console.log(`${report.read} read, ${verb} ${report.replayed}, skipped ${report.skipped}`);
  } finally {
    await publisher.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`dlq-replay: ${error.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`dlq-replay: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
