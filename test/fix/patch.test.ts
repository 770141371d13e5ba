import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kernelRoot, parseIdent, repoInfo } from '../../src/fix/gitInfo';
import { runCli, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function haveGit(): boolean {
  try {
    git(process.cwd(), '--version');
    return true;
  } catch {
    return false;
  }
}

/** A kernel tree for checkpatch: KERNEL_TREE, or one unpacked by scripts/kernel-trees.sh. */
function checkpatchScript(): string | undefined {
  const cands = [process.env.KERNEL_TREE, path.resolve(__dirname, '../../../.cache/kernel/linux-source-6.12')];
  for (const c of cands) if (c && fs.existsSync(path.join(c, 'scripts/checkpatch.pl'))) return path.join(c, 'scripts/checkpatch.pl');
  return undefined;
}

/** A git repository holding a fixture driver at drivers/demo/, with a history of `demo: ...` subjects. */
function demoRepo(): { dir: string; file: string } {
  const dir = tempDir('vrl-patch-');
  const file = path.join(dir, 'drivers/demo/demo_drv.c');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  git(dir, 'init', '-q');
  git(dir, 'config', 'user.name', 'Ada Hacker');
  git(dir, 'config', 'user.email', 'ada@example.org');
  fs.writeFileSync(file, '/* placeholder */\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'demo: add the driver');
  fs.copyFileSync(path.join(FIXTURES, 'fix/relock-loop/before.c'), file);
  git(dir, 'commit', '-qam', 'demo: handle control messages');
  fs.appendFileSync(file, '\n');
  git(dir, 'commit', '-qam', 'treewide: whitespace');
  return { dir, file };
}

describe('virtio-race-lint patch and fix', function () {
  this.timeout(30000);
  before(function () {
    if (!haveGit()) this.skip();
  });

  it('writes a git format-patch mail that git am applies, after which the finding is gone', async () => {
    const { dir, file } = demoRepo();
    const r = await runCli(['patch', '--date', '2026-01-02T03:04:05Z', 'drivers/demo/demo_drv.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    const mail = r.stdout;
    const lines = mail.split('\n');
    assert.equal(lines[0], 'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001');
    assert.equal(lines[1], 'From: Ada Hacker <ada@example.org>');
    assert.equal(lines[2], 'Date: Fri, 2 Jan 2026 03:04:05 +0000');
    // The prefix most used in the file's own history, not the tree-wide one.
    assert.equal(lines[3], 'Subject: [PATCH] demo: disable local irqs while draining the virtqueue');
    const body = mail.slice(mail.indexOf('\n\n') + 2, mail.indexOf('\n---\n'));
    for (const l of body.split('\n')) assert.ok(l.length <= 75, `body line over 75 columns: ${l}`);
    assert.match(body, /^control_intr\(\) runs from vring_interrupt\(\) in hard irq context/);
    assert.match(body, /^1\. control_work_handler\(\) holds the lock and drains the virtqueue\.$/m);
    assert.match(
      body,
      /^4\. The interrupt for that buffer arrives and preempts the drain;\n {3}vring_interrupt\(\) finds no used buffer and returns IRQ_NONE\.$/m,
    );
    const prose = body.replace(/\n/g, ' ');
    assert.match(prose, /callbacks stay enabled during the drain/);
    // What the fix does, what it does not, and the relock shape's gap between buffers.
    assert.match(
      prose,
      /Hard irqs then stay disabled on the CPU running the work while it holds the lock\. The vring interrupt can no longer run there during that time and find the ring already drained\./,
    );
    assert.match(
      prose,
      /control_work_handler\(\) drops the lock for each buffer, and irqs are enabled again until it is re-taken, so there the interrupt can still run between two buffers\./,
    );
    assert.match(
      prose,
      /This does not make IRQ_NONE impossible: an interrupt that arrives while the lock is held is deferred to the unlock, and the ring can be empty by then\. An interrupt routed to another CPU is not masked\./,
    );
    assert.match(
      prose,
      /With threadirqs or PREEMPT_RT, vring_interrupt\(\) runs in a thread, and the change makes no difference to this race\./,
    );
    assert.doesNotMatch(prose, /nobody cared|disables the line/);
    // control_intr() does not take the lock: no deadlock to speak of.
    assert.doesNotMatch(body, /deadlock/);
    assert.match(body, /Signed-off-by: Ada Hacker <ada@example.org>$/);
    assert.match(
      mail,
      /\n---\n drivers\/demo\/demo_drv\.c \| 9 \+\+\+\+\+----\n 1 file changed, 5 insertions\(\+\), 4 deletions\(-\)\n\ndiff --git a\/drivers\/demo\/demo_drv\.c b\/drivers\/demo\/demo_drv\.c\nindex [0-9a-f]{12}\.\.[0-9a-f]{12} 100644\n/,
    );
    const blob = git(dir, 'rev-parse', 'HEAD:drivers/demo/demo_drv.c').trim();
    assert.ok(mail.includes(`index ${blob.slice(0, 12)}..`), 'the index line names the blob in the repository');

    const mbox = path.join(dir, '..', `${path.basename(dir)}.patch`);
    fs.writeFileSync(mbox, mail);
    git(dir, 'am', mbox);
    assert.equal(git(dir, 'log', '-1', '--format=%s').trim(), 'demo: disable local irqs while draining the virtqueue');
    const expected = fs.readFileSync(path.join(FIXTURES, 'fix/relock-loop/after.c'), 'utf8') + '\n';
    assert.equal(fs.readFileSync(file, 'utf8'), expected);
    const again = await runCli(['check', 'drivers/demo/demo_drv.c'], dir);
    assert.equal(again.code, 0, again.stdout);

    const checkpatch = checkpatchScript();
    if (checkpatch) {
      const out = execFileSync('perl', [checkpatch, '--no-tree', '--strict', mbox], { encoding: 'utf8' });
      assert.match(out, /total: 0 errors, 0 warnings, 0 checks/);
    }
  });

  it('names the file by its path in the repository when it is reached through a symbolic link', async () => {
    const { dir } = demoRepo();
    const link = path.join(tempDir('vrl-link-'), 'linux');
    fs.symlinkSync(dir, link);
    // Relative to a working directory that is the link, and absolute through the link.
    for (const [args, cwd] of [
      [['drivers/demo/demo_drv.c'], link],
      [[path.join(link, 'drivers/demo/demo_drv.c')], '/'],
    ] as const) {
      const r = await runCli(['patch', '--date', '2026-01-02T03:04:05Z', ...args], cwd);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^diff --git a\/drivers\/demo\/demo_drv\.c b\/drivers\/demo\/demo_drv\.c$/m);
      // The prefix from the file's git log (`demo:`), not the one made from its name (`demo_drv:`).
      assert.match(r.stdout, /^Subject: \[PATCH\] demo: disable local irqs/m);
    }
  });

  it('takes the author from --signoff and refuses a malformed one', async () => {
    const { dir } = demoRepo();
    const r = await runCli(['patch', '--signoff', 'Grace Hopper <grace@example.org>', '-o', 'out.mbox', 'drivers/demo'], dir);
    assert.equal(r.code, 0, r.stderr);
    const mail = fs.readFileSync(path.join(dir, 'out.mbox'), 'utf8');
    assert.match(mail, /^From: Grace Hopper <grace@example.org>$/m);
    assert.match(mail, /^Signed-off-by: Grace Hopper <grace@example.org>$/m);
    const bad = await runCli(['patch', '--signoff', 'nobody', 'drivers/demo'], dir);
    assert.equal(bad.code, 2);
    assert.deepEqual(parseIdent('A B <a@b.c>'), { name: 'A B', email: 'a@b.c' });
  });

  it('says the fix also closes the deadlock when the vring callback takes the same lock', async () => {
    const dir = tempDir('vrl-patch-');
    fs.copyFileSync(path.join(FIXTURES, 'sim/cb_lock.c'), path.join(dir, 'drv.c'));
    const r = await runCli(['patch', '--signoff', 'A <a@example.org>', 'drv.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    const body = r.stdout.slice(r.stdout.indexOf('\n\n') + 2, r.stdout.indexOf('\n---\n')).replace(/\n/g, ' ');
    assert.match(
      body,
      /If the interrupt finds a used buffer instead, demo_done\(\) takes the same lock in hard irq context while the work it interrupted holds it on the same CPU: an AA deadlock\./,
    );
    assert.match(body, /and demo_done\(\) can no longer deadlock against the work\./);
    // One hold per drain here: no sentence about a lock dropped between buffers.
    assert.doesNotMatch(body, /drops the lock/);
  });

  it('names each work item and lock when one mail fixes two work functions', async () => {
    const dir = tempDir('vrl-patch-');
    for (const f of ['demo_vq.c', 'demo_kms.c', 'demo_drv.h'])
      fs.copyFileSync(path.join(FIXTURES, 'vrl001/gpu-helper-binding', f), path.join(dir, f));
    const r = await runCli(['patch', '--signoff', 'A <a@example.org>', 'demo_vq.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    const body = r.stdout.slice(r.stdout.indexOf('\n\n') + 2, r.stdout.indexOf('\n---\n')).replace(/\n/g, ' ');
    assert.match(
      body,
      /^demo_ctrl_ack\(\) and demo_cursor_ack\(\) run from vring_interrupt\(\) in hard irq context and defer the completions to work items with schedule_work\(&dev->ctrlq\.dequeue_work\) and schedule_work\(&dev->cursorq\.dequeue_work\)\. /,
    );
    assert.match(
      body,
      /demo_dequeue_ctrl_func\(\) and demo_dequeue_cursor_func\(\) then drain their virtqueues with virtqueue_get_buf\(\) in reclaim_bufs\(\) under spin_lock\(&dev->ctrlq\.qlock\) and spin_lock\(&dev->cursorq\.qlock\), which leave hard irqs enabled/,
    );
  });

  it('uses the built-in table for a kernel tree without git history', async () => {
    const dir = tempDir('vrl-kernel-');
    for (const f of ['MAINTAINERS', 'Kbuild']) fs.writeFileSync(path.join(dir, f), '');
    const file = path.join(dir, 'fs/fuse/virtio_fs.c');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'fix/basic/before.c'), file);
    assert.equal(kernelRoot(file), dir);
    const r = await runCli(['patch', '--signoff', 'A <a@example.org>', path.join(dir, 'fs/fuse/virtio_fs.c')], '/');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Subject: \[PATCH\] virtiofs: /m);
    assert.match(r.stdout, /^diff --git a\/fs\/fuse\/virtio_fs\.c b\/fs\/fuse\/virtio_fs\.c$/m);
  });

  it('fixes in place, keeps the encoding, and prints a diff on --dry-run', async () => {
    const dir = tempDir('vrl-fix-');
    const file = path.join(dir, 'drv.c');
    const before = fs.readFileSync(path.join(FIXTURES, 'fix/error-paths/before.c'));
    fs.writeFileSync(file, Buffer.concat([Buffer.from('/* \xa9 Jos\xe9 */\n', 'latin1'), before]));
    const dry = await runCli(['fix', '--dry-run', 'drv.c'], dir);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^diff --git a\/drv\.c b\/drv\.c\n/);
    assert.match(dry.stdout, /^-\tspin_lock\(&d->lock\);\n\+\tspin_lock_irqsave\(&d->lock, flags\);$/m);
    assert.match(dry.stderr, /would fix 1 finding in 1 file/);
    const header = Buffer.from('/* \xa9 Jos\xe9 */\n', 'latin1');
    assert.deepEqual([...fs.readFileSync(file).subarray(0, header.length)], [...header], 'dry run leaves the file alone');
    const real = await runCli(['fix', 'drv.c'], dir);
    assert.equal(real.code, 0);
    const bytes = fs.readFileSync(file);
    assert.deepEqual([...bytes.subarray(0, header.length)], [...header], 'Latin-1 bytes kept');
    const expected = fs.readFileSync(path.join(FIXTURES, 'fix/error-paths/after.c'), 'utf8');
    assert.equal(bytes.subarray(header.length).toString('utf8'), expected);
    const again = await runCli(['fix', 'drv.c'], dir);
    assert.match(again.stderr, /fixed 0 findings in 0 files/);
  });

  it('exits 1 and says why when a finding cannot be fixed', async () => {
    const dir = tempDir('vrl-fix-');
    fs.copyFileSync(path.join(FIXTURES, 'fix/refuse-sleeps/before.c'), path.join(dir, 'drv.c'));
    const r = await runCli(['fix', 'drv.c'], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /drv\.c:12: not fixed: msleep\(\) \(line 14\) may sleep while the lock is held/);
  });
});

describe('patch: a kernel tree inside another repository', () => {
  it('writes paths relative to the kernel tree, not to the enclosing repository', () => {
    const base = tempDir('vrl-nested-');
    execFileSync('git', ['init', '-q', base]);
    const tree = path.join(base, '.cache', 'linux-source-6.12');
    fs.mkdirSync(path.join(tree, 'drivers', 'demo'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'MAINTAINERS'), '');
    fs.writeFileSync(path.join(tree, 'Kbuild'), '');
    const file = path.join(tree, 'drivers', 'demo', 'demo.c');
    fs.writeFileSync(file, 'int x;\n');
    const info = repoInfo(file, base);
    assert.equal(fs.realpathSync(info.root), fs.realpathSync(tree));
    assert.equal(info.path, 'drivers/demo/demo.c');
    assert.equal(info.subjects, undefined, "the enclosing repository's history is not the tree's");
  });
});
