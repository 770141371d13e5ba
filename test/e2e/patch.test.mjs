// End-to-end: "Create kernel patch" and "Apply with git am" in a real VS Code (code-server), on
// the fixture driver in a git repository: the .patch file written and opened, git am refused
// while the file has unsaved edits, then while it has uncommitted ones, and applied from the
// notification's button once the file is as committed. The repository is a kernel tree in small
// (test/fixtures/fake-kernel: MAINTAINERS and tiny stand-ins for scripts/checkpatch.pl and
// scripts/get_maintainer.pl), so the trusted workspace's patch gets the checkpatch result,
// To:/Cc: and a Fixes: line. Screenshots: test/e2e/screenshots/patch-*.png
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defineSteps, makeTempDir, removeTempDir, startSession, writeWorkspace } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const NAME = 'patch';
const VSIX = path.join(root, 'virtio-race-lint.vsix');
const FIXTURE = path.join(root, 'test/fixtures/vrl001/gpu-helper-binding');
const FILE = 'drivers/gpu/demo/demo_vq.c';

const git = (cwd, ...args) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
  });

describe('virtio-race-lint kernel patch and git am in VS Code', { timeout: 300_000 }, () => {
  let session;
  let wb;
  let base;
  let ws;
  const steps = defineSteps(NAME, it, () => wb, 60_000);
  const step = steps.step;

  before(
    async () => {
      assert.ok(fs.existsSync(VSIX), `${VSIX} is missing: run npm run package first`);
      base = makeTempDir('vrl-e2e-patch-');
      ws = path.join(base, 'workspace');
      const files = {};
      for (const f of fs.readdirSync(FIXTURE)) files[`drivers/gpu/demo/${f}`] = fs.readFileSync(path.join(FIXTURE, f), 'utf8');
      const fake = path.join(root, 'test/fixtures/fake-kernel');
      for (const f of ['MAINTAINERS', 'Kbuild', 'scripts/checkpatch.pl', 'scripts/get_maintainer.pl'])
        files[f] = fs.readFileSync(path.join(fake, f), 'utf8');
      writeWorkspace(ws, files);
      for (const f of ['checkpatch.pl', 'get_maintainer.pl']) fs.chmodSync(path.join(ws, 'scripts', f), 0o755);
      git(ws, 'init', '-q');
      git(ws, 'config', 'user.name', 'E2E Tester');
      git(ws, 'config', 'user.email', 'e2e@example.org');
      git(ws, 'add', '.');
      git(ws, 'commit', '-qm', 'drm/demo: add the driver');
      session = await startSession({ folder: ws, extensions: [VSIX], env: { VIRTIO_RACE_LINT_E2E: '1' }, watchdogMs: 280_000 });
      wb = session.workbench;
    },
    { timeout: 150_000 },
  );

  after(
    async () => {
      if (session) await session.close({ failed: steps.failed });
      if (base) removeTempDir(base);
    },
    { timeout: 30_000 },
  );

  /** The toast matching `regex`. */
  const toast = regex => wb.page.locator('.notifications-toasts .notification-toast').filter({ hasText: regex }).first();

  step(
    '01',
    'creates the patch: a .patch file at the repository root, opened in a file tab, with Apply with git am offered',
    'create',
    async () => {
      await wb.openFile(FILE);
      await wb.waitForProblem(/demo_dequeue_ctrl_func\(\) drains under spin_lock/, 90_000);
      await wb.goToLine(36, 3);
      await wb.runCommand('Virtio Race: Create kernel patch');
      const note = await wb.waitForNotification(/Kernel patch written: 0001-drm-demo-[\w.-]+\.patch\./, 30_000);
      const name = /Kernel patch written: (0001-[\w.-]+\.patch)\./.exec(note)[1];
      // The tree's checkpatch.pl --strict ran on it (trusted workspace, a kernel tree).
      assert.match(note, /checkpatch\.pl --strict: 0 errors, 0 warnings, 0 checks\./);
      assert.ok(fs.existsSync(path.join(ws, name)));
      const patch = fs.readFileSync(path.join(ws, name), 'utf8');
      assert.match(patch, /^From: E2E Tester <e2e@example\.org>$/m);
      // To:/Cc: from get_maintainer.pl (MAINTAINERS' catch-all section), Fixes: from git blame.
      assert.match(patch, /^To: Linus Root <root@example\.org>$/m);
      assert.match(patch, /^Cc: linux-kernel@example\.org$/m);
      const first = git(ws, 'rev-parse', '--short=12', 'HEAD').trim();
      assert.match(patch, new RegExp(`^Fixes: ${first} \\("drm/demo: add the driver"\\)$`, 'm'));
      await toast(/Kernel patch written/)
        .locator('.monaco-button', { hasText: 'Apply with git am' })
        .waitFor({ state: 'visible', timeout: 10_000 });
    },
    150_000,
  );

  step('02', 'Apply is refused while the file has unsaved edits', 'refused-unsaved', async () => {
    await wb.openFile(FILE);
    await wb.goToLine(1, 1);
    await wb.page.keyboard.type('/* local edit */');
    await wb.runCommand('Virtio Race: Apply kernel patch with git am');
    await wb.waitForNotification(/not applied: drivers\/gpu\/demo\/demo_vq\.c has unsaved edits; save first/, 15_000);
    assert.equal(git(ws, 'log', '--format=%s').trim(), 'drm/demo: add the driver');
  });

  step('03', 'Apply is refused while the file has uncommitted changes', 'refused-uncommitted', async () => {
    await wb.saveActiveFile();
    await wb.runCommand('Virtio Race: Apply kernel patch with git am');
    await wb.waitForNotification(/not applied: drivers\/gpu\/demo\/demo_vq\.c has uncommitted changes: commit or stash them first/, 15_000);
    assert.equal(git(ws, 'log', '--format=%s').trim(), 'drm/demo: add the driver');
  });

  step('04', "the notification's Apply with git am button applies a new patch once the file is as committed", 'applied', async () => {
    git(ws, 'checkout', '--', FILE);
    // The editor reloads the file from disk; the finding is back at its line.
    await wb.waitForProblem(/demo_dequeue_ctrl_func\(\) drains under spin_lock/, 30_000);
    await wb.openFile(FILE);
    await wb.runCommand('Virtio Race: Create kernel patch');
    await wb.waitForNotification(/Kernel patch written: 0001-[\w.-]+-2\.patch\./, 30_000);
    await toast(/-2\.patch/)
      .locator('.monaco-button', { hasText: 'Apply with git am' })
      .click();
    await wb.waitForNotification(
      /git am: applied as [0-9a-f]{12} \("drm\/demo: disable local irqs while draining the virtqueue"\)/,
      30_000,
    );
    assert.equal(git(ws, 'log', '-1', '--format=%s').trim(), 'drm/demo: disable local irqs while draining the virtqueue');
    assert.match(fs.readFileSync(path.join(ws, FILE), 'utf8'), /spin_lock_irqsave\(&dev->ctrlq\.qlock, flags\);/);
  });
});
