import { DomainError, type CharterVersionPublished } from '@app/contracts';
import type { AdverseEventFacts, PatientFacts, ReportInput } from './endpoint-report';
import {
  adverseEventForReport,
  assembleReportInput,
  foldHistoryEvent,
  patientForReport,
  reportCutoff,
  trialOfStream,
  type AdverseEventHistoryFacts,
  type HistoryFacts,
  type LoggedEvent,
  type PatientHistoryFacts,
  type ReportQuery,
} from './history-fold';

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
export function replayReportInput(trialId: string, log: readonly ReplayedEvent[], query: ReportQuery, defaultCharter: ReportInput['charter']): ReportInput {
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
    if (index < 0) throw new DomainError('POSITION_NOT_IN_LOG', `position ${query.asOfPosition} is not an event of trial ${trialId}'s log`, 'not_found', 'asOfPosition');
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

  const facts = new Map<string, { kind: string; facts: HistoryFacts }>();
  const visits = new Map<string, string[]>();
  let latestCharter: CharterVersionPublished | undefined;
  for (const event of events.slice(0, end)) {
    const change = foldHistoryEvent(event, (kind, entityId) => facts.get(`${kind}/${entityId}`)?.facts);
    if (!change) continue;
    if (change.type === 'visit') {
      visits.set(change.patientId, [...(visits.get(change.patientId) ?? []), change.visitOn]);
      continue;
    }
    facts.set(`${change.kind}/${change.entityId}`, { kind: change.kind, facts: change.facts });
    if (change.kind === 'charter') latestCharter = change.facts as CharterVersionPublished;
  }

  const cutoff = reportCutoff(query, asOf);
  const patients: PatientFacts[] = [];
  const adverseEvents: AdverseEventFacts[] = [];
  for (const [key, entry] of facts) {
    if (entry.kind === 'patient') {
      const patientId = key.slice('patient/'.length);
      const lastVisit = (visits.get(patientId) ?? []).filter((d) => d <= cutoff).sort().pop();
      const patient = patientForReport(entry.facts as PatientHistoryFacts, lastVisit);
      if (patient) patients.push(patient);
    } else if (entry.kind === 'adverse-event') {
      const adverseEvent = adverseEventForReport(entry.facts as AdverseEventHistoryFacts);
      if (adverseEvent) adverseEvents.push(adverseEvent);
    }
  }
  return assembleReportInput({ trialId, query, asOf, latestCharter, defaultCharter, patients, adverseEvents });
}
