import { Inject, Logger } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { DataSource } from 'typeorm';
import { readTrialLog } from '@app/audit';
import { DomainError, dataCutsStream, type DataCutDocument, type DataCutFrozen } from '@app/contracts';
import { DATA_SOURCE, EVENT_STORE, type EventStore } from '@app/event-store';
import { dataCutContent, parametersOf, type CutLogEvent, type DataCutContent, type DataCutParameters } from '../domain/data-cut-content';
import { renderDataCutDocuments, sha256 } from '../domain/data-cut-report';

/**
 * The data cuts of a trial (api.md "Data cuts"): the frozen cuts, read from their stream, and a
 * cut's documents, derived again from the trial's log up to the cut's position by the same pure
 * code `trialctl cut` runs on an export. The log prefix never changes, so neither do the bytes; a
 * few recently read cuts are kept rendered in memory.
 */

/** A frozen cut as listed: the event's data, when and by whom it was frozen. */
export interface DataCutView extends DataCutFrozen {
  frozenAt: string;
  frozenBy: { userId: string; name: string } | null;
  eventPosition: number;
}

export class GetDataCuts {
  constructor(readonly trialId: string) {}
}

@QueryHandler(GetDataCuts)
export class GetDataCutsHandler implements IQueryHandler<GetDataCuts, DataCutView[]> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ trialId }: GetDataCuts): Promise<DataCutView[]> {
    const { events } = await this.store.readStream(dataCutsStream(trialId));
    return events
      .filter((e) => e.type === 'DataCutFrozen')
      .map((e) => {
        const actor = e.metadata.actor;
        return {
          ...(e.data as DataCutFrozen),
          frozenAt: new Date(e.recordedAt).toISOString(),
          frozenBy: actor ? { userId: actor.userId, name: actor.name } : null,
          eventPosition: e.globalPosition,
        };
      });
  }
}

/** The trial's log in delivery order up to and including the event at `position` (the export's order). */
export async function trialLogUpTo(store: EventStore, trialId: string, position: number): Promise<CutLogEvent[]> {
  const events: CutLogEvent[] = [];
  for await (const page of readTrialLog(store, trialId)) {
    for (const e of page) {
      events.push(e);
      if (e.globalPosition === position) return events;
    }
  }
  return events;
}

/** The content of a cut with the given parameters, from the store's log. */
export async function dataCutContentFromStore(store: EventStore, cut: DataCutParameters): Promise<DataCutContent> {
  return dataCutContent(await trialLogUpTo(store, cut.trialId, cut.position), cut);
}

export interface DataCutDocuments {
  cut: DataCutView;
  documents: Record<DataCutDocument, Buffer>;
  /** Documents whose bytes differ from the hash frozen in DataCutFrozen (should be none, ever). */
  mismatches: DataCutDocument[];
}

export class GetDataCutDocuments {
  constructor(
    readonly trialId: string,
    readonly dataCutId: string,
  ) {}
}

const CACHED_CUTS = 8;

@QueryHandler(GetDataCutDocuments)
export class GetDataCutDocumentsHandler implements IQueryHandler<GetDataCutDocuments, DataCutDocuments> {
  private readonly logger = new Logger('DataCuts');
  private readonly rendered = new Map<string, Promise<Record<DataCutDocument, Buffer>>>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly cuts: GetDataCutsHandler,
  ) {}

  async execute({ trialId, dataCutId }: GetDataCutDocuments): Promise<DataCutDocuments> {
    const cut = (await this.cuts.execute(new GetDataCuts(trialId))).find((c) => c.dataCutId === dataCutId);
    if (!cut) throw new DomainError('DATA_CUT_NOT_FOUND', `trial ${trialId} has no data cut ${dataCutId}`, 'not_found');
    const key = `${trialId}\u0000${dataCutId}`;
    let documents = this.rendered.get(key);
    if (!documents) {
      documents = dataCutContentFromStore(this.store, parametersOf(cut)).then(renderDataCutDocuments);
      this.rendered.set(key, documents);
      documents.catch(() => this.rendered.delete(key));
      if (this.rendered.size > CACHED_CUTS) this.rendered.delete(this.rendered.keys().next().value as string);
    }
    const bytes = await documents;
    const mismatches = (Object.keys(cut.hashes) as DataCutDocument[]).filter((name) => sha256(bytes[name]) !== cut.hashes[name]);
    if (mismatches.length > 0)
      this.logger.error(`data cut ${trialId}/${dataCutId}: ${mismatches.join(', ')} differ from the frozen hashes`);
    return { cut, documents: bytes, mismatches };
  }
}

/**
 * The global position of the trial's last event delivered up to the event at `position` (of any
 * trial): the knowledge a cut at `position` fixes, named by one of the trial's own events so that
 * its export alone re-derives it. Undefined when `position` is not delivered yet.
 */
export class GetTrialPositionAt {
  constructor(
    readonly trialId: string,
    readonly position: number,
  ) {}
}

@QueryHandler(GetTrialPositionAt)
export class GetTrialPositionAtHandler implements IQueryHandler<GetTrialPositionAt, number | undefined> {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  async execute({ trialId, position }: GetTrialPositionAt): Promise<number | undefined> {
    const [row] = await this.dataSource.query<Array<{ global_position: string | number }>>(
      `SELECT k.global_position FROM rpt_knowledge k
        WHERE k.trial_id = $1 AND k.seq <= (SELECT seq FROM rpt_knowledge WHERE global_position = $2)
        ORDER BY k.seq DESC LIMIT 1`,
      [trialId, position],
    );
    return row ? Number(row.global_position) : undefined;
  }
}
