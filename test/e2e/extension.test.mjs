// End-to-end: the packaged extension (virtio-race-lint.vsix, from `npm run package`) in a real
// VS Code (code-server) in headless chromium, on a fixture driver: the VRL001 diagnostic in the
// Problems panel, the irqsave quick fix from the light bulb, and "Virtio Race: Simulate race"
// from the command palette opening the simulation view with its verdicts.
// Screenshots: test/e2e/screenshots/extension-*.png
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defineSteps, startSession } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const NAME = 'extension';
const VSIX = path.join(root, 'virtio-race-lint.vsix');
const FIXTURE = path.join(root, 'test/fixtures/vrl001/gpu-helper-binding');

function fixtureFiles() {
  const files = {};
  for (const f of fs.readdirSync(FIXTURE)) files[`drivers/gpu/demo/${f}`] = fs.readFileSync(path.join(FIXTURE, f), 'utf8');
  return files;
}

describe('virtio-race-lint extension in VS Code', { timeout: 240_000 }, () => {
  let session;
  let wb;
  const steps = defineSteps(NAME, it, () => wb, 90_000);
  const step = steps.step;

  before(async () => {
    assert.ok(fs.existsSync(VSIX), `${VSIX} is missing: run npm run package first`);
    session = await startSession({
      files: fixtureFiles(),
      extensions: [VSIX],
      env: { VIRTIO_RACE_LINT_E2E: '1' },
    });
    wb = session.workbench;
    await wb.screenshot(`${NAME}-01-workbench`);
  }, { timeout: 150_000 });

  after(async () => {
    if (session) await session.close({ failed: steps.failed });
  }, { timeout: 30_000 });

  step('02', 'installs the packaged extension', 'installed', async () => {
    const dirs = fs.readdirSync(session.extensionsDir);
    assert.ok(dirs.some(d => d.startsWith('virtio-race-lint.virtio-race-lint-')), `extensions dir holds ${JSON.stringify(dirs)}`);
  });

  step('03', 'shows VRL001 in the Problems panel for the work function that drains under spin_lock', 'problems', async () => {
    await wb.openFile('drivers/gpu/demo/demo_vq.c');
    const text = await wb.waitForProblem(/demo_dequeue_ctrl_func\(\) drains under spin_lock\(&dev->ctrlq\.qlock\), IRQs on; queued by demo_ctrl_ack\(\)/, 90_000);
    assert.match(text, /VRL001/);
    assert.match(text, /demo_dequeue_cursor_func\(\) drains under spin_lock\(&dev->cursorq\.qlock\)/);
    assert.match(text, /\[Ln 36, Col 2\]/);
  }, 120_000);

  step('04', 'rewrites the lock call with the quick fix from the light bulb', 'quick-fix', async () => {
    await wb.goToLine(36, 3);
    const offered = await wb.quickFix('Take dev->ctrlq.qlock with spin_lock_irqsave() in demo_dequeue_ctrl_func()', {
      onMenu: () => wb.screenshot(`${NAME}-04-quick-fix-menu`),
    });
    assert.ok(offered.includes('Simulate this race (demo_dequeue_ctrl_func)'), `offered: ${JSON.stringify(offered)}`);
    const deadline = Date.now() + 20_000;
    let text = '';
    while (Date.now() < deadline) {
      text = await wb.activeEditorText();
      if (/spin_lock_irqsave\(&dev->ctrlq\.qlock, flags\);/.test(text)) break;
      await new Promise(r => setTimeout(r, 250));
    }
    // The editor's rendered text shows tabs as spaces.
    assert.match(text, /^\s+unsigned long flags;$/m);
    assert.match(text, /^\s+spin_lock_irqsave\(&dev->ctrlq\.qlock, flags\);$/m);
    assert.match(text, /^\s+spin_unlock_irqrestore\(&dev->ctrlq\.qlock, flags\);$/m);
    // The other handler is untouched and still reported (its lines are off screen: the
    // Problems panel says so).
    const deadline2 = Date.now() + 30_000;
    let problems = await wb.problemsText();
    while (Date.now() < deadline2 && /demo_dequeue_ctrl_func\(\) drains/.test(problems)) {
      await new Promise(r => setTimeout(r, 250));
      problems = await wb.problemsText();
    }
    assert.match(problems, /demo_dequeue_cursor_func\(\) drains/);
    assert.doesNotMatch(problems, /demo_dequeue_ctrl_func\(\) drains/);
  });

  step('05', '"Virtio Race: Simulate race" opens the simulation view with the verdicts', 'simulation', async () => {
    await wb.goToLine(56, 3);
    await wb.runCommand('Virtio Race: Simulate race');
    const frame = await waitForWebview(wb.page, /Simulation of demo_dequeue_cursor_func\(\)/, 60_000);
    const body = await frame.locator('body').innerText();
    assert.match(body, /Verdicts/);
    assert.match(body, /IRQ_NONE reachable\s+violated\s+violated/);
    assert.match(body, /IRQ_NONE on the work's CPU while the drain holds the lock\s+violated\s+holds/);
    assert.match(body, /shortest counterexample/);
    assert.match(body, /Timed mode: note_interrupt\(\)/);
    // Steps that stand for source lines are links into the editor.
    assert.ok(await frame.locator('a.step').count() > 0, 'no clickable step');
  });
});

/** The webview's content frame (VS Code nests it: webview host iframe, then the content iframe). */
async function waitForWebview(page, regex, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      try {
        const text = await frame.locator('body').innerText({ timeout: 500 });
        if (regex.test(text)) return frame;
      } catch { /* frame not ready or detached */ }
    }
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`no webview frame shows ${regex}`);
}
