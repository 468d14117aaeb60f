import { KurrentDbEventStore, openDataSource } from '../src';
import type { StoreHarness } from './event-store.contract';

/**
 * A harness over the KurrentDB server at `url`. Subscriptions still keep their checkpoints in a
 * relational read model (in-memory PGlite here). KurrentDB has no multi-append transactions and
 * no way to edit stored events, so those capabilities stay off and their tests report a skip.
 */
export async function kurrentDbHarness(url: string): Promise<StoreHarness> {
  const readModel = await openDataSource({});
  const store = KurrentDbEventStore.fromConnectionString(url);
  const others: KurrentDbEventStore[] = [];
  return {
    store,
    otherInstance: () => {
      const other = KurrentDbEventStore.fromConnectionString(url);
      others.push(other);
      return other;
    },
    readModel,
    concurrentTransactions: false,
    close: async () => {
      try {
        await Promise.all([store, ...others].map((s) => s.close()));
      } finally {
        await readModel.destroy();
      }
    },
  };
}
