export type {
  Actor,
  AppendOptions,
  AppendResult,
  Checkpoint,
  Clock,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  IdempotencyClaim,
  IdGenerator,
  NewEvent,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  StreamGuard,
} from './event-store.port';
export {
  ConcurrentModificationError,
  EventStoreError,
  IdempotencyKeyReusedError,
  StreamGuardFailedError,
  SubscriptionLockedError,
  WrongExpectedVersionError,
} from './errors';
export { FixedClock, SequentialIds, systemClock, uuidGenerator } from './clock';
export { canonicalJson, chainHash, contentDigest, storedContent, toJsonValue, verifyChains } from './hash-chain';
export type { ChainVerification, HashedContent } from './hash-chain';
export { eventStoreMigrations, isEmbedded, openDataSource } from './postgres/data-source';
export type { DatabaseOptions } from './postgres/data-source';
export { DATA_DIR_LOCK_FILE, DataDirLockedError, acquireDataDirLock } from './postgres/data-dir-lock';
export type { DataDirLock, DataDirLockTimings, LockHolder } from './postgres/data-dir-lock';
export { PostgresEventStore, decodeCheckpoint, encodeCheckpoint } from './postgres/postgres-event-store';
export type { PostgresAppendOptions } from './postgres/postgres-event-store';
export { KurrentDbEventStore } from './kurrentdb/kurrentdb-event-store';
export { DurableSubscription } from './subscription/durable-subscription';
export { SingleActiveLock } from './postgres/single-active-lock';
export { WakeableSleep } from './subscription/wakeable-sleep';
export type { DurableSubscriptionOptions, SubscriptionHandler } from './subscription/durable-subscription';
export {
  CLOCK,
  DATA_SOURCE,
  EVENT_STORE,
  EVENT_STORE_ADAPTER,
  EVENT_STORE_DECORATOR,
  EventStoreModule,
  ID_GENERATOR,
} from './nest/event-store.module';
export type { EventStoreConnectionOptions, EventStoreDecorator, EventStoreModuleOptions } from './nest/event-store.module';
export {
  DEFAULT_RETRY_BUDGET_MS,
  DEFAULT_TURN_WAIT_MS,
  PreconditionFailedError,
  decideOnFacts,
  executeCommand,
  idempotencyMetadata,
  loadState,
  readKeptState,
  readStreamUpTo,
} from './decider';
export type { CommandOutcome, Decider, ExecuteOptions, IdempotentCommand } from './decider';
export { SubscribedService } from './nest/subscribed-service';
export { untilVisible } from './visible';
