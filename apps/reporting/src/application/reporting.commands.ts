import { Inject } from '@nestjs/common';
import { CommandHandler, QueryBus, type ICommandHandler } from '@nestjs/cqrs';
import type { Principal } from '@app/auth';
import { DomainError, dataCutsStream, unblindingStream, type DataCutFrozen, type FreezeDataCutBody } from '@app/contracts';
import { EVENT_STORE, executeCommand, type EventStore } from '@app/event-store';
import { commandOptions, commandResult, type CommandContext, type CommandResult } from '@app/http';
import type { DataCutParameters } from '../domain/data-cut-content';
import { dataCutDecider } from '../domain/data-cut.decider';
import { dataCutHashes } from '../domain/data-cut-report';
import type { ReportInput } from '../domain/endpoint-report';
import { GetTrialPositionAt, dataCutContentFromStore, trialLogUpTo } from '../read-models/data-cuts';
import { GetReportInput } from '../read-models/history';
import type { ReportQuery } from '../domain/history-snapshot';

/** Records who saw results broken down by arm, when and with which parameters (ICH E6(R3) 3.16.1(g)). */
export class RecordUnblindedView {
  constructor(
    readonly trialId: string,
    readonly principal: Principal,
    readonly query: ReportQuery,
    readonly input: ReportInput,
    /** What was seen: `endpoint report`, `curve {endpointId}`. */
    readonly what: string,
  ) {}
}

@CommandHandler(RecordUnblindedView)
export class RecordUnblindedViewHandler implements ICommandHandler<RecordUnblindedView, void> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ trialId, principal, query, input, what }: RecordUnblindedView): Promise<void> {
    await this.store.appendToStream(unblindingStream(trialId), [
      {
        type: 'UnblindedResultsViewed',
        data: { trialId, what, parameters: { ...query, cutoff: input.cutoff }, asOf: input.asOf, charterVersion: input.charter.version },
        metadata: { actor: { userId: principal.userId, name: principal.name, roles: principal.roles }, reason: 'unblinded report by arm' },
      },
    ]);
  }
}

/** Freezes a data cut (api.md "Data cuts"): fixes its knowledge position, derives its documents and records their hashes. */
export class FreezeDataCut {
  constructor(
    readonly trialId: string,
    readonly body: FreezeDataCutBody,
    readonly context: CommandContext,
  ) {}
}

/** The answer to a freeze: the command answer and the cut as frozen. */
export interface FreezeDataCutResult extends CommandResult {
  dataCut: DataCutFrozen;
}

@CommandHandler(FreezeDataCut)
export class FreezeDataCutHandler implements ICommandHandler<FreezeDataCut, FreezeDataCutResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly queries: QueryBus,
  ) {}

  async execute({ trialId, body, context }: FreezeDataCut): Promise<FreezeDataCutResult> {
    const position =
      body.asOfPosition === undefined ? await this.latestPosition(trialId) : await this.positionAt(trialId, body.asOfPosition);
    const parameters: DataCutParameters = {
      trialId,
      dataCutId: body.dataCutId,
      cutoff: body.cutoff,
      position,
      note: body.note,
      ...(body.replaces !== undefined ? { replaces: body.replaces } : {}),
    };
    const content = await dataCutContentFromStore(this.store, parameters);
    const data: DataCutFrozen = {
      ...parameters,
      knownAt: content.cut.knownAt,
      charterVersion: content.charter.version,
      censoring: content.charter.censoring,
      hashes: await dataCutHashes(content),
    };
    const outcome = await executeCommand(
      this.store,
      dataCutsStream(trialId),
      dataCutDecider,
      { type: 'FreezeDataCut', data },
      commandOptions(context, { reason: body.note }),
    );
    // A replayed Idempotency-Key answers the cut it froze the first time.
    const frozen = (outcome.events.find((e) => e.type === 'DataCutFrozen')?.data as DataCutFrozen | undefined) ?? data;
    return { ...commandResult(body.dataCutId, outcome), dataCut: frozen };
  }

  /** The latest delivered knowledge: the trial's last event the store's gap-safe reader delivers now (what its export ends with). */
  private async latestPosition(trialId: string): Promise<number> {
    const log = await trialLogUpTo(this.store, trialId, Number.POSITIVE_INFINITY);
    const last = log[log.length - 1];
    if (!last) throw new DomainError('TRIAL_NOT_FOUND', `no trial ${trialId}`, 'not_found');
    return last.globalPosition;
  }

  /**
   * A given position, as a report resolves it (409 NOT_YET_KNOWN until the report read model has it),
   * named by the trial's own last event delivered up to it so that the trial's export alone re-derives the cut.
   */
  private async positionAt(trialId: string, asOfPosition: number): Promise<number> {
    await this.queries.execute<GetReportInput, ReportInput>(
      new GetReportInput(trialId, { asOfPosition, basis: 'adjudicated', groupBy: [] }),
    );
    const position = await this.queries.execute<GetTrialPositionAt, number | undefined>(new GetTrialPositionAt(trialId, asOfPosition));
    if (position === undefined)
      throw new DomainError('NOT_YET_KNOWN', `position ${asOfPosition} holds no event of trial ${trialId} yet`, 'conflict', 'asOfPosition');
    return position;
  }
}

/** Records a read of a cut's arm-level document (closed report, ADTTE with treatment) as an unblinded view (ICH E6(R3) 3.16.1(g)). */
export class RecordDataCutUnblindedRead {
  constructor(
    readonly principal: Principal,
    readonly cut: DataCutFrozen,
    /** What was read, e.g. `data cut DC1 closed report (application/pdf)`. */
    readonly what: string,
  ) {}
}

@CommandHandler(RecordDataCutUnblindedRead)
export class RecordDataCutUnblindedReadHandler implements ICommandHandler<RecordDataCutUnblindedRead, void> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ principal, cut, what }: RecordDataCutUnblindedRead): Promise<void> {
    await this.store.appendToStream(unblindingStream(cut.trialId), [
      {
        type: 'UnblindedResultsViewed',
        data: {
          trialId: cut.trialId,
          what,
          parameters: { dataCutId: cut.dataCutId, cutoff: cut.cutoff, asOfPosition: cut.position },
          asOf: { recordedAt: cut.knownAt, position: cut.position },
          charterVersion: cut.charterVersion,
        },
        metadata: { actor: { userId: principal.userId, name: principal.name, roles: principal.roles }, reason: 'DSMB closed session' },
      },
    ]);
  }
}
