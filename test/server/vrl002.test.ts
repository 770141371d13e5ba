// VRL002 in the editor: information diagnostics, what its code actions offer (looked up from the
// rule: no fix, no patch; simulate and the docs), and the virtioRaceLint.rules setting.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { FIXTURES } from '../helpers/fixtures';
import { copyDir, tempDir } from '../helpers/cli';
import { codeActions, startServer, type TestClient } from '../helpers/lsp';
import { defaultServerOptions } from '../../src/server/services';
import { validateSettings } from '../../src/server/settings';
import type { SimulationResult } from '../../src/shared/simulation';

const WORK = path.join(FIXTURES, 'vrl002', 'work-shapes');
const only = (d: Diagnostic[] | undefined, rule: string) => (d ?? []).filter(x => x.code === rule);

describe('VRL002 in the language server', function () {
  this.timeout(20000);
  let c: TestClient | undefined;
  afterEach(() => {
    c?.close();
    c = undefined;
  });

  it('publishes VRL002 as information and offers the suppression, Simulate and the docs, but no fix or patch', async () => {
    const dir = tempDir('vrl-lsp-');
    copyDir(WORK, dir);
    c = await startServer(dir, { ...defaultServerOptions() }, { simulator: { buffers: 3, maxStates: 100000, timeoutMs: 20000 } });
    const uri = `file://${path.join(dir, 'demo_work.c')}`;
    await c.waitFor(d => only(d.get(uri), 'VRL002').length === 3 && only(d.get(uri), 'VRL001').length === 1);
    const diag = only(c.diagnostics.get(uri), 'VRL002').find(d => /demo_rx_work/.test(d.message))!;
    assert.equal(diag.severity, 3);
    assert.match(diag.codeDescription!.href, /README\.md#vrl002-deferred-drain-irqs-on$/);
    const text = fs.readFileSync(path.join(dir, 'demo_work.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
    const actions = await codeActions(c, uri, diag);
    assert.deepEqual(
      actions.map(a => a.command?.command ?? a.title),
      ['virtioRaceLint.insertSuppression', 'virtioRaceLint.simulate', 'virtioRaceLint.showDocs'],
    );
    // The client's table does not know VRL002's anchor: the server sends it.
    assert.deepEqual(actions[2].command?.arguments, [{ rule: 'VRL002', anchor: 'vrl002-deferred-drain-irqs-on' }]);
    const sim = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.simulate',
      arguments: [{ uri, line: diag.range.start.line }],
    })) as SimulationResult & { error?: string };
    assert.equal(sim.error, undefined);
    assert.equal(sim.model.lock, 'mutex');
    assert.ok(
      sim.summary.some(x => /The irqsave fix does not apply: the drain holds a mutex/.test(x)),
      sim.summary.join(' '),
    );
  });

  it('honours virtioRaceLint.rules: off drops VRL002, and a bad entry is reported and ignored', async () => {
    const dir = tempDir('vrl-lsp-');
    copyDir(WORK, dir);
    c = await startServer(dir, {}, { rules: { VRL002: 'off' } });
    const uri = `file://${path.join(dir, 'demo_work.c')}`;
    await c.waitFor(d => only(d.get(uri), 'VRL001').length === 1);
    assert.equal(only(c.diagnostics.get(uri), 'VRL002').length, 0);
    const v = validateSettings({ rules: { VRL002: 'loud', VRL777: 'off', VRL003: 'information' } });
    assert.deepEqual(v.settings.rules, { VRL003: 'information' });
    assert.equal(v.problems.length, 2);
    assert.match(v.problems.join('\n'), /VRL002: level must be one of off, information, warning/);
    assert.match(v.problems.join('\n'), /unknown rule VRL777/);
  });
});

describe('VRL002 shapes the simulator does not model', function () {
  this.timeout(20000);
  let c: TestClient | undefined;
  afterEach(() => {
    c?.close();
    c = undefined;
  });

  it('offers no Simulate for a waiter, in the light bulb or the hover (it would only say "not modelled yet")', async () => {
    const dir = tempDir('vrl-lsp-');
    copyDir(path.join(FIXTURES, 'vrl002', 'waiter'), dir);
    c = await startServer(dir);
    const uri = `file://${path.join(dir, 'demo_wait.c')}`;
    const text = fs.readFileSync(path.join(dir, 'demo_wait.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
    await c.waitFor(d => only(d.get(uri), 'VRL002').length > 0);
    const diag = only(c.diagnostics.get(uri), 'VRL002')[0];
    assert.match(diag.message, /^waiter /);
    const actions = await codeActions(c, uri, diag);
    assert.ok(!actions.some(a => a.command?.command === 'virtioRaceLint.simulate'), JSON.stringify(actions.map(a => a.title)));
    assert.ok(actions.some(a => a.command?.command === 'virtioRaceLint.showDocs'));
    const hover = (await c.client.sendRequest('textDocument/hover', { textDocument: { uri }, position: diag.range.start })) as {
      contents: { value: string };
    };
    assert.doesNotMatch(hover.contents.value, /\[Simulate\]/);
    assert.match(hover.contents.value, /\[Documentation\]/);
  });
});
