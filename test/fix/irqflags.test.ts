import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';
import { Project } from '../../src/analysis/project';
import { irqFlagsFix } from '../../src/fix/irqflags';
import { applyEdits, errorCount, fixAll } from '../../src/fix/irqsave';
import { fixtureDirs } from '../helpers/fixtures';

function analyse(file: string, text: string) {
  const facts = factsFromText(file, text);
  const p = new Project();
  p.setFacts(facts);
  return { facts, findings: p.findings().filter(f => f.rule === 'VRL003') };
}

/** Applies the fix of each finding, one at a time, re-analysing in between. */
function fixEach(file: string, text: string): { text: string; refused: string[] } {
  const refused: string[] = [];
  for (let round = 0; round < 20; round++) {
    const { facts, findings } = analyse(file, text);
    const fixable = findings.map(f => irqFlagsFix(f, facts, text));
    const ok = fixable.find(r => r.ok);
    if (!ok || !ok.ok) {
      for (const r of fixable) if (!r.ok) refused.push(r.reason);
      return { text, refused };
    }
    text = applyEdits(text, ok.edits);
  }
  throw new Error('the fix does not converge');
}

/** RuleTester-style: before.c -> after.c (every VRL003 finding fixed), or refused.txt. */
describe('VRL003 fix on before/after fixtures', () => {
  before(() => initParser());

  for (const dir of fixtureDirs('fix-vrl003')) {
    it(path.basename(dir), () => {
      const file = path.join(dir, 'before.c');
      const before = fs.readFileSync(file, 'utf8');
      const { facts, findings } = analyse(file, before);
      assert.ok(findings.length > 0, 'the fixture has no finding to fix');
      const refusedPath = path.join(dir, 'refused.txt');
      if (fs.existsSync(refusedPath)) {
        const want = new RegExp(fs.readFileSync(refusedPath, 'utf8').trim());
        for (const f of findings) {
          const r = irqFlagsFix(f, facts, before);
          assert.equal(r.ok, false);
          assert.match(!r.ok ? r.reason : '', want);
        }
        return;
      }
      // Each finding's fix alone touches only its unlock call.
      for (const f of findings) {
        const r = irqFlagsFix(f, facts, before);
        assert.ok(r.ok, !r.ok ? r.reason : '');
        if (r.ok) for (const e of r.edits) assert.ok(e.start >= f.span.start && e.end <= f.span.end);
      }
      const expected = fs.readFileSync(path.join(dir, 'after.c'), 'utf8');
      const { text: after, refused } = fixEach(file, before);
      assert.deepEqual(refused, []);
      assert.equal(after, expected);
      // The output parses no worse, VRL003 no longer fires, and fixing again changes nothing.
      assert.ok(errorCount(after) <= errorCount(before));
      const again = analyse(file, after);
      assert.deepEqual(again.findings, []);
      assert.equal(fixEach(file, after).text, after);
    });
  }

  it('is not the irqsave fix: fix-all of VRL001 leaves VRL003 findings alone', () => {
    const file = path.join(
      fixtureDirs('fix-vrl003').find(d => d.endsWith('irqsave'))!,
      'before.c',
    );
    const text = fs.readFileSync(file, 'utf8');
    const { facts, findings } = analyse(file, text);
    assert.equal(findings.length, 1);
    assert.deepEqual(fixAll(findings, facts, text), { edits: [], fixed: [], refused: [] });
  });

  it('titles the fix by what it changes', () => {
    const file = path.join(
      fixtureDirs('fix-vrl003').find(d => d.endsWith('irqsave'))!,
      'before.c',
    );
    const text = fs.readFileSync(file, 'utf8');
    const { facts, findings } = analyse(file, text);
    const r = irqFlagsFix(findings[0], facts, text);
    assert.ok(r.ok);
    assert.equal(r.ok && r.title, 'Release d->lock with spin_unlock_irqrestore() to match spin_lock_irqsave()');
  });
});
