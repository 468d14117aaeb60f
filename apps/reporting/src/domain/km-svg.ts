/**
 * Kaplan-Meier plot as a standalone SVG 1.1 document, for `GET .../endpoints/{id}/curve` with
 * `Accept: image/svg+xml`. Pure: a string builder with no DOM, clock or randomness, so the same
 * input always gives the same bytes (and a report can be hashed or diffed).
 *
 * Conventions a reader of the plot needs to know:
 * - y axis: 0-100% by default, gridlines every 20%. When every survival value and every lower 95%
 *   bound stays at or above 50%, the axis starts at 50% (gridlines every 10%) so that differences
 *   between curves near the top are visible; the axis then carries a break mark and every gridline
 *   is labelled, so the truncation is never hidden.
 * - x axis: days. It runs to `xMaxDays` when given, else to the last time of any curve rounded up
 *   to the next tick; never short of `horizonDays`. Ticks every 30 days up to 300 days, then 60,
 *   90, 180 or 365 days so that there are at most ten intervals.
 * - Each curve ends at its last point (the last follow-up); points after the x range are clipped.
 * - Censor ticks sit on the curve at the survival after any events at that time, one per point
 *   with `censored > 0`.
 * - Number at risk at t: subjects whose follow-up time is >= t, read off the points as the
 *   `atRisk` of the first point with time >= t (R's n.risk convention), 0 past the last point.
 * - Groups differ in line style as well as colour (a reader in grey or with a colour vision
 *   deficiency tells them apart), and the legend gives each group's n and events. Curves that
 *   coincide (all at 100%) stay visible: earlier groups are drawn wider, later ones on top narrower,
 *   so each shows as a band of its own colour around the next. With several groups the CI bands
 *   are faint tints outlined by thin bound lines in the group's colour and style, so overlapping
 *   bands neither mix into grey nor hide a group's bounds.
 */

/** One step of a Kaplan-Meier curve: survival after the events at `time`, the 95% CI, and counts. */
export interface CurvePoint {
  time: number;
  survival: number;
  lower: number;
  upper: number;
  /** Subjects at risk just before `time` (follow-up time >= `time`). */
  atRisk: number;
  events: number;
  censored: number;
}

/** One plotted curve; `points` ascend by time, the first at time 0 with survival 1. */
export interface CurveGroup {
  label: string;
  points: CurvePoint[];
}

/** Text and axis options of a Kaplan-Meier plot. */
export interface KmPlotOptions {
  title: string;
  subtitle?: string;
  /** Draws a dashed vertical line labelled e.g. "180 d"; the x axis always reaches it. */
  horizonDays?: number;
  /** Right end of the x axis in days; defaults to the last time, rounded up to a tick. */
  xMaxDays?: number;
  /** Times of the number-at-risk table; defaults to the x ticks. Times off the axis are dropped. */
  atRiskTimes?: number[];
  /** Defaults to "Event-free probability". */
  yLabel?: string;
  /** Defaults to "Days since index procedure". */
  xLabel?: string;
}

/** Okabe-Ito, ordered for contrast on white; yellow last as it is faint. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const;
/** Line styles (SVG dash arrays), one per group alongside its colour: solid, dashed, dotted, dash-dot, … */
const DASHES = ['', '9 4', '2 3', '9 3 2 3', '5 5', '14 4 2 4 2 4', '1 5', '16 6'] as const;
const FONT = 'Helvetica, Arial, sans-serif';
const WIDTH = 900;
const MIN_HEIGHT = 600;
const MIN_PLOT_HEIGHT = 280;
const RIGHT_MARGIN = 40;
const TABLE_ROW = 20;
const TRUNCATED_Y_MIN = 0.5;

/** Number at risk at t: `atRisk` of the first point with time >= t, 0 after the last point. */
export function numberAtRisk(points: readonly CurvePoint[], t: number): number {
  const sorted = validPoints(points);
  const first = sorted.find((p) => p.time >= t);
  return first ? first.atRisk : 0;
}

