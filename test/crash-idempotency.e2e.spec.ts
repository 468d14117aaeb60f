import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken, type Role } from '../libs/auth/src';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-database';
import { buildApps, listeningOn, logsOf, startProcess, waitForHealthy, type RunningProcess } from './support/processes';

const SECRET = 'crash-e2e-secret-0123456789-0123456789-0123';
const COMMANDS = 120;
const IN_FLIGHT = 16;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  replayed: boolean;
}

/**
 * api.md: "A key is never stuck: if the first request died before its events were stored, a
 * retry with the key runs the command; if they were stored, it returns their answer." Proved
 * with a real server killed with SIGKILL while keyed commands are in flight, then restarted on
 * the same data: every retry succeeds, none answers IDEMPOTENCY_KEY_IN_PROGRESS, nothing is
 * recorded twice, and every answer acknowledged before the crash is replayed byte for byte.
 */
describe('Idempotency-Key across a crash (kill -9 mid-command)', () => {
  let distDir: string;
  const processes: RunningProcess[] = [];
  const serverUrl = process.env.DATABASE_URL;
  let database: ScratchDatabase | undefined;

  beforeAll(async () => {
    distDir = await buildApps('crash-e2e');
  }, 240_000);
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await database?.drop();
  }, 60_000);

  const backends: Array<[string, () => Promise<Record<string, string | undefined>>]> = [
    // DATABASE_URL is unset for the child, or it would serve from the server CI names.
    ['PGlite', async () => ({ DATA_DIR: mkdtempSync(join(tmpdir(), 'crash-e2e-')), DATABASE_URL: undefined })],
  ];
  if (serverUrl) {
    backends.push([
      'PostgreSQL',
      async () => {
        database = await createScratchDatabase(serverUrl, 'trials_crash');
        return { DATABASE_URL: database.url };
      },
    ]);
  }

  it.each(backends)(
    'on %s: every key answers once the server is back, none stuck, none doubled',
    async (_name, storage) => {
      // PORT=0: the server takes a port the kernel gives it and says which in its start-up line, so
      // no other process can take the port between choosing it and listening on it.
      const env: Record<string, string | undefined> = { ...(await storage()), JWT_SECRET: SECRET, LOG_LEVEL: 'info', PORT: '0' };
      let base = '';
      const start = async (label: string) => {
        const server = startProcess(label, join(distDir, 'apps', 'platform', 'src', 'main.js'), env);
        processes.push(server);
        base = await listeningOn(server, 90_000);
        await waitForHealthy(`${base}/health`, [server], 90_000);
        return server;
      };
      const token = (roles: Role[], sub: string, sites: string[] = []) =>
        signToken({ userId: sub, name: `Dr. ${sub}`, roles, sites }, SECRET);
      const admin = await token(['trial-admin'], 'admin');
      const investigator = await token(['site-investigator'], 'inv', ['S1']);
      const send = async (path: string, bearer: string, body: unknown, key?: string): Promise<Answer> => {
        const response = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
          body: JSON.stringify(body),
        });
        const text = await response.text();
        return {
          status: response.status,
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          replayed: response.headers.get('idempotent-replayed') === 'true',
        };
      };

      let server = await start('platform');
      try {
        const trial = 'CRASH';
        expect(await send('/trials', admin, { trialId: trial, title: 'Crash', protocolVersion: '1' })).toMatchObject({ status: 201 });
        expect(await send(`/trials/${trial}/sites`, admin, { siteId: 'S1', name: 'One', country: 'IT' })).toMatchObject({ status: 201 });
        const patients = Array.from({ length: 8 }, (_, i) => `P${i}`);
        for (const patientId of patients) {
          const enrolled = await send(`/trials/${trial}/patients`, investigator, {
            patientId,
            siteId: 'S1',
            enrolledOn: '2026-01-05',
            baseline: { ageYears: 70, sex: 'M', diabetes: true, presentation: 'cli', rutherfordClass: 5 },
          });
          expect(enrolled).toMatchObject({ status: 201 });
        }
        // Visits and adverse events, several per patient stream, so appends contend as they would.
        const commands = Array.from({ length: COMMANDS }, (_, i) => {
          const patientId = patients[i % patients.length]!;
          const key = `crash-key-${i}`;
          return i % 2 === 0
            ? {
                key,
                path: `/trials/${trial}/patients/${patientId}/visits`,
                body: { visitId: `V${i}`, visit: 'unscheduled', visitOn: '2026-02-01' },
              }
            : {
                key,
                path: `/trials/${trial}/patients/${patientId}/adverse-events`,
                body: {
                  eventId: `AE${i}`,
                  kind: 'tvr',
                  onsetOn: '2026-02-02',
                  limb: 'index',
                  tvr: { clinicallyDriven: true },
                  description: 'restenosis',
                },
              };
        });

        const acknowledged = new Map<string, Answer>();
        let next = 0;
        let killed = false;
        const worker = async () => {
          while (!killed && next < commands.length) {
            const command = commands[next++]!;
            try {
              const answer = await send(command.path, investigator, command.body, command.key);
              if (answer.status === 201) acknowledged.set(command.key, answer);
              else throw new Error(`${command.path} answered ${answer.status} ${JSON.stringify(answer.body)} before the crash`);
            } catch (error) {
              if (!killed) throw error;
            }
          }
        };
        let failure: Error | undefined;
        const workers = Array.from({ length: IN_FLIGHT }, () =>
          worker().catch((error: unknown) => (failure ??= error instanceof Error ? error : new Error(String(error)))),
        );
        // Kill once a third has been acknowledged: dozens of commands are then mid-flight.
        while (acknowledged.size < COMMANDS / 3) {
          if (failure) throw failure;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        killed = true;
        server.child.kill('SIGKILL');
        await server.exited;
        await Promise.all(workers);
        if (failure) throw failure;

        server = await start('platform after kill -9');
        let stuck = 0;
        let storedButUnacknowledged = 0;
        const failures: string[] = [];
        for (const command of commands) {
          const answer = await send(command.path, investigator, command.body, command.key);
          if (answer.body.code === 'IDEMPOTENCY_KEY_IN_PROGRESS') stuck += 1;
          if (answer.status !== 201) {
            failures.push(`${command.key}: ${answer.status} ${String(answer.body.code)}`);
            continue;
          }
          const before = acknowledged.get(command.key);
          if (before) {
            if (!answer.replayed || JSON.stringify(answer.body) !== JSON.stringify(before.body))
              failures.push(`${command.key}: not replayed as acknowledged`);
          } else if (answer.replayed) {
            storedButUnacknowledged += 1;
          }
        }
        // A second pass replays everything: each command is now recorded exactly once.
        for (const command of commands) {
          const again = await send(command.path, investigator, command.body, command.key);
          if (again.status !== 201 || !again.replayed)
            failures.push(`${command.key}: second retry ${again.status} replayed=${again.replayed}`);
        }
        console.log(
          `kill -9 with ${IN_FLIGHT} keyed commands in flight: ${acknowledged.size} acknowledged before, ` +
            `${storedButUnacknowledged} stored but unacknowledged (replayed on retry), ${stuck} stuck keys, ${failures.length} failures`,
        );
        expect({ stuck, failures }).toEqual({ stuck: 0, failures: [] });
        expect(acknowledged.size).toBeLessThan(COMMANDS);
      } catch (error) {
        if (error instanceof Error) error.message = `${error.message}\n\nprocess logs:\n${logsOf(processes)}`;
        throw error;
      } finally {
        await server.stop();
        if (env.DATA_DIR) rmSync(env.DATA_DIR, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
