// The kernel tools on real kernel code, when the Debian 6.12 sources are unpacked (KERNEL_TREE,
// or .cache/kernel/linux-source-6.12 from scripts/kernel-trees.sh; skipped otherwise): a
// git-initialised copy of the tree's top-level files, scripts and drivers/gpu/drm/virtio/ (as
// test/kernel/patches.sh copies whole trees), on which `patch --checkpatch --to-maintainers`
// runs the tree's own scripts; the patch must pass checkpatch.pl --strict with 0/0/0 and apply
// with git am. Nothing of the kernel is kept: the copy is a temporary directory.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { gitAm } from '../../src/fix/kernelTools';
import { createPatch } from '../../src/server/services';
import { DEFAULT_SETTINGS } from '../../src/shared/protocol';
import { runCli, tempDir } from '../helpers/cli';
import { git, haveTools } from '../helpers/kernelTree';

function tree(): string | undefined {
  const cands = [process.env.KERNEL_TREE, path.resolve(__dirname, '../../../.cache/kernel/linux-source-6.12')];
  return cands.find(
    c => c && fs.existsSync(path.join(c, 'scripts/checkpatch.pl')) && fs.existsSync(path.join(c, 'drivers/gpu/drm/virtio')),
  );
}

const DRIVER = 'drivers/gpu/drm/virtio';

/** What checkpatch.pl and get_maintainer.pl need of a tree (its top-level markers), and the driver. */
function gitCopy(src: string): string {
  const root = path.join(tempDir('vrl-real-'), 'linux');
  fs.mkdirSync(path.join(root, 'scripts'), { recursive: true });
  for (const f of ['MAINTAINERS', 'COPYING', 'CREDITS', 'Kbuild', 'Makefile', 'README'])
    fs.copyFileSync(path.join(src, f), path.join(root, f));
  for (const f of ['checkpatch.pl', 'get_maintainer.pl', 'spelling.txt', 'const_structs.checkpatch']) {
    if (fs.existsSync(path.join(src, 'scripts', f))) fs.copyFileSync(path.join(src, 'scripts', f), path.join(root, 'scripts', f));
  }
  for (const d of ['Documentation', 'arch', 'include', 'fs', 'init', 'ipc', 'kernel', 'lib']) {
    fs.mkdirSync(path.join(root, d));
    fs.writeFileSync(path.join(root, d, '.keep'), '');
  }
  fs.cpSync(path.join(src, DRIVER), path.join(root, DRIVER), { recursive: true });
  git(root, 'init', '-q');
  git(root, 'add', '-A', '.');
  git(
    root,
    '-c',
    'user.name=Base',
    '-c',
    'user.email=base@example.org',
    'commit',
    '-qm',
    'linux-source-6.12: scripts and drivers/gpu/drm/virtio',
  );
  git(root, 'config', 'user.name', 'Virtio Race Lint Test');
  git(root, 'config', 'user.email', 'vrl-test@example.org');
  return root;
}

