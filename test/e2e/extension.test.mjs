// End-to-end: the packaged extension (virtio-race-lint.vsix, from `npm run package`) in a real
// VS Code (code-server) in headless chromium, on a fixture driver: the VRL001 diagnostic in the
// Problems panel, the irqsave quick fix from the light bulb, and "Virtio Race: Simulate race"
// from the command palette opening the simulation view: the verdict sentence first, its
// environment controls re-running the simulation (and a refusal's reason), a step opening its
// source line, the light theme at 1400x900, the bundled docs/model.md in the preview, and
// "Create kernel patch" writing a .patch file that opens as a normal file.
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

describe('virtio-race-lint extension in VS Code', { timeout: 420_000 }, () => {
  let session;
  let wb;
  const steps = defineSteps(NAME, it, () => wb, 90_000);
  const step = steps.step;

  before(
    async () => {
      assert.ok(fs.existsSync(VSIX), `${VSIX} is missing: run npm run package first`);
      session = await startSession({
        files: fixtureFiles(),
        extensions: [VSIX],
        settings: { 'virtioRaceLint.patch.signoff': 'E2E Tester <e2e@example.org>' },
        env: { VIRTIO_RACE_LINT_E2E: '1' },
        watchdogMs: 400_000,
      });
      wb = session.workbench;
      await wb.screenshot(`${NAME}-01-workbench`);
    },
    { timeout: 150_000 },
  );

  after(
    async () => {
      if (session) await session.close({ failed: steps.failed });
    },
    { timeout: 30_000 },
  );

  step('02', 'installs the packaged extension', 'installed', async () => {
    const dirs = fs.readdirSync(session.extensionsDir);
    assert.ok(
      dirs.some(d => d.startsWith('virtio-race-lint.virtio-race-lint-')),
      `extensions dir holds ${JSON.stringify(dirs)}`,
    );
  });

  step(
    '03',
    'shows VRL001 in the Problems panel for the work function that drains under spin_lock',
    'problems',
    async () => {
      await wb.openFile('drivers/gpu/demo/demo_vq.c');
      const text = await wb.waitForProblem(
        /demo_dequeue_ctrl_func\(\) drains under spin_lock\(&dev->ctrlq\.qlock\), IRQs on; queued by demo_ctrl_ack\(\)/,
        90_000,
      );
      assert.match(text, /VRL001/);
      assert.match(text, /demo_dequeue_cursor_func\(\) drains under spin_lock\(&dev->cursorq\.qlock\)/);
      assert.match(text, /\[Ln 36, Col 2\]/);
    },
    120_000,
  );

  step('04', 'rewrites the lock call with the quick fix from the light bulb', 'quick-fix', async () => {
    await wb.goToLine(36, 3);
    const offered = await wb.quickFix('Take dev->ctrlq.qlock with spin_lock_irqsave() in demo_dequeue_ctrl_func()', {
      onMenu: () => wb.screenshot(`${NAME}-04-quick-fix-menu`),
    });
    assert.ok(offered.includes('Simulate this race (demo_dequeue_ctrl_func)'), `offered: ${JSON.stringify(offered)}`);
    // The light bulb menu: the preferred fix first, the visible fix-all, the suppression, then
    // Simulate, Create patch and the docs (not quick fixes).
    for (const entry of [
      'Fix all VRL001 in file',
      'Suppress VRL001 for demo_dequeue_ctrl_func()',
      'Create kernel patch for this file',
      'Show documentation for VRL001',
    ]) {
      assert.ok(offered.includes(entry), `no ${entry}; offered: ${JSON.stringify(offered)}`);
    }
    assert.equal(offered[0], 'Take dev->ctrlq.qlock with spin_lock_irqsave() in demo_dequeue_ctrl_func()');
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

  step('05', '"Virtio Race: Simulate race" opens the view beside the editor, leading with the verdict sentence', 'simulation', async () => {
    await wb.goToLine(56, 3);
    await wb.runCommand('Virtio Race: Simulate race');
    const frame = await waitForWebview(wb.page, /Simulation of demo_dequeue_cursor_func\(\)/, 60_000);
    // The bottom line (summary[0]) first, then what the fix does.
    const verdict = await frame.locator('#verdict').innerText();
    assert.match(
      verdict,
      /^Confirmed as written \(spin_lock\): an interrupt can land on the work's CPU mid-drain and return IRQ_NONE \(B, \d+ steps\)\.$/,
    );
    const body = await frame.locator('body').innerText();
    assert.ok(body.indexOf(verdict) < body.indexOf('As written and with the fix'), 'the verdict comes before the table');
    assert.match(await frame.locator('#fix-summary').innerText(), /With spin_lock_irqsave IRQ_NONE stays reachable \(A, \d+ steps\)/);
    // Rows are questions; cells say reachable / not reachable.
    const rowB = await frame.locator('tr[data-property="B"]').innerText();
    assert.match(
      rowB,
      /Can it return IRQ_NONE on the work's CPU while the work holds the lock\?\s+reachable \(\d+ steps\)\s+not reachable/,
    );
    assert.match(await frame.locator('tr[data-property="A"]').innerText(), /reachable \(\d+ steps\)\s+reachable \(\d+ steps\)/);
    assert.doesNotMatch(
      await frame
        .locator('#verdicts td')
        .allInnerTexts()
        .then(t => t.join(' ')),
      /violated|holds/,
    );
    // Swimlanes in the driver's names, no model step codes; steps with a source line are links.
    const lanes = await frame.locator('details.scenario[open] table.lanes').first().innerText();
    assert.match(lanes, /CPU 0\s+CPU 1\s+device/);
    assert.match(lanes, /spin_lock\(&dev->cursorq\.qlock\)/);
    assert.doesNotMatch(lanes, /\b(D[123]n?|W\d+|I\d+|F\d+)\b/);
    assert.ok((await frame.locator('a.step').count()) > 5, 'steps link to their source lines');
    // The timed chart with the threshold; the view sits beside the editor, wide enough for the table.
    assert.equal(await frame.locator('#timed-chart #threshold').count(), 1);
    assert.match(await frame.locator('#timed-chart').innerHTML(), /99\.9%: note_interrupt\(\) disables the line/);
    await wb.runCommand('View: Hide Panel');
    const groups = await wb.page.locator('.part.editor .editor-group-container').count();
    assert.equal(groups, 2, 'the view opens in a second editor group');
    const width = await frame.evaluate(() => document.body.clientWidth);
    assert.ok(width >= 600, `the view is ${width} px wide`);
    assert.equal(
      await frame.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth),
      true,
      'nothing overflows sideways',
    );
  });

  step('06', 'a step of a swimlane opens its source line', 'simulation-step-link', async () => {
    const frame = await waitForWebview(wb.page, /Simulation of demo_dequeue_cursor_func\(\)/, 10_000);
    await frame.locator('details.scenario[open] table.lanes').first().scrollIntoViewIfNeeded();
    await wb.screenshot('extension-06a-simulation-lanes');
    const link = frame
      .locator('a.step[data-line]')
      .filter({ hasText: /^demo_vq\.c:\d+$/ })
      .nth(2);
    const line = Number(await link.getAttribute('data-line'));
    await link.click();
    await wb.waitForText('.part.statusbar', new RegExp(`Ln ${line}, Col 1`), 15_000);
  });

  step(
    '07',
    'an environment control re-runs the simulation: work pinned, interrupt on the other CPU',
    'simulation-environment',
    async () => {
      let frame = await waitForWebview(wb.page, /Simulation of demo_dequeue_cursor_func\(\)/, 10_000);
      // While the work is local, "the other CPU" cannot be chosen, and the view says why.
      assert.equal(await frame.locator('#opt-irq option[value="other"]').evaluate(o => o.disabled), true);
      assert.match(await frame.locator('#env-hint').innerText(), /needs work pinned to CPU 0/);
      await markStale(frame);
      await frame.locator('#opt-wq').selectOption('pinned');
      frame = await waitForRerun(wb.page, frame);
      assert.equal(await frame.locator('#opt-wq').inputValue(), 'pinned');
      assert.equal(await frame.locator('#opt-irq option[value="other"]').evaluate(o => o.disabled), false);
      await markStale(frame);
      await frame.locator('#opt-irq').selectOption('other');
      frame = await waitForRerun(wb.page, frame);
      assert.equal(await frame.locator('#opt-irq').inputValue(), 'other');
      frame = await waitForWebview(
        wb.page,
        /^As written \(spin_lock\) IRQ_NONE is reachable \(A, \d+ steps\), but never on the work's CPU mid-drain \(B holds\) in this environment\.$/,
        60_000,
        '#verdict',
      );
      assert.match(await frame.locator('tr[data-property="B"]').innerText(), /not reachable\s+not reachable/);
      assert.match(await frame.locator('tr[data-property="B2"]').innerText(), /reachable \(\d+ steps\)\s+reachable \(\d+ steps\)/);
      const lanes = await frame.locator('details.scenario[open] table.lanes').first().innerText();
      assert.match(lanes, /CPU 1/);
      await frame.locator('#env').scrollIntoViewIfNeeded();
    },
    120_000,
  );

  step('08', 'a combination the model refuses shows its one-line reason in the view', 'simulation-refused', async () => {
    const frame = await waitForWebview(wb.page, /IRQ_NONE is reachable/, 10_000, '#verdict');
    // The control keeps "local" disabled while the interrupt goes to the other CPU; force it, as
    // a stale view could, to see the server's refusal come back.
    await frame.evaluate(() => {
      const wq = document.getElementById('opt-wq');
      wq.querySelector('option[value="local"]').disabled = false;
      wq.value = 'local';
      wq.dispatchEvent(new window.Event('change', { bubbles: true }));
    });
    await frame.locator('#error').waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(
      await frame.locator('#error').innerText(),
      /^Not simulated: --irq other needs --wq pinned: .*"other" is the same as "same"\. The results below are for the previous settings\.$/,
    );
    assert.match(await frame.locator('#verdict').innerText(), /but never on the work's CPU mid-drain/);
    assert.equal(await frame.locator('#reset').isEnabled(), true, 'the controls work again after a refusal');
    await frame.locator('#error').scrollIntoViewIfNeeded();
  });

  step(
    '09',
    'the device control: a caching device makes lost completions reachable',
    'simulation-device',
    async () => {
      let frame = await waitForWebview(wb.page, /IRQ_NONE is reachable/, 10_000, '#verdict');
      await markStale(frame);
      await frame.locator('#reset').click();
      frame = await waitForRerun(wb.page, frame);
      assert.match(await frame.locator('#verdict').innerText(), /^Confirmed as written \(spin_lock\)/);
      assert.equal(await frame.locator('#opt-wq').inputValue(), 'local', 'the settings read from the code');
      assert.match(await frame.locator('tr[data-property="E"]').innerText(), /not reachable\s+not reachable/);
      await markStale(frame);
      await frame.locator('#opt-device').selectOption('cached');
      frame = await waitForRerun(wb.page, frame);
      assert.equal(await frame.locator('#opt-device').inputValue(), 'cached');
      assert.match(
        await frame.locator('tr[data-property="E"]').innerText(),
        /Can a completion be lost.*\?\s+reachable \(\d+ steps\)\s+reachable \(\d+ steps\)/,
      );
      // The timed run says why it stopped.
      assert.match(
        await frame.locator('#timed-summary').innerText(),
        /The run stopped after [\d,]+ of 100,000 completions: published buffers were never consumed/,
      );
      await frame.locator('#timed-chart').scrollIntoViewIfNeeded();
    },
    120_000,
  );

  step('10', 'the view in the light theme at 1400x900', 'simulation-light-1400x900', async () => {
    await pickTheme(wb, 'Light Modern');
    await wb.page.setViewportSize({ width: 1400, height: 900 });
    await wb.page.locator('.monaco-workbench.vs').waitFor({ state: 'attached', timeout: 30_000 });
    const frame = await waitForWebview(wb.page, /Simulation of/, 10_000);
    await frame.locator('body.vscode-light').waitFor({ state: 'attached', timeout: 15_000 });
    // The "reachable" text colour on the view's background passes WCAG AA.
    const ratio = await contrastOf(frame, 'td.bad a');
    assert.ok(ratio >= 4.5, `"reachable" contrast ${ratio.toFixed(2)}:1`);
    assert.ok((await contrastOf(frame, '.where')) >= 4.5, 'secondary text');
    await frame.locator('#verdict').scrollIntoViewIfNeeded();
  });

  step(
    '10b',
    'the view in the light theme at 1400x900: flags-mode notification, the timed chart shows ~2% unhandled far below the threshold',
    'simulation-light-chart',
    async () => {
      let frame = await waitForWebview(wb.page, /Simulation of/, 10_000);
      await markStale(frame);
      await frame.locator('#opt-device').selectOption('prompt');
      frame = await waitForRerun(wb.page, frame);
      await markStale(frame);
      await frame.locator('#opt-notify').selectOption('flags');
      frame = await waitForRerun(wb.page, frame);
      assert.equal(await frame.locator('#opt-notify').inputValue(), 'flags');
      assert.match(
        await frame.locator('#timed-summary').innerText(),
        /As written \(spin_lock\): [\d,]+ of [\d,]+ handler returns were IRQ_NONE \([1-9][\d.]*%\); the line stays enabled/,
      );
      // The data sits between 0 and the threshold, apart from both.
      const ys = await frame.evaluate(() => {
        const pts = document
          .querySelector('#timed-chart polyline.series.before')
          .getAttribute('points')
          .split(' ')
          .map(p => Number(p.split(',')[1]));
        return {
          top: Math.min(...pts.slice(pts.length / 2)),
          threshold: Number(document.querySelector('#threshold').getAttribute('y1')),
          floor: Number(document.querySelectorAll('#timed-chart line.axis')[1].getAttribute('y1')),
        };
      });
      assert.ok(ys.top > ys.threshold + 60 && ys.top < ys.floor - 30, JSON.stringify(ys));
      await frame.locator('#timed-chart').scrollIntoViewIfNeeded();
    },
  );

  step('10c', 'the view in the dark high-contrast theme', 'simulation-high-contrast', async () => {
    await pickTheme(wb, 'Dark High Contrast');
    await wb.page.locator('.monaco-workbench.hc-black').waitFor({ state: 'attached', timeout: 30_000 });
    const frame = await waitForWebview(wb.page, /Simulation of/, 10_000);
    await frame.locator('body.vscode-high-contrast').waitFor({ state: 'attached', timeout: 15_000 });
    assert.ok((await contrastOf(frame, 'td.bad a')) >= 4.5);
    await frame.locator('#verdict').scrollIntoViewIfNeeded();
  });

  step('11', "the view's docs/model.md link opens the bundled document in the markdown preview", 'simulation-docs', async () => {
    const frame = await waitForWebview(wb.page, /Simulation of/, 10_000);
    await frame.locator('#no-bound a.doc, #fix-summary a.doc').first().click();
    await wb.waitForText('.tabs-container .tab', /Preview model\.md/, 20_000);
    // The preview shows the bundled document (offline: it is a file of the extension).
    await waitForWebview(wb.page, /The untimed model completes N buffers in all/, 30_000);
  });

  step('12', '"Show documentation for VRL001" in the light bulb opens the bundled README at the rule, offline', 'docs-action', async () => {
    await wb.openFile('drivers/gpu/demo/demo_vq.c');
    await wb.goToLine(56, 3);
    await wb.quickFix('Show documentation for VRL001', { onMenu: () => wb.screenshot(`${NAME}-12-light-bulb-menu`) });
    await wb.waitForText('.tabs-container .tab', /Preview (README|readme)\.md/, 20_000);
    // The README shipped in the extension (a file of the extension: no network).
    await waitForWebview(wb.page, /VRL001 irq-unsafe-vq-drain/, 30_000);
  });

  step(
    '12b',
    'the status item opens a menu (re-index, show findings, simulate current, show output) instead of simulating',
    'status-menu',
    async () => {
      await wb.page
        .locator('.statusbar-item', { hasText: /VRL001: \d/ })
        .first()
        .click();
      const picker = wb.page.locator('.quick-input-widget');
      await picker.waitFor({ state: 'visible', timeout: 10_000 });
      const labels = await picker.locator('.quick-input-list .monaco-list-row .label-name').allInnerTexts();
      assert.deepEqual(
        labels.map(l => l.trim()),
        ['Re-index the workspace', 'Show findings', 'Simulate the current finding', 'Show output'],
      );
      await wb.screenshot(`${NAME}-12b-status-menu-open`);
      await picker.locator('.quick-input-list .monaco-list-row').filter({ hasText: 'Show output' }).click();
      // One channel: the server's lines and the client's, each with a time and a level.
      await wb.waitForText('.output-view, .panel', /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\s\[info\]\s/, 20_000);
    },
  );

  step(
    '12c',
    '"Virtio Race: Create kernel patch" writes a .patch file in the workspace and opens it as a normal file',
    'create-patch',
    async () => {
      await wb.openFile('drivers/gpu/demo/demo_vq.c');
      await wb.goToLine(56, 3);
      await wb.runCommand('Virtio Race: Create kernel patch');
      const note = await wb.waitForNotification(/Kernel patch written: 0001-[\w.-]+\.patch\./, 30_000);
      const name = /Kernel patch written: (0001-[\w.-]+\.patch)\./.exec(note)[1];
      assert.ok(fs.existsSync(path.join(session.workspace, name)), `${name} is not in the workspace folder`);
      assert.match(fs.readFileSync(path.join(session.workspace, name), 'utf8'), /^From: E2E Tester <e2e@example\.org>$/m);
      // A file tab named after it (not an untitled document that asks to be saved).
      const active = '.part.editor .editor-group-container.active .tab.active';
      await wb.waitForText(active, new RegExp(name.replace(/[.]/g, '\\.')), 15_000);
      assert.doesNotMatch((await wb.page.locator(active).allInnerTexts()).join(' '), /Untitled/);
    },
  );

  step('13', 'the suppress action inserts the comment with the reason selected: typing replaces it', 'suppress-snippet', async () => {
    await wb.openFile('drivers/gpu/demo/demo_vq.c');
    await wb.goToLine(56, 3);
    await wb.quickFix('Suppress VRL001 for demo_dequeue_cursor_func()');
    // The client inserts the snippet after the menu closes: wait for it before typing.
    let text = '';
    for (const until = Date.now() + 10_000; Date.now() < until && !/ignore VRL001 -- reviewed: reason \*\//.test(text);) {
      text = await wb.activeEditorText();
      await new Promise(r => setTimeout(r, 200));
    }
    assert.match(text, /ignore VRL001 -- reviewed: reason \*\//);
    await wb.screenshot(`${NAME}-13-suppress-snippet-inserted`);
    await wb.page.keyboard.type('the device never interrupts this queue');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      text = await wb.activeEditorText();
      if (/reviewed: the device never interrupts this queue \*\//.test(text)) break;
      await new Promise(r => setTimeout(r, 250));
    }
    assert.match(text, /\/\* virtio-race-lint: ignore VRL001 -- reviewed: the device never interrupts this queue \*\//);
  });
});

/** Preferences: Color Theme, then the theme labelled `label`. */
async function pickTheme(wb, label) {
  await wb.runCommand('Preferences: Color Theme', { keepOpen: true });
  const picker = wb.page.locator('.quick-input-widget');
  await picker.locator('.quick-input-box input').fill(label);
  await picker
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: wb.page.locator('.label-name', { hasText: new RegExp(`^\\s*${label}\\s*$`) }) })
    .first()
    .click();
  await picker.waitFor({ state: 'hidden', timeout: 5000 });
}

/** WCAG contrast of the first `selector`'s text colour against the view's background. */
async function contrastOf(frame, selector) {
  return frame.evaluate(sel => {
    const rgb = s =>
      s
        .match(/\d+(\.\d+)?/g)
        .slice(0, 3)
        .map(Number);
    const lum = ([r, g, b]) =>
      [r, g, b]
        .map(c => c / 255)
        .map(c => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
        .reduce((a, c, i) => a + c * [0.2126, 0.7152, 0.0722][i], 0);
    const fg = lum(rgb(getComputedStyle(document.querySelector(sel)).color));
    const bg = lum(rgb(getComputedStyle(document.body).backgroundColor));
    return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  }, selector);
}

/** Marks the view's current document, so that waitForRerun can tell the next one from it. */
async function markStale(frame) {
  await frame.evaluate(() => {
    document.body.dataset.stale = '1';
  });
}

/**
 * The view's frame once a re-run has replaced the marked document (or shown a refusal); on a
 * timeout, says what the old document's status and error lines showed.
 */
async function waitForRerun(page, old, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      try {
        if ((await frame.locator('body #verdict').count()) === 0) continue;
        if ((await frame.locator('body[data-stale]').count()) === 0) return frame;
      } catch {
        /* detached */
      }
    }
    await new Promise(r => setTimeout(r, 250));
  }
  const state = await old
    .evaluate(() => ({ status: document.getElementById('status')?.textContent, error: document.getElementById('error')?.textContent }))
    .catch(e => ({ detached: e.message }));
  throw new Error(`the view did not re-run within ${timeoutMs} ms: ${JSON.stringify(state)}`);
}

/**
 * The webview's content frame (VS Code nests it: webview host iframe, then the content iframe)
 * whose `selector` text matches; the view replaces its document on every re-run, so look again.
 */
async function waitForWebview(page, regex, timeoutMs, selector = 'body') {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      try {
        if ((await frame.locator(selector).count()) === 0) continue;
        const text = await frame.locator(selector).first().innerText({ timeout: 500 });
        if (selector !== 'body' || regex.test(text)) last = text;
        if (regex.test(text)) return frame;
      } catch {
        /* frame not ready or detached */
      }
    }
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`no webview frame shows ${regex} in ${selector}; last: ${JSON.stringify(last.slice(0, 300))}`);
}
