import { Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CommandBus, CommandHandler, CqrsModule, type ICommand, type ICommandHandler } from '@nestjs/cqrs';
import { DomainError } from '@app/contracts';
import { WrongExpectedVersionError, type AppendResult, type EventStore } from '@app/event-store';
import { MeasuredCommandBus, measuredCqrsModule } from './measured-command-bus';
import { MeasuredEventStore } from './measured-event-store';
import { MetricsModule } from './metrics.module';
import { streamCategory } from './stream-category';
import { TrialsMetrics, type ScrapeSources } from './trials-metrics';

const noSources: ScrapeSources = { subscriptions: () => [], outboxBacklog: async () => undefined };
/** A sample by its exposed name (a histogram's `_count` included) and exact labels. */
const value = async (metrics: TrialsMetrics, name: string, labels: Record<string, string> = {}) => {
  const family = name.replace(/_(count|sum|bucket)$/, '');
  const metric = await (metrics.registry.getSingleMetric(name) ?? metrics.registry.getSingleMetric(family))?.get();
  const same = (a: object) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(labels).sort());
  return metric?.values.find((v) => ((v as { metricName?: string }).metricName ?? name) === name && same(v.labels))?.value;
};

class Ping implements ICommand {}

/** What PingHandler does next, as the test says: a handler answering, refusing or failing. */
let next: () => Promise<unknown> = async () => 'done';

@CommandHandler(Ping)
class PingHandler implements ICommandHandler<Ping> {
  execute(): Promise<unknown> {
    return next();
  }
}

/** The CQRS wiring an app gets from measuredCqrsModule, with or without MetricsModule and the handler. */
async function app(options: { metrics?: boolean; handler?: boolean } = {}) {
  const module = await Test.createTestingModule({
    imports: [...(options.metrics === false ? [] : [MetricsModule]), measuredCqrsModule()],
    providers: options.handler === false ? [] : [PingHandler],
  }).compile();
  await module.init();
  const metrics = options.metrics === false ? undefined : module.get(TrialsMetrics);
  return { module, bus: module.get(CommandBus), metrics: metrics! };
}

describe('streamCategory', () => {
  it('is the family of the stream id, and `other` for ids outside the stream-id grammar', () => {
    expect(streamCategory('patient/T1/P7')).toBe('patient');
    expect(streamCategory('adverse-event/T1/AE1')).toBe('adverse-event');
    expect(streamCategory('trial/T1')).toBe('trial');
    expect(streamCategory('thing-123')).toBe('other');
    expect(streamCategory('/leading')).toBe('other');
    expect(streamCategory('invented/T1/X')).toBe('other');
  });
});

