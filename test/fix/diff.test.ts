import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  countChangedLines,
  countDiffLines,
  diffLines,
  diffstat,
  diffstatSummary,
  gitBlobSha1,
  quotePath,
  splitLines,
  unifiedDiff,
  unifiedHunks,
} from '../../src/fix/diff';
import { FIXTURES } from '../helpers/fixtures';
import { rng } from '../helpers/fuzz';

const DIR = path.join(FIXTURES, 'fix-mail');

interface DiffCase {
  name: string;
  path: string;
  context?: number;
  attributes?: string;
  oldFile?: string;
  newFile?: string;
  old?: string;
  new?: string;
  expected: string;
}

const cases = JSON.parse(fs.readFileSync(path.join(DIR, 'cases.json'), 'utf8')) as { gitVersion: string; diffs: DiffCase[] };
const text = (c: DiffCase, which: 'old' | 'new'): string => {
  const file = which === 'old' ? c.oldFile : c.newFile;
  return file ? fs.readFileSync(path.join(DIR, file), 'utf8') : c[which]!;
};

/** Applies unified hunks to `old`; enough to check that a diff is a correct description of the change. */
function applyHunks(old: string, hunks: string): string {
  const a = splitLines(old);
  const out: string[] = [];
  let pos = 0;
  const lines = hunks.split('\n');
  lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const m = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@/.exec(lines[i]);
    if (!m) throw new Error(`not a hunk header: ${lines[i]}`);
    const count = m[2] === undefined ? 1 : Number(m[2]);
    const start = count === 0 ? Number(m[1]) : Number(m[1]) - 1;
    while (pos < start) out.push(a[pos++]);
    for (i++; i < lines.length && !lines[i].startsWith('@@'); i++) {
      const l = lines[i];
      const noEol = lines[i + 1] === '\\ No newline at end of file';
      const body = l.slice(1) + (noEol ? '' : '\n');
      if (l[0] === ' ') {
        assert.equal(a[pos], body, 'context line');
        out.push(a[pos++]);
      } else if (l[0] === '-') {
        assert.equal(a[pos], body, 'removed line');
        pos++;
      } else if (l[0] === '+') out.push(body);
      if (noEol) i++;
    }
    i--;
  }
  while (pos < a.length) out.push(a[pos++]);
  return out.join('');
}

