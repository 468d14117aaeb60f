import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { DataSource, type MigrationInterface } from 'typeorm';
import { EventStore1764000000000 } from './migrations/1764000000000-event-store';
import { AppendInOneUpdate1764000000200 } from './migrations/1764000000200-append-in-one-update';
import { IdempotentAppend1764000000800 } from './migrations/1764000000800-idempotent-append';
import { AppendBatch1764000001600 } from './migrations/1764000001600-append-batch';
import { AppendGuards1764000001700 } from './migrations/1764000001700-append-guards';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock';
import { pgliteDriver } from './pglite-pool';

/** The event store's own migrations; apps append theirs (read models) after these. */
export const eventStoreMigrations: Array<new () => MigrationInterface> = [
  EventStore1764000000000,
  AppendInOneUpdate1764000000200,
  IdempotentAppend1764000000800,
  AppendBatch1764000001600,
  AppendGuards1764000001700,
];

export interface DatabaseOptions {
  /** A PostgreSQL server; absent → embedded PGlite. */
  databaseUrl?: string;
  /** PGlite data directory (`memory://` or absent → in memory). Ignored with `databaseUrl`. */
  dataDir?: string;
  /** Schema to use on a server (created if missing); isolates test suites from each other. */
  schema?: string;
  poolSize?: number;
  migrations?: Array<new () => MigrationInterface>;
}

const EMBEDDED = Symbol('embedded-pglite');

/** True for a DataSource on PGlite: one session, so transactions are serialised in-process. */
export function isEmbedded(dataSource: DataSource): boolean {
  return (dataSource as unknown as Record<symbol, unknown>)[EMBEDDED] === true;
}

/**
 * libpq's `?host=/path/to/socket/dir` in a connection URL (`postgres://user@localhost/db?host=/var/run/postgresql`):
 * the server's Unix socket instead of TCP. TypeORM reads only the URL's host name, so the directory goes to
 * the pg pool directly. On the same machine a socket costs the platform far less CPU per statement than TCP
 * on loopback, where each write runs the kernel's network stack for both ends (bench:http, README).
 */
export function unixSocketOf(databaseUrl: string): { host?: string } {
  let host: string | null;
  try {
    host = new URL(databaseUrl).searchParams.get('host');
  } catch {
    return {};
  }
  return host?.startsWith('/') ? { host } : {};
}

/**
 * Opens a TypeORM DataSource on PostgreSQL or PGlite and runs the migrations
 * (never `synchronize`).
 */
export async function openDataSource(options: DatabaseOptions): Promise<DataSource> {
  const migrations = options.migrations ?? eventStoreMigrations;
  let dataSource: DataSource;
  if (options.databaseUrl) {
    const schema = options.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
    const socket = unixSocketOf(options.databaseUrl);
    if (schema) {
      const bootstrap = new DataSource({ type: 'postgres', url: options.databaseUrl, extra: socket });
      await bootstrap.initialize();
      await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await bootstrap.destroy();
    }
    dataSource = new DataSource({
      type: 'postgres',
      url: options.databaseUrl,
      schema,
      poolSize: options.poolSize ?? 20,
      extra: { ...socket, ...(schema ? { options: `-c search_path=${schema}` } : {}) },
      migrations,
      migrationsTableName: 'typeorm_migrations',
      migrationsTransactionMode: 'each',
    });
  } else {
    const onDisk = options.dataDir && !options.dataDir.startsWith('memory://') ? options.dataDir : undefined;
    let lock: DataDirLock | undefined;
    if (onDisk) {
      mkdirSync(onDisk, { recursive: true });
      // Before PGlite touches the files: a second process on them would lose acknowledged writes.
      lock = await acquireDataDirLock(onDisk);
    }
    try {
      const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
      dataSource = new DataSource({
        type: 'postgres',
        driver: pgliteDriver(db, () => lock?.release()),
        migrations,
        migrationsTableName: 'typeorm_migrations',
        migrationsTransactionMode: 'each',
      });
    } catch (error) {
      lock?.release();
      throw error;
    }
    (dataSource as unknown as Record<symbol, unknown>)[EMBEDDED] = true;
  }
  try {
    await dataSource.initialize();
    if (isEmbedded(dataSource)) await dataSource.runMigrations();
    else await runMigrationsLocked(dataSource, options.schema ?? 'public');
  } catch (error) {
    // Closing also releases the data directory, so a caller that handles the error can open it again.
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    throw error;
  }
  return dataSource;
}

/**
 * Services of the distributed deployment start together against one server and each runs its
 * migrations: without a lock two of them race on CREATE TABLE typeorm_migrations and on the
 * same migration. A session advisory lock per schema serialises them; whoever waits then finds
 * the migrations recorded and runs only what is still pending.
 */
async function runMigrationsLocked(dataSource: DataSource, schema: string): Promise<void> {
  const runner = dataSource.createQueryRunner();
  const key = `trial-adjudication:migrations:${schema}`;
  try {
    await runner.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
    try {
      await dataSource.runMigrations();
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
    }
  } finally {
    await runner.release();
  }
}