/** Renders Kaplan-Meier curves with 95% CI bands, censor ticks, horizon line and number-at-risk table. */
export function renderKaplanMeierSvg(groups: CurveGroup[], options: KmPlotOptions): string {
  const curves = groups.map((g, i) => ({ label: g.label, points: validPoints(g.points), ...groupStyle(i, groups.length) }));
  const grouped = curves.length > 1;
  const horizon = positive(options.horizonDays);
  const empty = curves.every((c) => c.points.length === 0);

  const x = xAxis(curves, options, horizon);
  const yMin = chooseYMin(curves);
  const yStep = yMin > 0 ? 0.1 : 0.2;
  const yTicks = range(Math.round((1 - yMin) / yStep)).map((k) => round2(yMin + k * yStep));
  const riskTimes = (options.atRiskTimes ?? x.ticks).filter((t) => Number.isFinite(t) && t >= 0 && t <= x.end);

  // Layout, top to bottom: title, subtitle, legend, horizon label, plot, x axis, at-risk table.
  const hasSubtitle = options.subtitle !== undefined && options.subtitle !== '';
  const legendTop = hasSubtitle ? 84 : 62;
  const legend = layoutLegend(
    curves.map((c) => legendText(c)),
    16,
    WIDTH - RIGHT_MARGIN,
  );
  const plotTop = legendTop + legend.rows * 20 + 16;
  const tableRows = curves.length === 0 ? 0 : curves.length + 1;
  const below = 70 + tableRows * TABLE_ROW + 12;
  const height = Math.max(MIN_HEIGHT, plotTop + MIN_PLOT_HEIGHT + below);
  const plotBottom = height - below;
  const labelWidthCap = 150;
  const tableLabelWidth = Math.min(labelWidthCap, Math.max(0, ...curves.map((c) => textWidth(c.label, 12))));
  const plotLeft = Math.max(90, 16 + tableLabelWidth + 26);
  const plotRight = WIDTH - RIGHT_MARGIN;
  const sx = (t: number): number => plotLeft + (Math.min(Math.max(t, 0), x.end) / x.end) * (plotRight - plotLeft);
  const sy = (v: number): number => plotBottom - ((Math.min(Math.max(v, yMin), 1) - yMin) / (1 - yMin)) * (plotBottom - plotTop);

  const yLabel = options.yLabel ?? 'Event-free probability';
  const xLabel = options.xLabel ?? 'Days since index procedure';
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${WIDTH}" height="${height}" ` +
      `viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="km-title km-desc" ` +
      `font-family="${FONT}" font-size="12" fill="#222222">`,
  );
  out.push(`<title id="km-title">${esc(options.title)}</title>`);
  out.push(`<desc id="km-desc">${esc(describe(curves, options, horizon, yMin))}</desc>`);
  out.push(`<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text class="title" x="16" y="34" font-size="20" font-weight="bold">${esc(options.title)}</text>`);
  if (hasSubtitle) {
    out.push(`<text class="subtitle" x="16" y="58" font-size="14" fill="#555555">${esc(options.subtitle ?? '')}</text>`);
  }

  // Legend.
  out.push('<g class="legend">');
  curves.forEach((c, i) => {
    const item = legend.items[i];
    if (!item) return;
    const ly = legendTop + item.row * 20;
    out.push(
      `<line x1="${f(item.x)}" y1="${f(ly - 4)}" x2="${f(item.x + LEGEND_LINE)}" y2="${f(ly - 4)}" stroke="${c.colour}" ` +
        `stroke-width="2.5"${dashAttr(c.dash)}/>`,
      `<text class="legend-label" x="${f(item.x + LEGEND_LINE + 6)}" y="${f(ly)}" font-size="13">${esc(legendText(c))}</text>`,
    );
  });
  out.push('</g>');

  // Grid and axes.
  out.push('<g class="grid" stroke="#dddddd" stroke-width="1" shape-rendering="crispEdges">');
  for (const v of yTicks) out.push(`<line x1="${f(plotLeft)}" y1="${f(sy(v))}" x2="${f(plotRight)}" y2="${f(sy(v))}"/>`);
  out.push('</g>');
  out.push('<g class="y-axis" font-size="12" text-anchor="end">');
  for (const v of yTicks) out.push(`<text x="${f(plotLeft - 8)}" y="${f(sy(v) + 4)}">${Math.round(v * 100)}%</text>`);
  out.push('</g>');
  const yTitleX = plotLeft - 52;
  const yTitleY = (plotTop + plotBottom) / 2;
  out.push(
    `<text class="y-label" x="${f(yTitleX)}" y="${f(yTitleY)}" transform="rotate(-90 ${f(yTitleX)} ${f(yTitleY)})" ` +
      `text-anchor="middle" font-size="13">${esc(yLabel)}</text>`,
  );
  out.push('<g class="x-axis" stroke="#222222" stroke-width="1" shape-rendering="crispEdges">');
  out.push(`<line x1="${f(plotLeft)}" y1="${f(plotTop)}" x2="${f(plotLeft)}" y2="${f(plotBottom)}"/>`);
  out.push(`<line x1="${f(plotLeft)}" y1="${f(plotBottom)}" x2="${f(plotRight)}" y2="${f(plotBottom)}"/>`);
  for (const t of x.ticks) out.push(`<line x1="${f(sx(t))}" y1="${f(plotBottom)}" x2="${f(sx(t))}" y2="${f(plotBottom + 5)}"/>`);
  out.push('</g>');
  if (yMin > 0) {
    // A break mark on the y axis just above the x axis: the scale does not start at 0.
    const by = plotBottom - 10;
    out.push(
      `<g class="y-axis-break"><rect x="${f(plotLeft - 5)}" y="${f(by - 4)}" width="10" height="6" fill="#ffffff"/>` +
        `<path d="M${f(plotLeft - 6)},${f(by - 1)}L${f(plotLeft + 6)},${f(by - 5)}M${f(plotLeft - 6)},${f(by + 3)}` +
        `L${f(plotLeft + 6)},${f(by - 1)}" stroke="#222222" stroke-width="1" fill="none"/></g>`,
    );
  }
  out.push('<g class="x-ticks" font-size="12" text-anchor="middle">');
  for (const t of x.ticks) out.push(`<text x="${f(sx(t))}" y="${f(plotBottom + 19)}">${formatDays(t)}</text>`);
  out.push('</g>');
  out.push(
    `<text class="x-label" x="${f((plotLeft + plotRight) / 2)}" y="${f(plotBottom + 40)}" text-anchor="middle" ` +
      `font-size="13">${esc(xLabel)}</text>`,
  );

  // Horizon.
  if (horizon !== undefined) {
    const hx = sx(horizon);
    out.push(
      `<line class="horizon" x1="${f(hx)}" y1="${f(plotTop)}" x2="${f(hx)}" y2="${f(plotBottom)}" stroke="#555555" ` +
        `stroke-width="1.2" stroke-dasharray="6 4"/>`,
      `<text class="horizon-label" x="${f(hx)}" y="${f(plotTop - 5)}" text-anchor="middle" font-size="12" ` +
        `fill="#555555">${esc(`${formatDays(horizon)} d`)}</text>`,
    );
  }

  // Curves: CI bands first, so that no band covers another group's line.
  for (const c of curves) {
    if (c.points.length === 0) continue;
    const end = curveEnd(c.points, x.end);
    const upper = stepVertices(c.points, (p) => p.upper, end, sx, sy);
    const lower = stepVertices(c.points, (p) => p.lower, end, sx, sy);
    const area = `${pathOf([...upper, ...[...lower].reverse()])}Z`;
    if (!grouped) {
      out.push(`<path class="ci-band" d="${area}" fill="${c.colour}" fill-opacity="0.15" stroke="none" shape-rendering="crispEdges"/>`);
      continue;
    }
    // A faint tint (two overlapping stay near white, not grey) outlined by the bounds in the group's style.
    out.push(
      `<g class="ci-band" fill="none" stroke="${c.colour}" stroke-width="1" stroke-opacity="0.7"${dashAttr(c.dash)} shape-rendering="crispEdges">`,
      `<path class="ci-tint" d="${area}" fill="${c.colour}" fill-opacity="0.06" stroke="none"/>`,
      `<path class="ci-bound" d="${pathOf(upper)}"/>`,
      `<path class="ci-bound" d="${pathOf(lower)}"/>`,
      '</g>',
    );
  }
  for (const c of curves) {
    if (c.points.length === 0) continue;
    const end = curveEnd(c.points, x.end);
    const line = stepVertices(c.points, (p) => p.survival, end, sx, sy);
    out.push(
      `<path class="km-curve" d="${pathOf(line)}" fill="none" stroke="${c.colour}" stroke-width="${c.width}"${dashAttr(c.dash)} ` +
        `shape-rendering="crispEdges"/>`,
    );
    const ticks = c.points.filter((p) => p.censored > 0 && p.time <= x.end);
    if (ticks.length > 0) {
      out.push(`<g class="censor-ticks" stroke="${c.colour}" stroke-width="1.5" shape-rendering="crispEdges">`);
      for (const p of ticks) {
        const px = sx(p.time);
        const py = sy(p.survival);
        out.push(`<line class="censor-tick" x1="${f(px)}" y1="${f(py - 5)}" x2="${f(px)}" y2="${f(py + 5)}"/>`);
      }
      out.push('</g>');
    }
  }

  if (empty) {
    out.push(
      `<text class="empty-note" x="${f((plotLeft + plotRight) / 2)}" y="${f((plotTop + plotBottom) / 2)}" ` +
        `text-anchor="middle" font-size="16" fill="#777777">No patients</text>`,
    );
  }

  // Number at risk, one row per group, each count centred under its time on the x axis.
  if (tableRows > 0) {
    const headerY = plotBottom + 68;
    out.push('<g class="at-risk-table" font-size="12">');
    out.push(`<text class="at-risk-header" x="16" y="${f(headerY)}" font-weight="bold">No. at risk</text>`);
    curves.forEach((c, i) => {
      const ry = headerY + (i + 1) * TABLE_ROW;
      out.push(`<g class="at-risk-row" fill="${c.colour}">`);
      out.push(
        `<text class="at-risk-label" x="${f(plotLeft - 26)}" y="${f(ry)}" text-anchor="end">` +
          `${esc(fitText(c.label, 12, labelWidthCap))}</text>`,
      );
      for (const t of riskTimes) {
        out.push(
          `<text class="at-risk" x="${f(sx(t))}" y="${f(ry)}" text-anchor="middle">${formatCount(numberAtRisk(c.points, t))}</text>`,
        );
      }
      out.push('</g>');
    });
    out.push('</g>');
  }

  out.push('</svg>');
  return out.join('\n') + '\n';
}

