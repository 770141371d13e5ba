import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { FIXTURES } from '../helpers/fixtures';
import { copyDir, tempDir } from '../helpers/cli';
import { codeActions, startServer, type TestClient } from '../helpers/lsp';
import { defaultServerOptions } from '../../src/server/services';
import type { SimulationResult } from '../../src/shared/simulation';

const GPU = path.join(FIXTURES, 'vrl001', 'gpu-helper-binding');

function workspace(): string {
  const dir = tempDir('vrl-lsp-');
  copyDir(GPU, dir);
  return dir;
}

const uriOf = (dir: string, name: string) => `file://${path.join(dir, name)}`;
const vrl = (d: Diagnostic[] | undefined) => (d ?? []).filter(x => x.code === 'VRL001');

describe('language server over in-memory streams', function () {
  this.timeout(20000);
  let c: TestClient | undefined;
  afterEach(() => {
    c?.close();
    c = undefined;
  });

  it('indexes the workspace and publishes VRL001 with code, docs link, source and related information', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const d = vrl(c.diagnostics.get(vq))[0];
    assert.equal(d.code, 'VRL001');
    assert.equal(d.source, 'virtio-race-lint');
    assert.match(d.codeDescription!.href, /README\.md#vrl001-irq-unsafe-vq-drain$/);
    assert.equal(d.range.start.line, 35);
    assert.equal(d.severity, 2);
    const rel = d.relatedInformation!;
    assert.deepEqual(
      rel.map(r => path.basename(r.location.uri)),
      ['demo_vq.c', 'demo_kms.c', 'demo_vq.c', 'demo_kms.c', 'demo_kms.c', 'demo_vq.c'],
    );
    assert.match(rel[0].message, /vring callback demo_ctrl_ack\(\)/);
    const lastStatus = () => c!.notifications.filter(n => n.method === 'virtioRaceLint/status').pop()?.params;
    for (let i = 0; i < 50 && (lastStatus() as { indexing?: boolean } | undefined)?.indexing !== false; i++)
      await new Promise(r => setTimeout(r, 20));
    assert.deepEqual(lastStatus(), { findings: 2, files: 1, indexing: false });
  });

  it('handles a document opened before the initialized notification (the parser loads first)', async () => {
    const dir = workspace();
    const vq = uriOf(dir, 'demo_vq.c');
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    c = await startServer(dir, {}, undefined, async client => {
      await client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const diag = vrl(c.diagnostics.get(vq))[0];
    const actions = await codeActions(c, vq, diag);
    assert.equal(actions[0].isPreferred, true);
    assert.ok(!c.logs.some(l => /failed/.test(l)), c.logs.join('\n'));
  });

  it('re-parses an open buffer incrementally; the buffer wins over the disk', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    // Line 36 (0-based 35): `\tspin_lock(&dev->ctrlq.qlock);` -> spin_lock_irq, typed as one edit.
    await c.client.sendNotification('textDocument/didChange', {
      textDocument: { uri: vq, version: 2 },
      contentChanges: [{ range: { start: { line: 35, character: 10 }, end: { line: 35, character: 10 } }, text: '_irq' }],
    });
    await c.waitFor(d => vrl(d.get(vq)).length === 1);
    assert.equal(vrl(c.diagnostics.get(vq))[0].range.start.line, 54);
    assert.equal(fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8'), text, 'the disk is untouched');
    // Closing the buffer without saving brings the disk version back.
    await c.client.sendNotification('textDocument/didClose', { textDocument: { uri: vq } });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
  });

  it("publishes the findings through a header's lock wrappers, as the CLI does, and follows an edit of the header", async () => {
    const dir = tempDir('vrl-lsp-');
    copyDir(path.join(FIXTURES, 'vrl001', 'driver-wrappers'), dir);
    c = await startServer(dir);
    const main = uriOf(dir, 'demo_main.c');
    const header = uriOf(dir, 'demo_drv.h');
    const lines = (d: Diagnostic[] | undefined) => vrl(d).map(x => x.range.start.line + 1);
    // demo_main.c lines 27, 39, 51 and 76: the drains under the header's, demo_util.c's and
    // (through the header's) demo_main.c's own wrappers; not demo_dropped_handler's.
    await c.waitFor(d => lines(d.get(main)).join() === '27,39,51,76');
    const text = fs.readFileSync(path.join(dir, 'demo_drv.h'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: header, languageId: 'c', version: 1, text } });
    const at = text.indexOf('spin_lock(&d->lock);');
    const line = text.slice(0, at).split('\n').length - 1;
    const character = at - (text.lastIndexOf('\n', at) + 1);
    await c.client.sendNotification('textDocument/didChange', {
      textDocument: { uri: header, version: 2 },
      contentChanges: [
        {
          range: { start: { line, character: character + 'spin_lock'.length }, end: { line, character: character + 'spin_lock'.length } },
          text: '_irq',
        },
      ],
    });
    // demo_drv_lock() now takes the lock with IRQs off: its two callers' findings go.
    await c.waitFor(d => lines(d.get(main)).join() === '39,51');
  });

  it('offers the preferred irqsave quick fix, simulate, patch and suppress actions', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 7, text } });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const diag = vrl(c.diagnostics.get(vq))[1];
    const actions = await codeActions(c, vq, diag);
    // Quick fixes (the light bulb's and the hover's "Quick Fix…") first; Simulate, Create patch
    // and the docs are kind-less actions: in the light bulb menu, never among the quick fixes.
    assert.deepEqual(
      actions.map(a => [a.title, a.kind]),
      [
        ['Take dev->cursorq.qlock with spin_lock_irqsave() in demo_dequeue_cursor_func()', 'quickfix'],
        ['Fix all VRL001 in file', 'quickfix'],
        ['Suppress VRL001 for demo_dequeue_cursor_func()', 'quickfix'],
        ['Simulate this race (demo_dequeue_cursor_func)', ''],
        ['Create kernel patch for this file', ''],
        ['Show documentation for VRL001', ''],
      ],
    );
    const fix = actions[0];
    assert.equal(fix.isPreferred, true);
    assert.ok(actions.slice(1).every(a => !a.isPreferred));
    const change = fix.edit!.documentChanges![0] as { textDocument: { version: number }; edits: { newText: string }[] };
    assert.equal(change.textDocument.version, 7);
    assert.deepEqual(
      change.edits.map(e => e.newText),
      ['\tunsigned long flags;\n', 'spin_lock_irqsave', ', flags', 'spin_unlock_irqrestore', ', flags'],
    );
    // The visible fix-all entry edits both locks of the file.
    const allEdits = (actions[1].edit!.documentChanges![0] as { edits: { newText: string }[] }).edits;
    assert.equal(allEdits.filter(e => e.newText === 'spin_lock_irqsave').length, 2);
    // The suppression is written by the client as a snippet (reason selected): a command, no edit.
    assert.equal(actions[2].edit, undefined);
    assert.equal(actions[2].command?.command, 'virtioRaceLint.insertSuppression');
    assert.deepEqual(actions[2].command?.arguments, [
      { uri: vq, version: 7, line: 45, indent: '', rule: 'VRL001', function: 'demo_dequeue_cursor_func' },
    ]);
    assert.equal(actions[3].command?.command, 'virtioRaceLint.simulate');
    assert.deepEqual(actions[3].command?.arguments, [{ uri: vq, line: 54 }]);
    assert.equal(actions[4].command?.command, 'virtioRaceLint.createPatch');
    assert.equal(actions[5].command?.command, 'virtioRaceLint.showDocs');
    assert.deepEqual(actions[5].command?.arguments, [{ rule: 'VRL001' }]);
    // Asked for quick fixes only (the hover's and the Problems panel's "Quick Fix…"): no kind-less actions.
    const quick = await codeActions(c, vq, diag, ['quickfix']);
    assert.deepEqual(
      quick.map(a => a.title),
      actions.slice(0, 3).map(a => a.title),
    );
  });

  it('explains a finding in a markdown hover with the related locations as links, and keeps relatedInformation', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const diag = vrl(c.diagnostics.get(vq))[0];
    // One short line in the Problems row; the explanation is in the hover.
    assert.ok(!diag.message.includes('\n') && diag.message.length <= 110, diag.message);
    assert.equal(diag.relatedInformation!.length, 6);
    const hover = (await c.client.sendRequest('textDocument/hover', {
      textDocument: { uri: vq },
      position: { line: 35, character: 3 },
    })) as { contents: { kind: string; value: string }; range: unknown };
    assert.equal(hover.contents.kind, 'markdown');
    const md = hover.contents.value;
    assert.match(md, /^\*\*VRL001\*\* demo\\_dequeue\\_ctrl\\_func\(\) drains under spin\\_lock/);
    assert.deepEqual(hover.range, diag.range);
    // Each related location is a link to its file and line.
    for (const r of diag.relatedInformation!) {
      assert.ok(
        md.includes(`](${r.location.uri}#L${r.location.range.start.line + 1},${r.location.range.start.character + 1})`),
        `no link to ${r.location.uri}:${r.location.range.start.line + 1}:\n${md}`,
      );
    }
    assert.match(md, /vring callback demo\\_ctrl\\_ack\(\)/);
    assert.match(md, /vring\\_interrupt\(\) returns IRQ\\_NONE/, 'the explanation is in the hover');
    assert.ok(md.includes(`[Documentation](command:virtioRaceLint.showDocs?${encodeURIComponent(JSON.stringify([{ rule: 'VRL001' }]))})`));
    assert.ok(md.includes(`[Simulate](command:virtioRaceLint.simulate?${encodeURIComponent(JSON.stringify([{ uri: vq, line: 35 }]))})`));
    assert.match(md, /\[Create patch\]\(command:virtioRaceLint\.createPatch\?/);
    const none = await c.client.sendRequest('textDocument/hover', { textDocument: { uri: vq }, position: { line: 0, character: 0 } });
    assert.equal(none, null);
  });

  it('re-indexes on request and logs with a timestamp and a level', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const before = c.logs.filter(l => /indexed /.test(l)).length;
    assert.deepEqual(await c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.reindex', arguments: [] }), {
      started: true,
    });
    for (let i = 0; i < 100 && c.logs.filter(l => /indexed /.test(l)).length === before; i++) await new Promise(r => setTimeout(r, 20));
    assert.equal(c.logs.filter(l => /indexed /.test(l)).length, before + 1);
    assert.ok(
      c.logs.every(l => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[(info|warn|error)\] /.test(l)),
      c.logs.join('\n'),
    );
  });

  it('offers only the actions that do not edit in a read-only file', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    fs.chmodSync(path.join(dir, 'demo_vq.c'), 0o444);
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const diag = vrl(c.diagnostics.get(vq))[0];
    const actions = await codeActions(c, vq, diag);
    assert.deepEqual(
      actions.map(a => a.title),
      ['Simulate this race (demo_dequeue_ctrl_func)', 'Create kernel patch for this file', 'Show documentation for VRL001'],
    );
    assert.ok(actions.every(a => !a.edit));
    const all = await codeActions(c, vq, { range: diag.range, diagnostics: [] }, ['source.fixAll']);
    assert.deepEqual(all, []);
  });

  it('reports a suppression with an empty or placeholder reason as invalid and does not honour it', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    let text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    text = text
      .replace('void demo_dequeue_ctrl_func(', '/* virtio-race-lint: ignore VRL001 -- reviewed: <reason> */\nvoid demo_dequeue_ctrl_func(')
      .replace('void demo_dequeue_cursor_func(', '/* virtio-race-lint: ignore VRL001 -- TODO */\nvoid demo_dequeue_cursor_func(');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    await c.waitFor(d => (d.get(vq) ?? []).filter(x => x.code === 'invalid-suppression').length === 2);
    assert.equal(vrl(c.diagnostics.get(vq)).length, 2, 'both findings stay');
    const invalid = c.diagnostics.get(vq)!.filter(x => x.code === 'invalid-suppression');
    assert.equal(invalid[0].severity, 2);
    assert.match(
      invalid[0].message,
      /suppression of VRL001 in demo_dequeue_ctrl_func\(\) is not honoured: the reason is a placeholder \(<reason>\)/,
    );
    assert.match(invalid[1].message, /not honoured: the reason is a placeholder \(TODO\)/);
    // Empty, or no reason at all.
    for (const comment of [
      '/* virtio-race-lint: ignore VRL001 -- reviewed: */',
      '/* virtio-race-lint: ignore VRL001 */',
      '// virtio-race-lint: ignore VRL001 -- reason',
    ]) {
      const t = text.replace('/* virtio-race-lint: ignore VRL001 -- TODO */', comment);
      await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 2, text: t } });
      await c.waitFor(d => (d.get(vq) ?? []).filter(x => x.code === 'invalid-suppression').length === 2 && vrl(d.get(vq)).length === 2);
    }
    // A real reason is honoured.
    const ok = text.replace('-- TODO', '-- reviewed: the device never interrupts this queue');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 3, text: ok } });
    await c.waitFor(d => vrl(d.get(vq)).length === 1 && (d.get(vq) ?? []).filter(x => x.code === 'invalid-suppression').length === 1);
  });

  it('applies fix-all only when asked for source.fixAll, and through the fixAll command', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const none = await codeActions(c, vq, { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, diagnostics: [] });
    assert.deepEqual(none, []);
    const all = await codeActions(c, vq, { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, diagnostics: [] }, [
      'source.fixAll',
    ]);
    assert.equal(all.length, 1);
    assert.equal(all[0].kind, 'source.fixAll.virtio-race-lint');
    const edits = (all[0].edit!.documentChanges![0] as { edits: { newText: string }[] }).edits;
    assert.equal(edits.filter(e => e.newText === 'spin_lock_irqsave').length, 2);
    const res = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.fixAll',
      arguments: [{ uri: vq }],
    })) as { applied: boolean; fixed: number };
    assert.deepEqual(res, { applied: true, fixed: 2, refused: [] });
    assert.equal(c.applyEdits.length, 1);
  });

  it('publishes VRL003 on the unlock and offers the unlock that matches the lock as the preferred quick fix', async () => {
    const dir = workspace();
    const before = fs.readFileSync(path.join(FIXTURES, 'fix-vrl003', 'irqsave', 'before.c'), 'utf8');
    const after = fs.readFileSync(path.join(FIXTURES, 'fix-vrl003', 'irqsave', 'after.c'), 'utf8');
    fs.writeFileSync(path.join(dir, 'demo_update.c'), before);
    c = await startServer(dir);
    const uri = uriOf(dir, 'demo_update.c');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 3, text: before } });
    const v3 = (d: Diagnostic[] | undefined) => (d ?? []).filter(x => x.code === 'VRL003');
    await c.waitFor(d => v3(d.get(uri)).length === 1);
    const diag = v3(c.diagnostics.get(uri))[0];
    assert.equal(diag.severity, 2);
    assert.equal(diag.range.start.line, 10);
    assert.match(diag.codeDescription!.href, /README\.md#vrl003-irq-flags-mismatch$/);
    assert.match(diag.message, /^demo_update\(\) takes spin_lock_irqsave\(\) but releases it with spin_unlock\(\): hard IRQs stay off$/);
    assert.deepEqual(
      diag.relatedInformation!.map(r => r.location.range.start.line),
      [8],
    );
    const actions = await codeActions(c, uri, diag);
    assert.deepEqual(
      actions.map(a => [a.title, a.kind]),
      [
        ['Release d->lock with spin_unlock_irqrestore() to match spin_lock_irqsave()', 'quickfix'],
        ['Suppress VRL003 for demo_update()', 'quickfix'],
        ['Show documentation for VRL003', ''],
      ],
    );
    assert.deepEqual(actions[2].command?.arguments, [{ rule: 'VRL003' }]);
    const fix = actions[0];
    assert.equal(fix.isPreferred, true);
    assert.equal(fix.kind, 'quickfix');
    const change = fix.edit!.documentChanges![0] as {
      textDocument: { version: number };
      edits: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[];
    };
    assert.equal(change.textDocument.version, 3);
    assert.deepEqual(
      change.edits.map(e => e.newText),
      ['spin_unlock_irqrestore', '(&d->lock, irqflags)'],
    );
    // Applied to the buffer, the edits give the fixture's after.c, and the diagnostic goes.
    const lines = before.split('\n');
    const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
    let text = before;
    for (const e of [...change.edits].sort((x, y) => offset(y.range.start) - offset(x.range.start))) {
      text = text.slice(0, offset(e.range.start)) + e.newText + text.slice(offset(e.range.end));
    }
    assert.equal(text, after);
    await c.client.sendNotification('textDocument/didChange', { textDocument: { uri, version: 4 }, contentChanges: [{ text }] });
    await c.waitFor(d => v3(d.get(uri)).length === 0);
    // VRL003 is not a race to simulate, nor one for the VRL001 status count or patch.
    const listed = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.listFindings',
      arguments: [],
    })) as { uri: string }[];
    assert.ok(listed.every(f => !f.uri.endsWith('demo_update.c')));
  });

  it('honours suppression comments and flags the ones that match nothing', async () => {
    const dir = workspace();
    c = await startServer(dir);
    const vq = uriOf(dir, 'demo_vq.c');
    let text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    text = text
      .replace(
        'void demo_dequeue_ctrl_func(',
        '/* virtio-race-lint: ignore VRL001 -- reviewed: never interrupts */\nvoid demo_dequeue_ctrl_func(',
      )
      .replace('static void reclaim_bufs(', '/* virtio-race-lint: ignore VRL001 -- reviewed: old */\nstatic void reclaim_bufs(');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    await c.waitFor(d => vrl(d.get(vq)).length === 1 && (d.get(vq) ?? []).some(x => x.code === 'unused-suppression'));
    const unused = c.diagnostics.get(vq)!.filter(x => x.code === 'unused-suppression');
    assert.equal(unused.length, 1);
    assert.match(unused[0].message, /matches no finding in reclaim_bufs\(\)/);
    assert.deepEqual(unused[0].tags, [1]);
  });

  it('keeps serving when analysing one file crashes: the file is skipped and logged', async () => {
    const dir = workspace();
    fs.writeFileSync(path.join(dir, 'other.c'), 'int other(void) { return 0; }\n');
    c = await startServer(dir, {
      beforeExtract: key => {
        if (key.endsWith('other.c')) throw new Error('injected failure');
      },
    });
    const vq = uriOf(dir, 'demo_vq.c');
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    await c.client.sendNotification('textDocument/didOpen', {
      textDocument: { uri: uriOf(dir, 'other.c'), languageId: 'c', version: 1, text: 'int other(void) { return 1; }\n' },
    });
    const list = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.listFindings',
      arguments: [],
    })) as unknown[];
    assert.equal(list.length, 2);
    assert.ok(
      c.logs.some(l => /other\.c: analysis failed, file skipped: Error: injected failure/.test(l)),
      c.logs.join('\n'),
    );
  });

  it('runs the simulator for the finding at a line, off the main thread, and writes a kernel patch', async () => {
    const dir = workspace();
    c = await startServer(
      dir,
      { ...defaultServerOptions() },
      { patch: { signoff: 'Ada Hacker <ada@example.org>' }, simulator: { buffers: 3, maxStates: 100000, timeoutMs: 20000 } },
    );
    const vq = uriOf(dir, 'demo_vq.c');
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const sim = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.simulate',
      arguments: [{ uri: vq, line: 35 }],
    })) as SimulationResult;
    assert.equal(sim.handler, 'demo_dequeue_ctrl_func');
    assert.equal(sim.model.buffers, 3);
    assert.equal(sim.before.properties.B.violated, true);
    assert.equal(sim.after.properties.B.violated, false);
    assert.equal(sim.after.properties.A.violated, true);
    assert.ok(sim.timed, 'the timed mode runs too');
    assert.match(sim.text, /CPU0\s+CPU1\s+device/);
    const patch = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.createPatch',
      arguments: [{ uri: vq }],
    })) as { fileName: string; text: string };
    assert.match(patch.fileName, /^0001-.*\.patch$/);
    assert.match(patch.text, /^From: Ada Hacker <ada@example.org>$/m);
    assert.match(patch.text, /^-\tspin_lock\(&dev->ctrlq\.qlock\);$/m);
    const none = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.simulate',
      arguments: [{ uri: uriOf(dir, 'demo_kms.c'), line: 3 }],
    })) as { error: string };
    assert.match(none.error, /no finding, and no lock held around a virtqueue drain, in a function at this line/);
  });

  it('keeps publishing diagnostics while a simulation explores in its worker, and cancels it', async () => {
    const dir = workspace();
    c = await startServer(dir, { ...defaultServerOptions() }, { simulator: { buffers: 12, maxStates: 50_000_000, timeoutMs: 120_000 } });
    const vq = uriOf(dir, 'demo_vq.c');
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const tokensBefore = c.progressTokens.length;
    let answered = false;
    // A model too large to finish soon: any CPU, a caching device, MSIs in flight, 12 buffers.
    const sim = c.client
      .sendRequest('workspace/executeCommand', {
        command: 'virtioRaceLint.simulate',
        arguments: [{ uri: vq, line: 35, options: { irq: 'any', device: 'cached', latency: true } }],
      })
      .then(r => {
        answered = true;
        return r as { error?: string };
      });
    for (let i = 0; i < 100 && c.progressTokens.length === tokensBefore; i++) await new Promise(r => setTimeout(r, 20));
    assert.equal(c.progressTokens.length, tokensBefore + 1, 'the simulation reports progress');
    await c.client.sendNotification('textDocument/didChange', {
      textDocument: { uri: vq, version: 2 },
      contentChanges: [{ range: { start: { line: 35, character: 10 }, end: { line: 35, character: 10 } }, text: '_irq' }],
    });
    await c.waitFor(d => vrl(d.get(vq)).length === 1, 5000);
    assert.equal(answered, false, 'diagnostics arrived while the simulation was still running');
    await c.client.sendNotification('window/workDoneProgress/cancel', { token: c.progressTokens[tokensBefore] });
    const res = await sim;
    assert.equal(res.error, 'simulation cancelled');
  });

  it('with run: onSave, commands still work on the unsaved buffer as it is now', async () => {
    const dir = workspace();
    c = await startServer(dir, {}, { run: 'onSave' });
    const vq = uriOf(dir, 'demo_vq.c');
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    await c.client.sendNotification('textDocument/didChange', {
      textDocument: { uri: vq, version: 2 },
      contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '/* one */\n/* two */\n' }],
    });
    // onSave: the edit is not analysed before a save (with onType, version 2 would be published).
    await new Promise(r => setTimeout(r, 300));
    c.server.analyseAndPublish();
    await new Promise(r => setTimeout(r, 50));
    assert.equal(c.versions.get(vq), 1, 'diagnostics published for the unsaved version');
    const res = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.fixAll',
      arguments: [{ uri: vq }],
    })) as { applied: boolean; fixed: number };
    assert.deepEqual(res, { applied: true, fixed: 2, refused: [] });
    const edit = c.applyEdits[0] as {
      edit: { documentChanges: { textDocument: { version: number }; edits: { range: { start: { line: number } }; newText: string }[] }[] };
    };
    const change = edit.edit.documentChanges[0];
    assert.equal(change.textDocument.version, 2);
    assert.equal(change.edits.find(e => e.newText === 'spin_lock_irqsave')!.range.start.line, 37, 'the lock as it is in the edited buffer');
  });

  it('analyses a burst of edits together rather than once per edit', async () => {
    const dir = workspace();
    let extractions = 0;
    c = await startServer(dir, {
      beforeExtract: key => {
        if (key.endsWith('demo_vq.c')) extractions++;
      },
    });
    const vq = uriOf(dir, 'demo_vq.c');
    const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    extractions = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        c!.client.sendNotification('textDocument/didChange', {
          textDocument: { uri: vq, version: i + 2 },
          contentChanges: [{ range: { start: { line: 36, character: 0 }, end: { line: 36, character: 0 } }, text: ' ' }],
        }),
      ),
    );
    const list = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.listFindings',
      arguments: [],
    })) as unknown[];
    assert.equal(list.length, 2);
    assert.ok(extractions >= 1 && extractions <= 12, `${extractions} extractions for 20 edits`);
  });

  it('indexes the workspace when the linter is turned on again', async () => {
    const dir = workspace();
    const settings: Record<string, unknown> = { enable: false };
    c = await startServer(dir, {}, settings);
    // The analysis has settled (the index is built and analysed now): off means nothing found.
    c.server.analyseAndPublish();
    assert.equal(c.server.findings.length, 0);
    assert.equal(c.diagnostics.size, 0);
    settings.enable = true;
    await c.client.sendNotification('workspace/didChangeConfiguration', { settings: null });
    await c.waitFor(d => vrl(d.get(uriOf(dir, 'demo_vq.c'))).length === 2);
  });

  it('reads a closed file as the index did (a UTF-8 BOM does not shift the fix)', async () => {
    const dir = workspace();
    const file = path.join(dir, 'demo_vq.c');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, '\ufeff' + text);
    c = await startServer(dir, { ...defaultServerOptions() }, { patch: { signoff: 'A <a@example.org>' } });
    const vq = uriOf(dir, 'demo_vq.c');
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    // Closed: no edit is sent for it (there is no version to send it against).
    const closed = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.fixAll',
      arguments: [{ uri: vq }],
    })) as { applied: boolean; message: string };
    assert.equal(closed.applied, false);
    assert.match(closed.message, /demo_vq\.c is not open: open it to fix it/);
    assert.equal(c.applyEdits.length, 0);
    // A patch against bytes that are not plain UTF-8 would not apply: refused with a reason.
    const patch = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.createPatch',
      arguments: [{ uri: vq }],
    })) as { error?: string };
    assert.match(patch.error ?? '', /not plain UTF-8 \(utf8-bom\)/);
    // Opened (the editor shows it without the BOM): the fix lands where the editor shows the lock.
    await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 3, text } });
    const res = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.fixAll',
      arguments: [{ uri: vq }],
    })) as { applied: boolean; fixed: number };
    assert.deepEqual(res, { applied: true, fixed: 2, refused: [] });
    const edit = c.applyEdits[0] as {
      edit: {
        documentChanges: {
          textDocument: { version: number };
          edits: { range: { start: { line: number; character: number } }; newText: string }[];
        }[];
      };
    };
    assert.equal(edit.edit.documentChanges[0].textDocument.version, 3);
    const lock = edit.edit.documentChanges[0].edits.find(e => e.newText === 'spin_lock_irqsave')!;
    assert.deepEqual(lock.range.start, { line: 35, character: 1 }, 'spin_lock after the tab, as the editor shows the file');
  });

  it('indexes once per start: the configuration notification a client sends after initialized does not index again', async () => {
    const dir = workspace();
    copyDir(GPU, path.join(dir, 'excluded'));
    const files = { exclude: { '**/excluded': true } as Record<string, boolean> };
    // Each index reports its progress under a token of its own (nothing else here does).
    const indexRuns = () => c!.progressTokens.length;
    // As vscode-languageclient does with synchronize.configurationSection: the notification
    // follows `initialized` at once, before the server has read the settings.
    c = await startServer(dir, {}, undefined, undefined, undefined, files, client =>
      client.sendNotification('workspace/didChangeConfiguration', { settings: null }),
    );
    const vq = uriOf(dir, 'demo_vq.c');
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    await new Promise(r => setTimeout(r, 300));
    assert.equal(indexRuns(), 1, c.logs.join('\n'));
    // Unchanged settings again: still one.
    await c.client.sendNotification('workspace/didChangeConfiguration', { settings: null });
    await new Promise(r => setTimeout(r, 300));
    assert.equal(indexRuns(), 1);
    assert.equal(c.server.findings.length, 2, 'excluded/ is not indexed');
    // A files.exclude that changes what is indexed: indexed again.
    files.exclude = {};
    await c.client.sendNotification('workspace/didChangeConfiguration', { settings: null });
    await c.waitFor(d => vrl(d.get(uriOf(dir, 'excluded/demo_vq.c'))).length === 2);
    assert.equal(indexRuns(), 2);
    assert.equal(c.server.findings.length, 4);
  });

  it("publishes an open file's findings once its directory is read, before the rest of the tree, and reports progress as N of M files", async () => {
    // gpu/ holds the driver; many other drivers follow it in the walk.
    const dir = tempDir('vrl-lsp-');
    copyDir(GPU, path.join(dir, 'gpu'));
    const others = fs.readdirSync(path.join(FIXTURES, 'vrl001')).filter(d => d !== 'gpu-helper-binding');
    for (let i = 0; i < 4; i++) for (const d of others) copyDir(path.join(FIXTURES, 'vrl001', d), path.join(dir, `aa${i}`, d));
    const vq = `file://${path.join(dir, 'gpu', 'demo_vq.c')}`;
    const text = fs.readFileSync(path.join(GPU, 'demo_vq.c'), 'utf8');
    c = await startServer(dir, {}, undefined, async client => {
      await client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
    });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const ev = c.events;
    const firstFound = ev.findIndex(e => e.kind === 'diagnostics' && e.uri === vq && vrl(e.diagnostics).length === 2);
    const scanned = ev.findIndex(e => e.kind === 'log' && /scanned in/.test(e.message));
    assert.ok(
      firstFound >= 0 && scanned >= 0 && firstFound < scanned,
      `VRL001 of demo_vq.c published at event ${firstFound}, the tree scanned at ${scanned}`,
    );
    // The findings are those of the whole index (demo_ctrl_ack() is registered in demo_kms.c).
    assert.match(vrl(c.diagnostics.get(vq))[0].relatedInformation![0].message, /vring callback demo_ctrl_ack\(\)/);
    // Progress: "N of M files" and a percentage, ending at M of M.
    const reports = ev.flatMap(e => (e.kind === 'progress' && e.value.kind !== 'end' ? [e.value] : []));
    assert.equal(reports[0].kind, 'begin');
    assert.equal(reports[0].percentage, 0);
    const counts = reports.flatMap(r =>
      /^(\d+) of (\d+) files$/.exec(r.message ?? '') ? [{ ...r, m: /^(\d+) of (\d+) files$/.exec(r.message!)! }] : [],
    );
    assert.ok(counts.length > 0, JSON.stringify(reports));
    for (const r of counts) assert.equal(r.percentage, Math.floor((100 * Number(r.m[1])) / Number(r.m[2])), r.message);
    assert.ok(
      reports.every((r, i) => i === 0 || (r.percentage ?? 0) >= (reports[i - 1].percentage ?? 0)),
      JSON.stringify(reports),
    );
    assert.deepEqual(reports[reports.length - 1], { kind: 'report', message: 'resolving names across files', percentage: 100 });
  });

  it('reads the directory of a file opened while the tree is being read before the rest', async () => {
    const dir = tempDir('vrl-lsp-');
    const others = fs.readdirSync(path.join(FIXTURES, 'vrl001')).filter(d => d !== 'gpu-helper-binding');
    for (let i = 0; i < 8; i++) for (const d of others) copyDir(path.join(FIXTURES, 'vrl001', d), path.join(dir, `aa${i}`, d));
    // Last in the walk's order and in ripgrep's.
    copyDir(GPU, path.join(dir, 'zz', 'gpu'));
    const vq = `file://${path.join(dir, 'zz', 'gpu', 'demo_vq.c')}`;
    const text = fs.readFileSync(path.join(GPU, 'demo_vq.c'), 'utf8');
    let opened = false;
    c = await startServer(dir, {}, undefined, async client => {
      // Opened when the server reports its first progress, that is, once the scan has started.
      client.onNotification('$/progress', (p: { value: { kind: string } }) => {
        if (opened || p.value.kind !== 'begin') return;
        opened = true;
        void client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
      });
    });
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    assert.ok(opened);
    const firstFound = c.events.findIndex(e => e.kind === 'diagnostics' && e.uri === vq && vrl(e.diagnostics).length === 2);
    const scanned = c.events.findIndex(e => e.kind === 'log' && /scanned in/.test(e.message));
    assert.ok(
      firstFound >= 0 && scanned >= 0 && firstFound < scanned,
      `VRL001 of demo_vq.c published at event ${firstFound}, the tree scanned at ${scanned}`,
    );
  });

  it('a files.exclude changed while the tree is read cancels that index: the new one alone decides what is indexed', async () => {
    const dir = tempDir('vrl-lsp-');
    const others = fs.readdirSync(path.join(FIXTURES, 'vrl001')).filter(d => d !== 'gpu-helper-binding');
    for (let i = 0; i < 4; i++) for (const d of others) copyDir(path.join(FIXTURES, 'vrl001', d), path.join(dir, `aa${i}`, d));
    copyDir(GPU, path.join(dir, 'gpu'));
    copyDir(GPU, path.join(dir, 'skipme'));
    const files = { exclude: {} as Record<string, boolean> };
    const vq = `file://${path.join(dir, 'gpu', 'demo_vq.c')}`;
    const text = fs.readFileSync(path.join(GPU, 'demo_vq.c'), 'utf8');
    let changed = false;
    c = await startServer(
      dir,
      {},
      undefined,
      async client => {
        await client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
        client.onNotification('$/progress', (p: { value: { kind: string } }) => {
          if (changed || p.value.kind !== 'begin') return;
          changed = true;
          files.exclude = { '**/skipme': true };
          void client.sendNotification('workspace/didChangeConfiguration', { settings: null });
        });
      },
      undefined,
      files,
    );
    assert.ok(changed);
    for (let i = 0; i < 200 && c.progressTokens.length < 2; i++) await new Promise(r => setTimeout(r, 20));
    assert.equal(c.progressTokens.length, 2, 'indexed again');
    for (let i = 0; i < 200 && c.logs.filter(l => /indexed /.test(l)).length < 1; i++) await new Promise(r => setTimeout(r, 20));
    await new Promise(r => setTimeout(r, 200));
    // The open file keeps its findings throughout; skipme/ is not in the index.
    await c.waitFor(d => vrl(d.get(vq)).length === 2);
    const list = (await c.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.listFindings',
      arguments: [],
    })) as { uri: string }[];
    assert.ok(
      list.every(f => !f.uri.includes('/skipme/')),
      JSON.stringify(list),
    );
    assert.equal(list.filter(f => f.uri === vq).length, 2);
    assert.equal(c.logs.filter(l => /indexed /.test(l)).length, 1, c.logs.join('\n'));
  });

  it('respects files.exclude when indexing', async () => {
    const dir = tempDir('vrl-lsp-');
    copyDir(GPU, path.join(dir, 'excluded'));
    // Without the exclusion the driver is found (so the check below can fail)...
    const all = await startServer(dir, {}, undefined, undefined, undefined, { exclude: {} });
    all.server.analyseAndPublish();
    assert.equal(all.server.findings.length, 2);
    await new Promise(r => setTimeout(r, 20));
    all.close();
    // ...and with it, after the analysis has settled, it is not.
    c = await startServer(dir);
    c.server.analyseAndPublish();
    assert.equal(c.server.findings.length, 0);
    assert.equal(c.server.indexedFileCount, 0);
  });

  describe('facts cache (initializationOptions.cacheDir, virtioRaceLint.index.cache)', () => {
    /** The server's "indexed ... N files parsed, K of them from the facts cache" line (it may come after `indexed` resolves). */
    const parsedLine = async (logs: string[]) => {
      const find = () => logs.map(l => /indexed .* (\d+) files parsed(?:, (\d+) of them from the facts cache)?$/.exec(l)).find(Boolean);
      for (let i = 0; i < 100 && !find(); i++) await new Promise(r => setTimeout(r, 20));
      const m = find();
      assert.ok(m, logs.join('\n'));
      return { parsed: Number(m[1]), hits: m[2] === undefined ? undefined : Number(m[2]) };
    };
    const cacheFiles = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter(f => /^facts-.*\.bin$/.test(f)) : []);

    for (const workers of [0, 2]) {
      it(`writes the cache; a second start finds the same findings with every file from the cache (${workers} scan workers)`, async () => {
        const dir = workspace();
        const cacheDir = path.join(tempDir('vrl-lsp-cache-'), 'globalStorage');
        const vq = uriOf(dir, 'demo_vq.c');
        c = await startServer(dir, { workers }, undefined, undefined, { cacheDir });
        await c.waitFor(d => vrl(d.get(vq)).length === 2);
        const first = vrl(c.diagnostics.get(vq));
        const cold = await parsedLine(c.logs);
        assert.ok(cold.parsed >= 2);
        assert.equal(cold.hits, 0);
        assert.equal(cacheFiles(cacheDir).length, 1, 'the cache file is written at the end of the index');
        // shutdown ends the scan workers (an idle pool would keep mocha's process alive otherwise).
        await c.client.sendRequest('shutdown');
        c.close();

        c = await startServer(dir, { workers }, undefined, undefined, { cacheDir });
        await c.waitFor(d => vrl(d.get(vq)).length === 2);
        assert.deepEqual(vrl(c.diagnostics.get(vq)), first);
        assert.deepEqual(await parsedLine(c.logs), { parsed: cold.parsed, hits: cold.parsed });
        assert.ok(!c.logs.some(l => /facts cache not saved/.test(l)), c.logs.join('\n'));
        await c.client.sendRequest('shutdown');
      });
    }

    it('parses an edited file again on the next start', async () => {
      const dir = workspace();
      const cacheDir = tempDir('vrl-lsp-cache-');
      c = await startServer(dir, {}, undefined, undefined, { cacheDir });
      const cold = await parsedLine(c.logs);
      c.close();
      // demo_vq.c's drain, now under spin_lock_irq: one VRL001 fewer, whatever the cache held.
      const file = path.join(dir, 'demo_vq.c');
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      assert.match(lines[35], /\tspin_lock\(&dev->ctrlq\.qlock\);/);
      lines[35] = lines[35].replace('spin_lock(', 'spin_lock_irq(');
      fs.writeFileSync(file, lines.join('\n'));
      c = await startServer(dir, {}, undefined, undefined, { cacheDir });
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 1);
      assert.deepEqual(await parsedLine(c.logs), { parsed: cold.parsed, hits: cold.parsed - 1 });
    });

    it('keeps no cache with virtioRaceLint.index.cache false, nor without a directory from the client', async () => {
      const dir = workspace();
      const cacheDir = tempDir('vrl-lsp-cache-');
      const vq = uriOf(dir, 'demo_vq.c');
      c = await startServer(dir, {}, { index: { cache: false } }, undefined, { cacheDir });
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      assert.equal((await parsedLine(c.logs)).hits, undefined);
      assert.deepEqual(cacheFiles(cacheDir), []);
      c.close();
      c = await startServer(dir);
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      assert.equal((await parsedLine(c.logs)).hits, undefined);
      // Turned on again: the next index keeps it.
      c.close();
      c = await startServer(dir, {}, { index: { cache: true } }, undefined, { cacheDir });
      assert.equal((await parsedLine(c.logs)).hits, 0);
      assert.equal(cacheFiles(cacheDir).length, 1);
    });
  });
});
