import { numberAtRisk, renderKaplanMeierSvg, type CurveGroup, type CurvePoint } from './km-svg';

/**
 * A minimal well-formedness check: every tag is either self-closing or closed in order, attribute
 * values are quoted, and text holds no raw `<`, `>` or unescaped `&`. Returns the root's name.
 */
function assertWellFormed(svg: string): string {
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<>]*")*)\s*(\/?)>/y;
  const stack: string[] = [];
  let root = '';
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const text = svg.slice(i, lt === -1 ? svg.length : lt);
    expect(text).not.toMatch(/>|&(?!(?:amp|lt|gt|quot|#39);)/);
    if (stack.length === 0) expect(text.trim()).toBe('');
    if (lt === -1) break;
    token.lastIndex = lt;
    const m = token.exec(svg);
    if (!m) throw new Error(`malformed tag at ${lt}: ${svg.slice(lt, lt + 60)}`);
    const [whole, closing, name = '', , selfClosing] = m;
    if (closing) {
      expect(stack.pop()).toBe(name);
    } else {
      if (stack.length === 0) {
        expect(root).toBe('');
        root = name;
      }
      if (!selfClosing) stack.push(name);
    }
    i = lt + whole.length;
  }
  expect(stack).toEqual([]);
  return root;
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** Text of every `class="at-risk"` cell, row by row. */
function atRiskRows(svg: string): number[][] {
  return [...svg.matchAll(/<g class="at-risk-row"[^>]*>([\s\S]*?)<\/g>/g)].map((row) =>
    [...(row[1] ?? '').matchAll(/<text class="at-risk" [^>]*>(\d+)<\/text>/g)].map((cell) => Number(cell[1])),
  );
}

function point(time: number, survival: number, atRisk: number, events: number, censored: number, halfWidth = 0.1): CurvePoint {
  return {
    time,
    survival,
    lower: Math.max(0, survival - halfWidth),
    upper: Math.min(1, survival + halfWidth),
    atRisk,
    events,
    censored,
  };
}

const start = (n: number): CurvePoint => ({ time: 0, survival: 1, lower: 1, upper: 1, atRisk: n, events: 0, censored: 0 });

// 5 patients: event at 40, censored 50, event 70, censored 100, censored 130.
const small: CurveGroup = {
  label: 'Drug-coated balloon',
  points: [
    start(5),
    point(40, 0.8, 5, 1, 0),
    point(50, 0.8, 4, 0, 1),
    point(70, 0.5333, 3, 1, 0),
    point(100, 0.5333, 2, 0, 1),
    point(130, 0.5333, 1, 0, 1),
  ],
};
// 4 patients: censored 20, event 60 (both left), censored 90, censored 150.
const other: CurveGroup = {
  label: 'Plain balloon',
  points: [start(4), point(20, 1, 4, 0, 1), point(60, 0.6667, 3, 1, 0), point(90, 0.6667, 2, 0, 1), point(150, 0.6667, 1, 0, 1)],
};

describe('assertWellFormed (the test helper)', () => {
  it('rejects unbalanced tags, unquoted attributes and raw markup characters in text', () => {
    expect(() => assertWellFormed('<svg><g></svg>')).toThrow();
    expect(() => assertWellFormed('<svg><g x=1/></svg>')).toThrow();
    expect(() => assertWellFormed('<svg><text>a & b</text></svg>')).toThrow();
    expect(() => assertWellFormed('<svg><text>a > b</text></svg>')).toThrow();
    expect(() => assertWellFormed('<svg/><svg/>')).toThrow();
    expect(() => assertWellFormed('<svg></svg>text')).toThrow();
    expect(() => assertWellFormed('<svg></svg><svg></svg>')).toThrow();
    expect(assertWellFormed('<svg a="1"><g/><text>&lt;&amp;</text></svg>')).toBe('svg');
  });
});

describe('renderKaplanMeierSvg', () => {
  const svg = renderKaplanMeierSvg([small, other], { title: 'Freedom from CD-TLR', subtitle: 'Adjudicated', horizonDays: 90 });

  it('is a well-formed, accessible SVG document', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(assertWellFormed(svg)).toBe('svg');
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toContain('role="img"');
    expect(svg).toMatch(/viewBox="0 0 900 600"/);
    expect(svg).toContain('<title id="km-title">Freedom from CD-TLR</title>');
    expect(svg).toContain('Adjudicated');
    expect(svg).toContain('<rect x="0" y="0" width="900" height="600" fill="#ffffff"/>');
  });

  it('names each group and labels the horizon line', () => {
    expect(svg).toContain('>Drug-coated balloon<');
    expect(svg).toContain('>Plain balloon<');
    expect(svg).toContain('>90 d</text>');
    expect(count(svg, 'class="horizon"')).toBe(1);
    expect(svg).toContain('>Event-free probability<');
  });

  it('gives the numbers at risk at the default x ticks (every 30 days to 150)', () => {
    expect([...svg.matchAll(/<g class="x-ticks"[^>]*>([\s\S]*?)<\/g>/g)][0]?.[1]?.match(/>(\d+)</g)).toEqual([
      '>0<',
      '>30<',
      '>60<',
      '>90<',
      '>120<',
      '>150<',
    ]);
    expect(svg).toContain('>No. at risk<');
    expect(atRiskRows(svg)).toEqual([
      [5, 5, 3, 2, 1, 0],
      [4, 3, 3, 2, 1, 1],
    ]);
  });

  it('takes the number at risk from the first point at or after t, 0 past the last point', () => {
    expect(numberAtRisk(small.points, 0)).toBe(5);
    expect(numberAtRisk(small.points, 40)).toBe(5);
    expect(numberAtRisk(small.points, 41)).toBe(4);
    expect(numberAtRisk(small.points, 130)).toBe(1);
    expect(numberAtRisk(small.points, 131)).toBe(0);
    expect(numberAtRisk([], 0)).toBe(0);
  });

  it('uses the given at-risk times, dropping those off the axis', () => {
    const custom = renderKaplanMeierSvg([small], { title: 't', atRiskTimes: [0, 45, 1000] });
    expect(atRiskRows(custom)).toEqual([[5, 4]]);
  });

  it('draws one censor tick per point with censored > 0', () => {
    const censoredPoints = [...small.points, ...other.points].filter((p) => p.censored > 0).length;
    expect(censoredPoints).toBe(6);
    expect(count(svg, 'class="censor-tick"')).toBe(censoredPoints);
  });

  it('draws each curve as a horizontal-then-vertical step path with a CI band', () => {
    expect(count(svg, 'class="km-curve"')).toBe(2);
    expect(count(svg, 'class="ci-band"')).toBe(2);
    const d = svg.match(/class="km-curve" d="([^"]+)"/)?.[1] ?? '';
    expect(d).toMatch(/^M[\d.]+,[\d.]+(?:[HV][\d.]+)+$/);
    expect(d).toMatch(/H[\d.]+V/);
    expect(svg).toContain('shape-rendering="crispEdges"');
  });

  it('escapes markup in labels and titles', () => {
    const nasty = renderKaplanMeierSvg([{ ...small, label: `<b>"A" & 'B'</b>` }], {
      title: 'T < 1 & "x" > 0',
      subtitle: '<script>',
      horizonDays: 180,
    });
    assertWellFormed(nasty);
    expect(nasty).toContain('&lt;b&gt;&quot;A&quot; &amp; &#39;B&#39;&lt;/b&gt;');
    expect(nasty).toContain('T &lt; 1 &amp; &quot;x&quot; &gt; 0');
    expect(nasty).not.toContain('<b>');
    expect(nasty).not.toContain('<script>');
  });

  it('is deterministic', () => {
    const again = renderKaplanMeierSvg([small, other], { title: 'Freedom from CD-TLR', subtitle: 'Adjudicated', horizonDays: 90 });
    expect(again).toBe(svg);
  });

  it('renders a single group', () => {
    const one = renderKaplanMeierSvg([small], { title: 'Single arm' });
    assertWellFormed(one);
    expect(count(one, 'class="km-curve"')).toBe(1);
    expect(count(one, 'class="horizon"')).toBe(0);
    expect(atRiskRows(one)).toEqual([[5, 5, 3, 2, 1, 0]]);
  });

  it('renders a curve that never drops, on a 50-100% axis labelled every 10%', () => {
    const flat: CurveGroup = { label: 'No events', points: [start(3), { ...start(1), time: 182, censored: 3, atRisk: 3 }] };
    const out = renderKaplanMeierSvg([flat], { title: 'Flat', horizonDays: 180 });
    assertWellFormed(out);
    const d = out.match(/class="km-curve" d="([^"]+)"/)?.[1] ?? '';
    expect(d).toMatch(/^M[\d.]+,[\d.]+H[\d.]+$/);
    expect(out.match(/<g class="y-axis"[^>]*>([\s\S]*?)<\/g>/)?.[1]?.match(/\d+%/g)).toEqual(['50%', '60%', '70%', '80%', '90%', '100%']);
    expect(out).toContain('class="y-axis-break"');
    expect(count(out, 'class="censor-tick"')).toBe(1);
    // The x axis reaches the last time (182), rounded up to the next 30-day tick.
    expect(
      out
        .match(/<g class="x-ticks"[^>]*>([\s\S]*?)<\/g>/)?.[1]
        ?.match(/>(\d+)</g)
        ?.at(-1),
    ).toBe('>210<');
  });

  it('renders a curve reaching 0 on a 0-100% axis labelled every 20%', () => {
    const dying: CurveGroup = {
      label: 'All events',
      points: [
        start(2),
        { ...point(30, 0.5, 2, 1, 0, 0.4) },
        { time: 60, survival: 0, lower: 0, upper: 0, atRisk: 1, events: 1, censored: 0 },
      ],
    };
    const out = renderKaplanMeierSvg([dying], { title: 'To zero', horizonDays: 180 });
    assertWellFormed(out);
    expect(out.match(/<g class="y-axis"[^>]*>([\s\S]*?)<\/g>/)?.[1]?.match(/\d+%/g)).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
    expect(out).not.toContain('y-axis-break');
    expect(count(out, 'class="censor-tick"')).toBe(0);
    expect(atRiskRows(out)).toEqual([[2, 2, 1, 0, 0, 0, 0]]);
    // The horizon stretches the axis beyond the last time.
    expect(out).toContain('>180 d</text>');
  });

  it('renders an empty plot with a note when there are no patients', () => {
    for (const groups of [[{ label: 'Nobody', points: [] }], []] as CurveGroup[][]) {
      const out = renderKaplanMeierSvg(groups, { title: 'Empty', horizonDays: 180 });
      assertWellFormed(out);
      expect(out).toMatch(/>No patients</);
      expect(count(out, 'class="km-curve"')).toBe(0);
      expect(out).toContain('>180 d</text>');
    }
    const partly = renderKaplanMeierSvg([small, { label: 'Nobody', points: [] }], { title: 'Partly empty' });
    expect(partly).toContain('>Nobody (no patients)<');
    expect(partly).not.toContain('class="empty-note"');
    expect(atRiskRows(partly)[1]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('respects xMaxDays, clipping later steps', () => {
    const out = renderKaplanMeierSvg([small], { title: 'Clipped', xMaxDays: 60 });
    assertWellFormed(out);
    expect(out.match(/<g class="x-ticks"[^>]*>([\s\S]*?)<\/g>/)?.[1]?.match(/>(\d+)</g)).toEqual(['>0<', '>30<', '>60<']);
    expect(count(out, 'class="censor-tick"')).toBe(1);
  });

  describe('grouped plots (issue 15)', () => {
    const flat = (label: string, n: number): CurveGroup => ({ label, points: [start(n), point(180, 1, n, 0, n, 0)] });
    const curveStyles = (out: string) =>
      [...out.matchAll(/<path class="km-curve" [^>]*stroke="([^"]+)" stroke-width="([^"]+)"(?: stroke-dasharray="([^"]+)")?/g)].map(
        (m) => ({ colour: m[1], width: Number(m[2]), dash: m[3] ?? 'solid' }),
      );

    it('gives each group a distinct line style as well as a distinct colour, in the legend too', () => {
      const groups = Array.from({ length: 10 }, (_, i) => flat(`G${i}`, 10 + i));
      const out = renderKaplanMeierSvg(groups, { title: 'Many groups' });
      assertWellFormed(out);
      const styles = curveStyles(out);
      expect(styles).toHaveLength(10);
      expect(new Set(styles.slice(0, 8).map((s) => s.colour)).size).toBe(8);
      expect(new Set(styles.slice(0, 8).map((s) => s.dash)).size).toBe(8);
      // Past eight, colours repeat but never with the same line style.
      expect(new Set(styles.map((s) => `${s.colour} ${s.dash}`)).size).toBe(10);
      const legendDashes = [
        ...(out.match(/<g class="legend">([\s\S]*?)<\/g>/)?.[1] ?? '').matchAll(/<line [^>]*?(?:stroke-dasharray="([^"]+)")?\/>/g),
      ].map((m) => m[1] ?? 'solid');
      expect(legendDashes).toEqual(styles.map((s) => s.dash));
    });

    it('keeps curves that coincide at 100% visible: earlier groups wider, later ones drawn on top narrower', () => {
      const out = renderKaplanMeierSvg([flat('A', 20), flat('B', 16), flat('C', 5)], { title: 'All at 100%' });
      const widths = curveStyles(out).map((s) => s.width);
      expect(widths[0]).toBeGreaterThan(widths[1] ?? Infinity);
      expect(widths[1]).toBeGreaterThan(widths[2] ?? Infinity);
      expect(out.indexOf('stroke="#0072B2" stroke-width')).toBeLessThan(out.indexOf('stroke="#D55E00" stroke-width'));
    });

    it('draws overlapping CI bands as faint tints with outlined bounds, never mixing into grey', () => {
      const out = renderKaplanMeierSvg([small, other], { title: 'Bands' });
      expect(count(out, 'class="ci-bound"')).toBe(4);
      const opacities = [...out.matchAll(/fill-opacity="([\d.]+)"/g)].map((m) => Number(m[1]));
      // Two overlapping tints stay above 88% white (1 - (1 - 0.06)^2 ≈ 0.12 coverage).
      expect(opacities.every((o) => o <= 0.06)).toBe(true);
      // A single group keeps its filled band.
      expect(renderKaplanMeierSvg([small], { title: 'One' })).toContain('fill-opacity="0.15"');
    });

    it('gives n and events of each group in the legend', () => {
      const out = renderKaplanMeierSvg([small, other, { label: 'None', points: [] }], { title: 'Legend' });
      const legend = [...out.matchAll(/<text class="legend-label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
      expect(legend).toEqual(['Drug-coated balloon (n = 5, 2 events)', 'Plain balloon (n = 4, 1 event)', 'None (no patients)']);
    });
  });
});
