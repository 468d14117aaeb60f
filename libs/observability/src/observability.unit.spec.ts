import { CommandBus, type ICommand } from '@nestjs/cqrs';
import { DomainError } from '@app/contracts';
import { WrongExpectedVersionError, type AppendResult, type EventStore } from '@app/event-store';
import { instrumentCommandBus, instrumentEventStore } from './instrument';
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

/** A bus whose execute behaves as the test says, standing in for @nestjs/cqrs's dispatch to a handler. */
function busDoing(execute: (command: object) => Promise<unknown>): CommandBus {
  const bus = Object.create(CommandBus.prototype) as CommandBus;
  bus.execute = execute as CommandBus['execute'];
  return bus;
}

describe('streamCategory', () => {
  it('is the stream id up to its first slash, and `other` for ids without a family', () => {
    expect(streamCategory('patient/T1/P7')).toBe('patient');
    expect(streamCategory('adverse-event/T1/AE1')).toBe('adverse-event');
    expect(streamCategory('trial/T1')).toBe('trial');
    expect(streamCategory('thing-123')).toBe('other');
    expect(streamCategory('/leading')).toBe('other');
  });
});

describe('instrumentCommandBus', () => {
  it('counts ok and refused commands under the problem code, and passes results and errors through unchanged', async () => {
    const metrics = new TrialsMetrics(noSources);
    const refusal = new DomainError('TRIAL_ALREADY_REGISTERED', 'exists', 'conflict');
    let next: () => Promise<unknown> = async () => ({ id: 'x' });
    const bus = busDoing(() => next());
    instrumentCommandBus(bus, metrics);

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
  });

  it('keeps a synchronous throw (no handler registered) synchronous, and counts it', () => {
    const metrics = new TrialsMetrics(noSources);
    const bus = busDoing(() => {
      throw new Error('no handler for Ping');
    });
    instrumentCommandBus(bus, metrics);
    expect(() => bus.execute(new Ping())).toThrow('no handler for Ping');
    return expect(value(metrics, 'trials_commands_total', { command: 'Ping', outcome: 'INTERNAL_ERROR' })).resolves.toBe(1);
  });

  it('wraps a bus once, however often it is asked to', async () => {
    const metrics = new TrialsMetrics(noSources);
    const bus = busDoing(async () => 'done');
    instrumentCommandBus(bus, metrics);
    instrumentCommandBus(bus, metrics);
    await bus.execute(new Ping());
    expect(await value(metrics, 'trials_commands_total', { command: 'Ping', outcome: 'ok' })).toBe(1);
  });
});

describe('instrumentEventStore', () => {
  const result = (n: number): AppendResult => ({
    streamVersion: n,
    globalPosition: n,
    events: Array.from({ length: n }, (_, i) => ({ eventId: `e${i}` }) as AppendResult['events'][number]),
  });

  it('counts the events of successful appends by category and times every append with its outcome', async () => {
    const metrics = new TrialsMetrics(noSources);
    const calls: unknown[][] = [];
    let outcome: () => Promise<AppendResult> = async () => result(3);
    const store = {
      appendToStream: (...args: unknown[]) => {
        calls.push(args);
        return outcome();
      },
    } as unknown as EventStore;
    instrumentEventStore(store, metrics);

    await expect(store.appendToStream('patient/T/P', [], { expectedVersion: 2 })).resolves.toEqual(result(3));
    expect(calls).toEqual([['patient/T/P', [], { expectedVersion: 2 }]]);
    outcome = () => Promise.reject(new WrongExpectedVersionError('patient/T/P', 2, 3));
    await expect(store.appendToStream('patient/T/P', [])).rejects.toBeInstanceOf(WrongExpectedVersionError);
    outcome = () => Promise.reject(new Error('connection lost'));
    await expect(store.appendToStream('case/T/C', [])).rejects.toThrow('connection lost');

    expect(await value(metrics, 'trials_events_appended_total', { stream_category: 'patient' })).toBe(3);
    expect(await value(metrics, 'trials_events_appended_total', { stream_category: 'case' })).toBeUndefined();
    expect(await value(metrics, 'trials_event_append_duration_seconds_count', { stream_category: 'patient', outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'trials_event_append_duration_seconds_count', { stream_category: 'patient', outcome: 'conflict' })).toBe(1);
    expect(await value(metrics, 'trials_event_append_duration_seconds_count', { stream_category: 'case', outcome: 'error' })).toBe(1);
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
