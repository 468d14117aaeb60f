/**
 * Mints an HS256 bearer token for local use and demos; prints only the token on stdout (run it
 * with `npm run -s`: without -s npm prints its banner on stdout too, into `$(…)`).
 *
 *   npm run -s token -- --sub u1 --name "Dr. Jane Roe" --roles site-investigator --sites S01 [--expires 8h]
 *
 * The secret is JWT_SECRET, else the one the platform generated into <DATA_DIR or ./.data>/jwt-secret.
 * Minting stands for a login: the token's auth_time is now, so it can sign reviews and rulings for
 * SIGNATURE_MAX_AGE seconds (21 CFR 11.200(a)(1)); mint a new one to sign after that.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ROLES, isRole, jwtSecretPath, readSecretFile, signToken, type Role } from '@app/auth';

const USAGE = `usage: npm run -s token -- --sub <user id> --name "<printed name>" --roles <role,...> [--sites <site,...>] [--expires 8h]
roles: ${ROLES.join(', ')}`;

/** A mistake in the invocation or the environment: reported on stderr with exit code 2. */
class UsageError extends Error {}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function required(value: string | undefined, option: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${option} is required`);
  return value.trim();
}

function readSecret(): string {
  const fromEnv = process.env.JWT_SECRET?.trim();
  if (fromEnv) return fromEnv;
  const path = jwtSecretPath(process.env.DATA_DIR?.trim() || './.data');
  if (!existsSync(path)) {
    const jwks = process.env.JWT_JWKS_URL ? ' (JWT_JWKS_URL is set: tokens come from your identity provider)' : '';
    throw new UsageError(
      `no JWT_SECRET set and no ${path}${jwks}; set JWT_SECRET, or start the platform once on the embedded default to generate it`,
    );
  }
  try {
    return readSecretFile(path);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      name: { type: 'string' },
      roles: { type: 'string' },
      sites: { type: 'string' },
      expires: { type: 'string', default: '8h' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const userId = required(values.sub, 'sub');
  const name = required(values.name, 'name');
  const requested = list(required(values.roles, 'roles'));
  const unknown = requested.filter((role) => !isRole(role));
  if (unknown.length > 0) throw new UsageError(`unknown role(s): ${unknown.join(', ')}; known roles: ${ROLES.join(', ')}`);
  const roles = requested.filter((role): role is Role => isRole(role));
  const sites = list(values.sites);
  const secret = readSecret();

  let token: string;
  try {
    token = await signToken({ userId, name, roles, sites }, secret, { expiresIn: values.expires });
  } catch (error) {
    // jose rejects a malformed time span with a TypeError; anything else is unexpected.
    if (error instanceof TypeError) throw new UsageError(`--expires ${values.expires}: ${error.message} (e.g. 15m, 8h, 7d)`);
    throw error;
  }
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`token: ${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`token: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
