// HTML for the simulation view, built from the result alone (pure, testable without VS Code).
import { PROPERTY_IDS, PROPERTY_TITLES, type ExploreResult, type SimulationResult, type TimedResult, type TraceStep } from '../shared/simulation';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' }[c]!));
}

export interface HtmlOptions { nonce: string; cspSource: string }

export function renderSimulationHtml(r: SimulationResult, o: HtmlOptions): string {
  const csp = `default-src 'none'; style-src ${o.cspSource} 'nonce-${o.nonce}'; script-src 'nonce-${o.nonce}'; img-src ${o.cspSource} data:;`;
  const lanes = ['device', 'CPU0', 'CPU1'];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp.replace(/["&<>]/g, '')}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simulation: ${escapeHtml(r.handler)}</title>
<style nonce="${o.nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 16px 24px; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: 3px 8px; text-align: left; vertical-align: top; }
td.v { color: var(--vscode-errorForeground); font-weight: bold; } td.ok { color: var(--vscode-testing-iconPassed, #3a3); }
.lanes td { font-family: var(--vscode-editor-font-family); font-size: 0.92em; min-width: 14em; }
.lanes td.n { min-width: 2em; text-align: right; opacity: .7; }
a.step { cursor: pointer; text-decoration: underline dotted; color: var(--vscode-textLink-foreground); }
.summary li { margin: 4px 0; } .muted { opacity: .75; }
svg text { fill: var(--vscode-foreground); font-size: 11px; }
</style>
</head>
<body>
<h1 id="title">Simulation of ${escapeHtml(r.handler)}()</h1>
<p class="muted">${escapeHtml(r.file)}:${r.line} &middot; model: ${escapeHtml(Object.entries(r.model).map(([k, v]) => `${k}=${String(v)}`).join(', '))}</p>
<h2>Verdicts</h2>
${verdictTable(r.before, r.after)}
<ul class="summary">${r.summary.map(s => `<li>${escapeHtml(s)}</li>`).join('')}</ul>
${PROPERTY_IDS.filter(id => r.before.properties[id].violated || r.after.properties[id].violated).map(id => traces(id, r)).join('\n')}
${r.timed ? timedSection(r.timed) : ''}
<script nonce="${o.nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener('click', e => {
  const a = e.target.closest('a.step');
  if (!a) return;
  vscode.postMessage({ type: 'reveal', file: a.dataset.file, line: Number(a.dataset.line) });
});
</script>
</body>
</html>
`;

  function traces(id: (typeof PROPERTY_IDS)[number], res: SimulationResult): string {
    const parts: string[] = [];
    for (const [label, er] of [['as written', res.before], ['with the irqsave fix', res.after]] as const) {
      const p = er.properties[id];
      if (!p.violated) continue;
      parts.push(`<h2>${escapeHtml(id)} (${escapeHtml(label)}): shortest counterexample, ${p.trace.length} steps</h2>
<p class="muted">${escapeHtml(PROPERTY_TITLES[id])}</p>
<table class="lanes" data-property="${escapeHtml(id)}"><tr><th>#</th>${lanes.map(l => `<th>${escapeHtml(l)}</th>`).join('')}</tr>
${p.trace.map(s => `<tr><td class="n">${s.n}</td>${lanes.map(l => `<td>${laneOf(s) === l ? step(s) : ''}</td>`).join('')}</tr>`).join('\n')}
</table>`);
    }
    return parts.join('\n');
  }
}

function laneOf(s: TraceStep): string {
  return s.lane === 'fabric' ? 'device' : s.lane;
}

function step(s: TraceStep): string {
  const text = `${escapeHtml(s.command)} ${escapeHtml(s.text)}`;
  if (!s.loc) return text;
  return `<a class="step" data-file="${escapeHtml(s.loc.file)}" data-line="${s.loc.line}" title="${escapeHtml(s.loc.file)}:${s.loc.line}">${text}</a>`;
}

function verdictTable(before: ExploreResult, after: ExploreResult): string {
  const cell = (v: boolean) => v ? '<td class="v">violated</td>' : '<td class="ok">holds</td>';
  const rows = PROPERTY_IDS.map(id => `<tr><td>${id}</td><td>${escapeHtml(PROPERTY_TITLES[id])}</td>${cell(before.properties[id].violated)}${cell(after.properties[id].violated)}</tr>`);
  const counts = (e: ExploreResult) => `${e.states.toLocaleString('en-US')} states, ${e.transitions.toLocaleString('en-US')} transitions${e.capped ? ` (capped: ${escapeHtml(e.message ?? '')})` : ''}`;
  return `<table class="verdicts"><tr><th>property</th><th>question</th><th>as written</th><th>with irqsave</th></tr>
${rows.join('\n')}
<tr><td></td><td class="muted">explored</td><td class="muted">${counts(before)}</td><td class="muted">${counts(after)}</td></tr>
</table>`;
}

/** note_interrupt() disables the line above 99,900 unhandled of 100,000 (kernel/irq/spurious.c). */
const THRESHOLD = 99_900 / 100_000;

function timedSection(t: { before: TimedResult; after: TimedResult }): string {
  const w = 560;
  const h = 220;
  const pad = 36;
  const maxX = Math.max(1, ...t.before.series.map(p => p.interrupts), ...t.after.series.map(p => p.interrupts));
  const x = (v: number) => pad + (v / maxX) * (w - 2 * pad);
  const y = (f: number) => h - pad - f * (h - 2 * pad);
  const line = (r: TimedResult, dash: string) => r.series.length
    ? `<polyline fill="none" stroke="currentColor" stroke-width="1.5" ${dash} points="${r.series.map(p => `${x(p.interrupts).toFixed(1)},${y(p.fraction).toFixed(1)}`).join(' ')}"/>`
    : '';
  const describe = (label: string, r: TimedResult) =>
    `<li>${escapeHtml(label)}: ${r.unhandled.toLocaleString('en-US')} of ${(r.handled + r.unhandled).toLocaleString('en-US')} interrupts unhandled (${(r.fraction * 100).toFixed(2)}%); `
    + (r.nobodyCared && r.firedAt ? `"nobody cared" at interrupt ${r.firedAt.interrupt.toLocaleString('en-US')} (${r.firedAt.seconds.toFixed(3)} s)` : 'the line is not disabled') + '</li>';
  return `<h2>Timed mode: note_interrupt()</h2>
<svg id="timed-chart" width="${w}" height="${h}" role="img" aria-label="Unhandled fraction per window against the 99,900 of 100,000 threshold">
<line x1="${pad}" y1="${y(0)}" x2="${w - pad}" y2="${y(0)}" stroke="currentColor" stroke-opacity=".4"/>
<line x1="${pad}" y1="${y(1)}" x2="${pad}" y2="${y(0)}" stroke="currentColor" stroke-opacity=".4"/>
<line x1="${pad}" y1="${y(THRESHOLD)}" x2="${w - pad}" y2="${y(THRESHOLD)}" stroke="red" stroke-dasharray="4 3"/>
<text x="${w - pad}" y="${y(THRESHOLD) - 4}" text-anchor="end">99,900 / 100,000</text>
<text x="4" y="${y(0)}">0</text><text x="4" y="${y(1) + 4}">1</text>
${line(t.before, '')}
${line(t.after, 'stroke-dasharray="2 2" stroke-opacity=".7"')}
<text x="${pad}" y="${h - 8}">interrupts &rarr; (solid: as written, dotted: with irqsave)</text>
</svg>
<ul>${describe('as written', t.before)}${describe('with irqsave', t.after)}</ul>`;
}
