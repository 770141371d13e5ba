import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { escapeHtml, renderSimulationHtml } from '../../src/client/simulationHtml';
import { modelFromFinding, simulateCode, simulationView } from '../../src/sim/fromCode';
import type { SimulationResult } from '../../src/shared/simulation';
import { FIXTURES } from '../helpers/fixtures';

async function result(): Promise<SimulationResult> {
  const dir = path.join(FIXTURES, 'vrl001', 'gpu-helper-binding');
  const { findings, project } = await checkPaths([dir], { workers: 0 });
  return simulationView(simulateCode(modelFromFinding(findings[0], project.index)!, { buffers: 4, timed: true, completions: 3000 }));
}

describe('simulation view HTML', () => {
  it('has a strict Content-Security-Policy: nothing remote, one nonce for the script and styles', async () => {
    const html = renderSimulationHtml(await result(), { nonce: 'N0NCE', cspSource: 'vscode-webview://x' });
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-N0NCE'/);
    assert.doesNotMatch(csp, /https?:|unsafe-inline|unsafe-eval/);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map(m => m[1]);
    assert.deepEqual(scripts, [' nonce="N0NCE"']);
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /src="https?:|href="https?:/);
  });

  it('shows the before/after verdicts, lanes with clickable steps, and the note_interrupt chart', async () => {
    const r = await result();
    const html = renderSimulationHtml(r, { nonce: 'n', cspSource: 'src' });
    assert.match(html, /<td>B<\/td><td>IRQ_NONE on the work&#39;s CPU while the drain holds the lock<\/td><td class="v">violated<\/td><td class="ok">holds<\/td>/);
    assert.match(html, /<th>device<\/th><th>CPU0<\/th><th>CPU1<\/th>/);
    const link = /<a class="step" data-file="([^"]*)" data-line="(\d+)"/.exec(html)!;
    assert.ok(link[1].endsWith('demo_vq.c'));
    assert.ok(Number(link[2]) > 0);
    assert.match(html, /<svg id="timed-chart"/);
    assert.match(html, /99,900 \/ 100,000/);
    // Verdicts in the table equal the exploration's.
    for (const id of ['A', 'B', 'B2', 'C', 'CX', 'D', 'E'] as const) {
      const row = new RegExp(`<td>${id}</td><td>[^<]*</td><td class="(v|ok)">`).exec(html)!;
      assert.equal(row[1] === 'v', r.before.properties[id].violated, id);
    }
  });

  it('escapes everything taken from source code', async () => {
    const r = await result();
    const evil: SimulationResult = { ...r, handler: '<img src=x onerror=alert(1)>', file: '"/><script>x</script>' };
    const html = renderSimulationHtml(evil, { nonce: 'n', cspSource: 'src' });
    assert.doesNotMatch(html, /<img src=x/);
    assert.doesNotMatch(html, /<script>x<\/script>/);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
