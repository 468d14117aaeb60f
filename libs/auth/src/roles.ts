/** The roles of api.md, in the order the document lists them. */
export const ROLES = [
  'trial-admin',
  'site-investigator',
  'cec-coordinator',
  'cec-reviewer',
  'cec-chair',
  'dsmb-member',
  'sponsor',
  'auditor',
] as const;

/** One role a bearer token can carry. */
export type Role = (typeof ROLES)[number];

const known: ReadonlySet<string> = new Set(ROLES);

/** True when the value is one of ROLES. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && known.has(value);
}
