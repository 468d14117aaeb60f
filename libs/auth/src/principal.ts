import { ProblemException, type CommandContext } from '@app/http';
import { isRole, type Role } from './roles';

/** The authenticated user of a request, as read from the bearer token's claims. */
export interface Principal {
  userId: string;
  name: string;
  roles: Role[];
  sites: string[];
  /**
   * When the user last authenticated (`auth_time`, seconds since the epoch; RFC 7519 NumericDate,
   * so a fraction is allowed). A signing requires it to be recent (21 CFR 11.200(a)(1), step-up.ts).
   */
  authTime?: number;
  /** How the user authenticated (`amr`, RFC 8176), when the identity provider says. */
  amr?: string[];
  /** The assurance level of that authentication (`acr`), when the identity provider says. */
  acr?: string;
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
  return { userId, name, roles, sites: [...new Set(rawSites)], ...authenticationClaims(claims) };
}

// The latest instant a Date (and so an ISO-8601 signature time) can hold is year 275760; an
// auth_time after 9999-12-31 is no real login, and refusing it keeps the stored instant 4-digit.
const LATEST_AUTH_TIME = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;
// amr and acr travel into every e-signature the user makes: bounded so a token cannot bloat the record.
const MAX_AMR_VALUES = 16;
const MAX_CLAIM_TEXT = 256;

/**
 * auth_time, amr and acr (OpenID Connect Core 1.0, section 2). Each is optional here; a signing
 * refuses a missing auth_time (step-up.ts). A malformed one is refused outright: it comes from a
 * token whose signature verified, so it is an identity-provider fault worth surfacing, not ignoring.
 */
function authenticationClaims(claims: Record<string, unknown>): Pick<Principal, 'authTime' | 'amr' | 'acr'> {
  const authTime = claims['auth_time'];
  const amr = claims['amr'];
  const acr = claims['acr'];
  if (
    authTime !== undefined &&
    (typeof authTime !== 'number' || !Number.isFinite(authTime) || authTime < 0 || authTime > LATEST_AUTH_TIME)
  ) {
    throw refuse('auth_time', 'must be a number of seconds since 1970-01-01T00:00:00Z (a NumericDate) no later than year 9999');
  }
  const text = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '' && value.length <= MAX_CLAIM_TEXT;
  if (amr !== undefined && (!Array.isArray(amr) || amr.length > MAX_AMR_VALUES || !amr.every(text))) {
    throw refuse(
      'amr',
      `must be an array of at most ${MAX_AMR_VALUES} method names (RFC 8176), each a non-empty string of at most ${MAX_CLAIM_TEXT} characters`,
    );
  }
  if (acr !== undefined && !text(acr)) throw refuse('acr', `must be a non-empty string of at most ${MAX_CLAIM_TEXT} characters`);
  return {
    ...(authTime !== undefined ? { authTime } : {}),
    ...(amr !== undefined ? { amr: [...amr] } : {}),
    ...(acr !== undefined ? { acr } : {}),
  };
}

/** The sender of a command as a Principal (roles checked by the guard that admitted the request). */
export function principalOf(context: CommandContext): Principal {
  return { ...context.actor, roles: context.actor.roles as Role[] };
}
