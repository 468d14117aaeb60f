import { randomUUID } from 'node:crypto';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { AcceptedMediaType, BlobStore, StagedBlob } from '../blob-store.port';
import { blobNotFound, SHA256_HEX, StagedUpload, streamIntoStaging } from '../staging';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix, e.g. `trials/`; empty for the bucket's root. */
  prefix: string;
  /** e.g. http://127.0.0.1:9000 for MinIO; absent → AWS. */
  endpoint?: string;
  region: string;
  /** Absent → the SDK's default credential chain (environment, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key` (MinIO and most self-hosted stores). */
  forcePathStyle: boolean;
}

/** Staged uploads older than this were left by a crashed process. */
const STAGING_MAX_AGE_MS = 3_600_000;

const isNotFound = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
};

/**
 * Content-addressed bytes in an S3 bucket: `<prefix>sha256/<hex>`, staged under `<prefix>staging/<uuid>`.
 * An upload is held in memory once (at most maxBytes, 20 MB) while it is hashed and sniffed, and put
 * only when accepted, so a refused upload never reaches the bucket.
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials:
        options.accessKeyId && options.secretAccessKey
          ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
          : undefined,
    });
  }

  stagingKey(uploadId: string): string {
    return `${this.prefix}staging/${uploadId}`;
  }

  contentKey(sha256: string): string {
    return `${this.prefix}sha256/${sha256}`;
  }

  async stage(source: NodeJS.ReadableStream, options: { maxBytes: number }): Promise<StagedBlob> {
    let pieces: Buffer[] = [];
    const content = await streamIntoStaging(source, options.maxBytes, {
      write: async (chunk) => {
        pieces.push(chunk);
      },
      end: async () => undefined,
      abort: async () => {
        pieces = [];
      },
    });
    const body = Buffer.concat(pieces, content.size);
    pieces = [];
    const uploadId = randomUUID();
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.stagingKey(uploadId),
        Body: body,
        ContentLength: content.size,
        ContentType: content.mediaType,
      }),
    );
    return new S3StagedBlob(this, uploadId, content.sha256, content.size, content.mediaType);
  }

  async open(sha256: string): Promise<{ size: number; stream: NodeJS.ReadableStream }> {
    if (!SHA256_HEX.test(sha256)) throw blobNotFound(sha256);
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.contentKey(sha256) }));
      return { size: Number(object.ContentLength), stream: object.Body as NodeJS.ReadableStream };
    } catch (error) {
      if (isNotFound(error)) throw blobNotFound(sha256);
      throw error;
    }
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.contentKey(sha256) }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The keys under `<prefix><folder>/` (tests count what is left; the sweep finds crashed uploads). */
  async list(folder: 'staging' | 'sha256'): Promise<Array<{ key: string; lastModified?: Date }>> {
    const keys: Array<{ key: string; lastModified?: Date }> = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}${folder}/`, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push({ key: object.Key, lastModified: object.LastModified });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** Removes uploads a crashed process left staged (run at start-up); returns how many. */
  async sweepStaging(olderThanMs = STAGING_MAX_AGE_MS): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    const stale = (await this.list('staging')).filter((object) => object.lastModified && object.lastModified.getTime() < cutoff);
    for (const object of stale) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.key }));
    return stale.length;
  }

  destroy(): void {
    this.client.destroy();
  }
}

class S3StagedBlob extends StagedUpload {
  constructor(
    private readonly store: S3BlobStore,
    uploadId: string,
    sha256: string,
    size: number,
    mediaType: AcceptedMediaType,
  ) {
    super(uploadId, sha256, size, mediaType);
  }

  protected async keep(): Promise<void> {
    // Same bytes, same key: a concurrent commit of the same content writes identical bytes, so the race is harmless.
    if (!(await this.store.has(this.sha256))) {
      const source = this.store.stagingKey(this.uploadId);
      await this.store.client.send(
        new CopyObjectCommand({
          Bucket: this.store.bucket,
          Key: this.store.contentKey(this.sha256),
          CopySource: `${this.store.bucket}/${source.split('/').map(encodeURIComponent).join('/')}`,
        }),
      );
    }
    await this.store.client.send(new DeleteObjectCommand({ Bucket: this.store.bucket, Key: this.store.stagingKey(this.uploadId) }));
  }

  protected async forget(): Promise<void> {
    await this.store.client.send(new DeleteObjectCommand({ Bucket: this.store.bucket, Key: this.store.stagingKey(this.uploadId) }));
  }
}
