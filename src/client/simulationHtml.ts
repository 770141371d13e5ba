// HTML for the simulation view, built from the result alone (pure, testable without VS Code).
//
// Layout, top to bottom: the bottom line (summary[0]) and what the fix does here; the before/after
// table as questions; the environment controls, which post the chosen options to the extension
// (it re-runs the simulation and replaces this HTML); the timed mode's chart; the counterexamples
// as swimlanes (CPU 0, CPU 1, device) whose steps open their source line; the rest of the
// summary. Colours come from the theme (--vscode-*), except the "reachable" text colour of the
// light and dark kinds, whose contrast the unit tests check (the theme's errorForeground is 3.4:1
// on Light Modern's white).
import {
  PROPERTY_IDS,
  type ExploreResult,
  type PropertyId,
  type SimulationResult,
  type TimedResult,
  type TimedSeriesPoint,
  type TraceStep,
} from '../shared/simulation';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface HtmlOptions {
  nonce: string;
  cspSource: string;
}

// --- the environment: what the controls may send (the simulate command's option names) ----------

export interface ViewOptions {
  irq?: 'same' | 'other' | 'any';
  wq?: 'local' | 'pinned';
  drain?: 'recheck' | 'plain' | 'relock';
  notify?: 'event-idx' | 'flags';
  device?: 'prompt' | 'lax' | 'cached';
  latency?: boolean;
  callbackLocks?: boolean;
  napi?: boolean;
  buffers?: number;
  ring?: number;
}

const CHOICES = {
  irq: ['same', 'other', 'any'],
  wq: ['local', 'pinned'],
  drain: ['recheck', 'plain', 'relock'],
  notify: ['event-idx', 'flags'],
  device: ['prompt', 'lax', 'cached'],
} as const;

/** N: the model's buffers (the setting allows 1..7; more takes too long for an editor). */
export const BUFFERS_RANGE = { min: 1, max: 7 } as const;
/** R: a virtqueue has at most 32768 entries. */
export const RING_RANGE = { min: 1, max: 32768 } as const;

/**
 * The options a webview message may carry, checked one by one: anything else (unknown keys, other
 * values, out-of-range numbers) is dropped, so the webview cannot send the server anything but
 * these settings.
 */
export function sanitizeOptions(raw: unknown): ViewOptions {
  const out: ViewOptions = {};
  if (!raw || typeof raw !== 'object') return out;
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(CHOICES) as (keyof typeof CHOICES)[]) {
    const v = o[key];
    if (typeof v === 'string' && (CHOICES[key] as readonly string[]).includes(v)) (out as Record<string, unknown>)[key] = v;
  }
  for (const key of ['latency', 'callbackLocks', 'napi'] as const) if (typeof o[key] === 'boolean') out[key] = o[key] as boolean;
  const int = (v: unknown, r: { min: number; max: number }) => typeof v === 'number' && Number.isInteger(v) && v >= r.min && v <= r.max;
  if (int(o.buffers, BUFFERS_RANGE)) out.buffers = o.buffers as number;
  if (int(o.ring, RING_RANGE)) out.ring = o.ring as number;
  return out;
}

// --- the verdict table: each property as the question it answers ------------------------------

/** docs/model.md#properties, as questions; `work` is "the work" or "the NAPI poll". */
function question(id: PropertyId, work: string, n: number): string {
  switch (id) {
    case 'A':
      return 'Can vring_interrupt() return IRQ_NONE at all?';
    case 'B':
      return `Can it return IRQ_NONE on ${work}'s CPU while ${work} holds the lock?`;
    case 'B2':
      return `Can it return IRQ_NONE on any CPU while ${work} holds the lock?`;
    case 'C':
      return 'Can unhandled returns outnumber handled ones more than 2 to 1? (needed for "nobody cared")';
    case 'CX':
      return `Can one IRQ_HANDLED come with ${n > 1 ? n - 1 : 'N-1'} or more IRQ_NONE?`;
    case 'D':
      return `Can the callback deadlock against ${work} it interrupted (AA)?`;
    case 'E':
      return 'Can a completion be lost (a used buffer nobody consumes)?';
  }
}

/** Short names for a scenario's heading. */
const EVENT: Record<PropertyId, string> = {
  A: 'IRQ_NONE',
  B: "IRQ_NONE on the work's CPU mid-drain",
  B2: 'IRQ_NONE on any CPU mid-drain',
  C: 'more than 2 unhandled per handled',
  CX: '1 handled against N-1 unhandled',
  D: 'AA deadlock',
  E: 'lost completion',
};

// --- the summary -----------------------------------------------------------------------------------

