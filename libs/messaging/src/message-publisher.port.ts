/** A message handed to a transport: `key` picks the partition, so one key keeps its order. */
export interface OutboundMessage {
  topic: string;
  key: string | null;
  value: Buffer | string;
  headers: Record<string, string | Buffer>;
}

/**
 * The transport port of the relay and of dead-lettering. `publish` resolves only once every
 * message is durably accepted (all in-sync replicas on Kafka) and rejects otherwise; after a
 * rejection any subset may have been accepted, so callers publish the whole batch again and
 * consumers deduplicate.
 */
export interface MessagePublisher {
  publish(messages: OutboundMessage[]): Promise<void>;
}

/** A message as received from a transport, with where it came from. */
export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined>;
}

/** Dead-letter header names: why a message was set aside and where it was read. */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  error: 'dlq-error',
  consumer: 'dlq-consumer',
  originalTopic: 'dlq-original-topic',
  originalPartition: 'dlq-original-partition',
  originalOffset: 'dlq-original-offset',
  attempts: 'dlq-attempts',
} as const;
