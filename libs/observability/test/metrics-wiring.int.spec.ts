import { Test } from '@nestjs/testing';
import {
  EVENT_STORE,
  EVENT_STORE_ADAPTER,
  EventStoreModule,
  KurrentDbEventStore,
  PostgresEventStore,
  type EventStore,
} from '@app/event-store';
import { MeasuredEventStore, MetricsModule, TrialsMetrics } from '../src';

/** EventStoreModule on PGlite (or a KurrentDB client that connects on first use), with or without MetricsModule. */
async function boot(options: { metrics: boolean; kurrentDbUrl?: string }) {
  const module = await Test.createTestingModule({
    imports: [
      EventStoreModule.forRootAsync({ useFactory: () => ({ dataDir: 'memory://', kurrentDbUrl: options.kurrentDbUrl }) }),
      ...(options.metrics ? [MetricsModule] : []),
    ],
  }).compile();
  await module.init();
  return { module, store: module.get<EventStore>(EVENT_STORE), adapter: module.get<EventStore>(EVENT_STORE_ADAPTER) };
}

describe('MetricsModule with the event store', () => {
  it('makes EVENT_STORE the measured adapter, which counts appends and keeps the optional members the adapter has', async () => {
    const { module, store, adapter } = await boot({ metrics: true });
    try {
      expect(adapter).toBeInstanceOf(PostgresEventStore);
      expect(store).toBeInstanceOf(MeasuredEventStore);
      expect([typeof store.horizon, typeof store.settled, typeof store.countAfter]).toEqual(['function', 'function', 'function']);
      await store.appendToStream('trial/T1', [{ type: 'TrialRegistered', data: {} }]);
      expect(await store.countAfter!(undefined)).toBe(1);
      const text = await module.get(TrialsMetrics).registry.metrics();
      expect(text).toContain('trials_events_appended_total{stream_category="trial"} 1');
    } finally {
      await module.close();
    }
  });

  it('keeps the engine reachable as EVENT_STORE_ADAPTER, and leaves out what the KurrentDB adapter does not have', async () => {
    // Port 1 on localhost: nothing listens, and nothing must try to until the store is used.
    const { module, store, adapter } = await boot({ metrics: true, kurrentDbUrl: 'kurrentdb://127.0.0.1:1?tls=false' });
    try {
      expect(adapter).toBeInstanceOf(KurrentDbEventStore);
      expect(store).toBeInstanceOf(MeasuredEventStore);
      expect(['horizon' in store, 'settled' in store, 'countAfter' in store]).toEqual([
        'horizon' in adapter,
        'settled' in adapter,
        'countAfter' in adapter,
      ]);
    } finally {
      await module.close();
    }
  });

  it('leaves EVENT_STORE the adapter itself in an app without MetricsModule', async () => {
    const { module, store, adapter } = await boot({ metrics: false });
    try {
      expect(store).toBe(adapter);
    } finally {
      await module.close();
    }
  });
});

describe('MetricsModule alone (the gateway: no event store, no command bus)', () => {
  it('starts and scrapes, with the families it cannot feed still declared', async () => {
    const module = await Test.createTestingModule({ imports: [MetricsModule] }).compile();
    await module.init();
    try {
      const text = await module.get(TrialsMetrics).registry.metrics();
      expect(text).toContain('# TYPE trials_commands_total counter');
      expect(text).toContain('trials_outbox_backlog 0');
    } finally {
      await module.close();
    }
  });
});