describe('MeasuredCommandBus', () => {
  it('counts ok and refused commands under the problem code, and passes results and errors through unchanged', async () => {
    const { module, bus, metrics } = await app();
    const refusal = new DomainError('TRIAL_ALREADY_REGISTERED', 'exists', 'conflict');
    next = async () => ({ id: 'x' });

    await expect(bus.execute(new Ping())).resolves.toEqual({ id: 'x' });
    next = () => Promise.reject(refusal);
    await expect(bus.execute(new Ping())).rejects.toBe(refusal);
    next = () => Promise.reject(new WrongExpectedVersionError('s', 1, 2));
    await expect(bus.execute(new Ping())).rejects.toBeInstanceOf(WrongExpectedVersionError);
    next = () => Promise.reject(new Error('boom'));
    await expect(bus.execute(new Ping())).rejects.toThrow('boom');

    expect(await value(metrics, 'trials_commands_total', { command: 'Ping', outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'trials_commands_total', { command: 'Ping', outcome: 'TRIAL_ALREADY_REGISTERED' })).toBe(1);
    expect(await value(metrics, 'trials_commands_total', { command: 'Ping', outcome: 'CONCURRENT_MODIFICATION' })).toBe(1);
    expect(await value(metrics, 'trials_commands_total', { command: 'Ping', outcome: 'INTERNAL_ERROR' })).toBe(1);
    expect(await value(metrics, 'trials_command_duration_seconds_count', { command: 'Ping', outcome: 'ok' })).toBe(1);
    await module.close();
  });

  it('keeps a synchronous throw (no handler registered) synchronous, and counts it under the command name', async () => {
    const { module, bus, metrics } = await app({ handler: false });
    expect(() => bus.execute(new Ping())).toThrow('No handler found for the command: "Ping"');
    expect(await value(metrics, 'trials_commands_total', { command: 'Ping', outcome: 'INTERNAL_ERROR' })).toBe(1);
    await module.close();
  });

  it('is the bus the handlers are registered on and the one the app injects, and counts each command once', async () => {
    const { module, bus, metrics } = await app();
    expect(bus).toBeInstanceOf(MeasuredCommandBus);
    next = async () => 'done';
    await bus.execute(new Ping());
    expect(await value(metrics, 'trials_commands_total', { command: 'Ping', outcome: 'ok' })).toBe(1);
    await module.close();
  });

  it('is a plain CommandBus in an app without MetricsModule', async () => {
    const { module, bus } = await app({ metrics: false });
    expect(bus).not.toBeInstanceOf(MeasuredCommandBus);
    next = async () => 'done';
    await expect(bus.execute(new Ping())).resolves.toBe('done');
    await module.close();
  });
});

describe('MetricsModule', () => {
  afterEach(() => jest.restoreAllMocks());

  it('warns at start-up when a module imports CqrsModule itself, whose bus nothing measures', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    @Module({ imports: [CqrsModule] })
    class ContextWithItsOwnBus {}
    const module = await Test.createTestingModule({ imports: [MetricsModule, measuredCqrsModule(), ContextWithItsOwnBus] }).compile();
    await module.init();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('commands dispatched through its CommandBus are not counted'));
    await module.close();
  });

  it('stays silent when every bus is measured', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { module } = await app();
    expect(warn).not.toHaveBeenCalled();
    await module.close();
  });
});

