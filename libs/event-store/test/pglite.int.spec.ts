import { describeEventStoreContract } from './event-store.contract';
import { postgresHarness } from './postgres-harness';

describeEventStoreContract('PostgreSQL adapter on PGlite (in memory)', () => postgresHarness());
