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
export { OutboxRelay, backoffDelay, disableMessaging, enableMessaging, integrationMessage, isMessagingEnabled } from './outbox-relay';
export type { OutboxRelayOptions, RelayCounters } from './outbox-relay';
export { IdempotentConsumer, NonRetryableError } from './idempotent-consumer';
export type { ConsumeOutcome, HandleContext, IdempotentConsumerOptions, IntegrationEventHandler } from './idempotent-consumer';
export { isTransientInfrastructureError } from './transient-error';
export { KafkaPublisher, createKafka, ensureTopics, nestLogCreator, parseBrokers, parseTopicCreation } from './kafka/kafka-publisher';
export type { KafkaClientOptions, TopicCreation } from './kafka/kafka-publisher';
export { LOG_RELAY_SUBSCRIPTION, LogRelay, logMessages } from './log-relay';
export type { LogRelayOptions } from './log-relay';
export { KafkaConsumerRunner } from './kafka/kafka-consumer-runner';
export type { KafkaConsumerRunnerOptions, MessageHandler } from './kafka/kafka-consumer-runner';
export {
  KAFKA_CLIENT_FACTORY,
  MESSAGING_OPTIONS,
  MessagingModule,
  MessagingOptions,
  MessagingRelay,
  IntegrationEventTransports,
  integrationTopics,
} from './nest/messaging.module';
export type { KafkaClientFactory, MessagingModuleOptions, StoppedConsumer } from './nest/messaging.module';
export {
  INTEGRATION_EVENTS,
  IntegrationEventContext,
  IntegrationEventErrors,
  IntegrationEventHandlers,
  IntegrationEventTransport,
} from './nest/integration-event-transport';
export type { IntegrationEventTransportOptions } from './nest/integration-event-transport';
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
