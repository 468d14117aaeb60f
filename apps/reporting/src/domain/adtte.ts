import type { AdtteRecord, DataCutContent } from './data-cut-content';

/**
 * The cut's ADaM ADTTE dataset (one record per patient and endpoint, admiral's conventions) as CDISC
 * Dataset-JSON v1.1 and as CSV. Treatment variables (TRTP, TRTA) only for those who may see arms;
 * the blinded variant leaves the columns out. Every byte follows from the cut: the creation time
 * is the cut's knowledge instant, never the time of rendering.
 */

type DatasetJsonType = 'string' | 'integer' | 'date';

interface Column {
  name: keyof AdtteRecord;
  label: string;
  dataType: DatasetJsonType;
  /** SAS numeric dates: ISO text in the JSON, integer days since 1960 once imported. */
  targetDataType?: 'integer';
  keySequence?: number;
}

const COLUMNS: Column[] = [
  { name: 'STUDYID', label: 'Study Identifier', dataType: 'string', keySequence: 1 },
  { name: 'USUBJID', label: 'Unique Subject Identifier', dataType: 'string', keySequence: 2 },
  { name: 'SITEID', label: 'Study Site Identifier', dataType: 'string' },
  { name: 'PARAMCD', label: 'Parameter Code', dataType: 'string', keySequence: 3 },
  { name: 'PARAM', label: 'Parameter', dataType: 'string' },
  { name: 'AVAL', label: 'Analysis Value', dataType: 'integer' },
  { name: 'AVALU', label: 'Analysis Value Unit', dataType: 'string' },
  { name: 'STARTDT', label: 'Time-to-Event Origin Date for Subject', dataType: 'date', targetDataType: 'integer' },
  { name: 'ADT', label: 'Analysis Date', dataType: 'date', targetDataType: 'integer' },
  { name: 'CNSR', label: 'Censor (0 event, 1 last contact, 2 death competing, 3 withdrawal)', dataType: 'integer' },
  { name: 'EVNTDESC', label: 'Event or Censoring Description', dataType: 'string' },
  { name: 'CNSDTDSC', label: 'Censor Date Description', dataType: 'string' },
  { name: 'SRCDOM', label: 'Source Data', dataType: 'string' },
  { name: 'SRCVAR', label: 'Source Variable', dataType: 'string' },
  { name: 'SRCSEQ', label: 'Source Sequence Number (global position in the audit log)', dataType: 'integer' },
  { name: 'DIABFL', label: 'Diabetes Flag', dataType: 'string' },
  { name: 'CLIFL', label: 'Critical Limb Ischemia Presentation Flag', dataType: 'string' },
  { name: 'SEGMENT', label: 'Treated Segments of the Index Procedure', dataType: 'string' },
  { name: 'TRTP', label: 'Planned Treatment', dataType: 'string' },
  { name: 'TRTA', label: 'Actual Treatment', dataType: 'string' },
];

const TREATMENT: ReadonlySet<keyof AdtteRecord> = new Set(['TRTP', 'TRTA']);

function columns(withTreatment: boolean): Column[] {
  return COLUMNS.filter((c) => withTreatment || !TREATMENT.has(c.name));
}

/** CDISC Dataset-JSON v1.1 of the cut's ADTTE. */
export function adtteDatasetJson(content: DataCutContent, withTreatment: boolean): string {
  const cols = columns(withTreatment);
  const { cut } = content;
  const dataset = {
    datasetJSONCreationDateTime: cut.knownAt.replace(/Z$/, ''),
    datasetJSONVersion: '1.1.0',
    fileOID: `${cut.trialId}.${cut.dataCutId}.ADTTE${withTreatment ? '' : '.BLINDED'}`,
    dbLastModifiedDateTime: cut.knownAt.replace(/Z$/, ''),
    originator: 'trial-adjudication',
    sourceSystem: { name: 'trial-adjudication', version: '1' },
    studyOID: cut.trialId,
    metaDataVersionOID: `MDV.${cut.dataCutId}`,
    itemGroupOID: 'IG.ADTTE',
    records: content.adtte.length,
    name: 'ADTTE',
    label: 'Time-to-Event Analysis Dataset',
    columns: cols.map((c) => ({
      itemOID: `IT.ADTTE.${c.name}`,
      name: c.name,
      label: c.label,
      dataType: c.dataType,
      ...(c.targetDataType ? { targetDataType: c.targetDataType } : {}),
      ...(c.keySequence ? { keySequence: c.keySequence } : {}),
    })),
    rows: content.adtte.map((record) => cols.map((c) => record[c.name])),
  };
  return JSON.stringify(dataset);
}

/** RFC 4180 CSV (CRLF line ends, quotes only where needed), header of variable names. */
export function adtteCsv(content: DataCutContent, withTreatment: boolean): string {
  const cols = columns(withTreatment);
  const cell = (value: string | number) => {
    const text = String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [cols.map((c) => c.name).join(','), ...content.adtte.map((r) => cols.map((c) => cell(r[c.name])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
