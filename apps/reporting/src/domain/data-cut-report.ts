import { createHash } from 'node:crypto';
import PDFDocument from 'pdfkit';
import type { DataCutDocument } from '@app/contracts';
import { adtteCsv, adtteDatasetJson } from './adtte';
import {
  AT_RISK_INTERVAL_DAYS,
  SCHEDULED_VISITS,
  type DataCutContent,
  type EndpointFigures,
  type EndpointGroupFigures,
  type SessionContent,
} from './data-cut-content';
import { renderKaplanMeierSvg } from './km-svg';

// svg-to-pdfkit ships no types: a function drawing an SVG string onto a PDFKit document.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SVGtoPDF = require('svg-to-pdfkit') as (doc: PDFKit.PDFDocument, svg: string, x: number, y: number, options: object) => void;

/**
 * The DSMB report of a data cut, open (pooled) or closed (by arm), as HTML and as PDF. Both are
 * rendered from one list of blocks built from the cut's content, so they say the same thing; both
 * are byte-for-byte functions of the content: no render time (the PDF's dates are the cut's
 * knowledge instant), built-in fonts only (Helvetica, no font file), no compression (zlib builds
 * may differ between machines; `trialctl cut` must re-derive the same bytes elsewhere).
 */

export type Session = 'open' | 'closed';

type Align = 'left' | 'right';
type Block =
  | { kind: 'title'; text: string }
  | { kind: 'heading'; text: string }
  | { kind: 'subheading'; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'facts'; rows: Array<[string, string]> }
  | { kind: 'table'; columns: Array<{ title: string; width: number; align: Align }>; rows: string[][] }
  | { kind: 'plot'; svg: string }
  | { kind: 'pageBreak' };

const CENSORING_TEXT = {
  'withdrawal-date': 'withdrawals censored at the withdrawal date',
  'last-contact': 'withdrawals censored at the last contact on or before the withdrawal',
} as const;

const f4 = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(4));
const ci = (estimate: number | null, lower: number | null, upper: number | null) => `${f4(estimate)} [${f4(lower)}, ${f4(upper)}]`;

/** The report's blocks, in reading order. */
export function dataCutBlocks(content: DataCutContent, session: Session): Block[] {
  const { cut, trial, charter } = content;
  const figures: SessionContent = session === 'open' ? content.open : content.closed;
  const blocks: Block[] = [
    { kind: 'title', text: `DSMB report - ${session === 'open' ? 'open session (pooled)' : 'CLOSED SESSION (by arm)'}` },
    {
      kind: 'facts',
      rows: [
        ['Trial', `${cut.trialId} - ${trial.title}`],
        ['Protocol version', trial.protocolVersion],
        ['Data cut', cut.dataCutId + (cut.replaces ? ` (replaces ${cut.replaces})` : '')],
        ['Clinical cut-off', cut.cutoff],
        ['Knowledge position', String(cut.position)],
        ['Knowledge instant', cut.knownAt],
        ['Charter version', charter.version],
        ['Censoring rule', CENSORING_TEXT[charter.censoring.withdrawal]],
        ['Audit chain head (hash of the event at the knowledge position)', cut.chainHead],
        ['Basis', 'events as finalized by the CEC (adjudicated); pending cases counted apart'],
        ['Note', cut.note],
      ],
    },
    ...(session === 'closed'
      ? [
          {
            kind: 'paragraph' as const,
            text: 'CONFIDENTIAL - for the closed session of the DSMB only. Results by arm; every read is recorded.',
          },
        ]
      : []),
    { kind: 'pageBreak' },
    ...flowBlocks(content),
    ...adverseEventBlocks(content),
  ];
  for (const endpoint of figures.endpoints) blocks.push({ kind: 'pageBreak' }, ...endpointBlocks(content, endpoint, session));
  return blocks;
}

