import type { MigrationInterface } from 'typeorm';
import { BlobStore1764000001500 } from '@app/blob-store';
import { eventStoreMigrations } from '@app/event-store';
import { Idempotency1764000000100 } from '@app/http';
import { MessagingOutbox1764000000600 } from '@app/messaging';

export type MigrationClass = new () => MigrationInterface;

/** The libraries' tables every process needs: the event log, idempotency keys, the outbox, document bytes. */
export const libraryMigrations: MigrationClass[] = [
  ...eventStoreMigrations,
  Idempotency1764000000100,
  MessagingOutbox1764000000600,
  BlobStore1764000001500,
];

/** The timestamp a migration class's name ends with (TypeORM's convention). */
function timestampOf(migration: MigrationClass): number {
  const match = /(\d{13})$/.exec(migration.name);
  if (!match) throw new Error(`migration class ${migration.name} does not end with a 13-digit timestamp`);
  return Number(match[1]);
}

/**
 * The libraries' migrations and the given contexts', in timestamp order. A service runs its own
 * context's with the libraries'; the platform runs every context's. Contexts own disjoint tables,
 * so any subset applied in this order leaves a schema the full list would also have produced.
 */
export function migrationsWith(...contexts: MigrationClass[][]): MigrationClass[] {
  const all = [...libraryMigrations, ...contexts.flat()];
  return [...new Set(all)].sort((a, b) => timestampOf(a) - timestampOf(b));
}
