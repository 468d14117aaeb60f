import { Injectable, Module, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModuleRef } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { EVENT_STORE, SubscribedService, type EventStore } from '@app/event-store';
import { instrumentCommandBus, instrumentEventStore } from './instrument';
import { MetricsController } from './metrics.controller';
import { OUTBOX_BACKLOG, type OutboxBacklog } from './outbox-backlog';
import { TrialsMetrics } from './trials-metrics';

/**
 * Looks a provider up anywhere in the application: the module works in apps without a command
 * bus, an event store or an outbox (the gateway) and simply measures less there.
 */
function optional<T>(moduleRef: ModuleRef, token: symbol | Type<T>): T | undefined {
  try {
    return moduleRef.get<T>(token, { strict: false });
  } catch {
    return undefined;
  }
}

/** Wraps the command bus and the event store once every provider exists, before any request or subscription runs. */
@Injectable()
class Instrumentation implements OnModuleInit {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly metrics: TrialsMetrics,
  ) {}

  onModuleInit(): void {
    const bus = optional(this.moduleRef, CommandBus);
    if (bus) instrumentCommandBus(bus, this.metrics);
    const store = optional<EventStore>(this.moduleRef, EVENT_STORE);
    if (store) instrumentEventStore(store, this.metrics);
  }
}

/** `GET /metrics` for Prometheus: commands, appends, subscription lag, outbox backlog and process metrics. */
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
              .filter((instance): instance is SubscribedService => instance instanceof SubscribedService)).map((service) => service.subscription),
          outboxBacklog: async () => {
            const outbox = optional<OutboxBacklog>(moduleRef, OUTBOX_BACKLOG);
            return outbox ? outbox.backlog() : undefined;
          },
        });
      },
    },
    Instrumentation,
  ],
  exports: [TrialsMetrics],
})
export class MetricsModule {}
