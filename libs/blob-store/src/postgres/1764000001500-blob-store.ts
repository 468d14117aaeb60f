import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Content-addressed file bytes (the CEC dossier's source documents), in chunks so that neither a
 * write nor a read holds a whole 20 MB value in one statement. An upload is written to
 * blob_staging under its own id as it arrives and moved to blob_chunks only when committed.
 */
export class BlobStore1764000001500 implements MigrationInterface {
  name = 'BlobStore1764000001500';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE blob_contents (
        sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size        bigint NOT NULL CHECK (size > 0),
        media_type  text NOT NULL,
        chunks      integer NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE blob_chunks (
        sha256  text NOT NULL REFERENCES blob_contents (sha256),
        seq     integer NOT NULL,
        data    bytea NOT NULL,
        PRIMARY KEY (sha256, seq)
      )`);
    await runner.query(`
      CREATE TABLE blob_staging (
        upload_id   uuid NOT NULL,
        seq         integer NOT NULL,
        data        bytea NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (upload_id, seq)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE blob_staging');
    await runner.query('DROP TABLE blob_chunks');
    await runner.query('DROP TABLE blob_contents');
  }
}
