import { describeEventStoreContract } from './event-store.contract';
import { postgresHarness } from './postgres-harness';

const url = process.env.DATABASE_URL;
if (url) {
  describeEventStoreContract('PostgreSQL adapter on a server', () => postgresHarness(url));
} else {
  it('PostgreSQL server contract', () => {
    console.log('skipped: DATABASE_URL is not set (CI sets it)');
  });
}
