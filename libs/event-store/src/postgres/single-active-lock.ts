import type { DataSource, QueryRunner } from 'typeorm';
import { isEmbedded } from './data-source';

/** Names held in-process on PGlite, where every "connection" is the same session. */
const embeddedHolders = new WeakMap<DataSource, Set<string>>();

/**
 * One active holder per name and database: a PostgreSQL session advisory lock held on a
 * connection of its own (so it ends with that session), or an in-process lock on PGlite. Durable
 * subscriptions and the outbox relay run as the single active instance through it.
 */
export class SingleActiveLock {
  private runner: QueryRunner | undefined;
  private holdsEmbedded = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly key: string,
  ) {}

  get held(): boolean {
    return this.holdsEmbedded || this.runner !== undefined;
  }

  /** The connection holding the lock on a server; undefined on PGlite or when not held. */
  get session(): QueryRunner | undefined {
    return this.runner;
  }

  /** Takes the lock if free; false while another holder has it. */
  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    if (isEmbedded(this.dataSource)) {
      let held = embeddedHolders.get(this.dataSource);
      if (!held) embeddedHolders.set(this.dataSource, (held = new Set()));
      if (held.has(this.key)) return false;
      held.add(this.key);
      this.holdsEmbedded = true;
      return true;
    }
    const runner = this.dataSource.createQueryRunner();
    try {
      const [row] = (await runner.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [this.key])) as Array<{
        locked: boolean;
      }>;
      if (row?.locked) {
        this.runner = runner;
        return true;
      }
    } catch (error) {
      await runner.release();
      throw error;
    }
    await runner.release();
    return false;
  }

  /** True when the lock's session still answers; else forgets it (the lock died with it). */
  async alive(): Promise<boolean> {
    const runner = this.runner;
    if (!runner) return this.holdsEmbedded;
    try {
      await runner.query('SELECT 1');
      return true;
    } catch {
      this.runner = undefined;
      await runner.release().catch(() => undefined);
      return false;
    }
  }

  async release(): Promise<void> {
    if (this.holdsEmbedded) {
      embeddedHolders.get(this.dataSource)?.delete(this.key);
      this.holdsEmbedded = false;
    }
    const runner = this.runner;
    if (runner) {
      this.runner = undefined;
      try {
        await runner.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.key]);
      } finally {
        await runner.release();
      }
    }
  }
}
