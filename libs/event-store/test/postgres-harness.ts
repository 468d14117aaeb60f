import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { openDataSource, PostgresEventStore } from '../src';
import type { StoreHarness } from './event-store.contract';

/** A harness over a fresh PGlite instance, or a fresh schema of the server at `databaseUrl`. */
export async function postgresHarness(databaseUrl?: string): Promise<StoreHarness> {
  const schema = databaseUrl ? `es_contract_${randomBytes(4).toString('hex')}` : undefined;
  const dataSource: DataSource = await openDataSource({ databaseUrl, schema });
  const store = new PostgresEventStore(dataSource);
  const server = databaseUrl !== undefined;
  return {
    store,
    otherInstance: () => new PostgresEventStore(dataSource),
    readModel: dataSource,
    concurrentTransactions: server,
    transaction: async (work) => {
      const result = await dataSource.transaction((manager) =>
        work((streamId, events, options) => store.appendToStream(streamId, events, { ...options, manager })),
      );
      store.notify();
      return result;
    },
    openTransaction: server
      ? async () => {
          const runner = dataSource.createQueryRunner();
          await runner.connect();
          await runner.startTransaction();
          const end = async (sql: 'commit' | 'rollback') => {
            if (runner.isReleased) return;
            try {
              if (runner.isTransactionActive) await (sql === 'commit' ? runner.commitTransaction() : runner.rollbackTransaction());
            } finally {
              await runner.release();
            }
          };
          return {
            append: (streamId, events, options) => store.appendToStream(streamId, events, { ...options, manager: runner.manager }),
            assignXid: async () => {
              await runner.query('SELECT pg_current_xact_id()');
            },
            commit: () => end('commit'),
            rollback: () => end('rollback'),
          };
        }
      : undefined,
    tamper: {
      editData: async (eventId) => {
        await dataSource.query(`UPDATE es_events SET data = jsonb_set(data, '{n}', '999') WHERE event_id = $1`, [eventId]);
      },
      delete: async (eventId) => {
        await dataSource.query('DELETE FROM es_events WHERE event_id = $1', [eventId]);
      },
      swap: async (a, b) => {
        await dataSource.transaction(async (m) => {
          const rows: Array<{ event_id: string; stream_version: string }> = await m.query(
            'SELECT event_id::text AS event_id, stream_version FROM es_events WHERE event_id IN ($1, $2)',
            [a, b],
          );
          const va = rows.find((r) => r.event_id === a)!.stream_version;
          const vb = rows.find((r) => r.event_id === b)!.stream_version;
          await m.query('UPDATE es_events SET stream_version = -1 WHERE event_id = $1', [a]);
          await m.query('UPDATE es_events SET stream_version = $2 WHERE event_id = $1', [b, va]);
          await m.query('UPDATE es_events SET stream_version = $2 WHERE event_id = $1', [a, vb]);
        });
      },
    },
    killSessionsRunning: server
      ? async (fragment) => {
          const rows: unknown[] = await dataSource.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%' AND query NOT LIKE '%pg_terminate_backend%'`,
            [fragment],
          );
          return rows.length;
        }
      : undefined,
    close: async () => {
      if (schema) await dataSource.query(`DROP SCHEMA ${schema} CASCADE`);
      await dataSource.destroy();
    },
  };
}
