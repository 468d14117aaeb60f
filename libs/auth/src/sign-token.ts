import { SignJWT } from 'jose';
import type { Principal } from './principal';

/** How signToken mints a token beyond the Principal's claims. */
export interface SignTokenOptions {
  /** jose time span, e.g. `8h` (the default). */
  expiresIn?: string;
  /**
   * The `auth_time` claim: when the user authenticated. Default now (a token is minted at a
   * login); `null` leaves the claim out, as a token of an identity provider that omits it.
   */
  authTime?: Date | number | null;
  /** `amr` (RFC 8176), e.g. ['pwd', 'otp']. */
  amr?: string[];
  /** `acr`, the assurance level of the authentication. */
  acr?: string;
}

/** Signs an HS256 bearer token carrying the Principal's claims; for the token CLI, demos and tests. */
export async function signToken(principal: Principal, secret: string | Uint8Array, options: SignTokenOptions = {}): Promise<string> {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  // The Principal's own authentication facts (e.g. read back from a token) come next, then now.
  const authTime = options.authTime !== undefined ? options.authTime : (principal.authTime ?? new Date());
  const amr = options.amr ?? principal.amr;
  const acr = options.acr ?? principal.acr;
  return new SignJWT({
    name: principal.name,
    roles: principal.roles,
    sites: principal.sites,
    ...(authTime === null ? {} : { auth_time: typeof authTime === 'number' ? authTime : Math.floor(authTime.getTime() / 1000) }),
    ...(amr ? { amr } : {}),
    ...(acr ? { acr } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.userId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '8h')
    .sign(key);
}
