export {
  BLINDED_FIELDS,
  HEADERS,
  INTEGRATION_SCHEMA,
  IntegrationEventV1,
  TOPICS,
  containsBlinded,
  deadLetterTopic,
  stripBlinded,
  toIntegrationEvent,
  topicForStream,
} from './integration-event';
export type { CapturedEvent, IntegrationTopic } from './integration-event';
export { DLQ_HEADERS } from './message-publisher.port';
export type { InboundMessage, MessagePublisher, OutboundMessage } from './message-publisher.port';
export { OutboxRelay, backoffDelay, disableMessaging, enableMessaging, isMessagingEnabled } from './outbox-relay';
export type { OutboxRelayOptions, RelayCounters } from './outbox-relay';
export { IdempotentConsumer, NonRetryableError } from './idempotent-consumer';
export type { ConsumeOutcome, HandleContext, IdempotentConsumerOptions, IntegrationEventHandler } from './idempotent-consumer';
export { isTransientInfrastructureError } from './transient-error';
export { KafkaPublisher, createKafka, ensureTopics, parseBrokers } from './kafka/kafka-publisher';
export type { KafkaClientOptions } from './kafka/kafka-publisher';
export { KafkaConsumerRunner } from './kafka/kafka-consumer-runner';
export type { KafkaConsumerRunnerOptions, MessageHandler } from './kafka/kafka-consumer-runner';
export { MESSAGING_OPTIONS, MessagingModule, MessagingOptions, MessagingRelay } from './nest/messaging.module';
export type { MessagingModuleOptions } from './nest/messaging.module';
export { MessagingOutbox1764000000600 } from './migrations/1764000000600-messaging-outbox';
export { errorText } from './error-text';
export {
  DLQ_REPLAY_GROUP,
  REPLAYED_FROM_HEADER,
  replayDeadLetterTopic,
  replayDeadLetters,
  replayDecision,
  replayMessage,
} from './dead-letter-replay';
export type { DeadLetterReplayOptions, KafkaDeadLetterReplayOptions, ReplayDecision, ReplayReport } from './dead-letter-replay';
