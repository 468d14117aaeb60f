import { DomainError, trialOfStream } from '@app/contracts';
import type { ReportInput } from './endpoint-report';
import { foldHistoryEvent, type LoggedEvent } from './history-fold';
import { TrialHistory, reportCutoff, reportInputAt, toDay, type ReportQuery } from './history-snapshot';

/** An event of a trial's exported log, in the log's delivery order. */
export interface ReplayedEvent extends LoggedEvent {
  globalPosition: number;
  recordedAt: string;
}

/**
 * The report input of `GET /trials/{t}/reports/endpoints` rebuilt from the trial's log alone, as
 * the API resolves it: knownAt = the running maximum of recordedAt over the trial's events in
 * delivery order; `asOf` = the longest prefix known at the instant, `asOfPosition` = the prefix
 * up to that event (it must be one of the trial's), neither = the whole log.
 */
export function replayReportInput(
  trialId: string,
  log: readonly ReplayedEvent[],
  query: ReportQuery,
  defaultCharter: ReportInput['charter'],
): ReportInput {
  const events = log.filter((e) => trialOfStream(e.streamId) === trialId);
  const knownAt: string[] = [];
  let latest = '';
  for (const event of events) {
    if (event.recordedAt > latest) latest = event.recordedAt;
    knownAt.push(latest);
  }
  let end: number;
  let asOf: { recordedAt: string; position: number };
  if (query.asOfPosition !== undefined) {
    const index = events.findIndex((e) => e.globalPosition === query.asOfPosition);
    if (index < 0)
      throw new DomainError(
        'POSITION_NOT_IN_LOG',
        `position ${query.asOfPosition} is not an event of trial ${trialId}'s log`,
        'not_found',
        'asOfPosition',
      );
    end = index + 1;
    asOf = { recordedAt: knownAt[index] as string, position: query.asOfPosition };
  } else if (query.asOf !== undefined) {
    const at = Date.parse(query.asOf);
    end = 0;
    while (end < events.length && Date.parse(knownAt[end] as string) <= at) end += 1;
    asOf = { recordedAt: query.asOf, position: end > 0 ? (events[end - 1] as ReplayedEvent).globalPosition : 0 };
  } else {
    end = events.length;
    const last = events[end - 1];
    if (!last) throw new DomainError('EMPTY_LOG', `the log holds no event of trial ${trialId}; give --as-of`, 'invalid', 'asOf');
    asOf = { recordedAt: knownAt[end - 1] as string, position: last.globalPosition };
  }

  // The log folded as the history read model folds it, each event's ordinal its sequence.
  const history = new TrialHistory();
  events.slice(0, end).forEach((event, index) => {
    const change = foldHistoryEvent(event, (kind, entityId) => history.current(kind, entityId));
    if (change?.type === 'visit') history.addVisit(change.patientId, toDay(change.visitOn), index + 1);
    else if (change) history.addVersion(change.kind, change.entityId, { fromSeq: index + 1, facts: change.facts });
  });
  return reportInputAt(history.snapshot(end, reportCutoff(query, asOf)), { trialId, query, asOf, defaultCharter });
}
