import { type DynamicModule, Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { systemClock, uuidGenerator } from '../clock';
import type { Clock, EventStore, IdGenerator } from '../event-store.port';
import { openDataSource, type DatabaseOptions } from '../postgres/data-source';
import { PostgresEventStore } from '../postgres/postgres-event-store';

/** Injection tokens of the event-store module. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const CLOCK = Symbol('CLOCK');
export const ID_GENERATOR = Symbol('ID_GENERATOR');

export interface EventStoreModuleOptions {
  /** Resolved at start-up from the app's validated configuration. */
  useFactory: (...deps: never[]) => DatabaseOptions | Promise<DatabaseOptions>;
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
  clock?: Clock;
  ids?: IdGenerator;
}

@Injectable()
class EventStoreLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** Provides the DataSource (migrated), the EventStore, the clock and the id generator. */
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
          provide: DATA_SOURCE,
          inject: options.inject ?? [],
          useFactory: async (...deps: never[]) => openDataSource(await options.useFactory(...deps)),
        },
        {
          provide: EVENT_STORE,
          inject: [DATA_SOURCE, CLOCK, ID_GENERATOR],
          useFactory: (dataSource: DataSource, clock: Clock, ids: IdGenerator) => new PostgresEventStore(dataSource, clock, ids),
        },
        EventStoreLifecycle,
      ],
      exports: [CLOCK, ID_GENERATOR, DATA_SOURCE, EVENT_STORE],
    };
  }
}
