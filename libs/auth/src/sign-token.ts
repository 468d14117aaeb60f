import { SignJWT } from 'jose';
import type { Principal } from './principal';

/** Signs an HS256 bearer token carrying the Principal's claims; for the token CLI, demos and tests. */
export async function signToken(principal: Principal, secret: string | Uint8Array, options: { expiresIn?: string } = {}): Promise<string> {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT({ name: principal.name, roles: principal.roles, sites: principal.sites })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.userId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '8h')
    .sign(key);
}
