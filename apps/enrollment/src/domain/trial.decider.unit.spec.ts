import type { EndpointDefinition, TrialEvent } from '@app/contracts';
import { deciderSpec } from '../../../../libs/contracts/src/testing/decider-spec';
import { decideTrial, evolveTrial, initialTrialState, type TrialCommand, type TrialState } from './trial.decider';

const spec = deciderSpec({ decide: decideTrial, evolve: evolveTrial, initialState: initialTrialState });

const trialId = 'T1';
const endpoints: EndpointDefinition[] = [
  {
    id: 'freedom-from-cd-tvr',
    label: 'Freedom from CD-TVR',
    horizonDays: 180,
    events: [{ kind: 'tvr', clinicallyDriven: true, limb: 'index' }],
  },
];

const registered: TrialEvent = {
  type: 'TrialRegistered',
  data: { trialId, title: 'DCB vs PTA', protocolVersion: '1.0', arms: ['DCB', 'PTA'] },
};
const siteAdded = (siteId: string): TrialEvent => ({ type: 'SiteAdded', data: { trialId, siteId, name: `Site ${siteId}`, country: 'DE' } });
const charterPublished = (version: string): TrialEvent => ({ type: 'CharterVersionPublished', data: { trialId, version, endpoints } });
const memberAdded: TrialEvent = {
  type: 'CommitteeMemberAdded',
  data: { trialId, userId: 'rev-1', name: 'Dr. Reviewer', role: 'cec-reviewer', affiliatedSiteIds: ['S1'] },
};

