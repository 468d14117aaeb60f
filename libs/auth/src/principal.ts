import { ProblemException, type CommandContext } from '@app/http';
import { isRole, type Role } from './roles';

/** The authenticated user of a request, as read from the bearer token's claims. */
export interface Principal {
  userId: string;
  name: string;
  roles: Role[];
  sites: string[];
}

/** A 401 that tells the client to fetch a new token rather than retry with the same one. */
export function invalidToken(code: 'TOKEN_INVALID' | 'TOKEN_EXPIRED', detail: string): ProblemException {
  return new ProblemException(401, code, detail, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
}

function refuse(claim: string, problem: string): ProblemException {
  return invalidToken('TOKEN_INVALID', `The token's "${claim}" claim ${problem}.`);
}

function nonEmptyString(claims: Record<string, unknown>, claim: string): string {
  const value = claims[claim];
  if (typeof value !== 'string' || value.trim() === '') throw refuse(claim, 'must be a non-empty string');
  return value;
}

/** Reads a Principal from verified JWT claims; throws 401 TOKEN_INVALID naming the first bad claim. */
export function principalFromClaims(claims: Record<string, unknown>): Principal {
  const userId = nonEmptyString(claims, 'sub');
  const name = nonEmptyString(claims, 'name');

  const rawRoles = claims['roles'];
  if (!Array.isArray(rawRoles)) throw refuse('roles', 'must be an array of roles');
  // An unknown role is refused, not ignored: a typo in an identity provider's mapping would
  // otherwise silently strip a user's rights and surface later as a confusing 403.
  const unknown = rawRoles.filter((role) => !isRole(role));
  if (unknown.length > 0) throw refuse('roles', `contains unknown roles: ${unknown.map((role) => JSON.stringify(role)).join(', ')}`);
  const roles = [...new Set(rawRoles.filter(isRole))];

  const rawSites: unknown = claims['sites'] ?? [];
  if (!Array.isArray(rawSites) || !rawSites.every((site): site is string => typeof site === 'string' && site !== '')) {
    throw refuse('sites', 'must be an array of site ids');
  }
  return { userId, name, roles, sites: [...new Set(rawSites)] };
}

/** The sender of a command as a Principal (roles checked by the guard that admitted the request). */
export function principalOf(context: CommandContext): Principal {
  return { ...context.actor, roles: context.actor.roles as Role[] };
}
