import { randomBytes } from 'node:crypto';
import { Test } from '@nestjs/testing';
import type { DataSource } from 'typeorm';
import { adverseEventStream, caseStream } from '@app/contracts';
import { FixedClock, PostgresEventStore, SequentialIds, eventStoreMigrations, openDataSource } from '@app/event-store';
import { Idempotency1764000000100 } from '@app/http';
import {
  IntegrationEventTransport,
  IntegrationEventTransports,
  KafkaPublisher,
  MessagingOutbox1764000000600,
  OutboxRelay,
  TOPICS,
  deadLetterTopic,
  enableMessaging,
  integrationTopics,
} from '@app/messaging';
import { KafkaDouble } from '../../../../libs/messaging/test/messaging-harness';
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
 * delivering some messages twice) → the adjudication service's @EventPattern handler (KafkaCaseFeed),
 * through the integration-event transport → one case, updated by a
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
      // The acknowledgement of the first publish is lost: the relay publishes the batch again, and
      // the rebuilt producer (a new producer id) has the broker append it twice.
      const broker = new KafkaDouble({ script: ['lost-ack'], topics: integrationTopics() });
      const relay = new OutboxRelay({ dataSource, publisher: new KafkaPublisher(broker.client()), batchSize: 10 });
      expect(await relay.tryAcquire()).toBe(true);
      await expect(relay.relayBatch()).rejects.toThrow('timed out');
      expect(await relay.drain()).toBe(2);
      expect(broker.topic(TOPICS.adverseEvents)).toHaveLength(4);

      // The adjudication service's consumer: KafkaCaseFeed's @EventPattern through the transport.
      const opener = new CaseOpener(store, dataSource);
      const moduleRef = await Test.createTestingModule({
        controllers: [KafkaCaseFeed],
        providers: [
          { provide: CaseOpener, useValue: opener },
          { provide: IntegrationEventTransports, useValue: { enabled: true } },
        ],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      const transport = new IntegrationEventTransport({
        name: CASE_FEED_CONSUMER,
        topics: [TOPICS.adverseEvents],
        kafka: broker.client(),
        dataSource,
      });
      app.connectMicroservice({ strategy: transport });
      await app.init();
      expect(opener.fedExternally).toBe(true);
      await app.startAllMicroservices();
      await broker.drain();
      expect(broker.pending()).toBe(false);
      await app.close();

      const { events } = await store.readStream(caseStream('T', 'E1'));
      expect(events.map((e) => e.type)).toEqual(['CaseOpened', 'SourceReportUpdated']);
      expect(events[0]!.metadata).toMatchObject({ actor: { userId: 'system:adjudication' }, correlationId: 'corr-1' });
      expect((events[1]!.data as { report: { amputation: { level: string } } }).report.amputation.level).toBe('major');
      expect(await dataSource.query(`SELECT count(*)::int AS n FROM msg_inbox WHERE consumer = $1`, [CASE_FEED_CONSUMER])).toEqual([
        { n: 2 },
      ]);
      expect(broker.topic(deadLetterTopic(TOPICS.adverseEvents))).toEqual([]);
      // The opener's own subscription to the log never ran.
      expect(await opener.subscription.checkpoint()).toBeUndefined();
    });
  });
}
