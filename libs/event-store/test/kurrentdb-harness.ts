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
  return {
    store,
    readModel,
    concurrentTransactions: false,
    close: async () => {
      try {
        await store.close();
      } finally {
        await readModel.destroy();
      }
    },
  };
}
