import { Logger, type INestApplication } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DATA_SOURCE, EVENT_STORE, EVENT_STORE_ADAPTER } from '@app/event-store';
import { IntegrationEventHandlers, IntegrationEventTransports, MessagingModule, TOPICS, integrationTopics } from '@app/messaging';
import { KafkaDouble, openFixture, type MessagingFixture } from '../../messaging/test/messaging-harness';
import { exitWhenConsumerStops } from '../src/bootstrap';
import { HealthController } from '../src/health.controller';

@IntegrationEventHandlers()
class Handlers {
  @EventPattern(TOPICS.adverseEvents)
  async changed(): Promise<void> {}
}

/**
 * Issue 14 item 6: kafkajs stops a consumer for good on an error it does not retry (CRASH without
 * restart). The process must not stay "healthy" while it consumes nothing: /health reports the
 * stopped consumer and the process exits non-zero for the orchestrator to restart it.
 */
describe('a Kafka consumer that kafkajs stops for good', () => {
  let fixture: MessagingFixture;
  let broker: KafkaDouble;
  let app: INestApplication;
  let transports: IntegrationEventTransports;

  beforeEach(async () => {
    fixture = await openFixture();
    broker = new KafkaDouble({ topics: integrationTopics() });
    const moduleRef = await Test.createTestingModule({
      imports: [
        // As EventStoreModule gives them to every module of a process.
        {
          module: class StoreModule {},
          global: true,
          providers: [
            { provide: DATA_SOURCE, useValue: fixture.dataSource },
            { provide: EVENT_STORE, useValue: fixture.store },
            { provide: EVENT_STORE_ADAPTER, useValue: fixture.store },
          ],
          exports: [DATA_SOURCE, EVENT_STORE, EVENT_STORE_ADAPTER],
        },
        TerminusModule,
        MessagingModule.forRootAsync({
          useFactory: () => ({ kafkaBrokers: ['kafka:9092'], clientId: 'trials-adjudication' }),
          kafka: () => broker.client(),
        }),
      ],
      controllers: [HealthController, Handlers],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    transports = app.get(IntegrationEventTransports);
    app.connectMicroservice({ strategy: transports.create({ name: 'adjudication.case-opener', topics: [TOPICS.adverseEvents] }) });
    await app.init();
    await app.startAllMicroservices();
  });

  afterEach(async () => {
    await app?.close();
    await fixture.close();
  });

  it('turns /health to 503 with the stopped consumer named; a crash kafkajs restarts leaves it 200', async () => {
    const healthy = await request(app.getHttpServer()).get('/health').expect(200);
    expect(healthy.body.info.messaging).toEqual({ status: 'up', consumers: ['adjudication.case-opener'] });

    broker.crash(new Error('The coordinator is loading'), true);
    await request(app.getHttpServer()).get('/health').expect(200);

    broker.crash(new Error('Offset out of range'), false);
    const down = await request(app.getHttpServer()).get('/health').expect(503);
    expect(down.body.error.messaging).toEqual({
      status: 'down',
      consumers: ['adjudication.case-opener'],
      stopped: ['adjudication.case-opener'],
      message: 'adjudication.case-opener stopped: Offset out of range',
    });
    // The rest of the process is fine: only the consumer is reported.
    expect(down.body.info.database.status).toBe('up');
  });

  it('closes the application and exits with code 1, once, after one line naming the consumer and the error', async () => {
    const close = jest.fn(async () => undefined);
    const exit = jest.fn();
    const lines: string[] = [];
    const logged = jest.spyOn(Logger, 'error').mockImplementation((message: unknown) => {
      lines.push(String(message));
    });
    try {
      exitWhenConsumerStops('adjudication', { close }, transports, exit);
      broker.crash(new Error('The coordinator is loading'), true);
      await new Promise((resolve) => setImmediate(resolve));
      expect(exit).not.toHaveBeenCalled();

      broker.crash(new Error('Offset out of range'), false);
      broker.crash(new Error('Offset out of range'), false);
      await new Promise((resolve) => setImmediate(resolve));
      expect(close).toHaveBeenCalledTimes(1);
      expect(exit).toHaveBeenCalledTimes(1);
      expect(exit).toHaveBeenCalledWith(1);
      expect(lines).toEqual([
        'adjudication: Kafka consumer adjudication.case-opener stopped (kafkajs does not restart it): Offset out of range; exiting with code 1 for a restart',
      ]);
    } finally {
      logged.mockRestore();
    }
  });
});
