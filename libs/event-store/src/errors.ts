import type { ExpectedVersion } from './event-store.port';

/** Base of every event-store error: carries a stable code for problem+json mapping. */
export class EventStoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The stream's version did not match the expected one; nothing was written. */
export class WrongExpectedVersionError extends EventStoreError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super('STREAM_VERSION_CONFLICT', `stream ${streamId}: expected version ${String(expected)}, actual ${actual}`);
  }
}

/**
 * A stream the append was guarded on (AppendOptions.guards: another stream whose facts the decision
 * rests on) is no longer at the version decided on; nothing was written.
 */
export class StreamGuardFailedError extends EventStoreError {
  constructor(
    readonly streamId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super('GUARDED_STREAM_MOVED', `guarded stream ${streamId}: decided on version ${expected}, actual ${actual}`);
  }
}

/** Another running instance holds this subscription. */
export class SubscriptionLockedError extends EventStoreError {
  constructor(readonly subscription: string) {
    super('SUBSCRIPTION_LOCKED', `subscription ${subscription} is held by another instance`);
  }
}

/** An Idempotency-Key already answers another request of the same user; nothing was written. */
export class IdempotencyKeyReusedError extends EventStoreError {
  constructor(readonly key: string) {
    super('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${key} was already used with a different request`);
  }
}

/**
 * Other commands kept committing to the stream while this one decided again and again, for
 * longer than its retry budget, or waited too long for its turn; nothing was written. The client may retry after `retryAfterSeconds`.
 */
export class ConcurrentModificationError extends EventStoreError {
  constructor(
    readonly streamId: string,
    why: string,
    readonly retryAfterSeconds: number,
  ) {
    super('CONCURRENT_MODIFICATION', `stream ${streamId}: ${why}; retry later`);
  }
}
