import { postgresHarness } from '../../event-store/test/postgres-harness';
import type { StoreHarness } from '../../event-store/test/event-store.contract';
import { readTrialLog } from '../src';

const serverUrl = process.env.DATABASE_URL;

/**
 * An auditor reading right after a command sees it. The gap-safe reader shows a transaction only
 * once no older one still runs anywhere on the server; the audit trail waits for that (briefly)
 * instead of answering without the event just committed.
 */
(serverUrl ? describe : describe.skip)('audit reads after a write, on PostgreSQL', () => {
  let h: StoreHarness;
  beforeAll(async () => {
    h = await postgresHarness(serverUrl);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('include an event committed while an older transaction was still open', async () => {
    const trialId = `RYW-${Date.now().toString(36)}`;
    const older = h.readModel.createQueryRunner();
    await older.connect();
    await older.startTransaction();
    // Takes a transaction id now: every later one sorts after it and stays unread until it ends.
    await older.query('SELECT pg_current_xact_id()');
    try {
      await h.store.appendToStream(`trial/${trialId}`, [{ type: 'TrialRegistered', data: { trialId } }]);
      const release = setTimeout(() => void older.commitTransaction(), 300);
      const seen: string[] = [];
      for await (const page of readTrialLog(h.store, trialId)) seen.push(...page.map((e) => e.type));
      clearTimeout(release);
      expect(seen).toEqual(['TrialRegistered']);
    } finally {
      if (older.isTransactionActive) await older.commitTransaction();
      await older.release();
    }
  });
});

if (!serverUrl) console.log('skipped: audit read-your-writes needs a PostgreSQL server (DATABASE_URL is not set)');
