import { isTrialStream } from '@app/contracts';
import { untilVisible, type EventStore, type RecordedEvent } from '@app/event-store';

export { isTrialStream };

/**
 * The trial's events in the store's delivery order, page by page (`readAll`), starting after
 * `after` (exclusive). Yields whole pages so that callers can write or stop per page.
 */
export async function* readTrialLog(
  store: EventStore,
  trialId: string,
  options: { after?: string; pageSize?: number } = {},
): AsyncGenerator<RecordedEvent[]> {
  // An auditor reading right after a command sees it: wait until what was committed before is readable.
  await untilVisible(store);
  let after = options.after;
  const maxCount = options.pageSize ?? 1000;
  for (;;) {
    const page = await store.readAll({ ...(after !== undefined ? { after } : {}), maxCount });
    if (page.events.length === 0) return;
    const mine = page.events.filter((event) => isTrialStream(event.streamId, trialId));
    if (mine.length > 0) yield mine;
    after = page.checkpoint;
    if (page.events.length < maxCount) return;
  }
}

export interface AuditItem {
  position: number;
  checkpoint: string;
  streamId: string;
  streamVersion: number;
  eventId: string;
  type: string;
  recordedAt: string;
  who: { userId: string; name: string; roles: string[] } | null;
  why: string | null;
  what: unknown;
  changes: unknown[] | null;
  correlationId: string | null;
}

/** One audit-trail entry: who, when (UTC), what, why, and the previous values of a correction. */
export function toAuditItem(event: RecordedEvent): AuditItem {
  const actor = event.metadata.actor;
  const data = event.data;
  const changes =
    typeof data === 'object' && data !== null && Array.isArray((data as { changes?: unknown }).changes)
      ? (data as { changes: unknown[] }).changes
      : null;
  return {
    position: event.globalPosition,
    checkpoint: event.checkpoint,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    eventId: event.eventId,
    type: event.type,
    recordedAt: new Date(event.recordedAt).toISOString(),
    who: actor ? { userId: actor.userId, name: actor.name, roles: [...actor.roles] } : null,
    why: typeof event.metadata.reason === 'string' ? event.metadata.reason : null,
    what: data,
    changes,
    correlationId: typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : null,
  };
}

export interface AuditFilter {
  streamId?: string;
  actor?: string;
  type?: string;
  /** Inclusive, epoch ms. */
  from?: number;
  /** Inclusive, epoch ms. */
  to?: number;
}

/** True when the event passes every given filter; `from`/`to` bound `recordedAt`, both inclusive. */
export function matchesAuditFilter(event: RecordedEvent, filter: AuditFilter): boolean {
  if (filter.streamId !== undefined && event.streamId !== filter.streamId) return false;
  if (filter.type !== undefined && event.type !== filter.type) return false;
  if (filter.actor !== undefined && event.metadata.actor?.userId !== filter.actor) return false;
  if (filter.from !== undefined || filter.to !== undefined) {
    const at = Date.parse(event.recordedAt);
    if (filter.from !== undefined && at < filter.from) return false;
    if (filter.to !== undefined && at > filter.to) return false;
  }
  return true;
}

export interface AuditPage {
  items: AuditItem[];
  next?: string;
}

/** A page of the filtered trial log; `next` (a checkpoint) is present only when more items follow. */
export async function auditPage(
  store: EventStore,
  trialId: string,
  filter: AuditFilter,
  options: { after?: string; limit: number },
): Promise<AuditPage> {
  const found: RecordedEvent[] = [];
  for await (const page of readTrialLog(store, trialId, options.after !== undefined ? { after: options.after } : {})) {
    for (const event of page) {
      if (!matchesAuditFilter(event, filter)) continue;
      found.push(event);
      if (found.length > options.limit) {
        const items = found.slice(0, options.limit);
        return { items: items.map(toAuditItem), next: items[items.length - 1]!.checkpoint };
      }
    }
  }
  return { items: found.map(toAuditItem) };
}
