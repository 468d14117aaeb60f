import { randomUUID } from 'node:crypto';
import type { Clock, IdGenerator } from './event-store.port';

/** The production clock: the only place the system time is read. */
export const systemClock: Clock = { now: () => new Date() };

/** The production id source: random v4 UUIDs. */
export const uuidGenerator: IdGenerator = { next: () => randomUUID() };

/** A clock that moves only when told to, for deterministic tests. */
export class FixedClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(instant: Date | string): void {
    this.current = new Date(instant);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Deterministic UUID-shaped ids: 00000000-0000-4000-8000-<counter>. */
export class SequentialIds implements IdGenerator {
  private counter = 0;
  constructor(private readonly prefix = '00000000') {}
  next(): string {
    this.counter += 1;
    return `${this.prefix}-0000-4000-8000-${this.counter.toString(16).padStart(12, '0')}`;
  }
}
