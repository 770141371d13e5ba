// The session API (src/api/session.ts) without a language server: documents, the index, the
// findings and the fixes in plain data. The LSP tests (test/server) drive it through the server.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPaths } from '../../src/api/check';
import { Session, type RangeEdit } from '../../src/api/session';
import { setParseDeadline } from '../../src/analysis/parser';
import { copyDir, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

/** Line/character edits applied to `text` (as an editor would). */
function applyRangeEdits(text: string, edits: RangeEdit[]): string {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const at = (p: { line: number; character: number }) => starts[p.line] + p.character;
  let out = text;
  for (const e of [...edits].sort((a, b) => at(b.range.start) - at(a.range.start)))
    out = out.slice(0, at(e.range.start)) + e.newText + out.slice(at(e.range.end));
  return out;
}

describe('session API', () => {
  const logs: string[] = [];
  let s: Session;
  beforeEach(async () => {
    logs.length = 0;
    s = new Session({ workers: 0, log: m => logs.push(m) });
    await s.ready;
  });
  afterEach(async () => {
    await s.dispose();
  });

  it("an open document's fix-all, as line/character edits, gives the fixed text", () => {
    const dir = path.join(FIXTURES, 'fix', 'basic');
    const key = path.join(tempDir('vrl-session-'), 'before.c');
    const text = fs.readFileSync(path.join(dir, 'before.c'), 'utf8');
    assert.equal(s.open(key, 3, text), true);
    const findings = s.freshen().findings.filter(f => f.file === key && f.rule === 'VRL001');
    assert.ok(findings.length > 0);
    const fixes = s.fixes(key)!;
    assert.equal(fixes.version, 3);
    const edits = fixes.fixAll()!;
    assert.equal(applyRangeEdits(text, edits), fs.readFileSync(path.join(dir, 'after.c'), 'utf8'));
    // The same edits through the fix-all command's entry point, against the same version.
    const all = s.fixAll(key)!;
    assert.deepEqual(all.edits, edits);
    assert.equal(all.version, 3);
    assert.equal(all.fixed, findings.length);
    // Each finding's quick fix edits the text too; the suppression goes before its function.
    const q = fixes.quickFix(findings[0]);
    assert.ok(q?.ok && q.edits.length > 0);
    const sup = fixes.suppression(findings[0])!;
    assert.equal(sup.function, findings[0].lockFunction);
  });

  it('an edit whose range does not fit the text drops the document; a valid one keeps it, stale until analysed', () => {
    const key = path.join(tempDir('vrl-session-'), 'a.c');
    assert.equal(s.open(key, 1, 'int a;\n'), true);
    assert.equal(s.change(key, 2, [{ range: { start: { line: 0, character: 4 }, end: { line: 0, character: 5 } }, text: 'b' }]), 'changed');
    assert.deepEqual(s.document(key), { key, version: 2, text: 'int b;\n', stale: true });
    s.freshen();
    assert.equal(s.document(key)!.stale, false);
    assert.equal(s.change(key, 3, [{ range: { start: { line: 5, character: 0 }, end: { line: 5, character: 1 } }, text: 'x' }]), 'dropped');
    assert.equal(s.document(key), undefined);
    assert.match(logs.join('\n'), /invalid edit range .* for version 3/);
    assert.equal(s.change(key, 4, [{ text: 'int c;\n' }]), 'not open');
  });

  it("indexes a folder (the open file's directory first) to the findings the CLI's checkPaths finds", async () => {
    const dir = tempDir('vrl-session-');
    copyDir(path.join(FIXTURES, 'vrl001', 'gpu-helper-binding'), dir);
    const vq = path.join(dir, 'demo_vq.c');
    s.open(vq, 1, fs.readFileSync(vq, 'utf8'));
    s.folders = [dir];
    s.setExclude({});
    let indexingWhenStarted: boolean | undefined;
    const reports: string[] = [];
    await s.index({
      started: async () => {
        indexingWhenStarted = s.indexing;
        return { report: (_p, m) => reports.push(m), cancelled: () => false, done: () => reports.push('done') };
      },
    });
    assert.equal(indexingWhenStarted, true);
    assert.equal(s.indexing, false);
    assert.equal(reports.at(-1), 'done');
    const key = (f: { file: string; rule: string; span: { start: number }; handler: string }) =>
      `${f.file}:${f.rule}:${f.span.start}:${f.handler}`;
    const fromSession = s.freshen().findings.map(key).sort();
    const fromCli = (await checkPaths([dir], { workers: 0 })).findings.map(key).sort();
    assert.ok(fromSession.length > 0);
    assert.deepEqual(fromSession, fromCli);
    // Closed, the file's disk text takes over: the same findings.
    assert.equal(s.close(vq), true);
    assert.deepEqual(s.freshen().findings.map(key).sort(), fromCli);
  });
  it("links the driver's lock wrappers across its files as the CLI does, and again when the header is edited", async () => {
    const dir = tempDir('vrl-session-');
    copyDir(path.join(FIXTURES, 'vrl001', 'driver-wrappers'), dir);
    const main = path.join(dir, 'demo_main.c');
    const header = path.join(dir, 'demo_drv.h');
    s.open(main, 1, fs.readFileSync(main, 'utf8'));
    s.folders = [dir];
    s.setExclude({});
    await s.index();
    const vrl001 = () =>
      s
        .freshen()
        .findings.filter(f => f.rule === 'VRL001')
        .map(f => f.handler)
        .sort();
    // Per file, the header's wrappers were not seen: only demo_dropped_handler, whose lock the
    // header's unlock wrapper drops, was reported (falsely), and the four through them missed.
    const fromCli = (await checkPaths([dir], { workers: 0 })).findings
      .filter(f => f.rule === 'VRL001')
      .map(f => f.handler)
      .sort();
    assert.deepEqual(fromCli, ['demo_hdr_handler', 'demo_macro_handler', 'demo_nested_handler', 'demo_util_handler']);
    assert.deepEqual(vrl001(), fromCli);
    // The header opened and its wrapper changed to irqsave: its callers are extracted again.
    const text = fs.readFileSync(header, 'utf8');
    s.open(header, 1, text);
    const lockAt = text.indexOf('spin_lock(&d->lock);');
    const line = text.slice(0, lockAt).split('\n').length - 1;
    const character = lockAt - (text.lastIndexOf('\n', lockAt) + 1);
    const range = { start: { line, character }, end: { line, character: character + 'spin_lock(&d->lock);'.length } };
    assert.equal(s.change(header, 2, [{ range, text: 'spin_lock_irq(&d->lock);' }]), 'changed');
    assert.deepEqual(
      vrl001(),
      fromCli.filter(h => h !== 'demo_hdr_handler' && h !== 'demo_nested_handler'),
    );
    // Closed unsaved: the disk's header again.
    s.close(header);
    assert.deepEqual(vrl001(), fromCli);
  });
  it('does not analyse a document whose parse is given up at the deadline, and says why', () => {
    const before = setParseDeadline(50);
    try {
      const key = path.join(tempDir('vrl-session-'), 'commas.c');
      assert.equal(s.open(key, 1, `static void f(void)\n{\n\tg(${', '.repeat(100_000)});\n}\n`), false);
      assert.equal(s.document(key), undefined);
      // Opened as ordinary text, then edited into the broken one: the buffer stays open, not
      // analysed (its findings gone) until an edit makes it parse again.
      const drv = path.join(tempDir('vrl-session-'), 'drv.c');
      const ok = 'static void f(struct x *x)\n{\n\tspin_lock(&x->l);\n\tg(a, b);\n\tspin_unlock(&x->l);\n}\n';
      assert.equal(s.open(drv, 1, ok), true);
      s.freshen();
      const broken = ok.replace('a, b', ', '.repeat(100_000));
      assert.equal(s.change(drv, 2, [{ text: broken }]), 'changed');
      s.freshen();
      assert.equal(s.document(drv)!.text, broken);
      assert.equal(s.fixes(drv), undefined);
      assert.match(logs.join('\n'), /drv\.c: not analysed: not parsed: tree-sitter took longer/);
      assert.doesNotMatch(logs.join('\n'), /analysis failed/);
      assert.equal(s.change(drv, 3, [{ text: ok }]), 'changed');
      s.freshen();
      assert.equal(s.document(drv)!.stale, false);
      // Analysed again: its facts are in the index (fixes() needs them).
      assert.ok(s.fixes(drv));
      assert.match(logs.join('\n'), /commas\.c: not analysed: not parsed: tree-sitter took longer than 0\.05 s on this text/);
    } finally {
      setParseDeadline(before);
    }
  });
});
