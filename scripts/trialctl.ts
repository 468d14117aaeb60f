/**
 * Audit tooling for exported trial logs (GET /trials/{t}/audit/export).
 *
 *   npm run trialctl -- verify <export.ndjson>   integrity check; exit 1 names the first bad line/event
 *   npm run trialctl -- import <export.ndjson>   verify, then append into an EMPTY store
 *                                                (DATABASE_URL, else PGlite in DATA_DIR, default ./.data)
 *   npm run trialctl -- replay                   not implemented yet (exit 2)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ImportRefusedError, importEvents, manifestFromStore, verifyExport, type ExportVerification } from '../libs/audit/src';
import { PostgresEventStore, openDataSource } from '../libs/event-store/src';
import { platformMigrations } from '../apps/platform/src/platform.module';

const USAGE = `usage: npm run trialctl -- <command> [args]
  verify <export.ndjson>   check an export's hash chains and manifest
  import <export.ndjson>   verify, then load it into an empty store (DATABASE_URL or DATA_DIR)
  replay                   (not implemented yet)`;

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
    console.log(`OK ${path}: trial ${result.trialId}, ${result.count} events in ${result.streams} streams, last position ${String(result.lastPosition)}, root ${result.rootHash}`);
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
  const databaseUrl = process.env.DATABASE_URL?.trim();
  const dataDir = process.env.DATA_DIR?.trim() || './.data';
  const dataSource = await openDataSource(
    databaseUrl ? { databaseUrl, migrations: platformMigrations } : { dataDir: dataDir.startsWith('memory://') ? dataDir : join(dataDir, 'pglite'), migrations: platformMigrations },
  );
  try {
    await importEvents(dataSource, verified.events);
    const { manifest, events } = await manifestFromStore(new PostgresEventStore(dataSource), verified.trialId);
    const same = events.length === verified.events.length && events.every((e, i) => e.eventId === verified.events[i]?.eventId && e.hash === verified.events[i]?.hash);
    if (!same || manifest.rootHash !== verified.rootHash) {
      console.error(`import check FAILED: re-export root ${manifest.rootHash} (${events.length} events) differs from ${verified.rootHash} (${verified.count} events)`);
      return 1;
    }
    console.log(`imported ${events.length} events of trial ${verified.trialId} into ${databaseUrl ? 'DATABASE_URL' : dataDir}; re-export root hash equal: ${manifest.rootHash}`);
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

async function main(): Promise<number> {
  const { positionals } = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  const [command, file] = positionals;
  switch (command) {
    case 'verify':
      return report(file ?? '', verifyExport(readExport(file))) ? 0 : 1;
    case 'import':
      return importCommand(file ?? '', readExport(file));
    case 'replay':
      console.error('replay: not implemented yet');
      return 2;
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'missing command');
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  },
);
