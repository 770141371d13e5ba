// `fix` never damages the source (issue 9): edits computed and applied on the same bytes, the
// file re-checked before it is replaced, an atomic write that keeps the mode, line endings and
// every byte outside the edits, and a fixed file that declares its flags before using them.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { maskNonCode } from '../../src/analysis/text';
import { runCli, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

const BEFORE = fs.readFileSync(path.join(FIXTURES, 'fix/basic/before.c'), 'utf8');
const AFTER = fs.readFileSync(path.join(FIXTURES, 'fix/basic/after.c'), 'utf8');

function oneFile(name: string, content: string | Buffer): { dir: string; file: string } {
  const dir = tempDir('vrl-fixsafe-');
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return { dir, file };
}

/** `flags` is declared in code, and that declaration is its first use in the function. */
function declaredBeforeUse(text: string, fnName: string, flags = 'flags'): boolean {
  const start = text.indexOf(`${fnName}(struct work_struct *work)`);
  const body = maskNonCode(text.slice(start, text.indexOf('\n}', start)));
  const decl = body.indexOf(`unsigned long ${flags};`);
  const use = new RegExp(`(?<!->|\\.)\\b${flags}\\b`).exec(body);
  return decl >= 0 && !!use && use.index === decl + 'unsigned long '.length;
}

describe('fix keeps the source safe', function () {
  this.timeout(30000);

  it('applies the edits to the bytes they were computed on when the file changes after the analysis', async () => {
    const { dir, file } = oneFile('drv.c', BEFORE);
    const header = '/* Added by an editor after the analysis read the file. */\n\n\n';
    const r = await runCli(['fix', 'drv.c'], dir, { afterAnalyse: () => fs.writeFileSync(file, header + BEFORE) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(file, 'utf8'), header + AFTER);
  });

  it('refuses with one line and exit 2 when the file changes between reading and writing; the new content stays', async () => {
    const { dir, file } = oneFile('drv.c', BEFORE);
    const theirs = BEFORE.replace('demo_done_work(', 'demo_done_work2(');
    const r = await runCli(['fix', 'drv.c'], dir, { beforeRename: () => fs.writeFileSync(file, theirs) });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^virtio-race-lint: drv\.c: not fixed: the file changed on disk since it was read; not written \(run fix again\)$/m,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(fs.readFileSync(file, 'utf8'), theirs);
    assert.deepEqual(fs.readdirSync(dir), ['drv.c'], 'no temporary file left behind');
  });

  it('replaces the file by rename, keeping its mode, and through a symbolic link writes the target', async () => {
    const { dir, file } = oneFile('drv.c', BEFORE);
    fs.chmodSync(file, 0o640);
    const inode = fs.statSync(file).ino;
    fs.symlinkSync('drv.c', path.join(dir, 'link.c'));
    const r = await runCli(['fix', 'link.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(file, 'utf8'), AFTER);
    const st = fs.statSync(file);
    assert.equal(st.mode & 0o7777, 0o640);
    assert.notEqual(st.ino, inode, 'a new file renamed over the old one, not written in place');
    assert.ok(fs.lstatSync(path.join(dir, 'link.c')).isSymbolicLink(), 'the link stays a link');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['drv.c', 'link.c']);
  });

  it('a file that cannot be read or written is one line on stderr, the others are still fixed, exit 2', async () => {
    const dir = tempDir('vrl-fixsafe-');
    fs.writeFileSync(path.join(dir, 'a.c'), BEFORE);
    fs.writeFileSync(path.join(dir, 'b.c'), BEFORE.replace(/demo_/g, 'other_'));
    const r = await runCli(['fix', 'a.c', 'b.c'], dir, {
      afterAnalyse: () => {
        fs.rmSync(path.join(dir, 'a.c'));
        fs.mkdirSync(path.join(dir, 'a.c'));
      },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^virtio-race-lint: a\.c: cannot be fixed: not a regular file$/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(fs.readFileSync(path.join(dir, 'b.c'), 'utf8'), AFTER.replace(/demo_/g, 'other_'));
  });

  for (const [name, eol] of [
    ['CRLF', '\r\n'],
    ['CR-only', '\r'],
  ] as const) {
    it(`keeps ${name} line endings, the inserted declaration included`, async () => {
      const { dir, file } = oneFile('drv.c', BEFORE.replace(/\n/g, eol));
      const r = await runCli(['fix', 'drv.c'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.readFileSync(file, 'utf8'), AFTER.replace(/\n/g, eol));
    });
  }

  it('keeps every byte outside the edits: a second BOM in UTF-8', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const { dir, file } = oneFile('drv.c', Buffer.concat([bom, bom, Buffer.from(BEFORE)]));
    const r = await runCli(['fix', 'drv.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readFileSync(file), Buffer.concat([bom, bom, Buffer.from(AFTER)]));
  });

  it('keeps every byte outside the edits: UTF-16LE with a lone surrogate and an odd trailing byte', async () => {
    const enc = (s: string) => Buffer.from(s, 'utf16le');
    const lone = Buffer.from([0x00, 0xd8]); // U+D800 alone, in a comment
    const mk = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), enc('/* '), lone, enc(' */\n'), enc(s), Buffer.from([0x41])]);
    const { dir, file } = oneFile('drv.c', mk(BEFORE));
    const r = await runCli(['fix', 'drv.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readFileSync(file), mk(AFTER));
  });

  it('declares flags outside a trailing multi-line comment of the last declaration', async () => {
    const src = BEFORE.replace(
      '\tLIST_HEAD(reqs);\n',
      '\tLIST_HEAD(reqs); /* requests taken off the queue,\n\t\t\t  handed to the dispatcher */\n',
    );
    const { dir, file } = oneFile('drv.c', src);
    const r = await runCli(['fix', 'drv.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = fs.readFileSync(file, 'utf8');
    assert.ok(declaredBeforeUse(out, 'demo_done_work'), out);
    assert.equal((await runCli(['check', 'drv.c'], dir)).code, 0);
  });

  it("declares flags before its first use when a statement shares the last declaration's line", async () => {
    const src = BEFORE.replace(
      '\tLIST_HEAD(reqs);\n\n\t/* Collect completed requests off the virtqueue */\n\tspin_lock(&fsvq->lock);',
      '\tLIST_HEAD(reqs); spin_lock(&fsvq->lock);',
    );
    assert.notEqual(src, BEFORE);
    const { dir, file } = oneFile('drv.c', src);
    const r = await runCli(['fix', 'drv.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = fs.readFileSync(file, 'utf8');
    assert.ok(declaredBeforeUse(out, 'demo_done_work'), out);
    assert.match(out, /\tunsigned long flags;\n\tLIST_HEAD\(reqs\); spin_lock_irqsave\(&fsvq->lock, flags\);/);
  });

  it('does not name the flags variable after a macro the file #defines', async () => {
    const { dir, file } = oneFile('drv.c', '#define flags demo_flags\n' + BEFORE);
    const r = await runCli(['fix', 'drv.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = fs.readFileSync(file, 'utf8');
    assert.match(out, /\tunsigned long irqflags;\n/);
    assert.match(out, /spin_lock_irqsave\(&fsvq->lock, irqflags\);/);
  });
  it("fix and patch keep the driver's wrappers the analysis linked: the findings through a header's lock wrapper are refused with that reason", async () => {
    const dir = path.join(FIXTURES, 'vrl001', 'driver-wrappers');
    const r = await runCli(['fix', '--dry-run', dir], process.cwd());
    // Re-read alone, demo_main.c lost its header's wrappers: the four findings through them were
    // missed and demo_dropped_handler (whose lock the header's unlock wrapper drops) was refused
    // as a VRL001 it is not.
    assert.doesNotMatch(r.stderr, /demo_dropped_handler|released in another function/);
    for (const [line, wrapper] of [
      [27, 'demo_drv_lock'],
      [39, 'DEMO_DRV_LOCK'],
      [51, 'demo_util_lock'],
      [76, 'demo_main_lock'],
    ] as const)
      assert.match(r.stderr, new RegExp(`demo_main\\.c:${line}: not fixed: ${wrapper}\\(\\) takes or drops the lock`));
    assert.match(r.stderr, /would fix 0 findings in 0 files; 4 left as they are/);
  });
});
