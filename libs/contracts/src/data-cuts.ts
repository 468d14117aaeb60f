import { z } from 'zod';
import { ClinicalDate, Id, Text } from './primitives';

/**
 * A DSMB data cut (api.md "Data cuts"): a named, frozen knowledge position and clinical cut-off
 * from which the open and closed reports and the ADaM ADTTE dataset are derived. The event carries
 * hashes only, never results by arm: whoever can read the trial's log can check a document
 * against it without being unblinded by it.
 */
export const FreezeDataCutBody = z
  .object({
    dataCutId: Id,
    cutoff: ClinicalDate,
    asOfPosition: z.number().int().min(0).optional(),
    note: Text(2000),
    replaces: Id.optional(),
  })
  .strict();
export type FreezeDataCutBody = z.infer<typeof FreezeDataCutBody>;

/** The documents of a cut, each identified by the SHA-256 (hex) of its exact bytes. */
export const DATA_CUT_DOCUMENTS = [
  'openHtml',
  'openPdf',
  'closedHtml',
  'closedPdf',
  'adtteJson',
  'adtteCsv',
  'adtteJsonBlinded',
  'adtteCsvBlinded',
] as const;
export type DataCutDocument = (typeof DATA_CUT_DOCUMENTS)[number];

export interface DataCutFrozen {
  trialId: string;
  dataCutId: string;
  /** The clinical cut-off, YYYY-MM-DD. */
  cutoff: string;
  /** The knowledge position: the global position of the trial's last event the cut includes. */
  position: number;
  /** The knowledge instant of that position (knownAt: the running maximum of recordedAt over the trial's log). */
  knownAt: string;
  charterVersion: string;
  censoring: { withdrawal: 'withdrawal-date' | 'last-contact' };
  note: string;
  replaces?: string;
  /** SHA-256 of each document's bytes. */
  hashes: Record<DataCutDocument, string>;
}

export type DataCutEvent = { type: 'DataCutFrozen'; data: DataCutFrozen };
