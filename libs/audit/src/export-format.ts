import { createHash } from 'node:crypto';
import { z } from 'zod';
import { chainHash, contentDigest, type RecordedEvent } from '@app/event-store';
import { isTrialStream } from './trial-log';

/*
 * The format is documented for users in README.md, "The audit export format", precisely enough to
 * verify an export with other tools (test/fixtures/verify_export.py was written from that text alone
 * and is run against a real export): change this file and that section together.
 */
export const ROOT_HASH_ALGORITHM = 'sha256';
const ZERO_ROOT = Buffer.alloc(32);
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export interface ExportManifest {
  kind: 'manifest';
  trialId: string;
  count: number;
  /** Global position of the last exported event; null for an empty log. */
  lastPosition: number | null;
  rootHash: string;
  algorithm: 'sha256';
}

export type ExportEventLine = { kind: 'event' } & RecordedEvent;

/** One NDJSON line (without the newline) for an exported event: every field of the stored event. */
export function eventLine(event: RecordedEvent): string {
  const line: ExportEventLine = {
    kind: 'event',
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    globalPosition: event.globalPosition,
    checkpoint: event.checkpoint,
    recordedAt: event.recordedAt,
    hash: event.hash,
  };
  return JSON.stringify(line);
}

/** r_i = SHA-256(r_{i-1} ‖ hex-decoded hash_i), r_0 = 32 zero bytes: a running root over the export order. */
export function nextRootHash(previous: Buffer, eventHash: string): Buffer {
  return createHash('sha256').update(previous).update(Buffer.from(eventHash, 'hex')).digest();
}

/** Accumulates the manifest while an export is written, page by page. */
export class ManifestBuilder {
  private root: Buffer = ZERO_ROOT;
  private count = 0;
  private lastPosition: number | null = null;

  constructor(private readonly trialId: string) {}

  add(event: RecordedEvent): void {
    this.root = nextRootHash(this.root, event.hash);
    this.count += 1;
    this.lastPosition = event.globalPosition;
  }

  build(): ExportManifest {
    return {
      kind: 'manifest',
      trialId: this.trialId,
      count: this.count,
      lastPosition: this.lastPosition,
      rootHash: this.root.toString('hex'),
      algorithm: ROOT_HASH_ALGORITHM,
    };
  }
}

/** The manifest of a complete export, from its events in export order. */
export function buildManifest(trialId: string, events: Iterable<RecordedEvent>): ExportManifest {
  const builder = new ManifestBuilder(trialId);
  for (const event of events) builder.add(event);
  return builder.build();
}

/** Every line of an export (without newlines): events, then the manifest. */
export function exportLines(trialId: string, events: readonly RecordedEvent[]): string[] {
  return [...events.map(eventLine), JSON.stringify(buildManifest(trialId, events))];
}

const EventLineSchema = z
  .object({
    kind: z.literal('event'),
    eventId: z.string().min(1),
    type: z.string().min(1),
    schemaVersion: z.number().int().min(1),
    data: z.unknown(),
    metadata: z.record(z.string(), z.unknown()),
    streamId: z.string().min(1),
    streamVersion: z.number().int().min(1),
    globalPosition: z.number().int().min(0),
    checkpoint: z.string().min(1),
    recordedAt: z.string().min(1),
    hash: z.string().regex(HEX_SHA256),
  })
  .strict();

const ManifestSchema = z
  .object({
    kind: z.literal('manifest'),
    trialId: z.string().min(1),
    count: z.number().int().min(0),
    lastPosition: z.number().int().min(0).nullable(),
    rootHash: z.string().regex(HEX_SHA256),
    algorithm: z.literal(ROOT_HASH_ALGORITHM),
  })
  .strict();

/**
 * A checkpoint as the ordered pair its store issues: PostgreSQL's "transactionId:globalPosition"
 * and KurrentDB's "commit/prepare" (events of one append share the commit position, so the pair,
 * not the commit alone, orders them). The separator tells the two forms apart.
 */
function checkpointPair(checkpoint: string): { form: ':' | '/'; first: bigint; second: bigint } | undefined {
  const match = /^(\d+)([:/])(\d+)$/.exec(checkpoint);
  if (!match) return undefined;
  return { form: match[2] as ':' | '/', first: BigInt(match[1] as string), second: BigInt(match[3] as string) };
}

/**
 * Delivery order of two events by their checkpoints, compared as pairs when both are of one store's
 * form; else (a foreign or mixed export) by global position.
 */
export function compareDeliveryOrder(
  a: Pick<RecordedEvent, 'checkpoint' | 'globalPosition'>,
  b: Pick<RecordedEvent, 'checkpoint' | 'globalPosition'>,
): number {
  const pa = checkpointPair(a.checkpoint);
  const pb = checkpointPair(b.checkpoint);
  if (pa && pb && pa.form === pb.form) {
    if (pa.first !== pb.first) return pa.first < pb.first ? -1 : 1;
    return pa.second === pb.second ? 0 : pa.second < pb.second ? -1 : 1;
  }
  return a.globalPosition - b.globalPosition;
}

