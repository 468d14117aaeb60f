import type { CaseEvent } from '@app/contracts';
import type { Decider } from '@app/event-store';
import { decideCase, evolveCase, initialCaseState, type CaseCommand, type CaseState } from '../domain/case.decider';

export const caseDecider: Decider<CaseState, CaseCommand, CaseEvent> = { initialState: initialCaseState, decide: decideCase, evolve: evolveCase };

/** The trial and case ids of a case stream `case/{t}/{c}`. */
export function parseCaseStream(streamId: string): { trialId: string; caseId: string } | undefined {
  const match = /^case\/([^/]+)\/([^/]+)$/.exec(streamId);
  return match ? { trialId: match[1] as string, caseId: match[2] as string } : undefined;
}
