import { EventEmitter } from 'node:events';
import type { PGlite, Results } from '@electric-sql/pglite';

type Release = (error?: unknown) => void;
type ConnectCallback = (error: Error | null, client: PGliteClient | null, release: Release) => void;

/** The result shape TypeORM's postgres driver reads from `pg`. */
interface PgLikeResult {
  rows: unknown[];
  rowCount: number;
  command?: string;
  fields: Results['fields'];
}

/**
 * One PGlite session handed to TypeORM as a `pg` client. PGlite has a single session, so the
 * pool lends it to one query runner at a time: a transaction is never interleaved with
 * statements of another (the behaviour of a `pg` pool of size 1).
 */
class PGliteClient extends EventEmitter {
  constructor(private readonly db: PGlite) {
    super();
  }

  async query(text: string, params?: unknown[]): Promise<PgLikeResult> {
    if (params && params.length > 0) {
      const result = await this.db.query(text, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, fields: result.fields };
    }
    // Without parameters the text may hold several statements (migrations); TypeORM wants the last result.
    const results = await this.db.exec(text);
    const last = results[results.length - 1];
    return { rows: last?.rows ?? [], rowCount: last?.affectedRows ?? 0, fields: last?.fields ?? [] };
  }
}

/**
 * A `pg`-compatible module whose Pool serialises access to one PGlite instance. `onClosed` runs
 * once PGlite has closed (DataSource.destroy ends the pool): the data directory is free then.
 */
export function pgliteDriver(db: PGlite, onClosed: () => void = () => undefined): { Pool: new () => EventEmitter } {
  const client = new PGliteClient(db);
  const waiters: Array<() => void> = [];
  let busy = false;

  const acquire = (): Promise<void> =>
    new Promise((resolve) => {
      if (!busy) {
        busy = true;
        resolve();
      } else {
        waiters.push(resolve);
      }
    });
  const release = (): void => {
    const next = waiters.shift();
    if (next) next();
    else busy = false;
  };

  class PGlitePool extends EventEmitter {
    connect(callback: ConnectCallback): void {
      void acquire().then(() => {
        let released = false;
        callback(null, client, () => {
          // A runner may release twice (error path, then release()); hand the session back once.
          if (released) return;
          released = true;
          release();
        });
      });
    }

    end(callback?: (error?: Error) => void): void {
      db.close()
        .finally(onClosed)
        .then(
          () => callback?.(),
          (error: Error) => callback?.(error),
        );
    }
  }
  return { Pool: PGlitePool };
}