/** The tree's own checkpatch.pl --strict on a file: its total line. */
function checkpatch(root: string, file: string): string {
  let out: string;
  try {
    out = execFileSync('perl', [path.join(root, 'scripts/checkpatch.pl'), '--strict', file], { cwd: root, encoding: 'utf8' });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  return /^total: .*$/m.exec(out)?.[0] ?? out;
}

/** The M:/R: people and L: lists of one MAINTAINERS section. */
function section(root: string, name: string): { people: string[]; lists: string[] } {
  const text = fs.readFileSync(path.join(root, 'MAINTAINERS'), 'utf8');
  const start = text.indexOf(`\n${name}\n`);
  assert.ok(start >= 0, `no ${name} section`);
  const body = text.slice(start + name.length + 2, text.indexOf('\n\n', start + 1));
  const get = (tag: string) => [...body.matchAll(new RegExp(`^${tag}:\\t(.*)$`, 'gm'))].map(m => m[1].replace(/\s*\(.*\)$/, ''));
  return { people: [...get('M'), ...get('R')], lists: get('L') };
}

describe('kernel tools on the 6.12 tree', function () {
  this.timeout(180000);
  let src = '';
  before(function () {
    const t = tree();
    if (!t || !haveTools()) this.skip();
    src = t!;
  });

  it(`patch --checkpatch --to-maintainers on a git copy of ${DRIVER}: 0/0/0 from checkpatch.pl --strict, the driver's maintainers, git am applies`, async () => {
    const root = gitCopy(src);
    const out = path.join(path.dirname(root), 'virtio-gpu.mbox');
    const r = await runCli(['patch', '--checkpatch', '--to-maintainers', '-o', out, DRIVER], root);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /checkpatch\.pl --strict: total: 0 errors, 0 warnings, 0 checks, \d+ lines checked/);
    const mail = fs.readFileSync(out, 'utf8');
    const head = mail.slice(0, mail.indexOf('\n\n'));
    const gpu = section(root, 'VIRTIO GPU DRIVER');
    assert.ok(gpu.people.length && gpu.lists.length);
    const to = /^To: ((?:.*\n {4})*.*)$/m.exec(head)![1].split(/,\n {4}/);
    const cc = /^Cc: ((?:.*\n {4})*.*)$/m.exec(head)![1].split(/,\n {4}/);
    for (const p of gpu.people) assert.ok(to.includes(p), `${p} in To: ${to.join('; ')}`);
    for (const l of gpu.lists) assert.ok(cc.includes(l), `${l} in Cc: ${cc.join('; ')}`);
    // Checked again, by hand, on the file as written; then applied.
    assert.match(checkpatch(root, out), /^total: 0 errors, 0 warnings, 0 checks, \d+ lines checked$/);
    const files = [...new Set([...mail.matchAll(/^diff --git a\/(\S+) /gm)].map(m => m[1]))];
    const am = await gitAm(root, out, files);
    assert.equal(am.ok, true, JSON.stringify(am));
    const left = await runCli(['check', '--format', 'json', DRIVER], root);
    assert.equal((JSON.parse(left.stdout) as { findings: unknown[] }).findings.length, 0, left.stdout);
  });

  it("with --fixes the Fixes: line (the copy's one commit, flagged as the first) still passes checkpatch.pl, which looks it up with git", async () => {
    const root = gitCopy(src);
    const out = path.join(path.dirname(root), 'fixes.mbox');
    const r = await runCli(['patch', '--checkpatch', '--fixes', '-o', out, DRIVER], root);
    assert.equal(r.code, 0, r.stderr);
    const base = git(root, 'rev-parse', '--short=12', 'HEAD').trim();
    assert.match(
      fs.readFileSync(out, 'utf8'),
      new RegExp(`^Fixes: ${base} \\("linux-source-6\\.12: scripts and drivers/gpu/drm/virtio"\\)$`, 'm'),
    );
    assert.match(r.stderr, /it is the repository's first commit, the line may be older/);
    assert.match(checkpatch(root, out), /^total: 0 errors, 0 warnings, 0 checks/);
  });

  it('untrusted: the patch written with its notes passes checkpatch.pl --strict and applies', async () => {
    const root = gitCopy(src);
    const result = await checkPaths([path.join(root, DRIVER)]);
    const byFile = [...new Set(result.findings.filter(f => f.rule === 'VRL001').map(f => f.file))];
    assert.ok(byFile.length > 0);
    const file = byFile[0];
    const text = fs.readFileSync(file, 'utf8');
    const res = await createPatch(
      file,
      text,
      result.findings.filter(f => f.file === file && f.rule === 'VRL001'),
      result.project.index.get(file)!,
      { ...DEFAULT_SETTINGS, patch: { signoff: 'Ada Hacker <ada@example.org>', directory: '' } },
      { trusted: false, folders: [root] },
    );
    assert.ok('path' in res && res.path, JSON.stringify(res));
    assert.match(res.text, /^Notes:\n {4}virtio-race-lint ran nothing from the workspace/m);
    assert.match(checkpatch(root, res.path!), /^total: 0 errors, 0 warnings, 0 checks/);
    const am = await gitAm(root, res.path!, [path.relative(root, file)]);
    assert.equal(am.ok, true, JSON.stringify(am));
  });

  it('--fixes in the Debian tree itself, which no git repository holds: one line, and the patch all the same', async () => {
    const r = await runCli(['patch', '--fixes', '--signoff', 'Ada Hacker <ada@example.org>', `${DRIVER}/virtgpu_vq.c`], src);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stderr.split('\n').filter(l => /Fixes|blame/.test(l)),
      [`virtio-race-lint: ${DRIVER}/virtgpu_vq.c: no Fixes: line: the file is not in a git repository (nothing to blame)`],
    );
    assert.match(r.stdout, /^Subject: \[PATCH\] drm\/virtio: /m);
    assert.doesNotMatch(r.stdout, /^Fixes:/m);
  });
});
