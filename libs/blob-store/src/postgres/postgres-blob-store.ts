import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import type { AcceptedMediaType, BlobStore, StagedBlob } from '../blob-store.port';
import { blobNotFound, SHA256_HEX, StagedUpload, streamIntoStaging, type StagingSink } from '../staging';

/** Bytes per row: big enough to keep the row count low, small enough that no statement holds a whole file. */
export const BLOB_CHUNK_BYTES = 256 * 1024;

/** Staged uploads older than this were left by a crashed process (an upload takes seconds, not an hour). */
export const STAGING_MAX_AGE_MS = 3_600_000;

/**
 * Chunks cross the driver as base64 text, encoded and decoded natively on both sides: PGlite turns a
 * bytea parameter or value into hex text in JavaScript, byte by byte (20 MB took 20 s; base64, under 2 s).
 */
const BASE64_INSERT = `INSERT INTO blob_staging (upload_id, seq, data) VALUES ($1, $2, decode($3, 'base64'))`;
const BASE64_SELECT = `SELECT encode(data, 'base64') AS data FROM blob_chunks WHERE sha256 = $1 AND seq = $2`;

/**
 * Content-addressed bytes in the event store's database (PGlite or a PostgreSQL server). An upload
 * is written chunk by chunk, each in its own short statement (PGlite has one session: a transaction
 * held open while the client's request trickles in would stall every other request), and moved
 * to the content-addressed tables in one short transaction when committed.
 */
export class PostgresBlobStore implements BlobStore {
  constructor(private readonly dataSource: DataSource) {}

  async stage(source: NodeJS.ReadableStream, options: { maxBytes: number }): Promise<StagedBlob> {
    const uploadId = randomUUID();
    const content = await streamIntoStaging(source, options.maxBytes, this.sink(uploadId));
    return new PostgresStagedBlob(this.dataSource, uploadId, content.sha256, content.size, content.mediaType);
  }

  async open(sha256: string): Promise<{ size: number; stream: NodeJS.ReadableStream }> {
    if (!SHA256_HEX.test(sha256)) throw blobNotFound(sha256);
    const rows: Array<{ size: string; chunks: number }> = await this.dataSource.query(
      'SELECT size, chunks FROM blob_contents WHERE sha256 = $1',
      [sha256],
    );
    const row = rows[0];
    if (!row) throw blobNotFound(sha256);
    const dataSource = this.dataSource;
    // One short query per chunk, pulled as the consumer reads: a slow download holds no session.
    async function* chunks() {
      for (let seq = 0; seq < row!.chunks; seq++) {
        const found: Array<{ data: string }> = await dataSource.query(BASE64_SELECT, [sha256, seq]);
        if (!found[0]) throw new Error(`blob ${sha256} lacks chunk ${seq}`);
        yield Buffer.from(found[0].data, 'base64');
      }
    }
    return { size: Number(row.size), stream: Readable.from(chunks(), { objectMode: false }) };
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    const rows: unknown[] = await this.dataSource.query('SELECT 1 FROM blob_contents WHERE sha256 = $1', [sha256]);
    return rows.length > 0;
  }

  /** Removes uploads a crashed process left staged (run at start-up); returns how many. */
  async sweepStaging(olderThanMs = STAGING_MAX_AGE_MS): Promise<number> {
    // A CTE so the driver answers rows (TypeORM answers a bare DELETE with [rows, count]).
    const rows: Array<{ uploads: number }> = await this.dataSource.query(
      `WITH swept AS (
         DELETE FROM blob_staging WHERE upload_id IN (
           SELECT upload_id FROM blob_staging GROUP BY upload_id HAVING max(created_at) < now() - make_interval(secs => $1)
         ) RETURNING upload_id
       ) SELECT count(DISTINCT upload_id)::int AS uploads FROM swept`,
      [olderThanMs / 1000],
    );
    return rows[0]?.uploads ?? 0;
  }

  private sink(uploadId: string): StagingSink {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let seq = 0;
    const insert = async (data: Buffer) => {
      await this.dataSource.query(BASE64_INSERT, [uploadId, seq++, data.toString('base64')]);
    };
    return {
      write: async (chunk) => {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes < BLOB_CHUNK_BYTES) return;
        const joined = Buffer.concat(pending, pendingBytes);
        let offset = 0;
        for (; joined.length - offset >= BLOB_CHUNK_BYTES; offset += BLOB_CHUNK_BYTES)
          await insert(joined.subarray(offset, offset + BLOB_CHUNK_BYTES));
        pending = offset < joined.length ? [joined.subarray(offset)] : [];
        pendingBytes = joined.length - offset;
      },
      end: async () => {
        if (pendingBytes > 0) await insert(Buffer.concat(pending, pendingBytes));
        pending = [];
        pendingBytes = 0;
      },
      abort: async () => {
        pending = [];
        await this.dataSource.query('DELETE FROM blob_staging WHERE upload_id = $1', [uploadId]);
      },
    };
  }
}

class PostgresStagedBlob extends StagedUpload {
  constructor(
    private readonly dataSource: DataSource,
    uploadId: string,
    sha256: string,
    size: number,
    mediaType: AcceptedMediaType,
  ) {
    super(uploadId, sha256, size, mediaType);
  }

  protected async keep(): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      // Two uploads of the same bytes may commit at once: the second waits on the first's key, then does nothing.
      const inserted: unknown[] = await manager.query(
        `INSERT INTO blob_contents (sha256, size, media_type, chunks)
         SELECT $1::text, $2::bigint, $3::text, count(*) FROM blob_staging WHERE upload_id = $4::uuid
         HAVING coalesce(sum(length(data)), 0) = $2::bigint
         ON CONFLICT (sha256) DO NOTHING RETURNING sha256`,
        [this.sha256, this.size, this.mediaType, this.uploadId],
      );
      if (inserted.length > 0) {
        await manager.query('INSERT INTO blob_chunks (sha256, seq, data) SELECT $1, seq, data FROM blob_staging WHERE upload_id = $2', [
          this.sha256,
          this.uploadId,
        ]);
      } else {
        const stored: unknown[] = await manager.query('SELECT 1 FROM blob_contents WHERE sha256 = $1', [this.sha256]);
        // Neither stored before nor staged in full: the staging rows were swept (a process started after an hour).
        if (stored.length === 0) throw new Error(`upload ${this.uploadId} is no longer staged; upload the file again`);
      }
      await manager.query('DELETE FROM blob_staging WHERE upload_id = $1', [this.uploadId]);
    });
  }

  protected async forget(): Promise<void> {
    await this.dataSource.query('DELETE FROM blob_staging WHERE upload_id = $1', [this.uploadId]);
  }
}
