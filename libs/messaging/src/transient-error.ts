/**
 * Node's network errors: the peer (PostgreSQL, a pooler) is unreachable or went away. Nothing in
 * the message causes them.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is unavailable rather than of a statement that is wrong: class 08
 * (connection exception), 57P01–57P03 (shutting down, crashed, starting up) and 53300 (too many
 * connections, as when every service reconnects at once after a restart).
 */
const SERVER_STATES = /^(08...|57P0[123]|53300)$/;

/** What node-postgres and its pool say, without a code, when a connection dies or cannot be had. */
const DRIVER_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is not established|the database system is (starting up|shutting down|in recovery)/i;

/**
 * True for an error of the infrastructure (the database unreachable, restarting, out of
 * connections), which retrying later cures without any change to the message. Looks through
 * TypeORM's `driverError` and `cause` chains, where the driver's error ends up.
 */
export function isTransientInfrastructureError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const { code, message, driverError, cause } = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_STATES.test(code))) return true;
    if (typeof message === 'string' && DRIVER_MESSAGES.test(message)) return true;
    current = driverError ?? cause;
  }
  return false;
}
