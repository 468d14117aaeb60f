import { z } from 'zod';
import { corsOriginsSchema } from '@app/http';
import { hostSchema, jwtSecretSchema } from '@app/runtime';
import { GATEWAY_SERVICES, type ServiceName } from './routes';

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const EXAMPLE_PORTS: Record<ServiceName, number> = {
  enrollment: 3001,
  procedures: 3002,
  'adverse-events': 3003,
  adjudication: 3004,
  reporting: 3005,
};

const serviceUrl = (service: ServiceName) =>
  z
    .string({ error: `is required: the base URL of the ${service} service, e.g. http://localhost:${EXAMPLE_PORTS[service]}` })
    .trim()
    .pipe(
      z.url({
        protocol: /^https?$/,
        error: `must be the http(s) base URL of the ${service} service, e.g. http://localhost:${EXAMPLE_PORTS[service]}`,
      }),
    );

/** The gateway's environment, validated once at start-up. */
export const gatewayConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: hostSchema,
  ENROLLMENT_URL: serviceUrl('enrollment'),
  PROCEDURES_URL: serviceUrl('procedures'),
  ADVERSE_EVENTS_URL: serviceUrl('adverse-events'),
  ADJUDICATION_URL: serviceUrl('adjudication'),
  REPORTING_URL: serviceUrl('reporting'),
  JWT_SECRET: jwtSecretSchema,
  JWT_JWKS_URL: optionalText.pipe(z.url().optional()),
  // Idle time on a service's connection before the gateway answers 504: a report may wait briefly
  // for knowledge to arrive, an export streams for as long as it sends bytes.
  GATEWAY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  // Browser origins allowed to call the API through the gateway; unset → no CORS.
  CORS_ORIGINS: corsOriginsSchema,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/** For @nestjs/config: fails start-up with every offending variable named. */
export function validateGatewayConfig(env: Record<string, unknown>): GatewayConfig {
  const parsed = gatewayConfigSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  if (parsed.success && !parsed.data.JWT_SECRET && !parsed.data.JWT_JWKS_URL) {
    // The gateway has no data directory to generate a secret into, and must verify as the services do.
    problems.push('JWT_SECRET or JWT_JWKS_URL is required: the same one the services verify tokens with');
  }
  if (!parsed.success || problems.length > 0) throw new Error(`Invalid configuration of the gateway: ${problems.join('; ')}`);
  return parsed.data;
}

/** Base URL of each service, from the validated configuration. */
export function serviceUrls(
  config: Pick<GatewayConfig, 'ENROLLMENT_URL' | 'PROCEDURES_URL' | 'ADVERSE_EVENTS_URL' | 'ADJUDICATION_URL' | 'REPORTING_URL'>,
): Record<ServiceName, string> {
  const urls = {
    enrollment: config.ENROLLMENT_URL,
    procedures: config.PROCEDURES_URL,
    'adverse-events': config.ADVERSE_EVENTS_URL,
    adjudication: config.ADJUDICATION_URL,
    reporting: config.REPORTING_URL,
  } satisfies Record<ServiceName, string>;
  for (const name of GATEWAY_SERVICES) urls[name] = urls[name].replace(/\/+$/, '');
  return urls;
}
