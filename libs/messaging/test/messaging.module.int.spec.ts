import { EVENT_STORE, EventStoreModule, eventStoreMigrations, type EventStore } from '@app/event-store';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessagingModule, MessagingOutbox1764000000600, MessagingRelay, type MessagingOptions } from '../src';
import { event, waitFor } from './messaging-harness';

async function boot(options: MessagingOptions): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      EventStoreModule.forRootAsync({
        useFactory: () => ({ dataDir: 'memory://', migrations: [...eventStoreMigrations, MessagingOutbox1764000000600] }),
      }),
      MessagingModule.forRootAsync({ useFactory: () => options }),
    ],
  }).compile();
  moduleRef.useLogger(false);
  moduleRef.enableShutdownHooks();
  return moduleRef.init();
}

describe('MessagingModule', () => {
  it('without brokers does nothing: no relay, no capture, an empty backlog', async () => {
    const app = await boot({ clientId: 'platform' });
    try {
      const relay = app.get(MessagingRelay);
      await app.get<EventStore>(EVENT_STORE).appendToStream('patient/T1/P1', [event('PatientEnrolled', { patientId: 'P1' })]);
      expect(relay.enabled).toBe(false);
      expect(relay.active).toBe(false);
      expect(await relay.backlog()).toBe(0);
      expect(relay.counters()).toEqual({ published: 0, failures: 0, deadLettered: 0 });
    } finally {
      await app.close();
    }
  });

  it('refuses an invalid configuration at start-up, naming the field', async () => {
    await expect(boot({ clientId: 'platform', kafkaBrokers: ['kafka:9092,other:9092'] })).rejects.toThrow(
      'invalid messaging configuration: kafkaBrokers.0: a broker is host:port',
    );
  });

  it('with brokers captures from start-up on, and an unreachable broker only grows the backlog', async () => {
    // Port 9 (discard) on loopback: nothing listens, so every connect is refused.
    const app = await boot({ clientId: 'platform', kafkaBrokers: ['127.0.0.1:9'], maxBackoffMs: 50 });
    try {
      const relay = app.get(MessagingRelay);
      expect(relay.enabled).toBe(true);
      expect(relay.active).toBe(true);
      const store = app.get<EventStore>(EVENT_STORE);
      await store.appendToStream('patient/T1/P1', [event('PatientEnrolled', { patientId: 'P1' })]);
      await store.appendToStream('case/T1/C1', [event('CaseOpened', { caseId: 'C1' })]);
      await waitFor(() => relay.counters().failures >= 1, 90_000);
      expect(await relay.backlog()).toBe(2);
      expect(relay.counters().published).toBe(0);
    } finally {
      await app.close();
    }
  });
});
