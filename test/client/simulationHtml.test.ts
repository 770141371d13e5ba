import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import {
  chartY,
  escapeHtml,
  FLOOR,
  renderSimulationHtml,
  sanitizeOptions,
  splitSummary,
  STYLE,
  THRESHOLD,
} from '../../src/client/simulationHtml';
import { modelFromFinding, simulateCode, type SimulateOptions } from '../../src/sim/fromCode';
import { simulationView } from '../../src/api/simulationView';
import { PROPERTY_IDS, type SimulationResult } from '../../src/shared/simulation';
import { FIXTURES } from '../helpers/fixtures';

const cache = new Map<string, SimulationResult>();
async function result(o: SimulateOptions = {}): Promise<SimulationResult> {
  const key = JSON.stringify(o);
  if (!cache.has(key)) {
    const dir = path.join(FIXTURES, 'vrl001', 'gpu-helper-binding');
    const { findings, project } = await checkPaths([dir], { workers: 0 });
    cache.set(
      key,
      simulationView(simulateCode(modelFromFinding(findings[0], project.index)!, { buffers: 4, timed: true, completions: 3000, ...o })),
    );
  }
  return cache.get(key)!;
}

const render = (r: SimulationResult) => renderSimulationHtml(r, { nonce: 'N0NCE', cspSource: 'vscode-webview://x' });