interface Curve {
  label: string;
  points: CurvePoint[];
  colour: string;
  /** SVG dash array; '' for a solid line. */
  dash: string;
  width: number;
}

const LEGEND_LINE = 36;

/** Points with finite, non-negative times and finite survival, ascending by time (stable). */
function validPoints(points: readonly CurvePoint[]): CurvePoint[] {
  return points
    .filter((p) => Number.isFinite(p.time) && p.time >= 0 && Number.isFinite(p.survival))
    .map((p) => ({
      ...p,
      lower: Number.isFinite(p.lower) ? p.lower : p.survival,
      upper: Number.isFinite(p.upper) ? p.upper : p.survival,
      atRisk: Number.isFinite(p.atRisk) ? p.atRisk : 0,
      censored: Number.isFinite(p.censored) ? p.censored : 0,
    }))
    .sort((a, b) => a.time - b.time);
}

/**
 * Colour and line style of group `index` of `count`: both change from one group to the next, and
 * past eight groups the styles shift against the colours, so no two of 64 groups look alike. The
 * first group is drawn widest and each later one (on top) narrower, so coinciding curves all show.
 */
function groupStyle(index: number, count: number): { colour: string; dash: string; width: number } {
  const colour = PALETTE[index % PALETTE.length] ?? '#000000';
  const dash = DASHES[(index + Math.floor(index / PALETTE.length)) % DASHES.length] ?? '';
  const width = count > 1 ? Math.min(2 + 1.5 * (count - 1 - index), 6.5) : 2.5;
  return { colour, dash, width };
}

