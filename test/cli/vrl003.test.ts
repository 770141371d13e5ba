import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyDir, runCli, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

const PAIRINGS = path.join(FIXTURES, 'vrl003', 'pairings');
const LEGIT = path.join(FIXTURES, 'vrl003', 'legitimate');

describe('virtio-race-lint check: VRL003', () => {
  it('reports each mismatched unlock in compiler-style text and exits 1', async () => {
    const r = await runCli(['check', 'pairings.c'], PAIRINGS);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 17);
    assert.equal(
      lines[0],
      'pairings.c:18:2: warning: demo_irqsave_plain() takes spin_lock_irqsave() but releases it with spin_unlock(): hard IRQs stay off [VRL003]',
    );
    for (const l of lines) assert.match(l, /^pairings\.c:\d+:\d+: warning: \w+\(\) takes .* but releases it with \w+\(\): .* \[VRL003\]$/);
  });

  it('exits 0 on the legitimate pairs and splits', async () => {
    const r = await runCli(['check', 'legitimate.c'], LEGIT);
    assert.equal(r.stdout, '');
    assert.equal(r.code, 0);
  });

  it('emits VRL003 in JSON: the contract fields, the unlock, and no drain', async () => {
    const r = await runCli(['check', '--format', 'json', 'pairings.c'], PAIRINGS);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    const f = out.findings[0];
    for (const k of ['rule', 'file', 'line', 'column', 'handler', 'callback', 'lock', 'message']) assert.ok(k in f, k);
    assert.deepEqual(
      [f.rule, f.file, f.line, f.column, f.handler, f.callback, f.lock],
      ['VRL003', 'pairings.c', 18, 2, 'demo_irqsave_plain', '', 'spin_lock_irqsave(&d->lock, flags)'],
    );
    assert.deepEqual(f.unlock, { line: 18, column: 2, text: 'spin_unlock(&d->lock)', api: 'spin_unlock' });
    assert.equal('drain' in f, false);
    assert.deepEqual(
      f.related.map((x: { role: string; line: number }) => [x.role, x.line]),
      [['lock', 15]],
    );
  });

  it('emits VRL003 in SARIF with its rule in the driver and a fingerprint per unlock', async () => {
    const r = await runCli(['check', '--format=sarif', 'pairings.c'], PAIRINGS);
    assert.equal(r.code, 1);
    const run = JSON.parse(r.stdout).runs[0];
    const rules = run.tool.driver.rules as { id: string; name: string; helpUri: string; defaultConfiguration: { level: string } }[];
    assert.deepEqual(
      rules.map(x => x.id),
      ['VRL001', 'VRL002', 'VRL003'],
    );
    const i = rules.findIndex(x => x.id === 'VRL003');
    assert.equal(rules[i].name, 'irq-flags-mismatch');
    assert.equal(rules[i].defaultConfiguration.level, 'warning');
    assert.match(rules[i].helpUri, /README\.md#vrl003-irq-flags-mismatch$/);
    const results = run.results as {
      ruleId: string;
      ruleIndex: number;
      level: string;
      partialFingerprints: Record<string, string>;
      properties: { unlock?: string };
    }[];
    assert.equal(results.length, 17);
    for (const x of results) {
      assert.equal(x.ruleId, 'VRL003');
      assert.equal(x.ruleIndex, i);
      assert.equal(x.level, 'warning');
      assert.ok(x.properties.unlock);
    }
    const prints = results.map(x => x.partialFingerprints['virtioRaceLint/v1']);
    assert.equal(new Set(prints).size, prints.length);
  });

  it('fix leaves VRL003 findings alone (fix is the VRL001 irqsave fix)', async () => {
    const dir = tempDir('vrl003-fix-');
    copyDir(PAIRINGS, dir);
    const before = fs.readFileSync(path.join(dir, 'pairings.c'), 'utf8');
    const r = await runCli(['fix', 'pairings.c'], dir);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /fixed 0 findings in 0 files/);
    assert.equal(fs.readFileSync(path.join(dir, 'pairings.c'), 'utf8'), before);
  });
});
