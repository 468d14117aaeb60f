import { randomBytes } from 'node:crypto';
import type { ConfigService } from '@nestjs/config';
import type { DataSource } from 'typeorm';
import { adverseEventStream, caseStream } from '@app/contracts';
import { FixedClock, PostgresEventStore, SequentialIds, eventStoreMigrations, openDataSource } from '@app/event-store';
import { Idempotency1764000000100 } from '@app/http';
import { MessagingOutbox1764000000600, OutboxRelay, TOPICS, enableMessaging } from '@app/messaging';
import { ScriptedBroker } from '../../../../libs/messaging/test/messaging-harness';
import { CaseOpener } from './case-opener';
import { CASE_FEED_CONSUMER, KafkaCaseFeed } from './kafka-case-feed';
import { adjudicationMigrations } from './migrations';

const databaseUrl = process.env.DATABASE_URL;
const actor = { actor: { userId: 'inv-1', name: 'Dr. Site', roles: ['site-investigator'] }, correlationId: 'corr-1' };
const report = {
  trialId: 'T',
  patientId: 'P1',
  siteId: 'S1',
  eventId: 'E1',
  kind: 'amputation',
  onsetOn: '2025-02-01',
  limb: 'index',
  amputation: { level: 'minor', planned: false },
  description: 'toe',
};

/**
 * The distributed deployment's path for a reported adverse event: outbox → Kafka (a broker double
 * delivering some messages twice) → the adjudication service's case feed → one case, updated by a
 * correction, whatever the duplicates. PostgreSQL only: the consumer's inbox transaction and the
 * case appends are separate sessions, which PGlite (one session) cannot give.
 */
if (!databaseUrl) {
  it('Kafka case feed', () => {
    console.log('skipped: DATABASE_URL is not set (CI sets it)');
  });
} else {
  describe('case opener fed from Kafka', () => {
    let dataSource: DataSource;
    const schema = `case_feed_${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      dataSource = await openDataSource({
        databaseUrl,
        schema,
        migrations: [...eventStoreMigrations, Idempotency1764000000100, ...adjudicationMigrations, MessagingOutbox1764000000600],
      });
    });
    afterAll(async () => {
      await dataSource.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await dataSource.destroy();
    });

    it('opens one case per reported amputation and follows its correction, with duplicates delivered', async () => {
      const store = new PostgresEventStore(
        dataSource,
        new FixedClock(new Date('2025-03-01T12:00:00.000Z')),
        new SequentialIds(randomBytes(4).toString('hex')),
      );
      await enableMessaging(dataSource);
      await store.appendToStream(adverseEventStream('T', 'E1'), [{ type: 'AdverseEventReported', data: report, metadata: actor }]);
      await store.appendToStream(adverseEventStream('T', 'E1'), [
        {
          type: 'AdverseEventCorrected',
          data: {
            trialId: 'T',
            patientId: 'P1',
            eventId: 'E1',
            changes: [{ field: 'amputation.level', previous: 'minor', value: 'major' }],
            reason: 'source document',
          },
          metadata: actor,
        },
      ]);
      // The acknowledgement of the first publish is lost: the relay publishes the batch again.
      const broker = new ScriptedBroker(['deliver-then-throw']);
      const relay = new OutboxRelay({ dataSource, publisher: broker, batchSize: 10 });
      expect(await relay.tryAcquire()).toBe(true);
      await expect(relay.relayBatch()).rejects.toThrow('acknowledgement lost');
      expect(await relay.drain()).toBe(2);
      const delivered = broker.topic(TOPICS.adverseEvents);
      expect(delivered).toHaveLength(4);

      const opener = new CaseOpener(store, dataSource);
      const config = { get: (key: string) => (key === 'KAFKA_BROKERS' ? 'kafka:9092' : undefined) } as unknown as ConfigService;
      const feed = new KafkaCaseFeed(opener, dataSource, config);
      feed.onModuleInit();
      expect(opener.fedExternally).toBe(true);
      const consumer = feed.consumer(new ScriptedBroker());
      const outcomes = [];
      for (const message of delivered) outcomes.push(await consumer.handle(message));
      expect(outcomes).toEqual(['processed', 'processed', 'duplicate', 'duplicate']);

      const { events } = await store.readStream(caseStream('T', 'E1'));
      expect(events.map((e) => e.type)).toEqual(['CaseOpened', 'SourceReportUpdated']);
      expect(events[0]!.metadata).toMatchObject({ actor: { userId: 'system:adjudication' }, correlationId: 'corr-1' });
      expect((events[1]!.data as { report: { amputation: { level: string } } }).report.amputation.level).toBe('major');
      expect(await dataSource.query(`SELECT count(*)::int AS n FROM msg_inbox WHERE consumer = $1`, [CASE_FEED_CONSUMER])).toEqual([
        { n: 2 },
      ]);
      // The opener's own subscription to the log never ran.
      expect(await opener.subscription.checkpoint()).toBeUndefined();
    });
  });
}
