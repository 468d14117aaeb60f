/** The services behind the gateway, one per bounded context. */
export const GATEWAY_SERVICES = ['enrollment', 'procedures', 'adverse-events', 'adjudication', 'reporting'] as const;
export type ServiceName = (typeof GATEWAY_SERVICES)[number];

/**
 * Which service serves a request path, from the controllers' routes:
 *   trials/:t/patients/:p/procedures…     procedures
 *   trials/:t/patients/:p/adverse-events… adverse-events
 *   trials/:t/adjudication…               adjudication
 *   trials/:t/reports…, trials/:t/audit…  reporting (the audit trail is a read view served there)
 *   trials/:t/data-cuts…                  reporting (DSMB data cuts)
 *   trials, trials/:t…                    enrollment (trial, charter, sites, committee, patients, visits…)
 * Anything else is not an API route: undefined.
 */
export function serviceFor(path: string): ServiceName | undefined {
  const segments = path
    .split('?', 1)[0]!
    .split('/')
    .filter((segment) => segment !== '');
  if (segments[0] !== 'trials') return undefined;
  const [, , section, , sub] = segments;
  if (section === 'patients' && sub === 'procedures') return 'procedures';
  if (section === 'patients' && sub === 'adverse-events') return 'adverse-events';
  if (section === 'adjudication') return 'adjudication';
  if (section === 'reports' || section === 'audit' || section === 'data-cuts') return 'reporting';
  return 'enrollment';
}