describe('MeasuredEventStore', () => {
  const result = (n: number): AppendResult => ({
    streamVersion: n,
    globalPosition: n,
    events: Array.from({ length: n }, (_, i) => ({ eventId: `e${i}` }) as AppendResult['events'][number]),
  });

  /** A store that records every call and answers appends as the test says. */
  function recordingStore(withOptional: boolean) {
    const calls: Array<[string, ...unknown[]]> = [];
    const state = { append: async (): Promise<AppendResult> => result(3) };
    const unsubscribe = () => undefined;
    const store: EventStore = {
      appendToStream: (...args) => (calls.push(['appendToStream', ...args]), state.append()),
      readStream: async (...args) => (calls.push(['readStream', ...args]), { streamVersion: 0, events: [] }),
      readAll: async (...args) => (calls.push(['readAll', ...args]), { events: [], checkpoint: 'c0' }),
      onAppended: (...args) => (calls.push(['onAppended', ...args]), unsubscribe),
      close: async () => void calls.push(['close']),
      ...(withOptional
        ? {
            horizon: async () => (calls.push(['horizon']), 'h1'),
            settled: async (...args: unknown[]) => (calls.push(['settled', ...args]), true),
            countAfter: async (...args: unknown[]) => (calls.push(['countAfter', ...args]), 5),
          }
        : {}),
    };
    return { store, calls, state, unsubscribe };
  }

  it('counts the events of successful appends by category and times every append with its outcome', async () => {
    const metrics = new TrialsMetrics(noSources);
    const { store: inner, calls, state } = recordingStore(true);
    const store = new MeasuredEventStore(inner, metrics);

    await expect(store.appendToStream('patient/T/P', [], { expectedVersion: 2 })).resolves.toEqual(result(3));
    expect(calls).toEqual([['appendToStream', 'patient/T/P', [], { expectedVersion: 2 }]]);
    state.append = () => Promise.reject(new WrongExpectedVersionError('patient/T/P', 2, 3));
    await expect(store.appendToStream('patient/T/P', [])).rejects.toBeInstanceOf(WrongExpectedVersionError);
    state.append = () => Promise.reject(new Error('connection lost'));
    await expect(store.appendToStream('case/T/C', [])).rejects.toThrow('connection lost');

    expect(await value(metrics, 'trials_events_appended_total', { stream_category: 'patient' })).toBe(3);
    expect(await value(metrics, 'trials_events_appended_total', { stream_category: 'case' })).toBeUndefined();
    expect(await value(metrics, 'trials_event_append_duration_seconds_count', { stream_category: 'patient', outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'trials_event_append_duration_seconds_count', { stream_category: 'patient', outcome: 'conflict' })).toBe(1);
    expect(await value(metrics, 'trials_event_append_duration_seconds_count', { stream_category: 'case', outcome: 'error' })).toBe(1);
  });

  it('passes every other member through to the store, with its arguments and answer', async () => {
    const { store: inner, calls, unsubscribe } = recordingStore(true);
    const store = new MeasuredEventStore(inner, new TrialsMetrics(noSources));
    const listener = () => undefined;

    await expect(store.readStream('trial/T', { fromVersion: 2 })).resolves.toEqual({ streamVersion: 0, events: [] });
    await expect(store.readAll({ after: 'c9', maxCount: 1 })).resolves.toEqual({ events: [], checkpoint: 'c0' });
    expect(store.onAppended(listener)).toBe(unsubscribe);
    await expect(store.horizon?.()).resolves.toBe('h1');
    await expect(store.settled?.('h1')).resolves.toBe(true);
    await expect(store.countAfter?.(undefined)).resolves.toBe(5);
    await store.close();

    expect(calls).toEqual([
      ['readStream', 'trial/T', { fromVersion: 2 }],
      ['readAll', { after: 'c9', maxCount: 1 }],
      ['onAppended', listener],
      ['horizon'],
      ['settled', 'h1'],
      ['countAfter', undefined],
      ['close'],
    ]);
  });

  it('has horizon, settled and countAfter only when the store has them, as consumers test for them', () => {
    const store = new MeasuredEventStore(recordingStore(false).store, new TrialsMetrics(noSources));
    expect('horizon' in store).toBe(false);
    expect('settled' in store).toBe(false);
    expect('countAfter' in store).toBe(false);
  });
});

describe('scrape-time gauges', () => {
  it('report each subscription lag, leave out a failing one and count the failure, and show the outbox backlog', async () => {
    let backlog: number | undefined = 7;
    const metrics = new TrialsMetrics({
      subscriptions: () => [
        { name: 'a', lag: async () => 4 },
        { name: 'b', lag: () => Promise.reject(new Error('database down')) },
      ],
      outboxBacklog: async () => backlog,
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('trials_subscription_lag_events{subscription="a"} 4');
    expect(text).not.toContain('subscription="b"} ');
    expect(text).toContain('trials_outbox_backlog 7');
    // Counted during the first scrape, visible in the next.
    expect(await metrics.registry.metrics()).toContain('trials_metrics_scrape_errors_total{source="subscription:b"} 1');
    backlog = undefined;
    expect(await metrics.registry.metrics()).toContain('trials_outbox_backlog 0');
  });

  it('keep one registry per instance, so two apps in one process do not collide', async () => {
    const first = new TrialsMetrics(noSources);
    const second = new TrialsMetrics(noSources);
    first.commands.inc({ command: 'Ping', outcome: 'ok' });
    expect(await value(first, 'trials_commands_total', { command: 'Ping', outcome: 'ok' })).toBe(1);
    expect(await value(second, 'trials_commands_total', { command: 'Ping', outcome: 'ok' })).toBeUndefined();
  });
});
