import { Module, type OnModuleInit } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  IntegrationEventHandlers,
  IntegrationEventTransports,
  TOPICS,
  type IntegrationEventTransport,
  type IntegrationEventV1,
} from '@app/messaging';
import { AdjudicationModule } from '../adjudication.module';
import { CaseOpener } from './case-opener';

/** Consumer group and inbox name of the case opener on Kafka. */
export const CASE_FEED_CONSUMER = 'adjudication.case-opener';

/**
 * The distributed deployment's feed of the case opener: adverse events arrive as integration
 * events on `trials.adverse-events.v1` (published by whichever service's outbox relay is active)
 * instead of from a subscription to the shared log. The integration-event transport delivers each
 * message here inside its inbox transaction, with bounded retries and the dead-letter topic; the
 * case commands are idempotent by source version besides. Only when KAFKA_BROKERS is set: the
 * single-process platform keeps its in-process subscription.
 */
@IntegrationEventHandlers()
export class KafkaCaseFeed implements OnModuleInit {
  constructor(
    private readonly opener: CaseOpener,
    private readonly transports: IntegrationEventTransports,
  ) {}

  /** Before any bootstrap hook: with Kafka feeding it, the opener must not also start its log subscription. */
  onModuleInit(): void {
    if (this.transports.enabled) this.opener.fedExternally = true;
  }

  // The case appends go through the event store (its own transactions); `@Ctx()` offers the inbox's
  // transaction to handlers that write read models instead.
  @EventPattern(TOPICS.adverseEvents)
  async adverseEventChanged(@Payload() event: IntegrationEventV1): Promise<void> {
    await this.opener.react({
      eventId: event.messageId,
      streamId: event.streamId,
      streamVersion: event.streamVersion,
      type: event.type,
      data: event.data,
      recordedAt: event.recordedAt,
      ...(event.correlationId ? { correlationId: event.correlationId } : {}),
    });
  }
}

/** The adjudication service's Kafka consumer: the handler above, beside the adjudication context. */
@Module({ imports: [AdjudicationModule], controllers: [KafkaCaseFeed] })
export class KafkaCaseFeedModule {}

/** The transport that feeds KafkaCaseFeed, for `app.connectMicroservice({ strategy })`. */
export function caseFeedTransport(transports: IntegrationEventTransports): IntegrationEventTransport {
  return transports.create({ name: CASE_FEED_CONSUMER, topics: [TOPICS.adverseEvents] });
}
