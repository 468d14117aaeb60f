import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { Principal } from '@app/auth';
import { CLOCK, DATA_SOURCE, EVENT_STORE, type Clock, type EventStore } from '@app/event-store';
import { ProblemException } from '@app/http';
import { defaultCharter } from '../domain/default-charter';
import type { ReportInput } from '../domain/endpoint-report';
import { reportCutoff, type ReportQuery } from '../domain/history-fold';
import { reportInputAt } from '../domain/history-snapshot';
import { HistoryCache } from '../infrastructure/history-cache';
import { HistoryProjection } from '../infrastructure/history.projection';

export type { ReportQuery };

/** How long a report waits for a knowledge time the read model has not reached yet. */
const WAIT_MS = 2000;
/** A past instant is settled once the log has been idle past it by this margin (in-flight appends). */
const SETTLE_MS = 5000;

/**
 * Resolves a knowledge time (asOf / asOfPosition) to a sequence of the history read model and
 * loads the facts valid at it. The same request gives the same input, whatever is recorded later.
 */
@Injectable()
export class ReportService {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly history: HistoryProjection,
  ) {
    this.cache = new HistoryCache(dataSource, () => clock.now().getTime());
  }

  private readonly cache: HistoryCache;

  async input(trialId: string, query: ReportQuery): Promise<ReportInput> {
    const known = await this.knowledgeAt(trialId, query);
    const asOf = { recordedAt: known.recordedAt ?? this.clock.now().toISOString(), position: known.position };
    const snapshot = await this.cache.at(trialId, known.seq, reportCutoff(query, asOf));
    return reportInputAt(snapshot, { trialId, query, asOf, defaultCharter: defaultCharter() });
  }

  /** Records who saw results broken down by arm, when and with which parameters (ICH E6(R3) 3.16.1(g)). */
  async recordUnblindedView(trialId: string, principal: Principal, query: ReportQuery, input: ReportInput, what: string): Promise<void> {
    await this.store.appendToStream(`unblinding/${trialId}`, [
      {
        type: 'UnblindedResultsViewed',
        data: { trialId, what, parameters: { ...query, cutoff: input.cutoff }, asOf: input.asOf, charterVersion: input.charter.version },
        metadata: { actor: { userId: principal.userId, name: principal.name, roles: principal.roles }, reason: 'unblinded report by arm' },
      },
    ]);
  }

  /**
   * The trial's knowledge at the requested time (architecture.md, "Point in time", per trial): the
   * sequence of the trial's last event known then, its position and knownAt. `asOf` = the trial's
   * events with knownAt ≤ asOf; `asOfPosition` = its events delivered up to the event at that
   * position (of any trial); neither = everything delivered.
   */
  private async knowledgeAt(trialId: string, query: ReportQuery): Promise<{ seq: number; position: number; recordedAt?: string }> {
    if (query.asOfPosition !== undefined) {
      const position = query.asOfPosition;
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const [row] = await this.knowledge('WHERE global_position = $1', [position]);
        if (row) {
          if (row.trialId === trialId) return row;
          // Another trial's position: this trial's knowledge then, or that event's own if the trial had none.
          const [mine] = await this.knowledge('WHERE trial_id = $1 AND seq <= $2', [trialId, row.seq], 'seq DESC');
          return { seq: row.seq, position, recordedAt: mine?.recordedAt ?? row.recordedAt };
        }
        if (Date.now() > deadline) throw notYetKnown(`position ${position} is not yet known to the report read model`);
        await this.history.subscription.catchUpToNow(WAIT_MS);
        await sleep(20);
      }
    }
    await this.history.subscription.catchUpToNow(WAIT_MS);
    if (query.asOf === undefined) {
      const [latest] = await this.knowledge('WHERE trial_id = $1', [trialId]);
      return latest ?? { seq: 0, position: 0 };
    }
    const [at] = await this.knowledge('WHERE trial_id = $1 AND known_at <= $2', [trialId, query.asOf]);
    const [after] = (await this.dataSource.query('SELECT 1 FROM rpt_knowledge WHERE trial_id = $1 AND known_at > $2 LIMIT 1', [trialId, query.asOf])) as unknown[];
    // Stable only once nothing can still be delivered with a knownAt at or before asOf.
    if (!after && new Date(query.asOf).getTime() > this.clock.now().getTime() - SETTLE_MS) {
      throw notYetKnown(`knowledge as of ${query.asOf} is not settled yet`);
    }
    return { seq: at?.seq ?? 0, position: at?.position ?? 0, recordedAt: query.asOf };
  }

  /**
   * The last knowledge row matching `where`. Within a trial knownAt never decreases with the
   * sequence, so (known_at, seq) order is sequence order and the trial index serves it.
   */
  private async knowledge(where: string, params: unknown[], order = 'known_at DESC, seq DESC'): Promise<Array<{ seq: number; position: number; recordedAt: string; trialId: string | null }>> {
    const rows = (await this.dataSource.query(
      `SELECT seq, global_position, trial_id, to_char(known_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS known_at
         FROM rpt_knowledge ${where} ORDER BY ${order} LIMIT 1`,
      params,
    )) as Array<{ seq: string | number; global_position: string | number; trial_id: string | null; known_at: string }>;
    return rows.map((r) => ({ seq: Number(r.seq), position: Number(r.global_position), recordedAt: r.known_at, trialId: r.trial_id }));
  }

}

function notYetKnown(detail: string): ProblemException {
  return new ProblemException(409, 'NOT_YET_KNOWN', detail, { headers: { 'Retry-After': '1' } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
