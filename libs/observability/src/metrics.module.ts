import { Global, Injectable, Logger, Module, type OnApplicationBootstrap, type Type } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModuleRef } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { EVENT_STORE_DECORATOR, SubscribedService, type EventStore, type EventStoreDecorator } from '@app/event-store';
import { MeasuredCommandBus } from './measured-command-bus';
import { MeasuredEventStore } from './measured-event-store';
import { MetricsController } from './metrics.controller';
import { OUTBOX_BACKLOG, type OutboxBacklog } from './outbox-backlog';
import { TrialsMetrics } from './trials-metrics';

/** Looks a provider up anywhere in the application: an app without an outbox (most) reports none. */
function optional<T>(moduleRef: ModuleRef, token: symbol | Type<T>): T | undefined {
  try {
    return moduleRef.get<T>(token, { strict: false });
  } catch {
    return undefined;
  }
}

/**
 * A module that imports CqrsModule itself gets a CommandBus of its own, not measuredCqrsModule's, and
 * its commands would silently go uncounted: say so once at start-up.
 */
@Injectable()
class UnmeasuredCommandBusWarning implements OnApplicationBootstrap {
  private readonly logger = new Logger('MetricsModule');

  constructor(private readonly discovery: DiscoveryService) {}

  onApplicationBootstrap(): void {
    const unmeasured = this.discovery
      .getProviders()
      .some((wrapper) => wrapper.instance instanceof CommandBus && !(wrapper.instance instanceof MeasuredCommandBus));
    if (unmeasured) {
      this.logger.warn(
        'a module imports CqrsModule itself: commands dispatched through its CommandBus are not counted (import CQRS only through measuredCqrsModule())',
      );
    }
  }
}

/**
 * `GET /metrics` for Prometheus: commands, appends, subscription lag, outbox backlog and process metrics.
 * Global, so that what it measures finds it without importing it: EventStoreModule applies
 * EVENT_STORE_DECORATOR, measuredCqrsModule's bus takes TrialsMetrics; both optionally, so an app
 * without a command bus or an event store (the gateway) simply measures less.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [MetricsController],
  providers: [
    {
      provide: TrialsMetrics,
      inject: [DiscoveryService, ModuleRef],
      useFactory: (discovery: DiscoveryService, moduleRef: ModuleRef) => {
        let subscribed: SubscribedService[] | undefined;
        return new TrialsMetrics({
          // Found on first scrape, when every provider is instantiated; request-scoped ones have no instance.
          subscriptions: () =>
            (subscribed ??= discovery
              .getProviders()
              .map((wrapper) => wrapper.instance as unknown)
              .filter((instance): instance is SubscribedService => instance instanceof SubscribedService)).map(
              (service) => service.subscription,
            ),
          outboxBacklog: async () => {
            const outbox = optional<OutboxBacklog>(moduleRef, OUTBOX_BACKLOG);
            return outbox ? outbox.backlog() : undefined;
          },
        });
      },
    },
    {
      provide: EVENT_STORE_DECORATOR,
      inject: [TrialsMetrics],
      useFactory:
        (metrics: TrialsMetrics): EventStoreDecorator =>
        (store: EventStore) =>
          new MeasuredEventStore(store, metrics),
    },
    UnmeasuredCommandBusWarning,
  ],
  exports: [TrialsMetrics, EVENT_STORE_DECORATOR],
})
export class MetricsModule {}
