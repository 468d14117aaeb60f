import { defaultCensoring, type CensoringRule, type EndpointDefinition } from '@app/contracts';

/** A charter version: the endpoint definitions a report applies and how it censors a withdrawal. */
export interface Charter {
  version: string;
  endpoints: EndpointDefinition[];
  /** api.md "Endpoint report": travels with the version, so a report as of older knowledge applies the older rule. */
  censoring: CensoringRule;
}

/** The version of the charter a trial without its own charter is reported under (api.md). */
export const DEFAULT_CHARTER_VERSION = 'default-1';

/**
 * The default charter of api.md ("Endpoint report"), as a fresh copy on each call so no caller can
 * change what another one reports under.
 */
export function defaultCharter(): Charter {
  return {
    version: DEFAULT_CHARTER_VERSION,
    censoring: defaultCensoring(),
    endpoints: [
      {
        id: 'freedom-from-cd-tvr',
        label: 'Freedom from clinically-driven target vessel revascularization of the index limb',
        horizonDays: 180,
        events: [{ kind: 'tvr', clinicallyDriven: true, limb: 'index' }],
      },
      {
        id: 'freedom-from-amputation',
        label: 'Freedom from amputation of the index limb (any level)',
        horizonDays: 180,
        events: [{ kind: 'amputation', limb: 'index' }],
      },
      {
        id: 'freedom-from-major-amputation',
        label: 'Freedom from major amputation of the index limb',
        horizonDays: 365,
        events: [{ kind: 'amputation', amputationLevel: 'major', limb: 'index' }],
      },
      {
        id: 'amputation-free-survival',
        label: 'Major-amputation-free survival (major amputation of the index limb or death)',
        horizonDays: 365,
        events: [{ kind: 'amputation', amputationLevel: 'major', limb: 'index' }],
        includesDeath: true,
      },
      {
        id: 'survival',
        label: 'Survival (freedom from death of any cause)',
        horizonDays: 365,
        events: [],
        includesDeath: true,
      },
    ],
  };
}
