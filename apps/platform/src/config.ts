import { z } from 'zod';

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** The environment of api.md's "Configuration" table, validated once at start-up. */
export const platformConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  DATA_DIR: z.string().min(1).default('./.data'),
  JWT_SECRET: optionalText,
  JWT_JWKS_URL: optionalText.pipe(z.url().optional()),
  KURRENTDB_URL: optionalText.pipe(
    z
      .string()
      .regex(/^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\//, 'must be a KurrentDB connection string, e.g. kurrentdb://host:2113?tls=false')
      .optional(),
  ),
  KAFKA_BROKERS: optionalText,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type PlatformConfig = z.infer<typeof platformConfigSchema>;

/** For @nestjs/config: fails start-up with every offending variable named. */
export function validatePlatformConfig(env: Record<string, unknown>): PlatformConfig {
  const parsed = platformConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}
