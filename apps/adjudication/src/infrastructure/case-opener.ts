import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import {
  adverseEventStream,
  caseStream,
  evolveTrialFacts,
  parseStreamId,
  proceduresStream,
  trialStream,
  type AdverseEventEvent,
  type ProcedureEvent,
  type TrialEvent,
  type TrialFacts,
} from '@app/contracts';
import {
  DATA_SOURCE,
  DurableSubscription,
  EVENT_STORE,
  SubscribedService,
  executeCommand,
  loadState,
  readStreamUpTo,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
} from '@app/event-store';
import { caseDecider } from '../domain/case.decider';
import { caseOpenedFrom, evolveSourceReport, indexProcedureSummary, opensCase, type SourceReport } from '../domain/source-report';

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

  /**
   * Resolves once every adverse-event change committed before the call is reflected in the cases
   * (true), or after `timeoutMs` (false; at once when Kafka feeds the opener instead).
   */
  caughtUp(timeoutMs?: number): Promise<boolean> {
    return this.subscription.caughtUp(timeoutMs);
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
    const changed = parseStreamId(event.streamId);
    if (changed?.family !== 'adverse-event') return;
    const source = await this.sourceAt(changed.trialId, changed.entityId, event.streamVersion);
    const caseId = source?.caseId;
    if (!source || !caseId) return;
    const metadata: EventMetadata = { actor: SYSTEM_ACTOR, causationId: event.eventId, correlationId: event.correlationId };
    const stream = caseStream(source.trialId, caseId);
    const { state: existing } = await loadState(this.store, stream, caseDecider);
    if (existing.status === 'absent') {
      if (!opensCase(source)) return;
      const opened = caseOpenedFrom(source, caseId, {
        sourceVersion: event.streamVersion,
        reportedAt: event.recordedAt,
        charterVersion: (await this.trial(source.trialId))?.charterVersion,
        indexProcedure: await this.indexProcedure(source.trialId, source.patientId),
      });
      await executeCommand(this.store, stream, caseDecider, { type: 'OpenCase', data: opened }, { metadata });
      return;
    }
    // Only a correction or retraction changes the report a case follows: a document attached to the
    // event is released to the dossier by the coordinator, and must never reopen a finalized case.
    if (event.type !== 'AdverseEventCorrected' && event.type !== 'AdverseEventRetracted') return;
    const reason = (event.data as { reason?: string }).reason ?? '';
    await executeCommand(
      this.store,
      stream,
      caseDecider,
      {
        type: 'UpdateSourceReport',
        data: {
          report: source.report,
          sourceVersion: event.streamVersion,
          change: event.type === 'AdverseEventRetracted' ? 'retraction' : 'correction',
          reason,
        },
      },
      { metadata },
    );
  }

  /** The adverse event as it stands now, with the source documents attached to it (folded from its published events). */
  source(trialId: string, eventId: string): Promise<SourceReport | undefined> {
    return this.sourceAt(trialId, eventId);
  }

  /** The adverse event as it stood right after the change being handled (or now). */
  private async sourceAt(trialId: string, eventId: string, version?: number): Promise<SourceReport | undefined> {
    const stream = adverseEventStream(trialId, eventId);
    // A change this process made itself is usually still kept: no read.
    const events = version === undefined ? (await this.store.readStream(stream)).events : await readStreamUpTo(this.store, stream, version);
    return events.reduce<SourceReport | undefined>(
      (state, e) => evolveSourceReport(state, { type: e.type, data: e.data } as AdverseEventEvent),
      undefined,
    );
  }

  /** Enrollment's published facts of the trial (its charter in force), folded from the trial stream. */
  private async trial(trialId: string): Promise<TrialFacts | undefined> {
    const { events } = await this.store.readStream(trialStream(trialId));
    return events.reduce<TrialFacts | undefined>(
      (state, e) => evolveTrialFacts(state, { type: e.type, data: e.data } as TrialEvent),
      undefined,
    );
  }

  private async indexProcedure(trialId: string, patientId: string) {
    const { events } = await this.store.readStream(proceduresStream(trialId, patientId));
    return indexProcedureSummary(events.map((e) => ({ type: e.type, data: e.data }) as ProcedureEvent));
  }
}
