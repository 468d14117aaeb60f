import { Test } from '@nestjs/testing';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE, EVENT_STORE, EventStoreModule, KurrentDbEventStore, PostgresEventStore, isEmbedded, type EventStore } from '../src';

/** Boots only the event-store module; no KurrentDB server is needed because its client connects on first use. */
async function boot(kurrentDbUrl?: string) {
  const module = await Test.createTestingModule({
    imports: [EventStoreModule.forRootAsync({ useFactory: () => ({ dataDir: 'memory://', kurrentDbUrl }) })],
  }).compile();
  await module.init();
  return { module, store: module.get<EventStore>(EVENT_STORE), dataSource: module.get<DataSource>(DATA_SOURCE) };
}

describe('EventStoreModule picks the event store from its options', () => {
  it('uses PostgreSQL (here PGlite) for the log by default', async () => {
    const { module, store, dataSource } = await boot();
    expect(store).toBeInstanceOf(PostgresEventStore);
    expect(isEmbedded(dataSource)).toBe(true);
    await module.close();
    expect(dataSource.isInitialized).toBe(false);
  });

  it('uses KurrentDB for the log with kurrentDbUrl, and keeps the migrated database for checkpoints and read models', async () => {
    // Port 1 on localhost: nothing listens, and nothing must try to until the store is used.
    const { module, store, dataSource } = await boot('kurrentdb://127.0.0.1:1?tls=false');
    expect(store).toBeInstanceOf(KurrentDbEventStore);
    expect(isEmbedded(dataSource)).toBe(true);
    expect(await dataSource.query(`SELECT count(*)::int AS n FROM es_subscriptions`)).toEqual([{ n: 0 }]);
    await module.close();
    expect(dataSource.isInitialized).toBe(false);
  });

  it('fails at start-up on a malformed connection string, saying which setting is wrong', async () => {
    await expect(boot('http://127.0.0.1:2113')).rejects.toThrow(/KurrentDB connection string is not valid/);
  });
});
