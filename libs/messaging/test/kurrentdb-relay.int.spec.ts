import { randomBytes } from 'node:crypto';
import { KurrentDbEventStore } from '@app/event-store';
import { IntegrationEventV1, LogRelay, TOPICS } from '../src';
import { event, openFixture, ScriptedBroker, type MessagingFixture } from './messaging-harness';

const url = process.env.KURRENTDB_URL;

if (!url) {
  it('KurrentDB log relay contract', () => {
    console.log('skipped: no broker (KURRENTDB_URL is not set)');
  });
} else {
  /**
   * The log relay over the real KurrentDB adapter at KURRENTDB_URL (the checkpoint in PGlite):
   * what the store double of log-relay.int.spec.ts stands in for. The relay starts at the
   * beginning of $all, so only this run's streams are looked at.
   */
  describe('log relay on KurrentDB', () => {
    const trial = `KR${randomBytes(4).toString('hex')}`;
    let fixture: MessagingFixture;
    let store: KurrentDbEventStore;

    beforeAll(async () => {
      fixture = await openFixture();
      store = KurrentDbEventStore.fromConnectionString(url);
    });
    afterAll(async () => {
      await store.close();
      await fixture.close();
    });

    it('publishes each event of a multi-event append once, in order per key, and resumes after its checkpoint', async () => {
      await store.appendToStream(`patient/${trial}/P1`, [
        event('PatientEnrolled', { patientId: 'P1', arm: 'DCB' }),
        event('VisitRecorded', { patientId: 'P1' }),
      ]);
      await store.appendToStream(`adverse-event/${trial}/E1`, [event('AdverseEventReported', { eventId: 'E1', kind: 'death' })]);
      await store.appendToStream(`unblinding/${trial}`, [event('UnblindedReportViewed', { trialId: trial })]);
      const broker = new ScriptedBroker();
      const relay = new LogRelay({ store, dataSource: fixture.dataSource, publisher: broker, batchSize: 500 });
      expect(await relay.tryAcquire()).toBe(true);
      await relay.drain();
      const mine = () =>
        broker.log.map((m) => IntegrationEventV1.parse(JSON.parse(String(m.value)))).filter((e) => e.streamId.includes(`/${trial}`));
      expect(mine().map((e) => [e.topic, e.streamId, e.streamVersion, e.type])).toEqual([
        [TOPICS.enrollment, `patient/${trial}/P1`, 1, 'PatientEnrolled'],
        [TOPICS.enrollment, `patient/${trial}/P1`, 2, 'VisitRecorded'],
        [TOPICS.adverseEvents, `adverse-event/${trial}/E1`, 1, 'AdverseEventReported'],
      ]);
      expect(mine()[0]!.data).toEqual({ patientId: 'P1' });
      expect(await relay.checkpoint()).toMatch(/^\d+\/\d+$/);

      await store.appendToStream(`case/${trial}/C1`, [event('CaseOpened', { caseId: 'C1' })]);
      await relay.drain();
      expect(mine().map((e) => e.type)).toEqual(['PatientEnrolled', 'VisitRecorded', 'AdverseEventReported', 'CaseOpened']);
      await relay.stop();
    });
  });
}
