import { describeEventStoreContract } from './event-store.contract';
import { kurrentDbHarness } from './kurrentdb-harness';

const url = process.env.KURRENTDB_URL;
if (url) {
  describeEventStoreContract('KurrentDB adapter', () => kurrentDbHarness(url));
} else {
  it('KurrentDB contract', () => {
    console.log('skipped: no broker (KURRENTDB_URL is not set)');
  });
}
