import { type DynamicModule, Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { systemClock, uuidGenerator } from '../clock';
import type { Clock, EventStore, IdGenerator } from '../event-store.port';
import { KurrentDbEventStore } from '../kurrentdb/kurrentdb-event-store';
import { openDataSource, type DatabaseOptions } from '../postgres/data-source';
import { PostgresEventStore } from '../postgres/postgres-event-store';

/** Injection tokens of the event-store module. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const CLOCK = Symbol('CLOCK');
export const ID_GENERATOR = Symbol('ID_GENERATOR');
/** The adapter itself, undecorated: for what only the engine knows (which engine it is, closing it). */
export const EVENT_STORE_ADAPTER = Symbol('EVENT_STORE_ADAPTER');
/**
 * Optional: a module that measures or traces appends provides this, and EVENT_STORE is the adapter
 * as it decorates it. The event store knows no such module; each knows only the port.
 */
export const EVENT_STORE_DECORATOR = Symbol('EVENT_STORE_DECORATOR');
export type EventStoreDecorator = (store: EventStore) => EventStore;
/** The options useFactory resolved, so that DATA_SOURCE and the adapter see the same ones. */
const RESOLVED_OPTIONS = Symbol('EVENT_STORE_OPTIONS');

/**
 * Where things live. With `kurrentDbUrl` the event log is on KurrentDB/EventStoreDB; read models,
 * subscription checkpoints and idempotency keys stay in the database (`databaseUrl` or PGlite).
 */
export interface EventStoreConnectionOptions extends DatabaseOptions {
  kurrentDbUrl?: string;
}

export interface EventStoreModuleOptions {
  /** Resolved at start-up from the app's validated configuration. */
  useFactory: (...deps: never[]) => EventStoreConnectionOptions | Promise<EventStoreConnectionOptions>;
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
  clock?: Clock;
  ids?: IdGenerator;
}

@Injectable()
class EventStoreLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE_ADAPTER) private readonly store: EventStore,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** The client connects on first use, so a bad address shows at the first append or read, a malformed one here. */
function kurrentDbStore(url: string, clock: Clock, ids: IdGenerator): KurrentDbEventStore {
  try {
    return KurrentDbEventStore.fromConnectionString(url, clock, ids);
  } catch (error) {
    throw new Error(`the KurrentDB connection string is not valid: ${(error as Error).message}`, { cause: error });
  }
}

/** Provides the DataSource (migrated), the EventStore (decorated when a decorator is provided), the clock and the id generator. */
@Global()
@Module({})
export class EventStoreModule {
  static forRootAsync(options: EventStoreModuleOptions): DynamicModule {
    return {
      module: EventStoreModule,
      providers: [
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        { provide: ID_GENERATOR, useValue: options.ids ?? uuidGenerator },
        {
          provide: RESOLVED_OPTIONS,
          inject: options.inject ?? [],
          useFactory: (...deps: never[]) => options.useFactory(...deps),
        },
        {
          provide: DATA_SOURCE,
          inject: [RESOLVED_OPTIONS],
          useFactory: ({ kurrentDbUrl: _kurrentDbUrl, ...database }: EventStoreConnectionOptions) => openDataSource(database),
        },
        {
          provide: EVENT_STORE_ADAPTER,
          inject: [RESOLVED_OPTIONS, DATA_SOURCE, CLOCK, ID_GENERATOR],
          useFactory: (resolved: EventStoreConnectionOptions, dataSource: DataSource, clock: Clock, ids: IdGenerator) =>
            resolved.kurrentDbUrl ? kurrentDbStore(resolved.kurrentDbUrl, clock, ids) : new PostgresEventStore(dataSource, clock, ids),
        },
        {
          provide: EVENT_STORE,
          inject: [EVENT_STORE_ADAPTER, { token: EVENT_STORE_DECORATOR, optional: true }],
          useFactory: (adapter: EventStore, decorate: EventStoreDecorator | undefined) => (decorate ? decorate(adapter) : adapter),
        },
        EventStoreLifecycle,
      ],
      exports: [CLOCK, ID_GENERATOR, DATA_SOURCE, EVENT_STORE, EVENT_STORE_ADAPTER],
    };
  }
}