/** Sentences that restate the table or the model's scope: shown under "More", not up front. */
const SECONDARY =
  /^(Exhaustive exploration|Partial exploration|As written \([^)]*\) (these are reachable|none of the checked)|With threadirqs|The race needs|These verdicts hold)/;

/** The bottom line, the sentences about the fix (and anything unclassified), and the rest. */
export function splitSummary(summary: readonly string[]): { verdict: string; fix: string[]; more: string[] } {
  const [verdict = 'No result.', ...rest] = summary;
  return { verdict, fix: rest.filter(s => !SECONDARY.test(s)), more: rest.filter(s => SECONDARY.test(s)) };
}

/** Escaped text whose citations of docs/model.md (with or without a heading) open the bundled document. */
function withDocLinks(text: string): string {
  return escapeHtml(text).replace(
    /docs\/model\.md(?:#([a-z0-9-]+))?/g,
    (m, anchor?: string) =>
      `<a class="doc" href="#" data-anchor="${anchor ?? ''}" title="Open docs/model.md${anchor ? ` at #${anchor}` : ''} (bundled with the extension)">${m}</a>`,
  );
}

function docLink(anchor: string, label: string): string {
  return `<a class="doc" href="#" data-anchor="${escapeHtml(anchor)}" title="Open docs/model.md${anchor ? `#${escapeHtml(anchor)}` : ''} (bundled with the extension)">${escapeHtml(label)}</a>`;
}

// --- the page -----------------------------------------------------------------------------------------

const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

export function renderSimulationHtml(r: SimulationResult, o: HtmlOptions): string {
  const csp = `default-src 'none'; style-src ${o.cspSource} 'nonce-${o.nonce}'; script-src 'nonce-${o.nonce}'; img-src ${o.cspSource} data:;`;
  const m = r.model;
  const napi = m.napi === true;
  const work = napi ? 'the NAPI poll' : 'the work';
  const lock = str(m.lock, 'spin_lock');
  const n = num(m.buffers, 4);
  const { verdict, fix, more } = splitSummary(r.summary);
  const base = r.file.split(/[\\/]/).pop() ?? r.file;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp.replace(/["&<>]/g, '')}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simulation: ${escapeHtml(r.handler)}</title>
<style nonce="${o.nonce}">${STYLE}</style>
</head>
<body>
<header>
<h1 id="title">Simulation of ${escapeHtml(r.handler)}()</h1>
<p class="where">${stepLink({ file: r.file, line: r.line }, `${escapeHtml(base)}:${r.line}`)} &middot; ${escapeHtml(napi ? 'NAPI poll (no lock)' : lock)} as written &middot; model: ${docLink('', 'docs/model.md')}</p>
</header>
<section class="bottom-line" aria-label="Verdict">
<p id="verdict" class="verdict">${withDocLinks(verdict)}</p>
${fix.length ? `<ul id="fix-summary">${fix.map(s => `<li>${withDocLinks(s)}</li>`).join('')}</ul>` : ''}
</section>
${verdictTable(r.before, r.after, lock, work, n)}
${environmentForm(r)}
${r.timed ? timedSection(r.timed, r) : ''}
${scenarios(r)}
<details id="more"><summary>Exploration and the model's limits</summary>
<ul>${more.map(s => `<li>${withDocLinks(s)}</li>`).join('')}</ul>
<p>Settings used: <code>${escapeHtml(settingsLine(m))}</code></p>
</details>
<script nonce="${o.nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

/** The settings as `simulate` flags, for the record (the CLI prints the same). */
function settingsLine(m: Record<string, unknown>): string {
  const flags: string[] = [];
  for (const k of ['lock', 'irq', 'wq', 'drain', 'notify', 'device', 'buffers', 'ring'] as const) {
    if (m[k] !== undefined) flags.push(`--${k} ${String(m[k])}`);
  }
  if (m.latency === true) flags.push('--latency');
  if (m.callbackLocks === true) flags.push('--callback-locks');
  if (m.napi === true) flags.push('--napi');
  if (m.timed === true) flags.push('--timed', ...(m.completions !== undefined ? [`--completions ${String(m.completions)}`] : []));
  return flags.join(' ');
}

function verdictTable(before: ExploreResult, after: ExploreResult, lock: string, work: string, n: number): string {
  const cell = (e: ExploreResult, id: PropertyId, side: 'before' | 'after') => {
    const p = e.properties[id];
    if (p.violated) {
      return `<td class="bad"><a class="jump" href="#" data-target="scn-${side}-${id}" title="Show the shortest run that gets there">reachable</a> <span class="steps">(${p.trace.length} steps)</span></td>`;
    }
    return `<td class="good">not reachable${e.capped ? ' <span class="steps">(exploration capped: unproven)</span>' : ''}</td>`;
  };
  const same =
    after === before ||
    (after.states === before.states &&
      after.transitions === before.transitions &&
      PROPERTY_IDS.every(id => after.properties[id].violated === before.properties[id].violated));
  const rows = PROPERTY_IDS.map(
    id =>
      `<tr data-property="${id}"><th scope="row" title="property ${id} (docs/model.md#properties)">${escapeHtml(question(id, work, n))}</th>${cell(before, id, 'before')}${cell(after, id, 'after')}</tr>`,
  );
  const counts = (e: ExploreResult) =>
    `${e.states.toLocaleString('en-US')} states, ${e.transitions.toLocaleString('en-US')} transitions${e.capped ? ` (capped${e.message ? `: ${escapeHtml(e.message)}` : ''})` : ''}`;
  const afterHead = lock === 'spin_lock_irqsave' || lock === 'spin_lock_irq' ? `with ${lock} (as written)` : 'with spin_lock_irqsave';
  return `<section aria-labelledby="h-verdicts">
<h2 id="h-verdicts">As written and with the fix</h2>
<table id="verdicts" class="verdicts">
<thead><tr><th scope="col">question (${docLink('properties', 'properties')})</th><th scope="col">as written (${escapeHtml(lock)})</th><th scope="col">${escapeHtml(afterHead)}</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
<tfoot><tr><th scope="row" class="dim">explored</th><td class="dim">${counts(before)}</td><td class="dim">${same && after === before ? 'the same run' : counts(after)}</td></tr></tfoot>
</table>
</section>`;
}

// --- environment controls ----------------------------------------------------------------------------

function environmentForm(r: SimulationResult): string {
  const m = r.model;
  const napi = m.napi === true;
  const irq = str(m.irq, 'same');
  const select = (name: keyof typeof CHOICES, label: string, help: string, opts: [string, string, string?][], disabledWhy?: string) => {
    const current = str(m[name]);
    return `<div class="field"><label for="opt-${name}">${escapeHtml(label)}</label>
<select id="opt-${name}" name="${name}" title="${escapeHtml(help)}"${disabledWhy ? ` disabled data-why="${escapeHtml(disabledWhy)}"` : ''}>${opts
      .map(
        ([v, text, why]) =>
          `<option value="${v}"${v === current ? ' selected' : ''}${why ? ` data-needs="${escapeHtml(why)}"` : ''}>${escapeHtml(text)}</option>`,
      )
      .join('')}</select></div>`;
  };
  const check = (name: string, label: string, help: string, disabledWhy?: string) =>
    `<div class="field check"><input type="checkbox" id="opt-${name}" name="${name}"${m[name] === true ? ' checked' : ''}${disabledWhy ? ` disabled data-why="${escapeHtml(disabledWhy)}"` : ''} title="${escapeHtml(help)}"><label for="opt-${name}" title="${escapeHtml(help)}">${escapeHtml(label)}</label></div>`;
  const number = (name: 'buffers' | 'ring', label: string, help: string, range: { min: number; max: number }, d: number) =>
    `<div class="field"><label for="opt-${name}">${escapeHtml(label)}</label><input type="number" id="opt-${name}" name="${name}" min="${range.min}" max="${range.max}" step="1" value="${num(m[name], d)}" title="${escapeHtml(help)}"></div>`;
  const napiWhy = napi ? 'a NAPI poll runs where it was scheduled and takes no lock' : undefined;
  return `<section aria-labelledby="h-env">
<h2 id="h-env">Environment</h2>
<form id="env" data-napi="${napi}">
<div class="fields">
${select('irq', 'Interrupt goes to', 'IRQ routing: which CPU the MSI targets (docs/model.md#interrupt-delivery)', [
  ['same', "the work's CPU"],
  ['other', 'the other CPU', 'needs pinned work: local work follows the interrupt'],
  ['any', 'either (affinity moves)'],
])}
${select(
  'wq',
  'Work runs',
  'Work placement (docs/model.md#work-locality)',
  [
    ['local', 'where the IRQ was taken', irq === 'other' ? 'the other CPU needs pinned work' : undefined],
    ['pinned', 'pinned to CPU 0'],
  ],
  napiWhy,
)}
${select('device', 'Device', 'Device behaviour (docs/model.md#the-device)', [
  ['prompt', 'prompt (compliant)'],
  ['lax', 'lax: extra MSIs (compliant)'],
  ['cached', 'cached flags (non-compliant)'],
])}
${select('notify', 'Notification', 'Notification suppression mode', [
  ['event-idx', 'EVENT_IDX'],
  ['flags', 'flags (NO_INTERRUPT)'],
])}
${select(
  'drain',
  'Drain shape',
  'The drain loop (docs/model.md#drain-shapes); the default is read from the code',
  [
    ['recheck', 're-check loop (disable_cb … enable_cb)'],
    ['plain', 'plain get_buf loop'],
    ['relock', 'relock per buffer'],
  ],
  napiWhy,
)}
${number('buffers', 'N buffers', `Buffers the exhaustive exploration completes (${BUFFERS_RANGE.min}-${BUFFERS_RANGE.max}; C and CX need N ≥ 4)`, BUFFERS_RANGE, 4)}
${number('ring', 'Ring R', `Ring entries R for the ring bound and the timed mode (${RING_RANGE.min}-${RING_RANGE.max})`, RING_RANGE, 128)}
${check('latency', 'MSI latency', 'Each MSI is in flight for an arbitrary time before it latches (docs/model.md#interrupt-delivery)')}
${check('callbackLocks', 'callback takes the lock', "The vring callback also takes the drain's lock (property D)", napiWhy)}
</div>
<p class="hint" id="env-hint">“The other CPU” needs work pinned to CPU 0: work that runs where the IRQ was taken follows the interrupt (${docLink('work-locality', 'work locality')}).${napi ? ' The NAPI poll takes no lock and has one drain shape.' : ''}</p>
<div class="actions"><button type="submit" id="rerun">Re-run</button><button type="button" id="reset" class="secondary" title="Re-run with the settings read from the code">Settings from the code</button>
<span id="status" role="status" aria-live="polite"></span></div>
<p id="error" class="error" role="alert" hidden></p>
</form>
</section>`;
}

// --- counterexamples as swimlanes ------------------------------------------------------------------------

const LANES = [
  ['CPU0', 'CPU 0'],
  ['CPU1', 'CPU 1'],
  ['device', 'device'],
] as const;

function laneOf(s: TraceStep): string {
  return s.lane === 'fabric' ? 'device' : s.lane;
}

function stepLink(loc: { file: string; line: number }, inner: string): string {
  const base = loc.file.split(/[\\/]/).pop() ?? loc.file;
  return `<a class="step" href="#" data-file="${escapeHtml(loc.file)}" data-line="${loc.line}" title="Open ${escapeHtml(base)}:${loc.line}">${inner}</a>`;
}

function stepCell(s: TraceStep, last: boolean): string {
  const irq = s.irq ?? /^(<IRQ>|hard IRQ:|vring_interrupt\(\)|callback:)/.test(s.text);
  const text = s.text.replace(/^<IRQ>\s*/, '');
  const tag = irq ? '<span class="tag" title="hard-IRQ context">IRQ</span> ' : '';
  const body = `${tag}${escapeHtml(text)}`;
  const where = s.loc ? ` ${stepLink(s.loc, `${escapeHtml(s.loc.file.split(/[\\/]/).pop() ?? s.loc.file)}:${s.loc.line}`)}` : '';
  return `<td class="${irq ? 'irq' : ''}${last ? ' event' : ''}" title="model step ${escapeHtml(s.command)}">${body}${where}</td>`;
}

function scenarios(r: SimulationResult): string {
  const groups: { side: 'before' | 'after'; ids: PropertyId[]; trace: TraceStep[] }[] = [];
  for (const side of ['before', 'after'] as const) {
    const e = r[side];
    if (side === 'after' && e === r.before) continue;
    for (const id of PROPERTY_IDS) {
      const p = e.properties[id];
      if (!p.violated || p.trace.length === 0) continue;
      const key = JSON.stringify(p.trace.map(s => [s.lane, s.command, s.text]));
      const g = groups.find(x => x.side === side && JSON.stringify(x.trace.map(s => [s.lane, s.command, s.text])) === key);
      if (g) g.ids.push(id);
      else groups.push({ side, ids: [id], trace: p.trace });
    }
  }
  if (groups.length === 0) return '';
  const lock = str(r.model.lock, 'spin_lock');
  const sideText = (side: 'before' | 'after') => (side === 'before' ? `as written (${lock})` : 'with spin_lock_irqsave');
  const html = groups.map((g, i) => {
    const used = LANES.filter(([l]) => g.trace.some(s => laneOf(s) === l));
    const anchors = g.ids.map(id => `<span id="scn-${g.side}-${id}"></span>`).join('');
    return `<details class="scenario"${i === 0 ? ' open' : ''} data-side="${g.side}" data-properties="${g.ids.join(' ')}">${anchors}
<summary>${escapeHtml(sideText(g.side))}: ${escapeHtml(g.ids.map(id => EVENT[id]).join('; '))} <span class="steps">(${g.trace.length} steps)</span></summary>
<table class="lanes"><colgroup><col class="n">${LANES.map(([l]) => `<col class="${used.some(([u]) => u === l) ? 'used' : 'idle'}">`).join('')}</colgroup>
<thead><tr><th scope="col">#</th>${LANES.map(([, label]) => `<th scope="col">${label}</th>`).join('')}</tr></thead>
<tbody>
${g.trace.map((s, k) => `<tr><td class="n">${s.n}</td>${LANES.map(([l]) => (laneOf(s) === l ? stepCell(s, k === g.trace.length - 1) : '<td></td>')).join('')}</tr>`).join('\n')}
</tbody></table>
</details>`;
  });
  return `<section aria-labelledby="h-scenarios">
<h2 id="h-scenarios">How it happens: shortest runs</h2>
<p class="dim">One row per step; hard-IRQ steps are marked IRQ, the last row is the event. Click a file:line to open it.</p>
${html.join('\n')}
</section>`;
}

// --- the timed mode as a chart ---------------------------------------------------------------------------

/** note_interrupt() disables the line above 99,900 unhandled of 100,000 (kernel/irq/spurious.c). */
export const THRESHOLD = 99_900 / 100_000;

/**
 * The chart's vertical scale: log-odds of the unhandled fraction, ln(f / (1 - f)), so that 0.1%,
 * 50% and 99.9% are all a few centimetres apart. A fraction of 0 (or below FLOOR) sits on the
 * bottom edge, labelled 0.
 */
export const FLOOR = 1e-4;
const CEIL = 0.9997;
const logit = (f: number) => Math.log(f / (1 - f));
export function chartY(f: number, top: number, bottom: number): number {
  const c = Math.min(CEIL, Math.max(FLOOR, f));
  const lo = logit(FLOOR),
    hi = logit(CEIL);
  return bottom - ((logit(c) - lo) / (hi - lo)) * (bottom - top);
}

function pct(f: number): string {
  if (f === 0) return '0%';
  const p = f * 100;
  return `${p >= 99 ? p.toFixed(2) : p >= 10 ? p.toFixed(1) : p >= 1 ? p.toFixed(2) : p.toPrecision(2)}%`;
}

function timedSection(t: { before: TimedResult; after: TimedResult }, r: SimulationResult): string {
  const m = r.model;
  const ring = num(m.ring, 128);
  const boundApplies = m.ringBound === 'applies';
  const bound = ring / (ring + 1);
  const lock = str(m.lock, 'spin_lock');
  const same = t.after === t.before || lock === 'spin_lock_irqsave' || lock === 'spin_lock_irq';
  const W = 640,
    H = 300,
    left = 64,
    right = 16,
    top = 28,
    bottom = H - 40;
  const maxX = Math.max(1, ...t.before.series.map(p => p.interrupts), ...t.after.series.map(p => p.interrupts));
  const x = (v: number) => left + (v / maxX) * (W - left - right);
  const y = (f: number) => chartY(f, top, bottom);
  const pts = (s: TimedSeriesPoint[]) => s.map(p => `${x(p.interrupts).toFixed(1)},${y(p.fraction).toFixed(1)}`).join(' ');
  const series = (res: TimedResult, cls: string, label: string) =>
    res.series.length ? `<polyline class="series ${cls}" points="${pts(res.series)}"><title>${escapeHtml(label)}</title></polyline>` : '';
  const ticks: [number, string][] = [
    [0, '0'],
    [0.001, '0.1%'],
    [0.01, '1%'],
    [0.1, '10%'],
    [0.5, '50%'],
    [0.9, '90%'],
  ];
  const xTicks = [...new Set([0, 0.25, 0.5, 0.75, 1].map(f => Math.round(f * maxX)))];
  const thresholdY = y(THRESHOLD);
  const boundY = y(bound);
  const labelGap = Math.abs(thresholdY - boundY) < 14;
  const svg = `<svg id="timed-chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="xMinYMin meet" role="img" aria-labelledby="chart-title chart-desc">
<title id="chart-title">Unhandled fraction per note_interrupt() window against the 99.9% threshold</title>
<desc id="chart-desc">Log-odds scale. As written: ${pct(t.before.fraction)} unhandled overall${same ? '' : `; with spin_lock_irqsave: ${pct(t.after.fraction)}`}. The line is disabled above 99.9%.${boundApplies ? ` The ring bound caps the fraction at ${ring}/${ring + 1} = ${pct(bound)}.` : ''}</desc>
${ticks.map(([f, l]) => `<line class="grid" x1="${left}" x2="${W - right}" y1="${y(f).toFixed(1)}" y2="${y(f).toFixed(1)}"/><text class="tick" x="${left - 6}" y="${(y(f) + 4).toFixed(1)}" text-anchor="end">${l}</text>`).join('\n')}
${xTicks.map((v, i) => `<text class="tick" x="${x(v).toFixed(1)}" y="${bottom + 16}" text-anchor="${i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'}">${v.toLocaleString('en-US')}</text>`).join('')}
<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${bottom}"/><line class="axis" x1="${left}" x2="${W - right}" y1="${bottom}" y2="${bottom}"/>
<text class="axis-title" x="${left + (W - left - right) / 2}" y="${H - 6}" text-anchor="middle">handler returns (IRQ_HANDLED + IRQ_NONE)</text>
<line id="threshold" class="threshold" x1="${left}" x2="${W - right}" y1="${thresholdY.toFixed(1)}" y2="${thresholdY.toFixed(1)}"/>
<text class="tick" x="${left - 6}" y="${(thresholdY + 4).toFixed(1)}" text-anchor="end">99.9%</text>
<text class="threshold-label" x="${W - right - 4}" y="${(thresholdY - 5).toFixed(1)}" text-anchor="end">99.9%: note_interrupt() disables the line ("nobody cared")</text>
${
  boundApplies
    ? `<line id="ring-bound" class="bound" x1="${left}" x2="${W - right}" y1="${boundY.toFixed(1)}" y2="${boundY.toFixed(1)}"/>
<text class="bound-label" x="${W - right - 4}" y="${(boundY + (labelGap ? 14 : 13)).toFixed(1)}" text-anchor="end">ring bound R/(R+1) = ${ring}/${ring + 1} = ${pct(bound)}: this race cannot go higher</text>`
    : ''
}
${series(t.before, 'before', `as written (${lock})`)}
${same ? '' : series(t.after, 'after', 'with spin_lock_irqsave')}
</svg>`;
  const legend = `<p class="legend"><span class="key before"></span> as written (${escapeHtml(lock)})${same ? '' : ' <span class="key after"></span> with spin_lock_irqsave'} <span class="key threshold"></span> threshold${boundApplies ? ' <span class="key bound"></span> ring bound' : ''}</p>`;
  const requested = num(m.completions, 0);
  const explored = (res: TimedResult) => (res === t.before ? r.before : r.after);
  const stopped = (res: TimedResult) => {
    if (res.nobodyCared || !(requested > 0 && res.completions < requested)) return '';
    const e = explored(res).properties;
    const why = e.E.violated
      ? 'published buffers were never consumed and nothing more could happen (a lost completion, as in the table)'
      : e.D.violated
        ? 'the callback deadlocked against the work (D)'
        : 'nothing more could happen';
    return ` The run stopped after ${res.completions.toLocaleString('en-US')} of ${requested.toLocaleString('en-US')} completions: ${why}.`;
  };
  const describe = (label: string, res: TimedResult) =>
    `<li>${escapeHtml(label)}: ${res.unhandled.toLocaleString('en-US')} of ${(res.handled + res.unhandled).toLocaleString('en-US')} handler returns were IRQ_NONE (${pct(res.fraction)}); ` +
    (res.nobodyCared && res.firedAt
      ? `<strong>"nobody cared" at return ${res.firedAt.interrupt.toLocaleString('en-US')} (${res.firedAt.seconds.toFixed(3)} s)</strong>`
      : 'the line stays enabled') +
    `.${escapeHtml(stopped(res))}</li>`;
  const boundSentence = r.summary.find(s => /ring bound/i.test(s) && s.startsWith('The ring bound'));
  return `<section aria-labelledby="h-timed">
<h2 id="h-timed">Timed run: note_interrupt() (${docLink('timed-mode', 'timed mode')})</h2>
<p class="dim">Unhandled fraction of the current 100,000-return window, on a log-odds scale so that the data and the 99.9% threshold are both visible.</p>
<div class="chart">${svg}</div>
${legend}
<ul id="timed-summary">${describe(`As written (${lock})`, t.before)}${same ? '' : describe('With spin_lock_irqsave', t.after)}</ul>
${r.timedSummary?.length ? `<ul class="timed-notes">${r.timedSummary.map(s => `<li>${withDocLinks(s)}</li>`).join('')}</ul>` : ''}
${!boundApplies && boundSentence ? `<p class="dim" id="no-bound">No ring bound line: ${withDocLinks(boundSentence)}</p>` : ''}
</section>`;
}

// --- style and script ------------------------------------------------------------------------------------------

/**
 * Colours: theme variables only, except --vrl-bad on the light and dark kinds (the theme's
 * errorForeground is #F85149 in Light Modern, 3.4:1 on white). High-contrast themes keep the
 * theme's own colours.
 */
export const STYLE = `
body { --vrl-bad: var(--vscode-errorForeground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-editor-foreground); background: var(--vscode-editor-background); padding: 0 20px 32px; max-width: 1100px; line-height: 1.45; }
body.vscode-light { --vrl-bad: #b3261e; }
body.vscode-dark { --vrl-bad: #f48771; }
h1 { font-size: 1.35em; margin: 14px 0 2px; } h2 { font-size: 1.1em; margin: 22px 0 6px; }
.where, .dim, .steps, .tick, .hint { color: var(--vscode-descriptionForeground); }
a { color: var(--vscode-textLink-foreground); } a:hover { color: var(--vscode-textLink-activeForeground); }
a:focus-visible, button:focus-visible, select:focus-visible, input:focus-visible, summary:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
.bottom-line { border-left: 4px solid var(--vrl-bad); padding: 4px 0 4px 12px; margin: 10px 0; }
.verdict { font-size: 1.15em; font-weight: 600; margin: 4px 0 6px; }
#fix-summary { margin: 4px 0; padding-left: 1.2em; } #fix-summary li { margin: 3px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid var(--vscode-editorWidget-border, var(--vscode-contrastBorder, transparent)); padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--vscode-editorWidget-background); font-weight: 600; }
.verdicts tbody th { font-weight: normal; }
.verdicts td { white-space: nowrap; width: 1%; }
td.bad, td.bad a { color: var(--vrl-bad); font-weight: 600; }
td.good { color: var(--vscode-editor-foreground); }
td.bad .steps, td.good .steps { font-weight: normal; color: var(--vscode-descriptionForeground); }
form { margin: 0; }
.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 8px 14px; }
.field { display: flex; flex-direction: column; gap: 2px; }
.field.check { flex-direction: row; align-items: center; gap: 6px; }
select, input[type=number] { font: inherit; color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, var(--vscode-contrastBorder, transparent)); padding: 2px 4px; }
input[type=number] { color: var(--vscode-input-foreground); background: var(--vscode-input-background); border-color: var(--vscode-input-border, var(--vscode-contrastBorder, transparent)); width: 8em; }
input[type=checkbox] { accent-color: var(--vscode-checkbox-background); }
.actions { display: flex; align-items: center; gap: 10px; margin-top: 8px; }
button { font: inherit; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); padding: 3px 12px; cursor: pointer; }
button:hover { background: var(--vscode-button-hoverBackground); }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button.secondary:hover { background: var(--vscode-button-secondaryHoverBackground); }
button:disabled, select:disabled, input:disabled { cursor: default; opacity: .6; }
.hint { margin: 6px 0 0; font-size: .95em; }
.error { color: var(--vscode-editor-foreground); border-left: 4px solid var(--vrl-bad); background: var(--vscode-inputValidation-errorBackground); padding: 4px 10px; }
.error strong { color: inherit; }
.lanes { table-layout: fixed; font-family: var(--vscode-editor-font-family); font-size: .92em; }
.lanes col.n { width: 3em; } .lanes col.idle { width: 5em; }
.lanes td { overflow-wrap: anywhere; }
.lanes td.n { text-align: right; color: var(--vscode-descriptionForeground); }
.lanes td.irq { border-left: 3px solid var(--vscode-charts-orange); }
.lanes td.event { font-weight: 600; border: 2px solid var(--vrl-bad); }
.tag { font-size: .8em; font-weight: 600; padding: 0 4px; border: 1px solid var(--vscode-charts-orange); border-radius: 3px; }
details.scenario { margin: 6px 0 10px; } details.scenario > summary { cursor: pointer; margin-bottom: 4px; }
details#more { margin-top: 22px; } details#more summary { cursor: pointer; }
.chart { max-width: 760px; } #timed-chart { width: 100%; height: auto; }
svg text { fill: var(--vscode-editor-foreground); font-size: 11px; font-family: var(--vscode-font-family); }
svg text.tick { fill: var(--vscode-descriptionForeground); }
svg .grid { stroke: var(--vscode-editorWidget-border, var(--vscode-contrastBorder, transparent)); stroke-width: .5; stroke-dasharray: 2 3; }
svg .axis { stroke: var(--vscode-editor-foreground); stroke-width: 1; }
svg .series { fill: none; stroke-width: 2; }
svg .series.before, .key.before { stroke: var(--vscode-charts-orange); border-color: var(--vscode-charts-orange); }
svg .series.after, .key.after { stroke: var(--vscode-charts-blue); border-color: var(--vscode-charts-blue); stroke-dasharray: 6 3; }
svg .threshold, .key.threshold { stroke: var(--vscode-charts-red); border-color: var(--vscode-charts-red); stroke-width: 1.5; }
svg .bound, .key.bound { stroke: var(--vscode-charts-purple); border-color: var(--vscode-charts-purple); stroke-width: 1.5; stroke-dasharray: 5 3; }
.key { display: inline-block; width: 22px; height: 0; border-top: 2px solid; vertical-align: middle; margin: 0 2px 0 10px; }
.key.after, .key.bound { border-top-style: dashed; }
.legend { margin: 2px 0 6px; }
body.vscode-high-contrast th, body.vscode-high-contrast td, body.vscode-high-contrast-light th, body.vscode-high-contrast-light td { border-color: var(--vscode-contrastBorder); }
`;

/** The webview's only script: posts clicks and the chosen environment; shows progress and refusals. */
const SCRIPT = `
const vscode = acquireVsCodeApi();
const form = document.getElementById('env');
const statusEl = document.getElementById('status');
const errorEl = document.getElementById('error');
let isBusy = false;
function busy(on, text) {
  statusEl.textContent = text || '';
  if (on === isBusy) return;
  isBusy = on;
  for (const el of form.querySelectorAll('select, input, button')) {
    if (on) { el.dataset.wasDisabled = el.disabled ? '1' : ''; el.disabled = true; }
    else { el.disabled = el.dataset.wasDisabled === '1'; }
  }
  form.setAttribute('aria-busy', on ? 'true' : 'false');
}
function constrain() {
  // --irq other needs --wq pinned: local work follows the interrupt (docs/model.md#work-locality).
  const irq = form.elements.irq, wq = form.elements.wq;
  const other = irq.querySelector('option[value=other]'), local = wq.querySelector('option[value=local]');
  other.disabled = wq.value === 'local';
  other.title = other.disabled ? 'Needs work pinned to CPU 0: work that runs where the IRQ was taken follows the interrupt' : '';
  local.disabled = irq.value === 'other';
  local.title = local.disabled ? 'The other CPU needs pinned work' : '';
}
function options() {
  const f = form.elements, o = {};
  o.irq = f.irq.value; o.device = f.device.value; o.notify = f.notify.value;
  o.latency = f.latency.checked;
  o.buffers = Number(f.buffers.value); o.ring = Number(f.ring.value);
  if (form.dataset.napi === 'true') { o.napi = true; }
  else { o.wq = f.wq.value; o.drain = f.drain.value; o.callbackLocks = f.callbackLocks.checked; }
  return o;
}
function rerun(opts) {
  errorEl.hidden = true;
  busy(true, 'Simulating…');
  vscode.postMessage({ type: 'rerun', options: opts });
}
form.addEventListener('change', e => {
  constrain();
  const el = e.target;
  if (el.type === 'number' && !el.checkValidity()) { errorEl.textContent = el.title; errorEl.hidden = false; return; }
  rerun(options());
});
form.addEventListener('submit', e => { e.preventDefault(); rerun(options()); });
document.getElementById('reset').addEventListener('click', () => rerun({}));
constrain();
window.addEventListener('message', e => {
  const m = e.data;
  if (!m || typeof m !== 'object') return;
  if (m.type === 'error') {
    busy(false, '');
    const msg = String(m.message).trim();
    errorEl.textContent = 'Not simulated: ' + msg + (/[.!?]$/.test(msg) ? '' : '.') + ' The results below are for the previous settings.';
    errorEl.hidden = false;
  } else if (m.type === 'running') {
    busy(true, 'Simulating…');
  }
});
document.addEventListener('click', e => {
  const a = e.target.closest('a');
  if (!a) return;
  if (a.classList.contains('step')) {
    e.preventDefault();
    vscode.postMessage({ type: 'reveal', file: a.dataset.file, line: Number(a.dataset.line) });
  } else if (a.classList.contains('doc')) {
    e.preventDefault();
    vscode.postMessage({ type: 'openDoc', anchor: a.dataset.anchor || '' });
  } else if (a.classList.contains('jump')) {
    e.preventDefault();
    const target = document.getElementById(a.dataset.target);
    const details = target && target.closest('details');
    if (details) { details.open = true; details.scrollIntoView({ block: 'start' }); }
  }
});
`;