function flowBlocks(content: DataCutContent): Block[] {
  const { flow } = content;
  const visitRule = SCHEDULED_VISITS.map((v) => `${v.visit} at day ${v.targetDay} (window +${v.windowDays} d)`).join(', ');
  const blocks: Block[] = [
    { kind: 'heading', text: 'Patient flow' },
    {
      kind: 'table',
      columns: [
        { title: 'Patients', width: 300, align: 'left' },
        { title: 'n', width: 60, align: 'right' },
      ],
      rows: [
        ['Enrolled by the cut-off', String(flow.enrolled)],
        ['Index procedure by the cut-off', String(flow.indexProcedure)],
        ['Withdrawn by the cut-off', String(flow.withdrawn.length)],
        ['Died by the cut-off (site-reported)', String(flow.died.length)],
      ],
    },
  ];
  if (flow.withdrawn.length > 0)
    blocks.push({
      kind: 'table',
      columns: [
        { title: 'Withdrawn patient', width: 160, align: 'left' },
        { title: 'Site', width: 80, align: 'left' },
        { title: 'Withdrawn on', width: 100, align: 'left' },
      ],
      rows: flow.withdrawn.map((w) => [w.patientId, w.siteId, w.withdrawnOn]),
    });
  if (flow.died.length > 0)
    blocks.push({
      kind: 'table',
      columns: [
        { title: 'Patient who died', width: 160, align: 'left' },
        { title: 'Site', width: 80, align: 'left' },
        { title: 'Died on', width: 100, align: 'left' },
      ],
      rows: flow.died.map((d) => [d.patientId, d.siteId, d.diedOn]),
    });
  blocks.push(
    { kind: 'subheading', text: 'Follow-up completeness' },
    {
      kind: 'paragraph',
      text:
        `Visits due by the cut-off: ${flow.visits.due}; done: ${flow.visits.done}; overdue: ${flow.visits.overdue.length}. ` +
        `A visit is due once its window has closed on or before the cut-off: ${visitRule}, from the index procedure; ` +
        'a patient withdrawn or dead before the target day owes none.',
    },
  );
  if (flow.visits.overdue.length > 0)
    blocks.push({
      kind: 'table',
      columns: [
        { title: 'Site', width: 80, align: 'left' },
        { title: 'Patient', width: 140, align: 'left' },
        { title: 'Visit', width: 60, align: 'left' },
        { title: 'Target day', width: 100, align: 'left' },
        { title: 'Window closed', width: 100, align: 'left' },
      ],
      rows: flow.visits.overdue.map((v) => [v.siteId, v.patientId, v.visit, v.dueOn, v.windowEndsOn]),
    });
  return blocks;
}

function adverseEventBlocks(content: DataCutContent): Block[] {
  const { adverseEvents } = content;
  const oldest = adverseEvents.oldestPending;
  return [
    { kind: 'heading', text: 'Adverse events by kind and CEC status' },
    {
      kind: 'table',
      columns: [
        { title: 'Kind', width: 120, align: 'left' },
        { title: 'Reported', width: 70, align: 'right' },
        { title: 'Adjudicated', width: 80, align: 'right' },
        { title: 'Pending', width: 70, align: 'right' },
        { title: 'No case', width: 70, align: 'right' },
      ],
      rows: adverseEvents.byKind.map((r) => [r.kind, String(r.reported), String(r.adjudicated), String(r.pending), String(r.noCase)]),
    },
    {
      kind: 'paragraph',
      text:
        `Adverse events with onset on or before the cut-off, as currently reported; retracted: ${adverseEvents.retracted}. ` +
        (oldest
          ? `Oldest pending case: ${oldest.eventId} (patient ${oldest.patientId}), open since ${oldest.openedAt}, ${oldest.ageDays} days at the knowledge instant.`
          : 'No case is pending.'),
    },
  ];
}

