/**
 * Audit tooling for exported trial logs (GET /trials/{t}/audit/export).
 *
 *   npm run trialctl -- verify <export.ndjson> [--documents DIR]
 *                                                integrity check; exit 1 names the first bad line/event;
 *                                                with --documents, every file of DIR (named by its SHA-256)
 *                                                against the documents the export names
 *   npm run trialctl -- import <export.ndjson>   verify, then append into an EMPTY store
 *                                                (DATABASE_URL, else PGlite in DATA_DIR, default ./.data)
 *   npm run trialctl -- replay <export.ndjson> [--as-of <instant|position>] [--cutoff <date>]
 *                          [--basis adjudicated|site-reported] [--group-by <fields>]
 *                                                verify, then print the endpoint report rebuilt from
 *                                                the export alone: the API's JSON for the same parameters
 * Also `npx trialctl <command> ...` (the package's bin, which runs the compiled dist/scripts/trialctl.js
 * where the dev tools are not installed: a production install after `npm run build`, the image).
 *
 * `replay … > file` writes exactly the bytes of the API's body (no trailing newline), so `cmp` with
 * a saved API answer holds. `npm run` prints its own banner on stdout: use `npx trialctl` or
 * `npm run --silent trialctl --` for a file to compare.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import {
  ImportRefusedError,
  checkDocuments,
  documentsOf,
  importEvents,
  manifestFromStore,
  verifyExport,
  type CheckedFile,
  type ExportVerification,
} from '../libs/audit/src';
import { DataDirLockedError, PostgresEventStore, openDataSource, type RecordedEvent } from '../libs/event-store/src';
import { platformMigrations } from '../apps/platform/src/platform.module';
import { ReportParams, computeEndpointReport, defaultCharter, replayReportInput, toReportQuery } from '../apps/reporting/src';
import { DomainError } from '../libs/contracts/src';
import { CUT_USAGE, CutUsageError, cutCommand } from './trialctl-cut';

/**
 * The command as the user typed it, for the usage text: `trialctl` through the bin (npx, the image),
 * `npm run trialctl --` through npm, else `node <file>` or `tsx <file>`.
 */
function invokedAs(): string {
  const bin = process.env.TRIALCTL_INVOKED_AS?.trim();
  if (bin) return bin;
  if (process.env.npm_lifecycle_event === 'trialctl') return 'npm run -s trialctl --';
  const file = relative(process.cwd(), process.argv[1] ?? 'trialctl') || basename(process.argv[1] ?? 'trialctl');
  return file.endsWith('.ts') ? `npx tsx ${file}` : `node ${file}`;
}

const USAGE = `usage: ${invokedAs()} <command> [args]
  verify <export.ndjson> [--documents DIR]
                           check an export's hash chains and manifest; with --documents, also that
                           DIR holds every document the export names, each file named by its SHA-256
  import <export.ndjson>   verify, then load it into an empty store (DATABASE_URL or DATA_DIR)
  replay <export.ndjson> [--as-of <instant|position>] [--cutoff <YYYY-MM-DD>]
         [--basis adjudicated|site-reported] [--group-by arm,diabetes,...]
                           verify, then print the endpoint report rebuilt from the export alone
                           (the same JSON as GET /trials/{t}/reports/endpoints)
${CUT_USAGE}`;

class UsageError extends Error {}

