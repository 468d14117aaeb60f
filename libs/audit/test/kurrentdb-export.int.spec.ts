import { randomBytes } from 'node:crypto';
import { KurrentDbEventStore, type RecordedEvent } from '@app/event-store';
import { exportLines, isTrialStream, verifyExport } from '../src';

const url = process.env.KURRENTDB_URL;

if (!url) {
  it('KurrentDB export contract', () => {
    console.log('skipped: no broker (KURRENTDB_URL is not set)');
  });
} else {
  /** An export of a trial whose log is on KurrentDB verifies: events of one append share a commit position. */
  describe('audit export of a KurrentDB log', () => {
    it('verifies, and a reordered export of it does not', async () => {
      const trial = `KX${randomBytes(4).toString('hex')}`;
      const store = KurrentDbEventStore.fromConnectionString(url);
      try {
        const actor = { userId: 'u1', name: 'Dr. Jane Roe', roles: ['site-investigator'] };
        await store.appendToStream(`trial/${trial}`, [
          { type: 'TrialRegistered', data: { trialId: trial }, metadata: { actor } },
          { type: 'SiteAdded', data: { siteId: 'S01' }, metadata: { actor } },
        ]);
        await store.appendToStream(`patient/${trial}/P1`, [{ type: 'PatientEnrolled', data: { patientId: 'P1' }, metadata: { actor } }]);
        const events: RecordedEvent[] = [];
        for (let after: string | undefined; ;) {
          const page = await store.readAll({ ...(after ? { after } : {}), maxCount: 1000 });
          events.push(...page.events.filter((e) => isTrialStream(e.streamId, trial)));
          if (page.events.length === 0) break;
          after = page.checkpoint;
        }
        expect(events).toHaveLength(3);
        expect(events[0]!.globalPosition).toBe(events[1]!.globalPosition);
        expect(verifyExport(exportLines(trial, events))).toMatchObject({ ok: true, count: 3 });
        const reordered = exportLines(trial, [events[2]!, events[0]!, events[1]!]);
        expect(verifyExport(reordered)).toMatchObject({ ok: false, line: 2 });
      } finally {
        await store.close();
      }
    });
  });
}