const GROUP_COLUMNS: Array<{ title: string; width: number; align: Align }> = [
  { title: 'Group', width: 110, align: 'left' },
  { title: 'n', width: 30, align: 'right' },
  { title: 'Events', width: 42, align: 'right' },
  { title: 'Censored', width: 50, align: 'right' },
  { title: 'Pending', width: 45, align: 'right' },
  { title: 'KM at horizon [95% CI]', width: 140, align: 'right' },
  { title: 'SE', width: 45, align: 'right' },
  { title: 'Event-free (crude) [95% CI]', width: 165, align: 'right' },
  { title: 'Cum. incidence [95% CI]', width: 140, align: 'right' },
];

function groupRow(g: EndpointGroupFigures, includesDeath: boolean): string[] {
  const eventFree = g.crude.eventFree === null ? '-' : `${Math.round(g.crude.eventFree * g.crude.evaluable)}/${g.crude.evaluable}`;
  return [
    g.label,
    String(g.n),
    String(g.events),
    String(g.censored),
    String(g.pendingAdjudication),
    ci(g.km.survival, g.km.lower, g.km.upper),
    f4(g.km.standardError),
    `${eventFree} = ${ci(g.crude.eventFree, g.crude.lower, g.crude.upper)}`,
    includesDeath || !g.cumulativeIncidence
      ? 'n/a'
      : ci(g.cumulativeIncidence.estimate, g.cumulativeIncidence.lower, g.cumulativeIncidence.upper),
  ];
}

function endpointBlocks(content: DataCutContent, endpoint: EndpointFigures, session: Session): Block[] {
  const blocks: Block[] = [
    { kind: 'heading', text: `${endpoint.label} (${endpoint.id})` },
    {
      kind: 'paragraph',
      text:
        `Horizon ${endpoint.horizonDays} days. Kaplan-Meier with Greenwood SE and 95% CI on the log-log scale; crude event-free ` +
        `proportion among evaluable patients with a Clopper-Pearson 95% CI` +
        (endpoint.includesDeath ? '.' : '; cumulative incidence (Aalen-Johansen) with death as the competing event.'),
    },
  ];
  for (const table of endpoint.tables)
    blocks.push(
      { kind: 'subheading', text: table.by === 'pooled' ? 'All patients' : `By ${table.by}` },
      { kind: 'table', columns: GROUP_COLUMNS, rows: table.groups.map((g) => groupRow(g, endpoint.includesDeath)) },
    );
  const breakdown = endpoint.tables[endpoint.tables.length - 1];
  const atRiskGroups = session === 'closed' ? (breakdown?.groups ?? []) : (endpoint.tables[0]?.groups ?? []);
  const days = atRiskGroups[0]?.atRisk.map((a) => a.day) ?? [];
  blocks.push(
    { kind: 'subheading', text: `Numbers at risk (every ${AT_RISK_INTERVAL_DAYS} days)` },
    {
      kind: 'table',
      columns: [
        { title: 'Day', width: 110, align: 'left' },
        ...days.map((d) => ({ title: String(d), width: 40, align: 'right' as const })),
      ],
      rows: atRiskGroups.map((g) => [g.label, ...g.atRisk.map((a) => String(a.n))]),
    },
  );
  if (endpoint.logRank) {
    const lr = endpoint.logRank;
    blocks.push(
      { kind: 'subheading', text: 'Log-rank test across arms' },
      {
        kind: 'table',
        columns: [
          { title: 'Arm', width: 110, align: 'left' },
          { title: 'n', width: 40, align: 'right' },
          { title: 'Observed', width: 70, align: 'right' },
          { title: 'Expected', width: 70, align: 'right' },
        ],
        rows: lr.groups.map((g) => [g.group, String(g.n), String(g.observed), f4(g.expected)]),
      },
      { kind: 'paragraph', text: `Chi-square ${f4(lr.chiSquare)} on ${lr.df} df, p = ${f4(lr.pValue)}.` },
    );
  } else if (session === 'closed') {
    blocks.push({ kind: 'paragraph', text: 'Log-rank test: not applicable (fewer than two arms with patients).' });
  }
  blocks.push({
    kind: 'plot',
    svg: renderKaplanMeierSvg(endpoint.curves, {
      title: endpoint.label,
      subtitle: `${content.cut.trialId} - data cut ${content.cut.dataCutId} - cut-off ${content.cut.cutoff} - charter ${content.charter.version}`,
      horizonDays: endpoint.horizonDays,
    }),
  });
  return blocks;
}