export type ExportVerification =
  | { ok: true; trialId: string; count: number; streams: number; lastPosition: number | null; rootHash: string; events: RecordedEvent[] }
  | { ok: false; line: number; eventId?: string; problem: string };

/**
 * Verifies an export line by line (1-based line numbers; one trailing empty line allowed):
 * each line is JSON of the right shape, positions strictly increase in delivery order, every
 * stream's hash chain holds from version 1 (verifyChains semantics), every event belongs to the
 * manifest's trial, and exactly one manifest closes the file with matching count, lastPosition
 * and rootHash. Reports the first line that does not check out.
 */
export function verifyExport(input: Iterable<string>): ExportVerification {
  const lines = [...input];
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const chains = new Map<string, { version: number; hash: Buffer }>();
  const events: RecordedEvent[] = [];
  const lineOf: number[] = [];
  let root: Buffer = ZERO_ROOT;
  let previous: RecordedEvent | undefined;
  let manifest: z.infer<typeof ManifestSchema> | undefined;
  let manifestLine = 0;

  for (let index = 0; index < lines.length; index += 1) {
    const lineNo = index + 1;
    const text = lines[index] as string;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, line: lineNo, problem: 'line is not valid JSON (truncated or edited file?)' };
    }
    const kind = typeof json === 'object' && json !== null ? (json as { kind?: unknown }).kind : undefined;
    if (manifest !== undefined) {
      return {
        ok: false,
        line: lineNo,
        ...eventIdOf(json),
        problem: `line after the manifest (line ${manifestLine}): the manifest must be the last line`,
      };
    }
    if (kind === 'manifest') {
      const parsed = ManifestSchema.safeParse(json);
      if (!parsed.success) return { ok: false, line: lineNo, problem: `malformed manifest: ${describe(parsed.error)}` };
      manifest = parsed.data;
      manifestLine = lineNo;
      continue;
    }
    const parsed = EventLineSchema.safeParse(json);
    if (!parsed.success) return { ok: false, line: lineNo, ...eventIdOf(json), problem: `malformed event line: ${describe(parsed.error)}` };
    const { kind: _kind, ...fields } = parsed.data;
    const event: RecordedEvent = { ...fields, data: fields.data, metadata: fields.metadata };
    const bad = (problem: string): ExportVerification => ({ ok: false, line: lineNo, eventId: event.eventId, problem });
    if (previous !== undefined && compareDeliveryOrder(previous, event) >= 0) {
      return bad(`position ${event.checkpoint} does not follow ${previous.checkpoint}: events reordered, duplicated or inserted`);
    }
    const chain = chains.get(event.streamId) ?? { version: 0, hash: Buffer.alloc(0) };
    if (event.streamVersion !== chain.version + 1) {
      return bad(
        `stream ${event.streamId}: expected version ${chain.version + 1}, found ${event.streamVersion} (event deleted, inserted or reordered?)`,
      );
    }
    const expected = chainHash(chain.hash, event.streamVersion, contentDigest(event));
    if (expected.toString('hex') !== event.hash) {
      return bad(
        `stream ${event.streamId} version ${event.streamVersion}: hash does not match the event content and its predecessor (edited?)`,
      );
    }
    chains.set(event.streamId, { version: event.streamVersion, hash: expected });
    root = nextRootHash(root, event.hash);
    events.push(event);
    lineOf.push(lineNo);
    previous = event;
  }

  if (manifest === undefined)
    return { ok: false, line: lines.length + 1, problem: 'no manifest: the file is truncated or the manifest was removed' };
  const mismatch = (problem: string): ExportVerification => ({ ok: false, line: manifestLine, problem });
  const foreign = events.findIndex((event) => !isTrialStream(event.streamId, manifest.trialId));
  if (foreign >= 0) {
    const event = events[foreign] as RecordedEvent;
    return {
      ok: false,
      line: lineOf[foreign] as number,
      eventId: event.eventId,
      problem: `stream ${event.streamId} is not part of trial ${manifest.trialId}`,
    };
  }
  if (manifest.count !== events.length)
    return mismatch(`manifest count ${manifest.count} but ${events.length} events in the file (event deleted or inserted?)`);
  const lastPosition = previous?.globalPosition ?? null;
  if (manifest.lastPosition !== lastPosition)
    return mismatch(`manifest lastPosition ${String(manifest.lastPosition)} but the last event is at ${String(lastPosition)}`);
  const rootHash = root.toString('hex');
  if (manifest.rootHash !== rootHash) return mismatch(`manifest rootHash ${manifest.rootHash} does not match the events (${rootHash})`);
  return { ok: true, trialId: manifest.trialId, count: events.length, streams: chains.size, lastPosition, rootHash, events };
}

function eventIdOf(json: unknown): { eventId?: string } {
  const id = typeof json === 'object' && json !== null ? (json as { eventId?: unknown }).eventId : undefined;
  return typeof id === 'string' ? { eventId: id } : {};
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(line)'}: ${issue.message}`).join('; ');
}
