import { createHash } from 'node:crypto';
import { DomainError } from '@app/contracts';
import type { AcceptedMediaType, StagedBlob } from './blob-store.port';
import { MediaSniffer } from './media-type';

export const fileEmpty = () => new DomainError('FILE_EMPTY', 'the file is empty', 'invalid', 'file');
export const fileTooLarge = (maxBytes: number) =>
  new DomainError('FILE_TOO_LARGE', `the file is larger than ${maxBytes} bytes`, 'too_large', 'file');
export const mediaTypeUnsupported = () =>
  new DomainError(
    'MEDIA_TYPE_UNSUPPORTED',
    'the file is not PDF, PNG, JPEG or plain text (UTF-8); the type is read from the content, not the name',
    'unsupported_media_type',
    'file',
  );
export const blobNotFound = (sha256: string) => new DomainError('BLOB_NOT_FOUND', `no stored file has SHA-256 ${sha256}`, 'not_found');

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Where a store puts the bytes while they arrive; `abort` removes whatever was written. */
export interface StagingSink {
  write(chunk: Buffer): Promise<void>;
  /** Called once after the last write (the content is accepted so far). */
  end(): Promise<void>;
  abort(): Promise<void>;
}

export interface StagedContent {
  sha256: string;
  size: number;
  mediaType: AcceptedMediaType;
}

/**
 * Reads `source` into `sink`, hashing and sniffing as it goes, one chunk at a time (the sink's
 * write is awaited, so a slow sink slows the reader rather than piling bytes up in memory).
 * Stops reading as soon as more than maxBytes arrived or the content can no longer be accepted;
 * on any refusal or source error the sink is aborted before the promise rejects.
 */
export async function streamIntoStaging(source: NodeJS.ReadableStream, maxBytes: number, sink: StagingSink): Promise<StagedContent> {
  const hash = createHash('sha256');
  const sniffer = new MediaSniffer();
  let size = 0;
  try {
    // Leaving the loop early (a throw) destroys the source: it is read no further.
    for await (const piece of source) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      if (chunk.length === 0) continue;
      size += chunk.length;
      if (size > maxBytes) throw fileTooLarge(maxBytes);
      hash.update(chunk);
      sniffer.push(chunk);
      if (sniffer.refused) throw mediaTypeUnsupported();
      await sink.write(chunk);
    }
    if (size === 0) throw fileEmpty();
    const mediaType = sniffer.finish();
    if (!mediaType) throw mediaTypeUnsupported();
    await sink.end();
    return { sha256: hash.digest('hex'), size, mediaType };
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

/**
 * A staged upload's life, the same in every store: staged, then committed (readable under its hash)
 * or discarded (gone), never both; a second commit or discard is a no-op. A store supplies the two
 * moves on its own storage.
 */
export abstract class StagedUpload implements StagedBlob {
  private state: 'staged' | 'committed' | 'discarded' = 'staged';

  constructor(
    protected readonly uploadId: string,
    readonly sha256: string,
    readonly size: number,
    readonly mediaType: AcceptedMediaType,
  ) {}

  /** Makes the staged bytes readable under sha256 and removes them from staging. */
  protected abstract keep(): Promise<void>;
  /** Removes the staged bytes. */
  protected abstract forget(): Promise<void>;

  async commit(): Promise<void> {
    if (this.state === 'committed') return;
    if (this.state === 'discarded') throw new Error(`upload ${this.uploadId} was discarded; it cannot be committed`);
    await this.keep();
    this.state = 'committed';
  }

  async discard(): Promise<void> {
    if (this.state !== 'staged') return;
    await this.forget();
    this.state = 'discarded';
  }
}
