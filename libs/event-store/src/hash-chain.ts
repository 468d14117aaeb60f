import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { EventMetadata, RecordedEvent } from './event-store.port';

/** What a stored event's hash covers, besides its stream version and the previous hash. */
export interface HashedContent {
  streamId: string;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  recordedAt: string;
}

/** SHA-256 of the RFC 8785 canonical JSON of an event's content. */
export function contentDigest(content: HashedContent): Buffer {
  const canonical = canonicalize({
    streamId: content.streamId,
    eventId: content.eventId,
    type: content.type,
    schemaVersion: content.schemaVersion,
    data: content.data,
    metadata: content.metadata,
    recordedAt: content.recordedAt,
  });
  if (canonical === undefined) throw new Error('event content cannot be canonicalized');
  return createHash('sha256').update(canonical, 'utf8').digest();
}

/**
 * hash(n) = SHA-256(hash(n-1) ‖ int8 big-endian stream version ‖ contentDigest(n)); hash(0) is empty.
 * The PostgreSQL adapter computes the same chain in SQL (es_append), so either side can verify the other.
 */
export function chainHash(previous: Buffer, streamVersion: number, digest: Buffer): Buffer {
  const version = Buffer.alloc(8);
  version.writeBigInt64BE(BigInt(streamVersion));
  return createHash('sha256').update(previous).update(version).update(digest).digest();
}

export type ChainVerification =
  | { ok: true; streams: number; events: number }
  | { ok: false; streamId: string; streamVersion: number; eventId: string | undefined; problem: string };

/**
 * Verifies the per-stream chains of a set of events (any interleaving of streams, each stream
 * in version order, starting at version 1). Reports the first event that does not check out.
 */
export function verifyChains(events: Iterable<RecordedEvent>): ChainVerification {
  const last = new Map<string, { version: number; hash: Buffer }>();
  let count = 0;
  for (const event of events) {
    count += 1;
    const previous = last.get(event.streamId) ?? { version: 0, hash: Buffer.alloc(0) };
    const bad = (problem: string): ChainVerification => ({
      ok: false,
      streamId: event.streamId,
      streamVersion: event.streamVersion,
      eventId: event.eventId,
      problem,
    });
    if (event.streamVersion !== previous.version + 1) {
      return bad(`expected stream version ${previous.version + 1}, found ${event.streamVersion}`);
    }
    const expected = chainHash(previous.hash, event.streamVersion, contentDigest(event));
    if (expected.toString('hex') !== event.hash) {
      return bad('hash does not match the event content and its predecessor');
    }
    last.set(event.streamId, { version: event.streamVersion, hash: expected });
  }
  return { ok: true, streams: last.size, events: count };
}

/** Round-trips a value through JSON so that what is hashed is exactly what is stored. */
export function toJsonValue<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