describe('unified diff', () => {
  describe(`byte-identical to ${cases.gitVersion}`, () => {
    for (const c of cases.diffs) {
      it(c.name, () => {
        const funcname = c.attributes?.includes('diff=cpp') ? 'cpp' : 'default';
        const got = unifiedDiff(text(c, 'old'), text(c, 'new'), { oldPath: c.path, newPath: c.path, context: c.context, funcname });
        assert.equal(got, c.expected);
      });
    }
  });

  it('prints nothing for equal texts', () => {
    assert.equal(unifiedDiff('a\n', 'a\n', { oldPath: 'x.c', newPath: 'x.c' }), '');
    assert.equal(unifiedHunks('', ''), '');
  });

  it('names the function above the hunk, not the one the hunk starts in', () => {
    const old = 'int f(void)\n{\n\ta();\n\tb();\n\tc();\n\td();\n}\n';
    const hunks = unifiedHunks(old, old.replace('\td();', '\tD();'));
    assert.match(hunks, /^@@ -3,5 \+3,5 @@ int f\(void\)\n/);
    // With the change in the first lines there is no line above the hunk to name.
    assert.match(unifiedHunks(old, old.replace('{', '{ ')), /^@@ -1,5 \+1,5 @@\n/);
  });

  it('applies the cpp driver rule to labels, `$` lines and C++ scopes', () => {
    const old = 'int f(void)\n{\nout:\n\ta();\n\tb();\n\tc();\n\td();\n}\n';
    const changed = old.replace('\td();', '\tD();');
    assert.match(unifiedHunks(old, changed), /^@@ -4,5 \+4,5 @@ out:\n/);
    assert.match(unifiedHunks(old, changed, { funcname: 'cpp' }), /^@@ -4,5 \+4,5 @@ int f\(void\)\n/);
    const other = '$x\nfoo: bar\n::g()\n\ta();\n\tb();\n\tc();\n\td();\n';
    const hunk = (rule: 'default' | 'cpp', text: string) =>
      /^@@ [^@]* @@ ?(.*)\n/.exec(unifiedHunks(text, text.replace('\td();', '\tD();'), { funcname: rule }))![1];
    assert.equal(hunk('cpp', other), '::g()');
    assert.equal(hunk('default', other), 'foo: bar');
    assert.equal(hunk('cpp', 'label: /* why */\n$y\n\ta();\n\tb();\n\tc();\n\td();\n'), '');
  });

  it('keeps CRLF line ends and marks a missing final newline', () => {
    const hunks = unifiedHunks('a\r\nb\r\n', 'a\r\nc');
    assert.equal(hunks, '@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\n\\ No newline at end of file\n');
  });

  it('quotes paths the way git does', () => {
    assert.equal(quotePath('fs/fuse/virtio_fs.c'), 'fs/fuse/virtio_fs.c');
    assert.equal(quotePath('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(quotePath('caf\u00e9.c'), '"caf\\303\\251.c"');
    assert.equal(quotePath('tab\there'), '"tab\\there"');
    const d = unifiedDiff('x\n', 'y\n', { oldPath: 'caf\u00e9.c', newPath: 'caf\u00e9.c' });
    assert.match(d, /^diff --git "a\/caf\\303\\251\.c" "b\/caf\\303\\251\.c"\n/);
  });

  it('honours abbrev, mode and mode changes on the index line', () => {
    const d = unifiedDiff('hello\n', 'hello\nworld\n', { oldPath: 'x', newPath: 'x', abbrev: 12, mode: '100755' });
    assert.match(d, /\nindex ce013625030b\.\.[0-9a-f]{12} 100755\n/);
    const m = unifiedDiff('a\n', 'a\n', { oldPath: 'x', newPath: 'x', oldMode: '100644', mode: '100755' });
    assert.equal(m, 'diff --git a/x b/x\nold mode 100644\nnew mode 100755\n');
  });

  it('describes the change exactly: applying the hunks gives the new text', () => {
    // Deterministic pseudo-random C-like files with many repeated lines (ambiguous matches).
    const rnd = rng(42);
    const vocab = ['{', '}', '', '\treturn 0;', '\tspin_lock(&q->lock);', '\tspin_unlock(&q->lock);', 'static void f(void)', '\t\tbreak;'];
    const gen = (n: number) => Array.from({ length: n }, () => vocab[Math.floor(rnd() * vocab.length)] + '\n');
    for (let t = 0; t < 200; t++) {
      const a = gen(Math.floor(rnd() * 40));
      const b = a.slice();
      for (let k = 0; k < 3; k++) b.splice(Math.floor(rnd() * (b.length + 1)), Math.floor(rnd() * 3), ...gen(Math.floor(rnd() * 3)));
      if (rnd() < 0.2 && b.length) b[b.length - 1] = b[b.length - 1].replace(/\n$/, '');
      const oldText = a.join('');
      const newText = b.join('');
      for (const context of [0, 1, 3]) {
        assert.equal(applyHunks(oldText, unifiedHunks(oldText, newText, { context })), newText, `case ${t} -U${context}`);
      }
    }
  });

  it('produces a minimal script on a simple case', () => {
    const a = splitLines('a\nb\nc\nd\n');
    const b = splitLines('a\nc\nd\ne\n');
    assert.deepEqual(diffLines(a, b), [
      { i1: 1, del: 1, i2: 1, ins: 0 },
      { i1: 4, del: 0, i2: 3, ins: 1 },
    ]);
  });
});

describe('git blob hash', () => {
  it('matches git hash-object', () => {
    assert.equal(gitBlobSha1('hello\n'), 'ce013625030ba8dba906f756967f9e9ca394464a');
    assert.equal(gitBlobSha1(''), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    assert.equal(gitBlobSha1(Buffer.from('hello\n')), 'ce013625030ba8dba906f756967f9e9ca394464a');
    // Strings are hashed as UTF-8 (`printf 'caf\303\251\n' | git hash-object --stdin`).
    assert.equal(gitBlobSha1('caf\u00e9\n'), '572eb43fe8e34fb87d01c69e01151ff696022924');
  });
});

describe('line counts', () => {
  it('counts what the diff adds and removes', () => {
    const old = fs.readFileSync(path.join(DIR, 'toy_two.c'), 'utf8');
    const fixed = fs.readFileSync(path.join(DIR, 'toy_two.fixed.c'), 'utf8');
    assert.deepEqual(countChangedLines(old, fixed), { added: 6, removed: 4 });
    assert.deepEqual(countDiffLines(unifiedDiff(old, fixed, { oldPath: 'x', newPath: 'x' })), { added: 6, removed: 4 });
  });

  it('does not count header lines or diff markers inside hunks as changes', () => {
    for (const c of cases.diffs) {
      assert.deepEqual(countDiffLines(c.expected), countChangedLines(text(c, 'old'), text(c, 'new')), c.name);
    }
    // A removed line that itself starts with "--" and an added one starting with "++".
    const d = unifiedDiff('--x\nkeep\n', 'keep\n++y\n', { oldPath: 'x', newPath: 'x' });
    assert.deepEqual(countDiffLines(d), { added: 1, removed: 1 });
  });
});

describe('diffstat', () => {
  // Expected blocks printed by git 2.39.5 `format-patch` for files with these counts.
  it('prints a short stat unscaled', () => {
    assert.equal(
      diffstat([{ path: 'fs/fuse/virtio_fs.c', added: 4, removed: 2 }]),
      ' fs/fuse/virtio_fs.c | 6 ++++--\n 1 file changed, 4 insertions(+), 2 deletions(-)\n',
    );
  });

  it('scales the graph to the 72-column width', () => {
    assert.equal(
      diffstat([{ path: 'drivers/gpu/drm/virtio/virtgpu_vq.c', added: 300, removed: 100 }]),
      ' drivers/gpu/drm/virtio/virtgpu_vq.c | 400 +++++++++++++++++++++-------\n' +
        ' 1 file changed, 300 insertions(+), 100 deletions(-)\n',
    );
  });

  it('keeps at least one + and one - for a small change next to a big one', () => {
    assert.equal(
      diffstat([
        { path: 'drivers/char/virtio_console.c', added: 1, removed: 1 },
        { path: 'drivers/block/virtio_blk.c', added: 900, removed: 300 },
      ]),
      ' drivers/block/virtio_blk.c    | 1200 ++++++++++++++++++++++++---------\n' +
        ' drivers/char/virtio_console.c |    2 +-\n' +
        ' 2 files changed, 901 insertions(+), 301 deletions(-)\n',
    );
  });

  it('shortens long names from the left at a slash', () => {
    assert.equal(
      diffstat([
        { path: 'drivers/demo/a/very/long/path/that/does/not/fit/in/the/name/column/at/all/x.c', added: 10, removed: 0 },
        { path: 'b.c', added: 0, removed: 3 },
      ]),
      ' b.c                                                    |  3 ---\n' +
        ' .../that/does/not/fit/in/the/name/column/at/all/x.c    | 10 ++++++++++\n' +
        ' 2 files changed, 10 insertions(+), 3 deletions(-)\n',
    );
  });

  it('writes the summary in singular and plural, leaving out a zero side', () => {
    assert.equal(diffstat([{ path: 'a.c', added: 1, removed: 0 }]), ' a.c | 1 +\n 1 file changed, 1 insertion(+)\n');
    assert.equal(
      diffstat([
        { path: 'a.c', added: 0, removed: 2 },
        { path: 'b.c', added: 0, removed: 1 },
      ]),
      ' a.c | 2 --\n b.c | 1 -\n 2 files changed, 3 deletions(-)\n',
    );
    assert.equal(diffstatSummary(1, 0, 0), ' 1 file changed, 0 insertions(+), 0 deletions(-)\n');
  });

  it('honours another stat width (git show --stat=120)', () => {
    const files = [{ path: 'drivers/gpu/drm/virtio/virtgpu_vq.c', added: 300, removed: 100 }];
    assert.equal(
      diffstat(files, { width: 120 }).split('\n')[0],
      ` drivers/gpu/drm/virtio/virtgpu_vq.c | 400 ${'+'.repeat(57)}${'-'.repeat(19)}`,
    );
  });
});
