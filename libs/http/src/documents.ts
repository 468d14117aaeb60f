import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Response } from 'express';
import type { z } from 'zod';
import { readMultipartUpload, type BlobStore, type StagedBlob } from '@app/blob-store';
import { DomainError, MAX_DOCUMENT_BYTES, documentAccessStream, type DocumentRead, type StoredFile } from '@app/contracts';
import { canonicalJson, loadState, type Decider, type EventStore } from '@app/event-store';
import type { CommandContext } from './command-context';

/** A multipart upload whose text fields passed their schema, its file staged (not yet readable). */
export interface ValidUpload<T> {
  fields: T;
  file: StagedBlob;
  /** What the event records of the file: the sanitised name, and what the server measured. */
  stored: StoredFile;
}

/**
 * Reads a `multipart/form-data` command: the `file` part streamed into the blob store's staging
 * (hashed and sniffed as it arrives, at most MAX_DOCUMENT_BYTES) and the text fields checked by
 * `schema`. A refusal leaves nothing staged. The Idempotency-Key's fingerprint is then the fields
 * and the file's hash, since a multipart body is not the JSON IdempotencyKeys hashed: the same key
 * with another file is a different request (422), with the same file a replay.
 */
export async function readUpload<S extends z.ZodObject>(
  request: IncomingMessage & { method?: string; originalUrl?: string },
  response: Response,
  store: BlobStore,
  schema: S,
  context: CommandContext,
): Promise<ValidUpload<z.infer<S>>> {
  let upload;
  try {
    upload = await readMultipartUpload(request, { store, maxBytes: MAX_DOCUMENT_BYTES, fields: Object.keys(schema.shape) });
  } catch (error) {
    // The rest of an oversized or refused body is not read: the connection closes after the answer.
    if (error instanceof DomainError && (error.kind === 'too_large' || error.kind === 'unsupported_media_type'))
      closeAfterAnswer(request, response);
    throw error;
  }
  const parsed = schema.safeParse(upload.fields);
  if (!parsed.success) {
    await upload.file.discard();
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || undefined;
    throw new DomainError('VALIDATION_FAILED', `${field ?? 'form'}: ${issue?.message ?? 'invalid'}`, 'invalid', field);
  }
  const { sha256, size, mediaType } = upload.file;
  if (context.idempotency) {
    context.idempotency.requestHash = hash(
      'sha256',
      `${request.method} ${request.originalUrl}\n${canonicalJson({ fields: parsed.data, file: sha256 }) ?? ''}`,
      'hex',
    );
  }
  return { fields: parsed.data, file: upload.file, stored: { filename: upload.filename, mediaType, size, sha256 } };
}

/** How long a refused upload's connection still reads (and drops) what the client sends after the answer. */
export const LINGER_MS = 2_000;

/**
 * Closes the connection once the answer is out, in stages (RFC 9112 §9.6): a socket closed with
 * unread bytes sends a TCP reset, which can destroy the answer before the client reads it, and a
 * client sending a refused body is still sending. So the answer goes out, the server half-closes
 * (FIN after the answer) and drops whatever still arrives, until the client closes or LINGER_MS
 * pass. Not with a `Connection: close` header: Node closes such a socket as soon as the answer is
 * written, reset and all.
 */
function closeAfterAnswer(request: IncomingMessage, response: Response): void {
  response.once('finish', () => {
    const socket = request.socket;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once('close', () => clearTimeout(timer));
    // Flowing with no reader: what arrives is dropped (a paused request would buffer it instead).
    request.resume();
    socket.end();
  });
}

/**
 * Stores a staged file for a command: `check` first refuses what it must (nothing stays), then the
 * bytes become readable, then `write` records the event naming them. An event thus never names
 * bytes that are not stored; a write refused after the commit (a racing duplicate) leaves complete,
 * unreferenced bytes under their hash, never partial ones.
 */
export async function storeWith<R>(file: StagedBlob, check: () => Promise<void>, write: () => Promise<R>): Promise<R> {
  try {
    await check();
    await file.commit();
    return await write();
  } catch (error) {
    await file.discard().catch(() => undefined);
    throw error;
  }
}

/**
 * `storeWith`'s check for a command on a stream: what the decider refuses on the stream as it is now,
 * before the bytes are kept. A retried Idempotency-Key skips it: the command then replays its answer.
 */
export function refusalsOf<S, C, E extends { type: string; data: unknown }>(
  events: EventStore,
  streamId: string,
  decider: Decider<S, C, E>,
  command: C,
  context: CommandContext,
): () => Promise<void> {
  return async () => {
    if (context.idempotency) return;
    const { state } = await loadState(events, streamId, decider);
    decider.decide(command, state);
  };
}

/** The OpenAPI content of a document's bytes: one of the accepted media types. */
export const DOCUMENT_CONTENT = {
  'application/pdf': { schema: { type: 'string', format: 'binary' } },
  'image/png': { schema: { type: 'string', format: 'binary' } },
  'image/jpeg': { schema: { type: 'string', format: 'binary' } },
  'text/plain': { schema: { type: 'string' } },
} as const;

/**
 * Answers with a stored document's bytes, streamed from the blob store: its media type and length,
 * its SHA-256 as ETag and Repr-Digest (RFC 9530) so the reader can check what it got, a download
 * disposition with the sanitised file name, and no caching (source documents are health records).
 */
export async function sendDocument(response: Response, store: BlobStore, file: StoredFile): Promise<void> {
  const { size, stream } = await store.open(file.sha256);
  const ascii = file.filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  response.status(200);
  response.setHeader('Content-Type', file.mediaType === 'text/plain' ? 'text/plain; charset=utf-8' : file.mediaType);
  response.setHeader('Content-Length', String(size));
  response.setHeader('Content-Disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.filename)}`);
  response.setHeader('ETag', `"${file.sha256}"`);
  response.setHeader('Repr-Digest', `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`);
  response.setHeader('Cache-Control', 'private, no-store');
  response.setHeader('X-Content-Type-Options', 'nosniff');
  await new Promise<void>((resolve) => {
    stream.on('error', () => {
      // Headers are gone: the reader sees a cut connection, never a short body taken as whole.
      response.destroy();
      resolve();
    });
    response.on('close', () => {
      // A reader that went away stops the reading: a paused S3 body would hold its connection.
      if (!response.writableFinished) (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      resolve();
    });
    stream.pipe(response);
  });
}

/**
 * Records that someone is reading a document's bytes, before they are sent (api.md: every download
 * is in the audit trail: who read which document of which case, when). A read that cannot be
 * recorded is not served.
 */
export async function recordDocumentRead(
  events: EventStore,
  read: Omit<DocumentRead, 'readBy' | 'roles'>,
  reader: { userId: string; name: string; roles: readonly string[] },
  correlationId?: string,
): Promise<void> {
  const roles = [...reader.roles];
  const data: DocumentRead = { ...read, readBy: reader.userId, roles };
  await events.appendToStream(documentAccessStream(read.trialId), [
    {
      type: 'DocumentRead',
      data,
      metadata: { actor: { userId: reader.userId, name: reader.name, roles }, ...(correlationId ? { correlationId } : {}) },
    },
  ]);
}
