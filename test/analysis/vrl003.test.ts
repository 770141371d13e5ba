import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';
import { Project } from '../../src/analysis/project';
import { vrl003 } from '../../src/analysis/rules/vrl003';
import { expectationsIn, fixtureDirs } from '../helpers/fixtures';

/** The fixtures are named files: a directory walk only parses virtio driver files. */
const filesOf = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter(n => /\.[ch]$/.test(n))
    .map(n => path.join(dir, n));

describe('VRL003 irq-flags-mismatch on annotated fixtures', () => {
  for (const dir of fixtureDirs('vrl003')) {
    it(path.basename(dir), async () => {
      const expected = expectationsIn(dir).filter(e => e.rule === 'VRL003');
      assert.ok(expected.length > 0, 'fixture has no annotations');
      const { findings: all, warnings } = await checkPaths(filesOf(dir), { workers: 0 });
      assert.deepEqual(warnings, []);
      const findings = all.filter(f => f.rule === 'VRL003');
      for (const e of expected) {
        const here = findings.filter(f => f.file === e.file && f.span.line === e.line);
        const where = `${path.basename(e.file)}:${e.line + 1}`;
        if (e.kind === 'ok') {
          assert.equal(here.length, 0, `unexpected finding at ${where}: ${here[0]?.message}`);
          continue;
        }
        assert.equal(here.length, 1, `expected one finding at ${where}, got ${here.length}`);
        if (e.attrs.unlock) assert.equal(here[0].unlock?.api, e.attrs.unlock, where);
      }
      const wanted = new Set(expected.filter(e => e.kind === 'ruleid').map(e => `${e.file}:${e.line}`));
      for (const f of findings)
        assert.ok(
          wanted.has(`${f.file}:${f.span.line}`),
          `finding not annotated: ${path.basename(f.file)}:${f.span.line + 1} ${f.message}`,
        );
    });
  }

  it('reports on the unlock, names function, lock and unlock in a short first line, and says only what the pair does', async () => {
    const [dir] = fixtureDirs('vrl003').filter(d => d.endsWith('pairings'));
    const { findings } = await checkPaths(filesOf(dir), { workers: 0 });
    assert.ok(findings.length >= 10);
    for (const f of findings) {
      assert.equal(f.rule, 'VRL003');
      assert.equal(f.severity, 'warning');
      assert.ok(f.unlock && f.span.start === f.unlock.span.start);
      assert.equal(f.drain, undefined);
      const [first, second, ...more] = f.message.split('\n');
      assert.deepEqual(more, []);
      assert.ok(first.startsWith(`${f.lockFunction}() takes `), first);
      assert.ok(first.includes(`but releases it with ${f.unlock.api}(): `), first);
      assert.ok(first.length <= 110, `${first.length}: ${first}`);
      assert.ok(second.length > 0);
      assert.deepEqual(
        f.related.map(r => r.role),
        ['lock'],
      );
    }
    const by = (fn: string) => findings.find(f => f.lockFunction === fn)!.message;
    assert.equal(
      by('demo_loop').split('\n')[0],
      'demo_loop() takes spin_lock_irqsave(&d->lock, flags) but releases it with spin_unlock(): hard IRQs stay off',
    );
    // Too long with the lock call's arguments: the API alone (the call is the related location).
    assert.equal(
      by('demo_irqsave_plain').split('\n')[0],
      'demo_irqsave_plain() takes spin_lock_irqsave() but releases it with spin_unlock(): hard IRQs stay off',
    );
    assert.match(
      by('demo_irqsave_plain'),
      /but spin_unlock\(\) leaves them disabled: they stay off after the unlock until something restores flags\./,
    );
    assert.match(
      by('demo_stale_flags'),
      /spin_lock_irqsave\(\) on line 165 saved flags for its own spin_unlock_irqrestore\(\): flags is restored twice\./,
    );
    assert.match(
      by('demo_plain_irq'),
      /enables local hard IRQs unconditionally, though spin_lock\(\) did not disable them: wrong if the caller had them off/,
    );
    assert.match(
      by('demo_plain_irqrestore'),
      /sets local hard IRQs to the state held in flags \(spin_lock\(\) did not touch them\), but no irqsave call in demo_plain_irqrestore\(\) saves flags before it/,
    );
    assert.match(by('demo_irq_plain'), /spin_lock_irq\(\) disables local hard IRQs and spin_unlock\(\) does not enable them again/);
    assert.match(by('demo_bh_plain'), /softirqs stay off/);
    assert.match(by('demo_bh_irq'), /IRQs forced on, softirqs stay off/);
    assert.match(by('demo_irqsave_plain'), /The matching unlock is spin_unlock_irqrestore\(\)\.$/);
  });

  it('is silenced by a VRL003 suppression comment in the function, not by a VRL001 one', async () => {
    await initParser();
    const body = (rule: string) =>
      `void f(spinlock_t *l)\n{\n\t/* virtio-race-lint: ignore ${rule} -- reviewed: IRQs restored by the caller */\n\tspin_lock_irq(l);\n\tspin_unlock(l);\n}\n`;
    for (const [rule, reported] of [
      ['VRL003', 0],
      ['VRL001', 1],
    ] as const) {
      const p = new Project();
      p.setFacts(factsFromText('/x/f.c', body(rule)));
      const a = p.analyse();
      assert.equal(a.findings.length, reported, rule);
      assert.equal(a.suppressed.length, 1 - reported, rule);
    }
  });

  it('links to its README section', () => {
    assert.match(vrl003.meta.docsUrl, /README\.md#vrl003-irq-flags-mismatch$/);
  });
});
