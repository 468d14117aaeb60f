import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// Already installed (with @nestjs/swagger); docker-compose.yml uses merge keys, which js-yaml 5 resolves only when asked.
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
// The file, not the package index: the index also loads Nest and the event store.
import { TOPICS } from '../libs/messaging/src/integration-event';

/**
 * There is no Docker engine where the tests run, so this checks what a user would otherwise find
 * out from a failing `docker compose up`: names, ports, secrets and volumes that must agree.
 */
interface ComposeService {
  image?: string;
  restart?: string;
  entrypoint?: string[];
  command?: string[];
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
/** Services that run once and exit (an init step), which others wait for to complete. */
const oneShot = names.filter((name) => services[name]!.restart === 'no');

describe('docker-compose.yml', () => {
  it('is a Compose-spec file (no version key) with the infrastructure, the five contexts and the gateway', () => {
    expect(compose.version).toBeUndefined();
    expect(names.sort()).toEqual([
      'adjudication',
      'adverse-events',
      'enrollment',
      'gateway',
      'kafka',
      'kafka-topics',
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
    // Node 22 LTS in every stage (Node 20 is past its end of life), while package.json still admits 20.19+.
    expect(dockerfile.match(/^FROM .*$/gm)).toEqual([
      'FROM node:22-bookworm-slim AS build',
      'FROM node:22-bookworm-slim AS deps',
      'FROM node:22-bookworm-slim AS runtime',
    ]);
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node).toBe('>=20.19');
    expect(runtime).toMatch(/^USER node$/m);
    const cmd = /^CMD \["sh", "-c", "exec node ((?:--[a-z-]+=\d+ )*)\\"dist\/apps\/\$\{APP\}\/src\/main\.js\\""\]$/m.exec(runtime);
    expect(cmd).not.toBeNull();
    expect(dockerfile).toContain('npm ci --omit=dev');
    const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // The image starts the same file, with the same Node flags, as `npm run start:prod` does for the platform.
    expect(packageJson.scripts['start:prod']).toBe(`node ${cmd![1]}dist/apps/platform/src/main.js`);
  });

  it('gives every long-running service a health check, and waits only for healthy services or completed one-shots that exist', () => {
    expect(oneShot).toEqual(['kafka-topics']);
    for (const name of names) {
      if (!oneShot.includes(name)) expect([name, (services[name]!.healthcheck?.test ?? []).length > 1]).toEqual([name, true]);
      for (const [dependency, condition] of Object.entries(services[name]!.depends_on ?? {})) {
        expect({ name, dependency, exists: names.includes(dependency) }).toEqual({ name, dependency, exists: true });
        expect({ name, dependency, condition: condition.condition }).toEqual({
          name,
          dependency,
          condition: oneShot.includes(dependency) ? 'service_completed_successfully' : 'service_healthy',
        });
      }
    }
  });

  it('checks PostgreSQL over TCP (-h), not the socket a first start answers on before its real server is up', () => {
    const test = services['postgres']!.healthcheck!.test.join(' ');
    expect(test).toMatch(/pg_isready -h 127\.0\.0\.1 /);
    expect(test).toContain(`-U ${env('postgres')['POSTGRES_USER']} -d ${env('postgres')['POSTGRES_DB']}`);
  });

  it('creates every integration topic and its dead-letter topic before any service starts; nothing auto-creates', () => {
    const init = services['kafka-topics']!;
    expect(init.image).toBe(services['kafka']!.image);
    expect(init.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    expect(env('kafka-topics')['TOPICS']!.split(' ')).toEqual(Object.values(TOPICS));
    expect(env('kafka-topics')['PARTITIONS']).toMatch(/^\$\{KAFKA_TOPIC_PARTITIONS:-[1-9]\d*\}$/);
    const script = init.command!.join('\n');
    expect(script).toContain('set -e');
    expect(script).toContain('for name in "$$topic" "$$topic.dlq"');
    expect(script).toMatch(/--create --if-not-exists[\s\\]+--topic "\$\$name" --partitions "\$\$PARTITIONS"/);
    // Compose substitutes a single $ itself: the shell's variables must be written $$.
    expect(script.replace(/\$\$/g, '')).not.toContain('$');
    expect(env('kafka')['KAFKA_AUTO_CREATE_TOPICS_ENABLE']).toBe('false');
    // Every app waits for it, which is also what lets `docker compose up --wait` accept its exit.
    for (const name of contexts)
      expect(services[name]!.depends_on?.['kafka-topics']).toEqual({ condition: 'service_completed_successfully' });
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
      expect(kafka['KAFKA_ADVERTISED_LISTENERS']!.split(',')).toContain(`PLAINTEXT://${env(name)['KAFKA_BROKERS']}`);
    }
    expect(kafka['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(kafka['KAFKA_CONTROLLER_QUORUM_VOTERS']).toBe(`${kafka['KAFKA_NODE_ID']}@kafka:9093`);
  });

  it('offers Kafka to a client on the host: an external listener advertised as localhost, published on loopback only', () => {
    const kafka = env('kafka');
    const listeners = Object.fromEntries(kafka['KAFKA_LISTENERS']!.split(',').map((l) => [l.split('://')[0], l.split(':').pop()]));
    const advertised = Object.fromEntries(
      kafka['KAFKA_ADVERTISED_LISTENERS']!.split(',').map((l) => [l.split('://')[0], l.split('://')[1]]),
    );
    expect(advertised['EXTERNAL']).toBe(`localhost:${listeners['EXTERNAL']}`);
    expect(kafka['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP']!.split(',')).toContain('EXTERNAL:PLAINTEXT');
    expect(services['kafka']!.ports).toEqual([`127.0.0.1:${listeners['EXTERNAL']}:${listeners['EXTERNAL']}`]);
    // The services keep the internal listener, which the broker also uses between its own roles.
    expect(kafka['KAFKA_INTER_BROKER_LISTENER_NAME']).toBe('PLAINTEXT');
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const mounted = names
      .flatMap((name) => (services[name]!.volumes ?? []).map((volume) => volume.split(':')[0]!))
      .filter((source) => !/^[./~]/.test(source));
    expect(mounted.sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
    expect(mounted.length).toBeGreaterThanOrEqual(3);
  });

  it('has a smoke script for a machine with Docker: valid bash, up --wait, the demo through the gateway, cases polled', () => {
    const path = join(root, 'scripts', 'compose-smoke.sh');
    execFileSync('bash', ['-n', path]);
    const script = readFileSync(path, 'utf8');
    expect(script).toMatch(/^docker compose up -d --build --wait /m);
    expect(script).toContain('DEMO_URL="$GATEWAY_URL" npm run --silent demo');
    expect(script).toContain('/adjudication/cases');
    expect(script).toContain('GATEWAY_URL="${GATEWAY_URL:-http://localhost:3000}"');
    expect(services['gateway']!.ports).toEqual(['3000:3000']);
  });
});