function dashAttr(dash: string): string {
  return dash === '' ? '' : ` stroke-dasharray="${dash}"`;
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

function xAxis(curves: readonly Curve[], options: KmPlotOptions, horizon: number | undefined): { end: number; ticks: number[] } {
  const explicit = positive(options.xMaxDays);
  const lastTime = Math.max(0, ...curves.map((c) => c.points[c.points.length - 1]?.time ?? 0));
  let span = Math.max(explicit ?? lastTime, horizon ?? 0);
  if (span <= 0) span = 180;
  const step = tickStep(span);
  const end = explicit !== undefined ? span : Math.ceil(span / step) * step;
  return { end, ticks: range(Math.floor(end / step + 1e-9)).map((k) => k * step) };
}

function tickStep(span: number): number {
  if (span <= 300) return 30;
  for (const step of [60, 90, 180, 365]) if (span / step <= 10) return step;
  return 365 * Math.ceil(span / 365 / 10);
}

function chooseYMin(curves: readonly Curve[]): number {
  const values = curves.flatMap((c) => c.points.flatMap((p) => [p.survival, p.lower]));
  return values.length > 0 && Math.min(...values) >= TRUNCATED_Y_MIN ? TRUNCATED_Y_MIN : 0;
}

/** 0..n inclusive. */
function range(n: number): number[] {
  return Array.from({ length: Math.max(0, n) + 1 }, (_, k) => k);
}

/** Where a curve stops: its last point, or the end of the x axis when it runs past it. */
function curveEnd(points: readonly CurvePoint[], xEnd: number): number {
  return Math.min(points[points.length - 1]?.time ?? 0, xEnd);
}

/**
 * Corners of a right-continuous step function from (0, 1) to `end`: each point contributes a
 * horizontal run at the previous level and then a vertical drop (or rise) to its own.
 */
function stepVertices(
  points: readonly CurvePoint[],
  level: (p: CurvePoint) => number,
  end: number,
  sx: (t: number) => number,
  sy: (v: number) => number,
): Array<[number, number]> {
  const vertices: Array<[number, number]> = [[sx(0), sy(1)]];
  let previous = 1;
  for (const p of points) {
    if (p.time > end) break;
    vertices.push([sx(p.time), sy(previous)], [sx(p.time), sy(level(p))]);
    previous = level(p);
  }
  vertices.push([sx(end), sy(previous)]);
  return vertices;
}

/** An SVG path through corners joined by H and V commands, duplicates dropped, at 2 decimals. */
function pathOf(vertices: ReadonlyArray<readonly [number, number]>): string {
  const first = vertices[0];
  if (!first) return '';
  let [cx, cy] = [f(first[0]), f(first[1])];
  let d = `M${cx},${cy}`;
  for (const [vx, vy] of vertices.slice(1)) {
    const [nx, ny] = [f(vx), f(vy)];
    if (nx === cx && ny === cy) continue;
    if (nx === cx) d += `V${ny}`;
    else if (ny === cy) d += `H${nx}`;
    else d += `L${nx},${ny}`;
    [cx, cy] = [nx, ny];
  }
  return d;
}

/** The group's label with its n (at risk at time 0) and events, e.g. "Diabetes (n = 16, 2 events)". */
function legendText(curve: Pick<Curve, 'label' | 'points'>): string {
  if (curve.points.length === 0) return `${curve.label} (no patients)`;
  const { n, events } = totals(curve.points);
  return `${curve.label} (n = ${formatCount(n)}, ${formatCount(events)} ${events === 1 ? 'event' : 'events'})`;
}

function totals(points: readonly CurvePoint[]): { n: number; events: number } {
  return {
    n: points[0]?.atRisk ?? 0,
    events: points.reduce((sum, p) => sum + (Number.isFinite(p.events) ? p.events : 0), 0),
  };
}

/** Legend items left to right, wrapping onto a new row when the next one would pass `right`. */
function layoutLegend(texts: readonly string[], left: number, right: number): { rows: number; items: { x: number; row: number }[] } {
  const items: { x: number; row: number }[] = [];
  let x = left;
  let row = 0;
  for (const text of texts) {
    const width = LEGEND_LINE + 6 + textWidth(text, 13);
    if (x > left && x + width > right) {
      x = left;
      row += 1;
    }
    items.push({ x, row });
    x += width + 24;
  }
  return { rows: texts.length === 0 ? 0 : row + 1, items };
}

/** A rough advance width for a sans-serif font: enough to lay out without measuring. */
function textWidth(text: string, fontSize: number): number {
  return Array.from(text).length * fontSize * 0.58;
}

/** The text, shortened with an ellipsis so that its estimated width stays within `maxWidth`. */
function fitText(text: string, fontSize: number, maxWidth: number): string {
  if (textWidth(text, fontSize) <= maxWidth) return text;
  const chars = Array.from(text);
  const keep = Math.max(1, Math.floor(maxWidth / (fontSize * 0.58)) - 1);
  return `${chars.slice(0, keep).join('')}…`;
}

function describe(curves: readonly Curve[], options: KmPlotOptions, horizon: number | undefined, yMin: number): string {
  const subtitle = options.subtitle ?? '';
  const parts = [
    subtitle === '' || /[.!?]$/.test(subtitle) ? subtitle : `${subtitle}.`,
    `Kaplan-Meier curves with 95% confidence bands; y axis from ${Math.round(yMin * 100)}% to 100%.`,
  ];
  if (horizon !== undefined) parts.push(`Dashed line at ${formatDays(horizon)} days.`);
  for (const c of curves) {
    const { n, events } = totals(c.points);
    parts.push(
      c.points.length === 0 ? `${c.label}: no patients.` : `${c.label}: ${formatCount(n)} at risk at start, ${formatCount(events)} events.`,
    );
  }
  return parts.filter((p) => p !== '').join(' ');
}

/** Coordinates at 2 decimals, never "-0.00". */
function f(n: number): string {
  const s = n.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function formatDays(days: number): string {
  return Number.isInteger(days) ? String(days) : days.toFixed(1);
}

function formatCount(n: number): string {
  return String(Math.round(n));
}

/** Escapes XML text and attribute values, dropping characters that XML 1.0 does not allow. */
function esc(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
