import {
  DLQ_HEADERS,
  IdempotentConsumer,
  IntegrationEventV1,
  isMessagingEnabled,
  LogRelay,
  logMessages,
  TOPICS,
  integrationMessage,
  type InboundMessage,
} from '../src';
import {
  actor,
  brokerDown,
  DOWN_BROKER_WAITS,
  event,
  InMemoryLogStore,
  keepAppending,
  openFixture,
  ScriptedBroker,
  waitFor,
  type MessagingFixture,
} from './messaging-harness';

const envelopeOf = (message: InboundMessage): IntegrationEventV1 => IntegrationEventV1.parse(JSON.parse(String(message.value)));

/**
 * The relay of a log the outbox cannot capture (KurrentDB), through the EventStore port: the store
 * double shapes checkpoints as the KurrentDB adapter does; the checkpoint lives in PGlite. The
 * KurrentDB contract suite (KURRENTDB_URL) runs the same relay against a server.
 */
describe('log relay (event log on KurrentDB)', () => {
  let fixture: MessagingFixture;
  let store: InMemoryLogStore;
  const relays: LogRelay[] = [];
  const quiet = (): void => undefined;

  beforeAll(async () => {
    fixture = await openFixture();
  });
  afterAll(async () => {
    await fixture.close();
  });
  beforeEach(async () => {
    await fixture.dataSource.query('TRUNCATE es_subscriptions, msg_inbox');
    store = new InMemoryLogStore();
  });
  afterEach(async () => {
    for (const relay of relays.splice(0)) await relay.stop();
  });

  const relay = (broker: ScriptedBroker, batchSize = 50): LogRelay => {
    const r = new LogRelay({
      store,
      dataSource: fixture.dataSource,
      publisher: broker,
      batchSize,
      pollIntervalMs: 5,
      standbyRetryMs: 10,
      initialBackoffMs: 2,
      maxBackoffMs: 10,
      onError: quiet,
    });
    relays.push(r);
    return r;
  };

  it('publishes what the outbox would: same envelope, key, headers and topic; unpublished streams skipped; nothing captured in es_events', async () => {
    await store.appendToStream('trial/T1', [event('TrialRegistered', { trialId: 'T1', arms: ['DCB', 'PTA'] })]);
    await store.appendToStream('patient/T1/P1', [
      event('PatientEnrolled', { patientId: 'P1', arm: 'DCB' }),
      event('VisitRecorded', { patientId: 'P1' }, { actor, correlationId: 'c-1' }),
    ]);
    await store.appendToStream('unblinding/T1', [event('UnblindedReportViewed', { trialId: 'T1' })]);
    await store.appendToStream('adverse-event/T1/E1', [event('AdverseEventReported', { eventId: 'E1', kind: 'amputation' })]);
    const broker = new ScriptedBroker();
    const r = relay(broker);
    expect(await r.tryAcquire()).toBe(true);
    expect(await r.drain()).toBe(5);

    expect(broker.log.map((m) => [m.topic, m.key])).toEqual([
      [TOPICS.enrollment, 'trial/T1'],
      [TOPICS.enrollment, 'patient/T1/P1'],
      [TOPICS.enrollment, 'patient/T1/P1'],
      [TOPICS.adverseEvents, 'adverse-event/T1/E1'],
    ]);
    const published = store.events.filter((e) => !e.streamId.startsWith('unblinding/'));
    // Byte for byte the outbox relay's message of the same event.
    expect(broker.log.map((m) => ({ topic: m.topic, key: m.key, value: m.value, headers: m.headers }))).toEqual(
      published.map((e) =>
        integrationMessage({
          topic: broker.log.find((m) => m.key === e.streamId)!.topic,
          messageId: e.eventId,
          streamId: e.streamId,
          streamVersion: e.streamVersion,
          type: e.type,
          schemaVersion: e.schemaVersion,
          globalPosition: e.globalPosition,
          recordedAt: e.recordedAt,
          data: e.data,
          metadata: e.metadata,
        }),
      ),
    );
    expect(envelopeOf(broker.log[1]!).data).toEqual({ patientId: 'P1' });
    expect(envelopeOf(broker.log[2]!)).toMatchObject({ streamVersion: 2, correlationId: 'c-1', actor: { userId: 'u1' } });
    expect(await r.checkpoint()).toBe(store.events[store.events.length - 1]!.checkpoint);
    // The KurrentDB log leaves es_events empty: the outbox trigger stays off and captures nothing.
    expect(await isMessagingEnabled(fixture.dataSource)).toBe(false);
    expect(logMessages(store.events.filter((e) => e.streamId.startsWith('unblinding/')))).toEqual([]);
  });

  it('resumes after its checkpoint: a restarted relay publishes only what came later', async () => {
    await store.appendToStream('case/T1/C1', [event('CaseOpened', { caseId: 'C1' })]);
    const first = new ScriptedBroker();
    const a = relay(first);
    expect(await a.tryAcquire()).toBe(true);
    await a.drain();
    await a.stop();
    relays.splice(relays.indexOf(a), 1);

    await store.appendToStream('case/T1/C1', [event('ReviewerAssigned', { caseId: 'C1' }), event('ReviewSubmitted', { caseId: 'C1' })]);
    const second = new ScriptedBroker();
    const b = relay(second);
    b.start();
    await waitFor(async () => second.log.length === 2 && (await b.backlog()) === 0);
    expect(second.log.map((m) => envelopeOf(m).type)).toEqual(['ReviewerAssigned', 'ReviewSubmitted']);
    expect(first.log.map((m) => envelopeOf(m).type)).toEqual(['CaseOpened']);
  });

  it('through a failing broker and a failing log read: nothing lost, per-key order kept, the checkpoint moved only after a publish', async () => {
    const broker = new ScriptedBroker(['fail', 'partial', 'ok', 'deliver-then-throw', 'fail']);
    const r = relay(broker, 3);
    const streams = ['patient/T1/P1', 'adverse-event/T1/E1', 'case/T1/C1'];
    for (let i = 0; i < 4; i += 1) for (const streamId of streams) await store.appendToStream(streamId, [event('Happened', { i })]);
    store.failReads = 2;
    r.start();
    // backlog() reads the log too, so it may meet a failing read itself.
    await waitFor(async () => (await r.backlog().catch(() => -1)) === 0 && broker.calls >= 5);
    await store.appendToStream('case/T1/C1', [event('Happened', { i: 4 })]);
    await waitFor(async () => (await r.backlog()) === 0 && broker.log.some((m) => envelopeOf(m).streamVersion === 5));

    const delivered = broker.log.map(envelopeOf);
    expect(new Set(delivered.map((e) => e.messageId))).toEqual(new Set(store.events.map((e) => e.eventId)));
    for (const streamId of streams) {
      const versions = delivered.filter((e) => e.streamId === streamId).map((e) => e.streamVersion);
      const firsts = versions.filter((v, i) => versions.indexOf(v) === i);
      expect(firsts).toEqual(Array.from({ length: firsts.length }, (_, i) => i + 1));
    }
    expect(r.counters().failures).toBeGreaterThanOrEqual(5);

    // The inbox turns the duplicates into one effect each.
    const consumer = new IdempotentConsumer({
      name: 'case-opener',
      dataSource: fixture.dataSource,
      deadLetters: new ScriptedBroker(),
      handler: async () => undefined,
    });
    const outcomes: string[] = [];
    for (const message of broker.log) outcomes.push(await consumer.handle(message));
    expect(outcomes.filter((o) => o === 'processed')).toHaveLength(store.events.length);
  });

  it('backs off from a broker that is down while the log is busy: appends do not cut the backoff short', async () => {
    const broker = brokerDown();
    const r = new LogRelay({ store, dataSource: fixture.dataSource, publisher: broker, ...DOWN_BROKER_WAITS, onError: quiet });
    relays.push(r);
    await store.appendToStream('case/T1/C1', [event('CaseOpened', { caseId: 'C1' })]);
    r.start();
    await waitFor(() => broker.calls >= 1);
    // Each append woke the relay, which retried the broker at once.
    await keepAppending((i) => store.appendToStream('case/T1/C1', [event('Happened', { i })]));
    // One attempt per 200 ms backoff (about 6 in all), not one per append (about 150).
    expect(broker.calls).toBeLessThanOrEqual(10);
  });

  it('runs one active relay per database: the other waits and takes over', async () => {
    await store.appendToStream('trial/T1', [event('TrialRegistered', { trialId: 'T1' })]);
    const one = new ScriptedBroker();
    const two = new ScriptedBroker();
    const a = relay(one);
    const b = relay(two);
    a.start();
    await waitFor(() => a.active && one.log.length === 1);
    b.start();
    await store.appendToStream('trial/T1', [event('SiteAdded', { siteId: 'S01' })]);
    await waitFor(() => one.log.length === 2);
    expect(b.active).toBe(false);
    await a.stop();
    relays.splice(relays.indexOf(a), 1);
    await waitFor(() => b.active);
    await store.appendToStream('trial/T1', [event('SiteAdded', { siteId: 'S02' })]);
    await waitFor(() => two.log.length === 1);
    expect(two.log.map((m) => envelopeOf(m).data)).toEqual([{ siteId: 'S02' }]);
  });

  it('sends an event that cannot form an envelope to the dead-letter topic in its place', async () => {
    await store.appendToStream('adverse-event/T1/E1', [event('AdverseEventReported', { eventId: 'E1' }, {})]);
    await store.appendToStream('adverse-event/T1/E1', [event('AdverseEventCorrected', { eventId: 'E1' })]);
    const broker = new ScriptedBroker();
    const r = relay(broker);
    expect(await r.tryAcquire()).toBe(true);
    await r.drain();
    expect(broker.log.map((m) => m.topic)).toEqual([`${TOPICS.adverseEvents}.dlq`, TOPICS.adverseEvents]);
    expect(broker.log[0]!.headers[DLQ_HEADERS.reason]).toBe('invalid-envelope');
    expect(r.counters()).toEqual({ published: 2, failures: 0, deadLettered: 1 });
  });
});
