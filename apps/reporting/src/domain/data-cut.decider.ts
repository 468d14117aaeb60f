import { DomainError, type DataCutEvent, type DataCutFrozen } from '@app/contracts';
import type { Decider } from '@app/event-store';

/**
 * The data cuts of one trial (api.md "Data cuts"), decided on one stream: a cut is named once and
 * never edited; a corrected cut is a new cut that names the one it replaces. The documents' hashes
 * are computed by the caller from the log before deciding (deciding is pure: no clock, no I/O).
 */

export type DataCutCommand = { type: 'FreezeDataCut'; data: DataCutFrozen };

/** Each frozen cut by id, with what a later decision reads of it. */
export interface DataCutsState {
  cuts: Record<string, { cutoff: string; position: number }>;
}

export const initialDataCutsState = (): DataCutsState => ({ cuts: {} });

/** A real calendar day YYYY-MM-DD (Date.parse alone rolls 2026-02-30 over into March). */
function isDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const ms = Date.parse(`${date}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === date;
}

function freeze(data: DataCutFrozen, state: DataCutsState): DataCutEvent[] {
  if (Object.hasOwn(state.cuts, data.dataCutId))
    throw new DomainError(
      'DATA_CUT_EXISTS',
      `data cut ${data.dataCutId} is already frozen; a corrected cut is a new cut`,
      'conflict',
      'dataCutId',
    );
  if (!isDate(data.cutoff)) throw new DomainError('INVALID_CUTOFF', `cutoff ${data.cutoff} is not a date YYYY-MM-DD`, 'invalid', 'cutoff');
  if (data.replaces !== undefined) {
    if (data.replaces === data.dataCutId)
      throw new DomainError('DATA_CUT_REPLACES_ITSELF', 'a cut cannot replace itself', 'invalid', 'replaces');
    if (!Object.hasOwn(state.cuts, data.replaces))
      throw new DomainError('REPLACED_DATA_CUT_NOT_FOUND', `no data cut ${data.replaces} to replace`, 'rule', 'replaces');
  }
  return [{ type: 'DataCutFrozen', data }];
}

export function decideDataCut(command: DataCutCommand, state: DataCutsState): DataCutEvent[] {
  switch (command.type) {
    case 'FreezeDataCut':
      return freeze(command.data, state);
    default: {
      const unknown: never = command.type;
      throw new Error(`unknown command ${String(unknown)}`);
    }
  }
}

export function evolveDataCuts(state: DataCutsState, event: DataCutEvent): DataCutsState {
  switch (event.type) {
    case 'DataCutFrozen':
      return { cuts: { ...state.cuts, [event.data.dataCutId]: { cutoff: event.data.cutoff, position: event.data.position } } };
    default: {
      const unknown: never = event.type;
      return unknownEvent(state, unknown);
    }
  }
}

/** An event type a newer build wrote changes nothing here. */
function unknownEvent(state: DataCutsState, _type: never): DataCutsState {
  return state;
}

export const dataCutDecider: Decider<DataCutsState, DataCutCommand, DataCutEvent> = {
  initialState: initialDataCutsState,
  decide: decideDataCut,
  evolve: evolveDataCuts,
};
