import { ProblemException } from '@app/http';
import type { Principal } from './principal';

/** Injection token of SIGNATURE_MAX_AGE: seconds since `auth_time` within which a signing is accepted. */
export const SIGNATURE_MAX_AGE = Symbol('SIGNATURE_MAX_AGE');

/** api.md: SIGNATURE_MAX_AGE when unset. */
export const DEFAULT_SIGNATURE_MAX_AGE_SECONDS = 300;

/**
 * How far an `auth_time` may lie ahead of the server clock: the same drift the verifier tolerates
 * on `exp`. Further ahead is no login that happened, and accepting it would stretch the window.
 */
export const AUTH_TIME_SKEW_SECONDS = 30;

/** The authentication a signing was executed with, as the e-signature records it. */
export interface SigningAuthentication {
  /** ISO-8601 UTC instant of the user's last authentication (`auth_time`). */
  authTime: string;
  amr?: string[];
  acr?: string;
}

/** Why an authentication is not recent enough to sign with, or `fresh`. */
export type AuthenticationFreshness =
  { fresh: true; authentication: SigningAuthentication } | { fresh: false; why: 'missing' | 'stale' | 'future'; ageSeconds?: number };

/**
 * Whether the principal authenticated recently enough to execute a signing now (pure: the
 * caller brings the clock). 21 CFR 11.200(a)(1): a signing is executed with the signer's
 * identification components; with identity-provider tokens that is a recent login, not
 * whatever bearer token a browser still holds. An age of exactly maxAgeSeconds is accepted.
 */
export function authenticationFreshness(
  principal: Pick<Principal, 'authTime' | 'amr' | 'acr'>,
  now: Date,
  maxAgeSeconds: number,
): AuthenticationFreshness {
  const { authTime, amr, acr } = principal;
  if (authTime === undefined) return { fresh: false, why: 'missing' };
  const ageSeconds = now.getTime() / 1000 - authTime;
  if (ageSeconds < -AUTH_TIME_SKEW_SECONDS) return { fresh: false, why: 'future', ageSeconds };
  if (ageSeconds > maxAgeSeconds) return { fresh: false, why: 'stale', ageSeconds };
  return {
    fresh: true,
    authentication: {
      // Milliseconds are the finest an instant here holds; a fractional NumericDate keeps them.
      authTime: new Date(Math.floor(authTime * 1000)).toISOString(),
      ...(amr !== undefined ? { amr: [...amr] } : {}),
      ...(acr !== undefined ? { acr } : {}),
    },
  };
}

/**
 * The authentication to record in an e-signature, or 401 SIGNATURE_REAUTHENTICATION_REQUIRED
 * with the RFC 9470 step-up challenge, which tells the client to have the user log in again
 * (OIDC `max_age`) and retry with the new token.
 */
export function requireFreshAuthentication(
  principal: Pick<Principal, 'authTime' | 'amr' | 'acr'>,
  now: Date,
  maxAgeSeconds: number,
): SigningAuthentication {
  const verdict = authenticationFreshness(principal, now, maxAgeSeconds);
  if (verdict.fresh) return verdict.authentication;
  const why = {
    missing: 'the bearer token carries no "auth_time" claim',
    stale: `the last authentication was ${Math.floor(verdict.ageSeconds ?? 0)} s ago`,
    future: 'the token\'s "auth_time" lies in the future',
  }[verdict.why];
  return reauthenticationRequired(
    `A signing needs an authentication at most ${maxAgeSeconds} s old (21 CFR 11.200(a)(1)); ${why}. Log in again and repeat the request with the new token.`,
    maxAgeSeconds,
  );
}

function reauthenticationRequired(detail: string, maxAgeSeconds: number): never {
  throw new ProblemException(401, 'SIGNATURE_REAUTHENTICATION_REQUIRED', detail, {
    headers: { 'WWW-Authenticate': `Bearer error="insufficient_user_authentication", max_age=${maxAgeSeconds}` },
    extensions: { maxAge: maxAgeSeconds },
  });
}