/** What a user can read: the body without the script, tags, or attribute values. */
function visibleText(html: string): string {
  const body = html.slice(html.indexOf('<body'), html.indexOf('<script'));
  return body
    .replace(/<title>[^<]*<\/title>/g, ' ')
    .replace(/<\/?(a|span|strong|code)\b[^>]*>/g, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&middot;/g, '·')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

function rowOf(html: string, id: string): string {
  return new RegExp(`<tr data-property="${id}">(.*?)</tr>`).exec(html)![1];
}

/** WCAG 2.x contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const [r, g, bl] = [1, 3, 5]
      .map(i => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map(c => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** VS Code's slug for a markdown heading (lower case, punctuation dropped, spaces to hyphens). */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[\][!'"#$%&()*+,./:;<=>?@\\^{|}~`]/g, '')
    .replace(/\s+/g, '-');
}

describe('simulation view HTML', () => {
  it('has a strict Content-Security-Policy: nothing remote, one nonce for the script and styles', async () => {
    const html = render(await result());
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-N0NCE'/);
    assert.doesNotMatch(csp, /https?:|unsafe-inline|unsafe-eval/);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map(m => m[1]);
    assert.deepEqual(scripts, [' nonce="N0NCE"']);
    assert.deepEqual(
      [...html.matchAll(/<style([^>]*)>/g)].map(m => m[1]),
      [' nonce="N0NCE"'],
    );
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /\sstyle=/i, 'no inline styles (the CSP would block them)');
    assert.doesNotMatch(html, /(src|href)="(https?:|\/\/)/);
  });

  it('leads with the bottom line, summary[0], then the fix sentences; the rest under "more"', async () => {
    const r = await result();
    const html = render(r);
    const text = visibleText(html);
    const verdict = /<p id="verdict" class="verdict">(.*?)<\/p>/.exec(html)![1];
    assert.equal(verdict, escapeHtml(r.summary[0]));
    assert.match(
      r.summary[0],
      /^Confirmed as written \(spin_lock\): an interrupt can land on the work's CPU mid-drain and return IRQ_NONE \(B, \d+ steps\)\.$/,
    );
    // Nothing but the title and the location line comes before it.
    const before = text.slice(0, text.indexOf(r.summary[0]));
    assert.match(before, /^ ?Simulation of demo_dequeue_ctrl_func\(\) demo_vq\.c:36 · spin_lock as written · model: docs\/model\.md $/);
    const { fix, more } = splitSummary(r.summary);
    assert.ok(
      fix.some(s => s.startsWith('With spin_lock_irqsave IRQ_NONE stays reachable')),
      JSON.stringify(fix),
    );
    assert.ok(fix.some(s => s.startsWith('Under the explored environment the fix closes B')));
    assert.ok(more.some(s => s.startsWith('Exhaustive exploration')));
    assert.equal(fix.length + more.length + 1, r.summary.length, 'every sentence is shown');
    const fixList = /<ul id="fix-summary">(.*?)<\/ul>/.exec(html)![1];
    for (const s of fix) assert.ok(visibleText(`<body>${fixList}<script`).includes(s), s);
    // The fix sentences come right after the verdict, before the table.
    assert.ok(text.indexOf(fix[0]) < text.indexOf('As written and with the fix'));
  });

  it('shows the before/after table as questions with "reachable"/"not reachable", matching the exploration', async () => {
    const r = await result();
    const html = render(r);
    const table = /<table id="verdicts"[\s\S]*?<\/table>/.exec(html)![0];
    const cells = [...table.matchAll(/<td class="(?:bad|good)">(.*?)<\/td>/g)].map(m => visibleText(`<body>${m[1]}<script`).trim());
    assert.equal(cells.length, 2 * PROPERTY_IDS.length);
    for (const c of cells) assert.match(c, /^(reachable \(\d+ steps\)|not reachable)$/);
    assert.doesNotMatch(visibleText(`<body>${table}<script`), /violated|\bholds\b(?! the lock)/);
    assert.match(table, /<th scope="col">as written \(spin_lock\)<\/th><th scope="col">with spin_lock_irqsave<\/th>/);
    assert.match(
      rowOf(html, 'B'),
      /^<th scope="row"[^>]*>Can it return IRQ_NONE on the work&#39;s CPU while the work holds the lock\?<\/th><td class="bad">.*reachable<\/a> <span class="steps">\(\d+ steps\)<\/span><\/td><td class="good">not reachable<\/td>$/,
    );
    for (const id of PROPERTY_IDS) {
      const cells = [...rowOf(html, id).matchAll(/<td class="(bad|good)">/g)].map(m => m[1] === 'bad');
      assert.deepEqual(cells, [r.before.properties[id].violated, r.after.properties[id].violated], id);
      const q = /<th scope="row"[^>]*>([^<]*)<\/th>/.exec(rowOf(html, id))![1];
      assert.match(q, /^Can .*\?( \(needed for &quot;nobody cared&quot;\))?$/, id);
    }
    // A reachable cell jumps to its scenario, which exists.
    for (const m of table.matchAll(/data-target="([^"]+)"/g)) assert.ok(html.includes(`id="${m[1]}"`), m[1]);
  });

  it("draws the counterexamples as CPU 0 / CPU 1 / device lanes in the driver's names, without model step codes", async () => {
    const r = await result();
    const html = render(r);
    assert.match(html, /<th scope="col">#<\/th><th scope="col">CPU 0<\/th><th scope="col">CPU 1<\/th><th scope="col">device<\/th>/);
    const text = visibleText(html);
    const codes = new Set<string>();
    for (const id of PROPERTY_IDS) for (const e of [r.before, r.after]) for (const s of e.properties[id].trace) codes.add(s.command);
    assert.ok(codes.size > 5);
    for (const c of codes) assert.doesNotMatch(text, new RegExp(`(^|[^\\w\\[])${c}([^\\w\\]]|$)`), `step code ${c} is visible`);
    assert.match(text, /demo_dequeue_ctrl_func\(\)/);
    assert.match(text, /spin_lock\(&dev->ctrlq\.qlock\)/);
    assert.doesNotMatch(text, /fsvq|virtio_fs_/, "the simulator's virtio-fs names are replaced");
    // Every step that stands for a source line links to it.
    const withLoc = r.before.properties.B.trace.filter(s => s.loc);
    assert.ok(withLoc.length > 3);
    const links = [...html.matchAll(/<a class="step" href="#" data-file="([^"]*)" data-line="(\d+)"/g)];
    for (const s of withLoc)
      assert.ok(
        links.some(l => l[1] === escapeHtml(s.loc!.file) && Number(l[2]) === s.loc!.line),
        `${s.loc!.file}:${s.loc!.line}`,
      );
    // The handler's steps are marked as hard-IRQ context.
    const irqCells = [
      ...html.matchAll(/<td class="irq[^"]*" title="[^"]*"><span class="tag" title="hard-IRQ context">IRQ<\/span> ([^<]*)/g),
    ].map(m => m[1]);
    assert.ok(
      irqCells.some(t => t.startsWith('hard IRQ: handle_edge_irq()')) && irqCells.some(t => t.startsWith('vring_interrupt(): ring empty')),
      JSON.stringify(irqCells.slice(0, 4)),
    );
    assert.ok(!irqCells.some(t => t.startsWith('spin_lock')));
    // Identical traces are shown once (B's trace is A's here), the first one open.
    assert.match(html, /<details class="scenario" open data-side="before" data-properties="A B B2">/);
  });

  it('has environment controls set to the settings used, and explains the refused --irq other with local work', async () => {
    const html = render(await result());
    const selected = (name: string) =>
      new RegExp(`<select id="opt-${name}" name="${name}"[^>]*>.*?<option value="([^"]+)" selected>`).exec(html)?.[1];
    assert.equal(selected('irq'), 'same');
    assert.equal(selected('wq'), 'local');
    assert.equal(selected('device'), 'prompt');
    assert.equal(selected('notify'), 'event-idx');
    assert.equal(selected('drain'), 'recheck');
    for (const v of ['same', 'other', 'any']) assert.match(html, new RegExp(`<option value="${v}"`));
    for (const v of ['prompt', 'lax', 'cached']) assert.match(html, new RegExp(`<option value="${v}"`));
    assert.match(html, /<input type="number" id="opt-buffers" name="buffers" min="1" max="7" step="1" value="4"/);
    assert.match(html, /<input type="number" id="opt-ring" name="ring" min="1" max="32768" step="1" value="128"/);
    assert.match(html, /<input type="checkbox" id="opt-latency" name="latency"/);
    assert.match(
      visibleText(html),
      /“The other CPU” needs work pinned to CPU 0: work that runs where the IRQ was taken follows the interrupt/,
    );
    assert.match(html, /other\.disabled = wq\.value === 'local'/, 'the script disables "other" while the work is local');
    assert.match(html, /<p id="error" class="error" role="alert" hidden><\/p>/);

    const pinned = render(await result({ irq: 'other', wq: 'pinned', device: 'cached' }));
    assert.match(pinned, /<option value="other" selected data-needs=/);
    assert.match(pinned, /<option value="pinned" selected>/);
    assert.match(pinned, /<option value="cached" selected>/);
  });

  it('accepts only the simulate options from the webview', () => {
    assert.deepEqual(
      sanitizeOptions({
        irq: 'any',
        wq: 'pinned',
        device: 'cached',
        notify: 'flags',
        drain: 'relock',
        latency: true,
        callbackLocks: false,
        buffers: 5,
        ring: 1024,
      }),
      {
        irq: 'any',
        wq: 'pinned',
        device: 'cached',
        notify: 'flags',
        drain: 'relock',
        latency: true,
        callbackLocks: false,
        buffers: 5,
        ring: 1024,
      },
    );
    assert.deepEqual(
      sanitizeOptions({ irq: 'elsewhere', lock: 'mutex', maxStates: 1e12, buffers: 99, ring: 0, latency: 'yes', __proto__: { x: 1 } }),
      {},
    );
    assert.deepEqual(sanitizeOptions({ buffers: 4.5, ring: 70000 }), {});
    assert.deepEqual(sanitizeOptions(null), {});
  });

  it('charts the timed run on a scale where the data and the 99.9% threshold are both visible', async () => {
    const r = await result();
    const html = render(r);
    const svg = /<svg id="timed-chart"[\s\S]*?<\/svg>/.exec(html)![0];
    assert.doesNotMatch(svg, /<image|href=/, 'inline SVG only');
    const yOf = (re: RegExp) => Number(re.exec(svg)![1]);
    const threshold = yOf(/<line id="threshold" class="threshold" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"/);
    assert.match(svg, /99\.9%: note_interrupt\(\) disables the line/);
    const series = [...svg.matchAll(/<polyline class="series (before|after)" points="([^"]+)"/g)];
    assert.deepEqual(
      series.map(s => s[1]),
      ['before', 'after'],
    );
    const ys = series.flatMap(s => s[2].split(' ').map(p => Number(p.split(',')[1])));
    const [top, bottom] = [28, 260];
    for (const y of [...ys, threshold]) assert.ok(y >= top && y <= bottom, `${y} inside the plot`);
    // The scale: 2% unhandled (what flags mode gives) is far from the threshold and from 0.
    const mid = chartY(0.02, top, bottom);
    assert.ok(chartY(THRESHOLD, top, bottom) < mid - 80 && mid < chartY(0, top, bottom) - 50, 'log-odds spreads them');
    assert.equal(chartY(0, top, bottom), chartY(FLOOR, top, bottom));
    assert.equal(chartY(0, top, bottom), bottom);
    // Without the ring bound, no bound line, and the view says why.
    assert.equal(r.model.ringBound, 'does not apply');
    assert.doesNotMatch(svg, /ring-bound/);
    assert.match(visibleText(html), /No ring bound line: The ring bound \(docs\/model\.md#the-ring-bound\) does not apply here/);
  });

  it("says why a timed run stopped early, and labels a short run's axis once per value", async () => {
    const r = await result({ device: 'cached' });
    assert.ok(r.timed!.before.completions < 3000, 'the caching device stops the queue');
    const html = render(r);
    assert.match(
      visibleText(html),
      /The run stopped after [\d,]+ of 3,000 completions: published buffers were never consumed and nothing more could happen \(a lost completion, as in the table\)\./,
    );
    const svg = /<svg id="timed-chart"[\s\S]*?<\/svg>/.exec(html)![0];
    const xLabels = [...svg.matchAll(/<text class="tick" x="[\d.]+" y="276" text-anchor="\w+">([^<]*)<\/text>/g)].map(m => m[1]);
    assert.ok(xLabels.length >= 2, JSON.stringify(xLabels));
    assert.deepEqual(xLabels, [...new Set(xLabels)]);
  });

  it('draws the ring bound R/(R+1) between the data and the threshold when it applies', async () => {
    const r = await result({ ring: 256 });
    const html = render({ ...r, model: { ...r.model, ringBound: 'applies' } });
    const svg = /<svg id="timed-chart"[\s\S]*?<\/svg>/.exec(html)![0];
    const bound = Number(/<line id="ring-bound" class="bound" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"/.exec(svg)![1]);
    const threshold = Number(/<line id="threshold" class="threshold" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"/.exec(svg)![1]);
    assert.match(svg, /ring bound R\/\(R\+1\) = 256\/257 = 99\.61%/);
    assert.ok(bound > threshold + 10, 'below the threshold, apart from it');
    assert.ok(bound < chartY(0.9, 28, 260), 'above 90%');
    assert.doesNotMatch(visibleText(html), /No ring bound line/);
  });

  it('uses theme colours, and the few of its own pass WCAG AA on the default light and dark themes', () => {
    // Every literal colour is the "reachable" colour of one theme kind.
    const literal = [...STYLE.matchAll(/([^{}]+)\{([^}]*)\}/g)].flatMap(([, sel, body]) =>
      [...body.matchAll(/#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(/g)].map(m => ({ sel: sel.trim(), colour: m[0] })),
    );
    assert.deepEqual(
      literal.map(l => l.sel),
      ['body.vscode-light', 'body.vscode-dark'],
    );
    // Editor backgrounds of VS Code's default themes (extensions/theme-defaults/themes, 1.100).
    const backgrounds = { 'body.vscode-light': ['#FFFFFF'], 'body.vscode-dark': ['#1F1F1F', '#1E1E1E'] } as Record<string, string[]>;
    for (const { sel, colour } of literal) {
      for (const bg of backgrounds[sel]) assert.ok(contrast(colour, bg) >= 4.5, `${colour} on ${bg}: ${contrast(colour, bg).toFixed(2)}`);
    }
    // Why not the theme's own: Light Modern's errorForeground, and the old "holds" green.
    assert.ok(contrast('#F85149', '#FFFFFF') < 4.5);
    assert.ok(contrast('#73C991', '#FFFFFF') < 2.5);
    assert.doesNotMatch(STYLE, /testing-iconPassed/);
    // Text is never made fainter with opacity (that defeats the theme's contrast).
    assert.doesNotMatch(STYLE.replace(/button:disabled[^}]*\}/, ''), /opacity/);
  });

  it('links docs/model.md, bundled with the extension, at headings that exist', async () => {
    const html = render(await result());
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'model.md'), 'utf8');
    const slugs = new Set([...doc.matchAll(/^#{1,4} (.+)$/gm)].map(m => slug(m[1])));
    const anchors = [...html.matchAll(/<a class="doc" href="#" data-anchor="([^"]*)"/g)].map(m => m[1]);
    assert.ok(anchors.length >= 4 && anchors.includes('') && anchors.includes('the-ring-bound'), JSON.stringify(anchors));
    for (const a of anchors) if (a) assert.ok(slugs.has(a), `#${a} is a heading of docs/model.md`);
    assert.match(html, /vscode\.postMessage\(\{ type: 'openDoc', anchor: a\.dataset\.anchor \|\| '' \}\)/);
    const pkgIgnore = fs.readFileSync(path.join(__dirname, '..', '..', '..', '.vscodeignore'), 'utf8');
    assert.match(pkgIgnore, /^!docs\/\*\*$/m, 'docs/ ships in the .vsix');
  });

  it('escapes everything taken from source code and the results', async () => {
    const r = await result();
    const evil: SimulationResult = {
      ...r,
      handler: '<img src=x onerror=alert(1)>',
      file: '"/><script>x</script>',
      summary: ['<b>bold</b> docs/model.md#the-race"><script>', ...r.summary.slice(1)],
      model: { ...r.model, lock: '<i>lock</i>', irq: '"><svg onload=1>' },
    };
    const html = renderSimulationHtml(evil, { nonce: 'n', cspSource: 'src' });
    assert.doesNotMatch(html, /<img src=x/);
    assert.doesNotMatch(html, /<script>x<\/script>/);
    assert.doesNotMatch(html, /<b>bold|<i>lock|<svg onload/);
    assert.equal([...html.matchAll(/<script/g)].length, 1);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
