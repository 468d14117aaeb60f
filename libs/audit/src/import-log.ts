import type { DataSource } from 'typeorm';
import { PostgresEventStore, type RecordedEvent } from '@app/event-store';
import { buildManifest, verifyExport, type ExportManifest } from './export-format';
import { readTrialLog } from './trial-log';

export class ImportRefusedError extends Error {}

/** True when the store holds no event at all. */
export async function storeIsEmpty(dataSource: DataSource): Promise<boolean> {
  const rows = await dataSource.query<Array<{ any: boolean }>>('SELECT EXISTS (SELECT 1 FROM es_events) AS any');
  return rows[0]?.any !== true;
}

/**
 * Appends verified exported events into an EMPTY store, in export order, one transaction:
 * eventId, type, schemaVersion, data and metadata are kept, and each event is appended with a
 * clock answering its original recordedAt, so the recomputed hash chains equal the exported ones.
 * Global positions and checkpoints are the new store's own.
 */
export async function importEvents(dataSource: DataSource, events: readonly RecordedEvent[]): Promise<{ appended: number }> {
  if (!(await storeIsEmpty(dataSource)))
    throw new ImportRefusedError('the target store is not empty (es_events has rows): import only into a fresh store');
  await dataSource.transaction(async (manager) => {
    for (const event of events) {
      const store = new PostgresEventStore(dataSource, { now: () => new Date(event.recordedAt) });
      const [appended] = (
        await store.appendToStream(
          event.streamId,
          [{ eventId: event.eventId, type: event.type, schemaVersion: event.schemaVersion, data: event.data, metadata: event.metadata }],
          { expectedVersion: event.streamVersion - 1, manager },
        )
      ).events;
      if (appended?.hash !== event.hash) {
        throw new ImportRefusedError(
          `event ${event.eventId} (${event.streamId} v${event.streamVersion}) hashed to ${String(appended?.hash)} in the new store, expected ${event.hash}`,
        );
      }
    }
  });
  return { appended: events.length };
}

/** Re-reads a trial's log from a store and builds its manifest (to compare with an imported export). */
export async function manifestFromStore(
  store: PostgresEventStore,
  trialId: string,
): Promise<{ manifest: ExportManifest; events: RecordedEvent[] }> {
  const events: RecordedEvent[] = [];
  for await (const page of readTrialLog(store, trialId)) events.push(...page);
  return { manifest: buildManifest(trialId, events), events };
}

/** Verifies an export and, only if it checks out, imports it into an empty store; nothing is written otherwise. */
export async function importExport(
  dataSource: DataSource,
  lines: Iterable<string>,
): Promise<{ trialId: string; appended: number; rootHash: string }> {
  const verified = verifyExport(lines);
  if (!verified.ok) {
    throw new ImportRefusedError(
      `export does not verify: line ${verified.line}${verified.eventId ? `, event ${verified.eventId}` : ''}: ${verified.problem}`,
    );
  }
  await importEvents(dataSource, verified.events);
  const { manifest, events } = await manifestFromStore(new PostgresEventStore(dataSource), verified.trialId);
  const same =
    events.length === verified.events.length &&
    events.every((e, i) => e.eventId === verified.events[i]?.eventId && e.hash === verified.events[i]?.hash);
  if (!same || manifest.rootHash !== verified.rootHash) {
    throw new Error(
      `re-export after import differs: root ${manifest.rootHash} (${events.length} events), expected ${verified.rootHash} (${verified.count} events)`,
    );
  }
  return { trialId: verified.trialId, appended: events.length, rootHash: manifest.rootHash };
}
