import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import {
  ADJUDICABLE_KINDS,
  adverseEventStream,
  caseStream,
  proceduresStream,
  trialStream,
  type AdverseEventEvent,
  type CaseOpened,
  type IndexProcedureSummary,
  type ProcedureRecorded,
} from '@app/contracts';
import { DATA_SOURCE, DurableSubscription, EVENT_STORE, SubscribedService, executeCommand, loadState, type EventMetadata, type EventStore, type RecordedEvent } from '@app/event-store';
import { adverseEventDecider } from '../../../adverse-events/src/application/adverse-events.handlers';
import type { AdverseEventState } from '../../../adverse-events/src/domain/adverse-event.decider';
import { trialDecider } from '../../../enrollment/src/application/enrollment.handlers';
import { caseDecider } from '../application/case-decider';

export const DEFAULT_CHARTER_VERSION = 'default-1';

/** What the case opener needs of a change to an adverse-event stream. */
export interface AdverseEventChange {
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  data: unknown;
  recordedAt: string;
  correlationId?: string;
}
const SYSTEM_ACTOR = { userId: 'system:adjudication', name: 'CEC case opener', roles: [] };

/**
 * Opens a CEC case for every reported amputation, TVR or death and brings a case up to date
 * when its adverse event is corrected or retracted (reopening a finalized one). A checkpointed
 * subscription to the global log; each step is idempotent (case streams record the source
 * version they reflect), so a batch delivered again after a crash changes nothing.
 */
@Injectable()
export class CaseOpener extends SubscribedService {
  private readonly logger = new Logger(CaseOpener.name);
  readonly subscription: DurableSubscription;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATA_SOURCE) dataSource: DataSource,
  ) {
    super();
    this.subscription = new DurableSubscription({
      name: 'adjudication.case-opener',
      store,
      dataSource,
      delivery: 'idempotent',
      pollIntervalMs: 100,
      handler: (events) => this.handle(events),
      onError: (error) => this.logger.error(error),
    });
  }

  /**
   * Set before bootstrap when the adverse events arrive from Kafka instead (the distributed
   * deployment, KafkaCaseFeed): the subscription to the shared log then stays idle.
   */
  fedExternally = false;

  override onApplicationBootstrap(): void {
    if (!this.fedExternally) super.onApplicationBootstrap();
  }

  private async handle(events: RecordedEvent[]): Promise<void> {
    for (const event of events) {
      await this.react({ ...event, correlationId: event.metadata.correlationId });
    }
  }

  /**
   * Opens or updates the case of one adverse-event stream change: from the shared log or from an
   * integration event (same fields). Idempotent: a case records the source version it reflects.
   */
  async react(event: AdverseEventChange): Promise<void> {
    if (!event.streamId.startsWith('adverse-event/')) return;
    const data = event.data as { trialId: string; eventId: string; reason?: string };
    const source = await this.sourceAt(data.trialId, data.eventId, event.streamVersion);
    if (source.status === 'absent') return;
    const metadata: EventMetadata = { actor: SYSTEM_ACTOR, causationId: event.eventId, correlationId: event.correlationId };
    const stream = caseStream(data.trialId, data.eventId);
    const { state: existing } = await loadState(this.store, stream, caseDecider);
    if (existing.status === 'absent') {
      if (source.status !== 'reported' || !ADJUDICABLE_KINDS.includes(source.report.kind)) return;
      const opened = await this.caseFor(source, event);
      await executeCommand(this.store, stream, caseDecider, { type: 'OpenCase', data: opened }, { metadata });
      return;
    }
    if (event.type === 'AdverseEventReported') return;
    await executeCommand(
      this.store,
      stream,
      caseDecider,
      {
        type: 'UpdateSourceReport',
        data: { report: source.report, sourceVersion: event.streamVersion, change: event.type === 'AdverseEventRetracted' ? 'retraction' : 'correction', reason: data.reason ?? '' },
      },
      { metadata },
    );
  }

  /** The adverse event as it stood right after the event being handled. */
  private async sourceAt(trialId: string, eventId: string, version: number): Promise<AdverseEventState> {
    const { events } = await this.store.readStream(adverseEventStream(trialId, eventId), { maxCount: version });
    return events.reduce<AdverseEventState>(
      (state, e) => adverseEventDecider.evolve(state, { type: e.type, data: e.data } as AdverseEventEvent),
      adverseEventDecider.initialState(),
    );
  }

  private async caseFor(source: Exclude<AdverseEventState, { status: 'absent' }>, event: AdverseEventChange): Promise<CaseOpened> {
    const { state: trial } = await loadState(this.store, trialStream(source.trialId), trialDecider);
    const charterVersion = (trial.status === 'registered' ? trial.charters[trial.charters.length - 1]?.version : undefined) ?? DEFAULT_CHARTER_VERSION;
    const indexProcedure = await this.indexProcedure(source.trialId, source.patientId);
    return {
      trialId: source.trialId,
      caseId: source.eventId,
      eventId: source.eventId,
      patientId: source.patientId,
      siteId: source.siteId,
      charterVersion,
      report: source.report,
      sourceVersion: event.streamVersion,
      reportedAt: event.recordedAt,
      ...(indexProcedure ? { indexProcedure } : {}),
    };
  }

  /** What the dossier may show of the index procedure: date, limb, lesions; never the device. */
  private async indexProcedure(trialId: string, patientId: string): Promise<IndexProcedureSummary | undefined> {
    const { events } = await this.store.readStream(proceduresStream(trialId, patientId));
    const index = events.map((e) => e.data as ProcedureRecorded).find((p) => p.index);
    return index ? { performedOn: index.performedOn, limb: index.limb, lesions: index.lesions.map(({ segment, lengthMm, occlusion }) => ({ segment, lengthMm, occlusion })) } : undefined;
  }
}
