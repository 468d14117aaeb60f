/** The Nest injection token of the one BlobStore of a process (PostgreSQL by default, S3 when BLOB_STORE=s3://…). */
export const BLOB_STORE = Symbol('BLOB_STORE');

/** api.md "Source documents": PDF, PNG, JPEG, plain text — checked from the content, never from the name. */
export type AcceptedMediaType = 'application/pdf' | 'image/png' | 'image/jpeg' | 'text/plain';

export interface StagedBlob {
  readonly sha256: string; // hex, computed by the server while streaming
  readonly size: number; // bytes
  readonly mediaType: AcceptedMediaType; // sniffed from the content, never from the name
  /** Makes the bytes readable under sha256 (idempotent; same bytes stored once). */
  commit(): Promise<void>;
  /** Forgets the staged bytes; nothing of them remains. Idempotent. */
  discard(): Promise<void>;
}

export interface BlobStore {
  /** Streams `source` into staging, hashing and sniffing as it goes. Rejects with DomainError: FILE_EMPTY (400), FILE_TOO_LARGE (413) as soon as more than maxBytes arrive (it stops reading), MEDIA_TYPE_UNSUPPORTED (415); on any rejection or source error nothing stays staged. */
  stage(source: NodeJS.ReadableStream, options: { maxBytes: number }): Promise<StagedBlob>;
  /** The committed blob's bytes as a stream; DomainError BLOB_NOT_FOUND (404) when absent. */
  open(sha256: string): Promise<{ size: number; stream: NodeJS.ReadableStream }>;
  has(sha256: string): Promise<boolean>;
}
