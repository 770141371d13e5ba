// Harness self-test: installs the throwaway extension in test/e2e/fixture-extension into a real
// VS Code (code-server) in headless chromium, and checks the loop the real extension's e2e tests
// will need: file opened from the Explorer, diagnostic in the Problems panel, command run from
// the palette with a visible and a file-system effect, quick fix applied from the Ctrl+. menu. Screenshots: test/e2e/screenshots/smoke-*.png
//
// Run: scripts/e2e-run.sh (setup + all e2e tests) or, with a warm cache,
//      node --test --test-reporter=spec test/e2e/smoke.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defineSteps, startSession, waitForFile } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const NAME = 'smoke';

const RING_C = `#include <linux/spinlock.h>

static void demo_drain(spinlock_t *lock)
{
\tspin_lock(lock);
\tspin_unlock(lock);
}
`;

describe('e2e harness smoke (code-server + chromium + fixture extension)', { timeout: 180_000 }, () => {
  let session;
  let wb;
  const steps = defineSteps(NAME, it, () => wb, 60_000);
  const step = steps.step;

  before(
    async () => {
      session = await startSession({
        files: { 'drivers/virtio/virtio_demo.c': RING_C, 'clean.c': 'int clean;\n' },
        extensions: [path.join(here, 'fixture-extension')],
      });
      wb = session.workbench;
      await wb.screenshot(`${NAME}-01-workbench`);
    },
    { timeout: 120_000 },
  );

  after(
    async () => {
      if (session) await session.close({ failed: steps.failed });
    },
    { timeout: 30_000 },
  );

  step('02', 'the fixture extension is installed in the extensions dir', 'installed', async () => {
    const dirs = fs.readdirSync(session.extensionsDir);
    assert.ok(
      dirs.some(d => d.startsWith('vrl-e2e.vrl-e2e-fixture-0.0.1')),
      `extensions dir holds ${JSON.stringify(dirs)}`,
    );
  });

  step('03', 'opens a C file from the Explorer', 'file-open', async () => {
    await wb.openFile('drivers/virtio/virtio_demo.c');
    const text = await wb.activeEditorText();
    assert.match(text, /spin_lock\(lock\);/);
  });

  step('04', 'shows the extension diagnostic in the Problems panel', 'problems', async () => {
    const text = await wb.waitForProblem(/vrlE2E: spin_lock in a fixture file/, 30_000);
    assert.match(text, /virtio_demo\.c/);
    assert.match(text, /E2E001/);
    assert.match(text, /\[Ln 5, Col 2\]/);
    assert.doesNotMatch(text, /clean\.c/);
  });

  step('05', 'runs vrlE2E.ping from the command palette', 'ping', async () => {
    const out = path.join(session.workspace, '.vrl-e2e', 'ping.json');
    await wb.runCommand('VRL E2E: Ping');
    await wb.waitForNotification(/vrlE2E: pong \(1 file\(s\) with diagnostics\)/);
    const ping = JSON.parse(await waitForFile(out));
    assert.equal(ping.pong, true);
    assert.equal(ping.env, '1', 'VRL_E2E from the harness reaches the extension host');
    const files = ping.diagnostics.filter(f => f.diagnostics.length > 0);
    assert.equal(files.length, 1);
    assert.match(files[0].uri, /drivers\/virtio\/virtio_demo\.c$/);
    assert.deepEqual(files[0].diagnostics, [
      { message: 'vrlE2E: spin_lock in a fixture file', source: 'vrl-e2e', code: 'E2E001', severity: 1, line: 5, column: 2 },
    ]);
  });

  step('06', 'applies the quick fix from the Ctrl+. menu and saves the file', 'quick-fix', async () => {
    await wb.goToLine(5, 3);
    const offered = await wb.quickFix('vrlE2E: use spin_lock_irqsave', { onMenu: () => wb.screenshot(`${NAME}-06-quick-fix-menu`) });
    assert.deepEqual(offered, ['vrlE2E: use spin_lock_irqsave']);
    await wb.waitForNoProblems();
    const text = await wb.activeEditorText();
    assert.match(text, /^\s*spin_lock_irqsave\(lock\);$/m);
    assert.equal(text.split('\n').length, RING_C.split('\n').length);
    await wb.saveActiveFile();
    const onDisk = fs.readFileSync(path.join(session.workspace, 'drivers/virtio/virtio_demo.c'), 'utf8');
    assert.equal(onDisk, RING_C.replace('spin_lock(', 'spin_lock_irqsave('));
  });
});
