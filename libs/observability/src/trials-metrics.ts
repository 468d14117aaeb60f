import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Sources read at scrape time; each may fail without failing the scrape. */
export interface ScrapeSources {
  /** Each running subscription's name and how many events it has yet to handle. */
  subscriptions(): Array<{ name: string; lag(): Promise<number> }>;
  /** The outbox relay's backlog, or undefined when this process has no outbox. */
  outboxBacklog(): Promise<number | undefined>;
}

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The application's metrics on a registry of its own: two apps in one process (the tests) or a
 * library using prom-client's global registry never collide.
 */
export class TrialsMetrics {
  readonly registry = new Registry();

  readonly commands = new Counter({
    name: 'trials_commands_total',
    help: 'Commands dispatched through the command bus, by command and outcome (ok, or the problem code answered).',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly commandDuration = new Histogram({
    name: 'trials_command_duration_seconds',
    help: 'Time from dispatch to the handler settling, by command and outcome.',
    labelNames: ['command', 'outcome'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly eventsAppended = new Counter({
    name: 'trials_events_appended_total',
    help: 'Events appended to the event store, by stream category (the stream id up to its first slash).',
    labelNames: ['stream_category'] as const,
    registers: [this.registry],
  });

  readonly appendDuration = new Histogram({
    name: 'trials_event_append_duration_seconds',
    help: 'Duration of appendToStream calls, by stream category and outcome (ok, conflict, error).',
    labelNames: ['stream_category', 'outcome'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly scrapeErrors = new Counter({
    name: 'trials_metrics_scrape_errors_total',
    // prom-client collects all metrics of a scrape concurrently, so a failure shows from the next scrape on.
    help: 'Scrape-time sources that failed to answer (their gauge sample is left out of that scrape).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  constructor(sources: ScrapeSources) {
    collectDefaultMetrics({ register: this.registry });
    const scrapeErrors = this.scrapeErrors;

    new Gauge({
      name: 'trials_subscription_lag_events',
      help: 'Events in the log after the subscription checkpoint (appends in flight included).',
      labelNames: ['subscription'] as const,
      registers: [this.registry],
      async collect() {
        // A subscription that stopped existing must not keep reporting its last lag.
        this.reset();
        await Promise.all(
          sources.subscriptions().map(async (subscription) => {
            try {
              this.set({ subscription: subscription.name }, await subscription.lag());
            } catch {
              scrapeErrors.inc({ source: `subscription:${subscription.name}` });
            }
          }),
        );
      },
    });

    new Gauge({
      name: 'trials_outbox_backlog',
      help: 'Outbox messages not yet published to the broker (0 when this process has no outbox).',
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          const backlog = await sources.outboxBacklog();
          if (backlog !== undefined) this.set(backlog);
        } catch {
          scrapeErrors.inc({ source: 'outbox' });
        }
      },
    });
  }
}
