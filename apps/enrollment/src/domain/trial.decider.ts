import type { Decider } from '@app/event-store';
import {
  DomainError,
  byId,
  defaultCensoring,
  type AddCommitteeMemberBody,
  type CensoringRule,
  type AddSiteBody,
  type EndpointDefinition,
  type PublishCharterBody,
  type RegisterTrialBody,
  type TrialEvent,
} from '@app/contracts';

export interface CommitteeMember {
  userId: string;
  name: string;
  role: 'cec-reviewer' | 'cec-chair';
  affiliatedSiteIds: string[];
}

export type TrialState =
  | { status: 'absent' }
  | {
      status: 'registered';
      trialId: string;
      title: string;
      protocolVersion: string;
      arms: string[];
      sites: Record<string, { name: string; country: string }>;
      committee: Record<string, CommitteeMember>;
      /** Every published version, each with the censoring rule it applies (absent in its event = the default). */
      charters: Array<{ version: string; endpoints: EndpointDefinition[]; censoring: CensoringRule }>;
    };

export type TrialCommand =
  | { type: 'RegisterTrial'; data: RegisterTrialBody }
  | { type: 'PublishCharter'; data: PublishCharterBody & { trialId: string } }
  | { type: 'AddSite'; data: AddSiteBody & { trialId: string } }
  | { type: 'AddCommitteeMember'; data: AddCommitteeMemberBody & { trialId: string } };

export const initialTrialState = (): TrialState => ({ status: 'absent' });

function registered(state: TrialState): Extract<TrialState, { status: 'registered' }> {
  if (state.status !== 'registered') throw new DomainError('TRIAL_NOT_FOUND', 'no such trial', 'not_found');
  return state;
}

export function decideTrial(command: TrialCommand, state: TrialState): TrialEvent[] {
  switch (command.type) {
    case 'RegisterTrial': {
      if (state.status !== 'absent')
        throw new DomainError('TRIAL_ALREADY_EXISTS', `trial ${command.data.trialId} already exists`, 'conflict', 'trialId');
      const { trialId, title, protocolVersion, arms } = command.data;
      return [{ type: 'TrialRegistered', data: { trialId, title, protocolVersion, arms: arms ?? [] } }];
    }
    case 'PublishCharter': {
      const trial = registered(state);
      if (trial.charters.some((c) => c.version === command.data.version)) {
        throw new DomainError(
          'CHARTER_VERSION_EXISTS',
          `charter version ${command.data.version} already exists; publish a new version`,
          'conflict',
          'version',
        );
      }
      const { version, endpoints, censoring } = command.data;
      return [
        {
          type: 'CharterVersionPublished',
          // The rule as given: an event without one means the default, like every event before the option existed.
          data: { trialId: trial.trialId, version, endpoints, ...(censoring !== undefined ? { censoring } : {}) },
        },
      ];
    }
    case 'AddSite': {
      const trial = registered(state);
      if (byId(trial.sites, command.data.siteId))
        throw new DomainError('SITE_ALREADY_EXISTS', `site ${command.data.siteId} already exists`, 'conflict', 'siteId');
      const { siteId, name, country } = command.data;
      return [{ type: 'SiteAdded', data: { trialId: trial.trialId, siteId, name, country } }];
    }
    case 'AddCommitteeMember': {
      const trial = registered(state);
      const { userId, name, role, affiliatedSiteIds } = command.data;
      if (byId(trial.committee, userId))
        throw new DomainError('COMMITTEE_MEMBER_EXISTS', `${userId} is already on the committee`, 'conflict', 'userId');
      const unknown = affiliatedSiteIds.filter((siteId) => !byId(trial.sites, siteId));
      if (unknown.length > 0) throw new DomainError('UNKNOWN_SITE', `unknown site(s): ${unknown.join(', ')}`, 'rule', 'affiliatedSiteIds');
      return [
        {
          type: 'CommitteeMemberAdded',
          data: { trialId: trial.trialId, userId, name, role, affiliatedSiteIds: [...new Set(affiliatedSiteIds)] },
        },
      ];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${JSON.stringify(unhandled)}`);
    }
  }
}

export function evolveTrial(state: TrialState, event: TrialEvent): TrialState {
  switch (event.type) {
    case 'TrialRegistered':
      return { status: 'registered', ...event.data, sites: {}, committee: {}, charters: [] };
    case 'CharterVersionPublished':
      return state.status === 'registered'
        ? {
            ...state,
            charters: [
              ...state.charters,
              { version: event.data.version, endpoints: event.data.endpoints, censoring: event.data.censoring ?? defaultCensoring() },
            ],
          }
        : state;
    case 'SiteAdded':
      return state.status === 'registered'
        ? { ...state, sites: { ...state.sites, [event.data.siteId]: { name: event.data.name, country: event.data.country } } }
        : state;
    case 'CommitteeMemberAdded': {
      if (state.status !== 'registered') return state;
      const { userId, name, role, affiliatedSiteIds } = event.data;
      return { ...state, committee: { ...state.committee, [userId]: { userId, name, role, affiliatedSiteIds } } };
    }
    default:
      return state;
  }
}

export const trialDecider: Decider<TrialState, TrialCommand, TrialEvent> = {
  initialState: initialTrialState,
  decide: decideTrial,
  evolve: evolveTrial,
};
