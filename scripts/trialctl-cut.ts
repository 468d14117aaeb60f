/**
 * `trialctl cut <export.ndjson> --data-cut <id> [--report open|closed --format html|pdf] [--adtte json|csv]`
 *
 * Rebuilds a DSMB data cut's documents from a verified audit export alone (api.md "Data cuts") with
 * the code the API renders them with, and checks every one against the SHA-256 its `DataCutFrozen`
 * event recorded: byte-identical, or exit 1 naming what differs. With `--report` or `--adtte` the
 * document's bytes go to stdout (nothing else), so `> file` holds exactly what the API serves.
 */
import { type ExportVerification, verifyExport } from '../libs/audit/src';
import type { DataCutDocument, DataCutFrozen } from '../libs/contracts/src';
import { dataCutContent, parametersOf, renderDataCutDocuments, sha256 } from '../apps/reporting/src';

export interface CutFlags {
  'data-cut'?: string;
  report?: string;
  format?: string;
  adtte?: string;
}

export const CUT_USAGE = `  cut <export.ndjson> --data-cut <id> [--report open|closed --format html|pdf] [--adtte json|csv]
                           verify, rebuild the data cut's documents from the export alone and check
                           them against the hashes in DataCutFrozen (exit 1 naming what differs);
                           --report/--adtte print that document's bytes`;

/** A flag the user got wrong: the caller prints it with the usage (exit 2). */
export class CutUsageError extends Error {}

/** Which document the flags ask for, if any. */
function requested(flags: CutFlags): DataCutDocument | undefined {
  if (flags.report !== undefined && flags.adtte !== undefined) throw new CutUsageError('give --report or --adtte, not both');
  if (flags.report !== undefined) {
    if (flags.report !== 'open' && flags.report !== 'closed') throw new CutUsageError('--report: open or closed');
    const format = flags.format ?? 'html';
    if (format !== 'html' && format !== 'pdf') throw new CutUsageError('--format: html or pdf');
    return `${flags.report}${format === 'pdf' ? 'Pdf' : 'Html'}`;
  }
  if (flags.format !== undefined) throw new CutUsageError('--format goes with --report');
  if (flags.adtte !== undefined) {
    if (flags.adtte !== 'json' && flags.adtte !== 'csv') throw new CutUsageError('--adtte: json or csv');
    return flags.adtte === 'csv' ? 'adtteCsv' : 'adtteJson';
  }
  return undefined;
}

export async function cutCommand(path: string, lines: string[], flags: CutFlags): Promise<number> {
  const dataCutId = flags['data-cut'];
  if (!dataCutId) throw new CutUsageError('missing --data-cut <id>');
  const wanted = requested(flags);
  const verified: ExportVerification = verifyExport(lines);
  if (!verified.ok) {
    console.error(`FAILED ${path}: line ${verified.line}${verified.eventId ? `, event ${verified.eventId}` : ''}: ${verified.problem}`);
    console.error('cut refused: the export does not verify');
    return 1;
  }
  const frozen = verified.events.find((e) => e.type === 'DataCutFrozen' && (e.data as DataCutFrozen).dataCutId === dataCutId);
  if (!frozen) {
    console.error(`cut: the export of trial ${verified.trialId} holds no data cut ${dataCutId}`);
    return 1;
  }
  const cut = frozen.data as DataCutFrozen;
  // The export's events, in its (delivery) order: what the API's read of the log gives too.
  const documents = await renderDataCutDocuments(dataCutContent(verified.events, parametersOf(cut)));
  const names = Object.keys(cut.hashes) as DataCutDocument[];
  const differing = names.filter((name) => sha256(documents[name]) !== cut.hashes[name]);
  if (differing.length > 0) {
    for (const name of differing)
      console.error(
        `FAILED data cut ${dataCutId}: ${name} re-derives to sha256 ${sha256(documents[name])}, DataCutFrozen says ${cut.hashes[name]}`,
      );
    return 1;
  }
  if (wanted === undefined) {
    console.log(
      `OK data cut ${dataCutId} of trial ${verified.trialId}: cut-off ${cut.cutoff}, position ${cut.position}, ${names.length} documents re-derived byte-identical (${names.join(', ')})`,
    );
    return 0;
  }
  const bytes = documents[wanted];
  await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (error) => (error ? reject(error) : resolve())));
  return 0;
}
