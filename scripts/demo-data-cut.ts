/**
 * The demo's DSMB step (issue #17): freezes a data cut of the demo trial, saves its open report
 * (PDF), the closed report (HTML, read as a DSMB member: recorded as an unblinded view) and the ADTTE
 * dataset (CSV), and says how to re-derive them from an audit export with `trialctl cut`. A cut id
 * already frozen by an earlier run is reused: a cut is never edited.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoDataCutOptions {
  baseUrl: string;
  trialId: string;
  /** A trial-admin token (freezes the cut). */
  adminToken: string;
  /** A dsmb-member token (reads the closed session and ADTTE with treatment). */
  dsmbToken: string;
  cutoff: string;
  dataCutId?: string;
  /** Where the documents are written; default ./demo-output. */
  outDir?: string;
}

/** Lines to print: the cut, where its documents were saved and their hashes. */
export async function demoDataCut(options: DemoDataCutOptions): Promise<string[]> {
  const { baseUrl, trialId, cutoff } = options;
  const dataCutId = options.dataCutId ?? `DSMB-${cutoff}`;
  const outDir = options.outDir ?? 'demo-output';
  const url = (path: string) => `${baseUrl}/trials/${encodeURIComponent(trialId)}/data-cuts${path}`;
  const frozen = await fetch(url(''), {
    method: 'POST',
    headers: { Authorization: `Bearer ${options.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ dataCutId, cutoff, note: `Demo DSMB review, cut-off ${cutoff}` }),
  });
  const lines = [''];
  if (frozen.status === 201) lines.push(`data cut ${dataCutId} frozen (cut-off ${cutoff})`);
  else if (frozen.status === 409) lines.push(`data cut ${dataCutId} was frozen by an earlier run: reading it again`);
  else throw new Error(`POST /trials/${trialId}/data-cuts answered ${frozen.status}: ${await frozen.text()}`);
  mkdirSync(outDir, { recursive: true });
  const documents = [
    { path: `/${dataCutId}/report?session=open`, accept: 'application/pdf', token: options.adminToken, file: `${dataCutId}-open.pdf` },
    { path: `/${dataCutId}/report?session=closed`, accept: 'text/html', token: options.dsmbToken, file: `${dataCutId}-closed.html` },
    { path: `/${dataCutId}/adtte`, accept: 'text/csv', token: options.dsmbToken, file: `${dataCutId}-adtte.csv` },
  ];
  for (const d of documents) {
    const res = await fetch(url(d.path), { headers: { Authorization: `Bearer ${d.token}`, Accept: d.accept } });
    if (res.status !== 200) throw new Error(`GET ${d.path} answered ${res.status}: ${await res.text()}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    writeFileSync(join(outDir, d.file), bytes);
    lines.push(`  ${join(outDir, d.file).padEnd(48)} ${String(bytes.length).padStart(8)} bytes  sha256 ${res.headers.get('etag') ?? ''}`);
  }
  lines.push(
    `  re-derive offline: GET /trials/${trialId}/audit/export (auditor) > export.ndjson; npx trialctl cut export.ndjson --data-cut ${dataCutId}`,
  );
  return lines;
}
