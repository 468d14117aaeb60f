import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';

/** Where bearer tokens' keys come from, as configured (api.md, "Configuration"). */
export interface JwtSettingsInput {
  jwtSecret?: string;
  jwksUrl?: string;
  databaseUrl?: string;
  dataDir: string;
}

/** Resolved verification keys and the only algorithms accepted with them. */
export type JwtSettings =
  | { readonly mode: 'secret'; readonly algorithms: readonly ['HS256']; readonly secret: Uint8Array }
  | { readonly mode: 'jwks'; readonly algorithms: readonly ['RS256', 'ES256']; readonly jwksUrl: URL; readonly keys: JWTVerifyGetKey };

/** The command that the start-up log and the CLI's help suggest; -s keeps npm's banner out of $(…). */
export const MINT_TOKEN_EXAMPLE = 'npm run -s token -- --sub u1 --name "Dr. Jane Roe" --roles site-investigator --sites S01';

/** The file that holds the embedded default's generated HS256 secret. */
export function jwtSecretPath(dataDir: string): string {
  return join(dataDir, 'jwt-secret');
}

/** Raised by the JWKS key source when the keys cannot be fetched, which is not the token's fault. */
export class KeySourceUnavailableError extends Error {
  constructor(url: URL, cause: unknown) {
    super(`JWKS at ${url.href} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'KeySourceUnavailableError';
  }
}

/**
 * Picks HS256 with JWT_SECRET or RS256/ES256 with JWT_JWKS_URL. With neither, the embedded
 * default generates a secret once into DATA_DIR; a server deployment refuses to start.
 */
export function resolveJwtSettings(input: JwtSettingsInput, log: (line: string) => void): JwtSettings {
  const { jwtSecret, jwksUrl, databaseUrl, dataDir } = input;
  if (jwtSecret && jwksUrl) {
    throw new Error('Both JWT_SECRET and JWT_JWKS_URL are set; set exactly one of them (HS256 secret or RS256/ES256 JWKS).');
  }
  if (jwtSecret) return { mode: 'secret', algorithms: ['HS256'], secret: new TextEncoder().encode(jwtSecret) };
  if (jwksUrl) return jwksSettings(jwksUrl);
  if (databaseUrl) {
    // A generated secret on a shared server would differ per replica and live outside any secret store.
    throw new Error('JWT_SECRET or JWT_JWKS_URL is required when DATABASE_URL names a PostgreSQL server; set one of them.');
  }
  if (dataDir.startsWith('memory://')) {
    // Nothing of an in-memory DATA_DIR is on disk: a generated secret would be written into a directory
    // named "memory:" and no one could mint a token for this process with `npm run token`.
    throw new Error(
      `DATA_DIR=${dataDir} keeps nothing on disk, so no secret can be generated into it; set JWT_SECRET (at least 32 bytes) or JWT_JWKS_URL.`,
    );
  }
  const path = jwtSecretPath(dataDir);
  const generated = ensureSecretFile(path);
  const secret = readSecretFile(path);
  log(
    `${generated ? 'No JWT_SECRET set: generated an HS256 secret into' : 'No JWT_SECRET set: using the HS256 secret generated earlier in'} ${path}; ` +
      `mint a token with: ${MINT_TOKEN_EXAMPLE}`,
  );
  return { mode: 'secret', algorithms: ['HS256'], secret: new TextEncoder().encode(secret) };
}

/** Reads the secret file written by resolveJwtSettings(); throws when it is missing or empty. */
export function readSecretFile(path: string): string {
  const secret = readFileSync(path, 'utf8').trim();
  if (secret === '') throw new Error(`${path} is empty; delete it to have a new secret generated, or set JWT_SECRET.`);
  return secret;
}

function ensureSecretFile(path: string): boolean {
  // DATA_DIR may not exist yet: the event store creates its own subdirectory independently.
  mkdirSync(dirname(path), { recursive: true });
  try {
    // 'wx' makes creation exclusive, so two processes starting together agree on one secret.
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function jwksSettings(jwksUrl: string): JwtSettings {
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch {
    throw new Error(`JWT_JWKS_URL is not a valid URL: ${jwksUrl}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`JWT_JWKS_URL must be an http(s) URL: ${jwksUrl}`);
  const remote = createRemoteJWKSet(url);
  const keys: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      // These mean the token names a key the set does not hold; anything else is the key source failing.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeySourceUnavailableError(url, error);
    }
  };
  return { mode: 'jwks', algorithms: ['RS256', 'ES256'], jwksUrl: url, keys };
}