function readExport(path: string | undefined): string[] {
  if (!path) throw new UsageError('missing <export.ndjson>');
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function report(path: string, result: ExportVerification): boolean {
  if (result.ok) {
    console.log(
      `OK ${path}: trial ${result.trialId}, ${result.count} events in ${result.streams} streams, last position ${String(result.lastPosition)}, root ${result.rootHash}`,
    );
    return true;
  }
  console.error(`FAILED ${path}: line ${result.line}${result.eventId ? `, event ${result.eventId}` : ''}: ${result.problem}`);
  return false;
}

async function importCommand(path: string, lines: string[]): Promise<number> {
  const verified = verifyExport(lines);
  if (!report(path, verified) || !verified.ok) {
    console.error('import refused: nothing was written');
    return 1;
  }
  if (process.env.KURRENTDB_URL?.trim()) {
    // The import keeps each event's recordedAt and hash chain; KurrentDB assigns its own commit time.
    console.error(
      'import refused: KURRENTDB_URL is set, and an import preserves recorded times only in a PostgreSQL event store (DATABASE_URL or PGlite); nothing was written',
    );
    return 1;
  }
  const databaseUrl = process.env.DATABASE_URL?.trim();
  const dataDir = process.env.DATA_DIR?.trim() || './.data';
  let dataSource: DataSource;
  try {
    dataSource = await openDataSource(
      databaseUrl
        ? { databaseUrl, migrations: platformMigrations }
        : { dataDir: dataDir.startsWith('memory://') ? dataDir : join(dataDir, 'pglite'), migrations: platformMigrations },
    );
  } catch (error) {
    // A running server holds the directory: writing beside it would lose one side's events.
    if (error instanceof DataDirLockedError) {
      console.error(`import refused: ${error.message}; nothing was written`);
      return 1;
    }
    throw error;
  }
  try {
    await importEvents(dataSource, verified.events);
    const { manifest, events } = await manifestFromStore(new PostgresEventStore(dataSource), verified.trialId);
    const same =
      events.length === verified.events.length &&
      events.every((e, i) => e.eventId === verified.events[i]?.eventId && e.hash === verified.events[i]?.hash);
    if (!same || manifest.rootHash !== verified.rootHash) {
      console.error(
        `import check FAILED: re-export root ${manifest.rootHash} (${events.length} events) differs from ${verified.rootHash} (${verified.count} events)`,
      );
      return 1;
    }
    console.log(
      `imported ${events.length} events of trial ${verified.trialId} into ${databaseUrl ? 'DATABASE_URL' : dataDir}; re-export root hash equal: ${manifest.rootHash}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof ImportRefusedError) {
      console.error(`import refused: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await dataSource.destroy();
  }
}

/** Rebuilds the endpoint report from a verified export, with no database. */
async function replayCommand(
  path: string,
  lines: string[],
  flags: { 'as-of'?: string; cutoff?: string; basis?: string; 'group-by'?: string },
): Promise<number> {
  const verified = verifyExport(lines);
  if (!verified.ok) {
    report(path, verified);
    console.error('replay refused: the export does not verify');
    return 1;
  }
  const asOf = flags['as-of'];
  const params = ReportParams.safeParse({
    ...(asOf !== undefined ? (/^\d+$/.test(asOf) ? { asOfPosition: asOf } : { asOf }) : {}),
    ...(flags.cutoff !== undefined ? { cutoff: flags.cutoff } : {}),
    ...(flags.basis !== undefined ? { basis: flags.basis } : {}),
    ...(flags['group-by'] !== undefined ? { groupBy: flags['group-by'] } : {}),
  });
  if (!params.success) {
    const flag: Record<string, string> = {
      asOf: '--as-of',
      asOfPosition: '--as-of',
      cutoff: '--cutoff',
      basis: '--basis',
      groupBy: '--group-by',
    };
    throw new UsageError(params.error.issues.map((i) => `${flag[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '));
  }
  let body: string;
  try {
    const input = replayReportInput(verified.trialId, verified.events, toReportQuery(params.data), defaultCharter());
    // The API's body exactly (reporting.controller.ts sends this string and nothing after it): a
    // replay is checked against a saved answer byte for byte, so not even a newline is added.
    body = JSON.stringify(computeEndpointReport(input));
  } catch (error) {
    if (error instanceof DomainError) {
      console.error(`replay: ${error.message}`);
      return 1;
    }
    throw error;
  }
  // process.exit follows: on a pipe that is asynchronous (macOS, Windows) the write must be flushed first.
  await new Promise<void>((resolve, reject) => process.stdout.write(body, (error) => (error ? reject(error) : resolve())));
  return 0;
}

/** Checks a directory of downloaded documents, each file named by its SHA-256, against the documents the export names. */
async function verifyDocuments(events: RecordedEvent[], dir: string): Promise<number> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
  } catch (error) {
    throw new UsageError(`cannot read --documents ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const files: CheckedFile[] = [];
  for (const name of names) {
    const hash = createHash('sha256');
    let size = 0;
    // Streamed: a dossier's scans are tens of megabytes each.
    for await (const chunk of createReadStream(join(dir, name)) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    files.push({ name, sha256: hash.digest('hex'), size });
  }
  const references = documentsOf(events);
  const check = checkDocuments(references, files);
  for (const problem of check.problems) console.error(`FAILED ${problem}`);
  const documents = new Set(references.map((r) => r.sha256)).size;
  if (check.ok) console.log(`OK documents in ${dir}: all ${documents} files the export names, each matching its SHA-256 and size`);
  else console.error(`documents check FAILED: ${check.matched} of ${documents} files match, ${check.problems.length} problems`);
  return check.ok ? 0 : 1;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      documents: { type: 'string' },
      'as-of': { type: 'string' },
      cutoff: { type: 'string' },
      basis: { type: 'string' },
      'group-by': { type: 'string' },
      'data-cut': { type: 'string' },
      report: { type: 'string' },
      format: { type: 'string' },
      adtte: { type: 'string' },
    },
  });
  const [command, file] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case 'verify': {
      const verified = verifyExport(readExport(file));
      if (!report(file ?? '', verified)) return 1;
      return values.documents === undefined || !verified.ok ? 0 : verifyDocuments(verified.events, values.documents);
    }
    case 'import':
      return importCommand(file ?? '', readExport(file));
    case 'replay':
      return replayCommand(file ?? '', readExport(file), values);
    case 'cut':
      return cutCommand(file ?? '', readExport(file), values);
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'missing command');
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof CutUsageError) {
      console.error(`${error.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  },
);
