/** Where the bytes live: the event store's PostgreSQL database (the default) or an S3 bucket. */
export type BlobStoreLocation = { kind: 'postgres' } | { kind: 's3'; bucket: string; prefix: string };

/** The variables that select and configure the blob store (api.md "Configuration"). */
export interface BlobStoreEnvironment {
  /** Absent or `postgres` → PostgreSQL; `s3://bucket[/prefix]` → S3. */
  BLOB_STORE?: string;
  S3_ENDPOINT?: string;
  /** Default us-east-1. */
  S3_REGION?: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
  /** True for MinIO and most self-hosted stores. */
  S3_FORCE_PATH_STYLE?: boolean;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Reads BLOB_STORE; throws an Error whose message says what is accepted (the config schema reports it). */
export function parseBlobStoreLocation(value: string | undefined): BlobStoreLocation {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'postgres') return { kind: 'postgres' };
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(text);
  if (!match) throw new Error(`must be "postgres" (the default) or s3://bucket[/prefix], got "${text}"`);
  const bucket = match[1]!;
  if (!BUCKET.test(bucket)) throw new Error(`s3 bucket "${bucket}" is not a valid bucket name (3-63 of a-z, 0-9, dot, hyphen)`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { kind: 's3', bucket, prefix: prefix === '' ? '' : `${prefix}/` };
}
