import { z } from 'zod';
import { parseBlobStoreLocation } from '@app/blob-store';
import { corsOriginsSchema } from '@app/http';
import { parseTopicCreation } from '@app/messaging';

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `24h`, `90m`, `3600s`, `7d` (a bare number is seconds), in milliseconds. */
export const durationMs = z
  .string()
  .trim()
  .regex(/^\d{1,9}(ms|s|m|h|d)?$/, 'must be a duration such as 24h, 90m, 3600s or 7d')
  .transform((text) => {
    const [, amount, unit] = /^(\d+)(ms|s|m|h|d)?$/.exec(text)!;
    return Number(amount) * DURATION_UNITS_MS[(unit ?? 's') as keyof typeof DURATION_UNITS_MS];
  })
  .pipe(z.number().min(1000, 'must be at least 1s'));

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits; a shorter one falls to an offline guess from any token. */
export const MIN_JWT_SECRET_BYTES = 32;

/** JWT_SECRET: absent (blank) or at least 32 bytes; the platform, every service and the gateway share this rule. */
export const jwtSecretSchema = optionalText.pipe(
  z
    .string()
    .refine((secret) => Buffer.byteLength(secret, 'utf8') >= MIN_JWT_SECRET_BYTES, {
      error: (issue) =>
        `must be at least ${MIN_JWT_SECRET_BYTES} bytes (got ${Buffer.byteLength(String(issue.input), 'utf8')}): an HS256 secret shorter than its hash can be guessed from one token; e.g. openssl rand -base64 32`,
    })
    .optional(),
);

/** The interface to listen on: a host name or an IP address; `0.0.0.0` or `::` for all interfaces. */
export const hostSchema = optionalText.pipe(
  z
    .string()
    .regex(/^[A-Za-z0-9.:%_-]{1,253}$/, 'must be a host name or an IP address, e.g. 127.0.0.1, ::1, 0.0.0.0 (all interfaces)')
    .optional(),
);

/** The environment of api.md's "Configuration" table, validated once at start-up. */
export const platformConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Unset: Node's default, every interface (IPv6 and IPv4 where the system has IPv6). */
  HOST: hostSchema,
  DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  DATA_DIR: z.string().min(1).default('./.data'),
  JWT_SECRET: jwtSecretSchema,
  JWT_JWKS_URL: optionalText.pipe(z.url().optional()),
  KURRENTDB_URL: optionalText.pipe(
    z
      .string()
      .regex(
        /^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\//,
        'must be a KurrentDB connection string, e.g. kurrentdb://host:2113?tls=false',
      )
      .optional(),
  ),
  KAFKA_BROKERS: optionalText,
  /** `<partitions>[:<replication factor>]`: the relay creates missing integration and dead-letter topics at start-up. */
  KAFKA_CREATE_TOPICS: optionalText.superRefine((value, context) => {
    try {
      parseTopicCreation(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message.replace(/^KAFKA_CREATE_TOPICS /, '') });
    }
  }),
  /**
   * api.md: seconds since the token's auth_time within which a review or ruling may be signed
   * (21 CFR 11.200(a)(1)). At most a day: beyond that the "fresh authentication" means nothing.
   */
  SIGNATURE_MAX_AGE: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    z.coerce
      .number({ error: 'must be a whole number of seconds, e.g. 300' })
      .int('must be a whole number of seconds, e.g. 300')
      .min(1, 'must be at least 1 second')
      .max(86_400, 'must be at most 86400 seconds (a day)')
      .default(300),
  ),
  /** api.md: keys are kept at least 24 hours. */
  IDEMPOTENCY_TTL: durationMs.default(24 * 3_600_000),
  CORS_ORIGINS: corsOriginsSchema,
  /** Where document bytes live: absent or `postgres` → the event store's database; `s3://bucket[/prefix]` → S3. */
  BLOB_STORE: optionalText.superRefine((value, context) => {
    try {
      parseBlobStoreLocation(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }),
  S3_ENDPOINT: optionalText.pipe(z.url().optional()),
  S3_REGION: optionalText,
  S3_ACCESS_KEY_ID: optionalText,
  S3_SECRET_ACCESS_KEY: optionalText,
  /** `true` for MinIO and most self-hosted stores (bucket in the path, not the host name). */
  S3_FORCE_PATH_STYLE: optionalText
    .pipe(z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional())
    .transform((value) => value === 'true' || value === '1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type PlatformConfig = z.infer<typeof platformConfigSchema>;

/** Where the process runs: `platform` is every context in one process; a service is one context. */
export interface ProcessIdentity {
  /** The app's name (`apps/<name>`), used in logs and messages. */
  name: string;
  /** PORT when unset: distinct per service so they can all run on one machine untouched. */
  defaultPort: number;
}

/**
 * A standalone service: the platform's variables with DATABASE_URL required, since PGlite is one
 * process per data directory and services that share one event store need a PostgreSQL server.
 */
export function serviceConfigSchema(service: ProcessIdentity) {
  return platformConfigSchema.omit({ DATA_DIR: true }).extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(service.defaultPort),
    DATABASE_URL: z
      .string({
        error: `is required: the ${service.name} service shares one PostgreSQL server with the other services (PGlite serves one process only; run "platform" for the embedded deployment)`,
      })
      .trim()
      .pipe(z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })),
    // Five services and their subscriptions share one server's max_connections (100 by default).
    DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(10),
  });
}

export type ServiceConfig = z.infer<ReturnType<typeof serviceConfigSchema>>;

/** Parses a service's environment; the error names every offending variable and the service. */
export function validateServiceConfig(service: ProcessIdentity, env: Record<string, unknown>): ServiceConfig {
  const parsed = serviceConfigSchema(service).safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid configuration of the ${service.name} service: ${problems}`);
  }
  if (!parsed.data.JWT_SECRET && !parsed.data.JWT_JWKS_URL) {
    throw new Error(
      `Invalid configuration of the ${service.name} service: JWT_SECRET or JWT_JWKS_URL is required (the same as the gateway's and the other services')`,
    );
  }
  return parsed.data;
}

/** For @nestjs/config: fails start-up with every offending variable named. */
export function validatePlatformConfig(env: Record<string, unknown>): PlatformConfig {
  const parsed = platformConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}