describe('trial decider', () => {
  describe('RegisterTrial', () => {
    it('registers a randomised trial with its arms', () => {
      spec
        .given([])
        .when({ type: 'RegisterTrial', data: { trialId, title: 'DCB vs PTA', protocolVersion: '1.0', arms: ['DCB', 'PTA'] } })
        .then([registered]);
    });

    it('registers a single-arm registry with no arms when arms are omitted', () => {
      spec
        .given([])
        .when({ type: 'RegisterTrial', data: { trialId, title: 'Registry', protocolVersion: '2' } })
        .then([{ type: 'TrialRegistered', data: { trialId, title: 'Registry', protocolVersion: '2', arms: [] } }]);
    });

    it('refuses a trial that already exists', () => {
      const error = spec
        .given([registered])
        .when({ type: 'RegisterTrial', data: { trialId, title: 'Again', protocolVersion: '1.0' } })
        .thenThrows('TRIAL_ALREADY_EXISTS', 'conflict');
      expect(error.field).toBe('trialId');
    });
  });

  describe('PublishCharter', () => {
    it('refuses a charter for an unknown trial', () => {
      spec
        .given([])
        .when({ type: 'PublishCharter', data: { trialId, version: '1', endpoints } })
        .thenThrows('TRIAL_NOT_FOUND', 'not_found');
    });

    it('publishes a charter version', () => {
      spec
        .given([registered])
        .when({ type: 'PublishCharter', data: { trialId, version: '1', endpoints } })
        .then([charterPublished('1')]);
    });

    it('publishes a new version next to the old one', () => {
      spec
        .given([registered, charterPublished('1')])
        .when({ type: 'PublishCharter', data: { trialId, version: '2', endpoints } })
        .then([charterPublished('2')]);
    });

    it('refuses to republish an existing version, whichever earlier version it is', () => {
      const error = spec
        .given([registered, charterPublished('1'), charterPublished('2')])
        .when({ type: 'PublishCharter', data: { trialId, version: '1', endpoints } })
        .thenThrows('CHARTER_VERSION_EXISTS', 'conflict');
      expect(error.field).toBe('version');
    });
  });

  describe('PublishCharter: the censoring rule of a withdrawal (api.md semantics 3)', () => {
    it('publishes the rule given with the version', () => {
      spec
        .given([registered, charterPublished('1')])
        .when({ type: 'PublishCharter', data: { trialId, version: '2', endpoints, censoring: { withdrawal: 'last-contact' } } })
        .then([{ type: 'CharterVersionPublished', data: { trialId, version: '2', endpoints, censoring: { withdrawal: 'last-contact' } } }]);
    });

    it('keeps each version with its own rule; a version published without one applies the default, withdrawal-date', () => {
      const state = [
        registered,
        charterPublished('1'),
        { type: 'CharterVersionPublished', data: { trialId, version: '2', endpoints, censoring: { withdrawal: 'last-contact' } } },
        { type: 'CharterVersionPublished', data: { trialId, version: '3', endpoints, censoring: { withdrawal: 'withdrawal-date' } } },
      ].reduce<TrialState>((s, e) => evolveTrial(s, e as TrialEvent), initialTrialState());
      expect(state.status === 'registered' && state.charters.map((c) => [c.version, c.censoring.withdrawal])).toEqual([
        ['1', 'withdrawal-date'],
        ['2', 'last-contact'],
        ['3', 'withdrawal-date'],
      ]);
    });
  });

  describe('AddSite', () => {
    it('refuses a site for an unknown trial', () => {
      spec
        .given([])
        .when({ type: 'AddSite', data: { trialId, siteId: 'S1', name: 'Site S1', country: 'DE' } })
        .thenThrows('TRIAL_NOT_FOUND', 'not_found');
    });

    it('adds a site', () => {
      spec
        .given([registered])
        .when({ type: 'AddSite', data: { trialId, siteId: 'S1', name: 'Site S1', country: 'DE' } })
        .then([siteAdded('S1')]);
    });

    it('names the trial of the stream in the event', () => {
      spec
        .given([registered])
        .when({ type: 'AddSite', data: { trialId: 'elsewhere', siteId: 'S1', name: 'Site S1', country: 'DE' } })
        .then([siteAdded('S1')]);
    });

    it('refuses a site that already exists', () => {
      const error = spec
        .given([registered, siteAdded('S1')])
        .when({ type: 'AddSite', data: { trialId, siteId: 'S1', name: 'Other', country: 'FR' } })
        .thenThrows('SITE_ALREADY_EXISTS', 'conflict');
      expect(error.field).toBe('siteId');
    });
  });

  describe('AddCommitteeMember', () => {
    it('refuses a member for an unknown trial', () => {
      spec
        .given([])
        .when({
          type: 'AddCommitteeMember',
          data: { trialId, userId: 'rev-1', name: 'Dr. Reviewer', role: 'cec-reviewer', affiliatedSiteIds: [] },
        })
        .thenThrows('TRIAL_NOT_FOUND', 'not_found');
    });

    it('adds a member affiliated with known sites', () => {
      spec
        .given([registered, siteAdded('S1')])
        .when({
          type: 'AddCommitteeMember',
          data: { trialId, userId: 'rev-1', name: 'Dr. Reviewer', role: 'cec-reviewer', affiliatedSiteIds: ['S1'] },
        })
        .then([memberAdded]);
    });

    it('adds a member with no affiliation', () => {
      spec
        .given([registered])
        .when({
          type: 'AddCommitteeMember',
          data: { trialId, userId: 'chair', name: 'Dr. Chair', role: 'cec-chair', affiliatedSiteIds: [] },
        })
        .then([
          { type: 'CommitteeMemberAdded', data: { trialId, userId: 'chair', name: 'Dr. Chair', role: 'cec-chair', affiliatedSiteIds: [] } },
        ]);
    });

    it('records each affiliated site once', () => {
      spec
        .given([registered, siteAdded('S1'), siteAdded('S2')])
        .when({
          type: 'AddCommitteeMember',
          data: { trialId, userId: 'rev-2', name: 'Dr. Two', role: 'cec-reviewer', affiliatedSiteIds: ['S2', 'S1', 'S2'] },
        })
        .then([
          {
            type: 'CommitteeMemberAdded',
            data: { trialId, userId: 'rev-2', name: 'Dr. Two', role: 'cec-reviewer', affiliatedSiteIds: ['S2', 'S1'] },
          },
        ]);
    });

    it('refuses a user already on the committee, whatever the new role', () => {
      const error = spec
        .given([registered, siteAdded('S1'), memberAdded])
        .when({
          type: 'AddCommitteeMember',
          data: { trialId, userId: 'rev-1', name: 'Dr. Reviewer', role: 'cec-chair', affiliatedSiteIds: [] },
        })
        .thenThrows('COMMITTEE_MEMBER_EXISTS', 'conflict');
      expect(error.field).toBe('userId');
    });

    it('refuses an affiliation with a site the trial does not have, naming each unknown site', () => {
      const error = spec
        .given([registered, siteAdded('S1')])
        .when({
          type: 'AddCommitteeMember',
          data: { trialId, userId: 'rev-1', name: 'Dr. Reviewer', role: 'cec-reviewer', affiliatedSiteIds: ['S1', 'S7', 'S9'] },
        })
        .thenThrows('UNKNOWN_SITE', 'rule');
      expect(error.field).toBe('affiliatedSiteIds');
      expect(error.message).toContain('S7, S9');
    });

    it('knows a site only once it has been added', () => {
      const addReviewer: TrialCommand = {
        type: 'AddCommitteeMember',
        data: { trialId, userId: 'rev-1', name: 'Dr. Reviewer', role: 'cec-reviewer', affiliatedSiteIds: ['S1'] },
      };
      spec.given([registered]).when(addReviewer).thenThrows('UNKNOWN_SITE');
      spec
        .given([registered, siteAdded('S1')])
        .when(addReviewer)
        .then([memberAdded]);
    });
  });
});
