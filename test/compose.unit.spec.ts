import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// Already installed (with @nestjs/swagger); docker-compose.yml uses merge keys, which js-yaml 5 resolves only when asked.
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';

/**
 * There is no Docker engine where the tests run, so this checks what a user would otherwise find
 * out from a failing `docker compose up`: names, ports, secrets and volumes that must agree.
 */
interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const root = join(__dirname, '..');
const compose = load(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { schema: CORE_SCHEMA.withTags(mergeTag) }) as ComposeFile;
const services = compose.services;
const names = Object.keys(services);
const apps = names.filter((name) => services[name]!.build !== undefined);
const contexts = ['enrollment', 'procedures', 'adverse-events', 'adjudication', 'reporting'];
const env = (name: string) => services[name]!.environment ?? {};

describe('docker-compose.yml', () => {
  it('is a Compose-spec file (no version key) with the infrastructure, the five contexts and the gateway', () => {
    expect(compose.version).toBeUndefined();
    expect(names.sort()).toEqual([
      'adjudication',
      'adverse-events',
      'enrollment',
      'gateway',
      'kafka',
      'kurrentdb',
      'postgres',
      'procedures',
      'reporting',
    ]);
    expect(apps.sort()).toEqual([...contexts, 'gateway'].sort());
  });

  it('builds each app from the Dockerfile with an APP that names an existing apps/<app>/src/main.ts', () => {
    expect(existsSync(join(root, 'Dockerfile'))).toBe(true);
    for (const name of apps) {
      expect(services[name]!.build).toEqual({ context: '.', args: { APP: name } });
      expect(existsSync(join(root, 'apps', name, 'src', 'main.ts'))).toBe(true);
    }
  });

  it('runs what npm run build produces, as a non-root user, with production dependencies only', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toContain('FROM node:20-bookworm-slim AS runtime');
    expect(runtime).toMatch(/^USER node$/m);
    const cmd = /^CMD \["sh", "-c", "exec node ((?:--[a-z-]+=\d+ )*)\\"dist\/apps\/\$\{APP\}\/src\/main\.js\\""\]$/m.exec(runtime);
    expect(cmd).not.toBeNull();
    expect(dockerfile).toContain('npm ci --omit=dev');
    const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // The image starts the same file, with the same Node flags, as `npm run start:prod` does for the platform.
    expect(packageJson.scripts['start:prod']).toBe(`node ${cmd![1]}dist/apps/platform/src/main.js`);
  });

  it('gives every service a health check, and waits only for healthy services that exist', () => {
    for (const name of names) {
      expect([name, (services[name]!.healthcheck?.test ?? []).length > 1]).toEqual([name, true]);
      for (const [dependency, condition] of Object.entries(services[name]!.depends_on ?? {})) {
        expect({ name, dependency, exists: names.includes(dependency) }).toEqual({ name, dependency, exists: true });
        expect(condition.condition).toBe('service_healthy');
      }
    }
  });

  it('keeps KurrentDB opt-in: behind a profile, and not required by the services that wait for it', () => {
    expect(services['kurrentdb']!.profiles).toEqual(['kurrentdb']);
    for (const name of contexts)
      expect(services[name]!.depends_on?.['kurrentdb']).toEqual({ condition: 'service_healthy', required: false });
    for (const name of names) {
      if (services[name]!.profiles) continue;
      for (const [dependency, condition] of Object.entries(services[name]!.depends_on ?? {})) {
        if (services[dependency]!.profiles)
          expect({ name, dependency, required: condition.required }).toEqual({ name, dependency, required: false });
      }
    }
  });

  it('shares one JWT secret between the gateway and every context', () => {
    const secrets = new Set(apps.map((name) => env(name)['JWT_SECRET']));
    expect(secrets.size).toBe(1);
    expect([...secrets][0]).toMatch(/^\$\{JWT_SECRET:-.+\}$/);
  });

  it("points the gateway's service URLs at the services and the port each one listens on", () => {
    const variables: Record<string, string> = {
      enrollment: 'ENROLLMENT_URL',
      procedures: 'PROCEDURES_URL',
      'adverse-events': 'ADVERSE_EVENTS_URL',
      adjudication: 'ADJUDICATION_URL',
      reporting: 'REPORTING_URL',
    };
    for (const name of contexts) {
      const url = new URL(env('gateway')[variables[name]!]!);
      expect(url.hostname).toBe(name);
      expect(url.port).toBe(env(name)['PORT']);
    }
    expect(services['gateway']!.ports).toEqual([`3000:${env('gateway')['PORT']}`]);
  });

  it('connects the contexts to the postgres service with its own credentials, and to the advertised Kafka listener', () => {
    const pg = env('postgres');
    const kafka = env('kafka');
    for (const name of contexts) {
      const url = new URL(env(name)['DATABASE_URL']!);
      expect([url.hostname, url.port, url.username, url.password, url.pathname]).toEqual([
        'postgres',
        '5432',
        pg['POSTGRES_USER'],
        pg['POSTGRES_PASSWORD'],
        `/${pg['POSTGRES_DB']}`,
      ]);
      expect(`PLAINTEXT://${env(name)['KAFKA_BROKERS']}`).toBe(kafka['KAFKA_ADVERTISED_LISTENERS']);
    }
    expect(kafka['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(kafka['KAFKA_CONTROLLER_QUORUM_VOTERS']).toBe(`${kafka['KAFKA_NODE_ID']}@kafka:9093`);
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const mounted = names
      .flatMap((name) => (services[name]!.volumes ?? []).map((volume) => volume.split(':')[0]!))
      .filter((source) => !/^[./~]/.test(source));
    expect(mounted.sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
    expect(mounted.length).toBeGreaterThanOrEqual(3);
  });
});