// --- HTML ---

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; font-size: 10pt; color: #000; margin: 2em; }
h1 { font-size: 18pt; } h2 { font-size: 13pt; margin-top: 1.5em; } h3 { font-size: 11pt; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #999; padding: 2px 6px; }
td.right, th.right { text-align: right; } dl { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dt { font-weight: bold; } dd { margin: 0; word-break: break-all; } svg { max-width: 100%; height: auto; }
.page { break-before: page; } @page { size: A4 landscape; margin: 12mm; }
@media print { body { margin: 0; } table, svg { break-inside: avoid; } }`;

export function renderDataCutHtml(content: DataCutContent, session: Session): string {
  const parts: string[] = [];
  let pageBreak = false;
  const cls = () => (pageBreak ? ' class="page"' : '');
  for (const block of dataCutBlocks(content, session)) {
    switch (block.kind) {
      case 'pageBreak':
        pageBreak = true;
        continue;
      case 'title':
        parts.push(`<h1${cls()}>${escapeHtml(block.text)}</h1>`);
        break;
      case 'heading':
        parts.push(`<h2${cls()}>${escapeHtml(block.text)}</h2>`);
        break;
      case 'subheading':
        parts.push(`<h3>${escapeHtml(block.text)}</h3>`);
        break;
      case 'paragraph':
        parts.push(`<p>${escapeHtml(block.text)}</p>`);
        break;
      case 'facts':
        parts.push(`<dl>${block.rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`);
        break;
      case 'table': {
        const head = block.columns.map((c) => `<th class="${c.align}">${escapeHtml(c.title)}</th>`).join('');
        const body = block.rows
          .map(
            (row) =>
              `<tr>${row.map((cell, i) => `<td class="${block.columns[i]?.align ?? 'left'}">${escapeHtml(cell)}</td>`).join('')}</tr>`,
          )
          .join('\n');
        parts.push(`<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`);
        break;
      }
      case 'plot':
        parts.push(`<figure>${block.svg}</figure>`);
        break;
      default: {
        const unknown: never = block;
        throw new Error(`unknown block ${JSON.stringify(unknown)}`);
      }
    }
    pageBreak = false;
  }
  const title = `DSMB ${session} report - ${content.cut.trialId} - data cut ${content.cut.dataCutId}`;
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n<style>${STYLE}\n</style>\n</head>\n<body>\n${parts.join('\n')}\n</body>\n</html>\n`;
}

// --- PDF ---

/** The standard PDF fonts encode WinAnsi only: anything else prints as '?', never as a wrong glyph. */
const pdfText = (text: string) => text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');

const PAGE = { width: 841.89, height: 595.28, margin: 40 };

export function renderDataCutPdf(content: DataCutContent, session: Session): Promise<Buffer> {
  const instant = new Date(content.cut.knownAt);
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: PAGE.margin,
    compress: false,
    bufferPages: true,
    info: {
      Title: pdfText(`DSMB ${session} report - ${content.cut.trialId} - data cut ${content.cut.dataCutId}`),
      Subject: pdfText(`${content.trial.title}, protocol ${content.trial.protocolVersion}`),
      Producer: 'trial-adjudication',
      Creator: 'trial-adjudication',
      CreationDate: instant,
      ModDate: instant,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const bottom = PAGE.height - PAGE.margin;
  const ensure = (height: number) => {
    if (doc.y + height > bottom) doc.addPage();
  };
  const footer = pdfText(
    `${content.cut.trialId} - data cut ${content.cut.dataCutId} - ${session} session - position ${content.cut.position}`,
  );
  for (const block of dataCutBlocks(content, session)) {
    switch (block.kind) {
      case 'pageBreak':
        doc.addPage();
        break;
      case 'title':
        doc.font('Helvetica-Bold').fontSize(18).text(pdfText(block.text)).moveDown(0.5);
        break;
      case 'heading':
        ensure(60);
        doc.font('Helvetica-Bold').fontSize(13).text(pdfText(block.text), PAGE.margin).moveDown(0.3);
        break;
      case 'subheading':
        ensure(40);
        doc.font('Helvetica-Bold').fontSize(10).text(pdfText(block.text), PAGE.margin).moveDown(0.2);
        break;
      case 'paragraph':
        doc.font('Helvetica').fontSize(9).text(pdfText(block.text), PAGE.margin).moveDown(0.4);
        break;
      case 'facts':
        for (const [key, value] of block.rows) {
          const y = doc.y;
          doc.font('Helvetica-Bold').fontSize(9).text(pdfText(key), PAGE.margin, y, { width: 200 });
          const keyBottom = doc.y;
          doc
            .font('Helvetica')
            .fontSize(9)
            .text(pdfText(value), PAGE.margin + 210, y, { width: PAGE.width - 2 * PAGE.margin - 210 });
          doc.y = Math.max(doc.y, keyBottom) + 2;
        }
        doc.moveDown(0.5);
        break;
      case 'table': {
        const row = (cells: string[], bold: boolean) => {
          ensure(14);
          const y = doc.y;
          let x = PAGE.margin;
          doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8);
          block.columns.forEach((column, i) => {
            doc.text(pdfText(cells[i] ?? ''), x, y, { width: column.width - 4, align: column.align, lineBreak: false });
            x += column.width;
          });
          doc.y = y + 12;
        };
        row(
          block.columns.map((c) => c.title),
          true,
        );
        for (const cells of block.rows) row(cells, false);
        doc.x = PAGE.margin;
        doc.moveDown(0.5);
        break;
      }
      case 'plot': {
        const [, w = '900', h = '600'] = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(block.svg) ?? [];
        const width = 520;
        const height = (width * Number(h)) / Number(w);
        ensure(height);
        SVGtoPDF(doc, block.svg, PAGE.margin, doc.y, { width, height, assumePt: false });
        doc.y += height + 6;
        break;
      }
      default: {
        const unknown: never = block;
        throw new Error(`unknown block ${JSON.stringify(unknown)}`);
      }
    }
  }
  // Every page names the cut, drawn once the page count is known.
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i += 1) {
    doc.switchToPage(i);
    doc
      .font('Helvetica')
      .fontSize(7)
      .text(`${footer} - page ${i + 1} of ${range.count}`, PAGE.margin, PAGE.height - 25, { lineBreak: false });
  }
  doc.end();
  return done;
}

// --- the cut's documents and their hashes ---

export const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** Every document of a cut, as bytes (DataCutFrozen carries their SHA-256). */
export async function renderDataCutDocuments(content: DataCutContent): Promise<Record<DataCutDocument, Buffer>> {
  return {
    openHtml: Buffer.from(renderDataCutHtml(content, 'open'), 'utf8'),
    openPdf: await renderDataCutPdf(content, 'open'),
    closedHtml: Buffer.from(renderDataCutHtml(content, 'closed'), 'utf8'),
    closedPdf: await renderDataCutPdf(content, 'closed'),
    adtteJson: Buffer.from(adtteDatasetJson(content, true), 'utf8'),
    adtteCsv: Buffer.from(adtteCsv(content, true), 'utf8'),
    adtteJsonBlinded: Buffer.from(adtteDatasetJson(content, false), 'utf8'),
    adtteCsvBlinded: Buffer.from(adtteCsv(content, false), 'utf8'),
  };
}

export async function dataCutHashes(content: DataCutContent): Promise<Record<DataCutDocument, string>> {
  const documents = await renderDataCutDocuments(content);
  const hashes = {} as Record<DataCutDocument, string>;
  for (const [name, bytes] of Object.entries(documents) as Array<[DataCutDocument, Buffer]>) hashes[name] = sha256(bytes);
  return hashes;
}
