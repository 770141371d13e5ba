import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';
import { Project } from '../../src/analysis/project';
import { applyEdits, errorCount, fixAll, irqsaveFix } from '../../src/fix/irqsave';
import { FIXTURES, fixtureDirs } from '../helpers/fixtures';

function analyse(file: string, text: string) {
  const facts = factsFromText(file, text);
  const p = new Project();
  p.setFacts(facts);
  // The irqsave fix is VRL001's; VRL003 (an inconsistent pair, as in refuse-ifdef-mixed) has its own.
  return { facts, findings: p.findings().filter(f => f.rule === 'VRL001') };
}

/** RuleTester-style: before.c -> after.c (all findings fixed), or refused.txt. */
describe('irqsave fix on before/after fixtures', () => {
  before(() => initParser());

  for (const dir of fixtureDirs('fix')) {
    it(path.basename(dir), () => {
      const file = path.join(dir, 'before.c');
      const before = fs.readFileSync(file, 'utf8');
      const { facts, findings } = analyse(file, before);
      assert.ok(findings.length > 0, 'the fixture has no finding to fix');
      const refusedPath = path.join(dir, 'refused.txt');
      if (fs.existsSync(refusedPath)) {
        const want = new RegExp(fs.readFileSync(refusedPath, 'utf8').trim());
        for (const f of findings) {
          const r = irqsaveFix(f, facts, before);
          assert.equal(r.ok, false);
          assert.match(!r.ok ? r.reason : '', want);
        }
        const all = fixAll(findings, facts, before);
        assert.deepEqual(all.edits, []);
        assert.equal(all.refused.length, findings.length);
        return;
      }
      const expected = fs.readFileSync(path.join(dir, 'after.c'), 'utf8');
      const all = fixAll(findings, facts, before);
      assert.deepEqual(all.refused, []);
      const after = applyEdits(before, all.edits);
      assert.equal(after, expected);
      // ESLint's RuleTester invariants: the output parses no worse, the rule is satisfied, and
      // fixing again changes nothing.
      assert.ok(errorCount(after) <= errorCount(before));
      const again = analyse(file, after);
      assert.deepEqual(again.findings, []);
      assert.deepEqual(fixAll(again.findings, again.facts, after).edits, []);
      // One finding at a time gives the same text when the fixture has a single finding.
      if (findings.length === 1) {
        const one = irqsaveFix(findings[0], facts, before);
        assert.ok(one.ok);
        assert.equal(applyEdits(before, one.ok ? one.edits : []), expected);
      }
    });
  }

  it("refuses a lock taken through a wrapper of the driver's header or of another .c file, naming where it is defined", async () => {
    const dir = path.join(FIXTURES, 'vrl001', 'driver-wrappers');
    const { findings, project } = await checkPaths([dir], { workers: 0 });
    const reasons: Record<string, string> = {};
    // VRL001's findings (demo_dropped_handler drains after the lock is dropped: VRL002's, no fix).
    for (const f of findings.filter(x => x.rule === 'VRL001')) {
      const r = irqsaveFix(f, project.index.get(f.file)!, fs.readFileSync(f.file, 'utf8'));
      assert.equal(r.ok, false, f.handler);
      reasons[f.handler!] = !r.ok ? r.reason : '';
    }
    const left = ': its other callers would change with it, so it is left alone';
    assert.deepEqual(reasons, {
      demo_hdr_handler: `demo_drv_lock() takes or drops the lock for its callers and is defined in the header demo_drv.h, which other files may include${left}`,
      demo_macro_handler: `DEMO_DRV_LOCK() takes or drops the lock for its callers and is defined in the header demo_drv.h, which other files may include${left}`,
      demo_util_handler: `demo_util_lock() takes or drops the lock for its callers and is defined in demo_util.c, where it is not static${left}`,
      demo_nested_handler: `demo_main_lock() takes or drops the lock through demo_drv_lock(), defined in the header demo_drv.h, which other files may include${left}`,
    });
  });

  it('titles the fix without claiming more than it does', () => {
    const file = path.join(FIXTURES, 'fix', 'basic', 'before.c');
    const text = fs.readFileSync(file, 'utf8');
    const { facts, findings } = analyse(file, text);
    const r = irqsaveFix(findings[0], facts, text);
    assert.ok(r.ok);
    assert.equal(r.ok && r.title, 'Take fsvq->lock with spin_lock_irqsave() in demo_done_work()');
  });

  it('fix-all counts each finding once, as fixed or as refused', () => {
    const file = path.join(FIXTURES, 'fix', 'basic', 'before.c');
    const text = fs.readFileSync(file, 'utf8');
    const { facts, findings } = analyse(file, text);
    const [f] = findings;
    // A second finding at the same lock call rides on the first one's edits.
    const twin = { ...f, handler: 'other_handler' };
    const good = fixAll([f, twin], facts, text);
    assert.deepEqual(good.fixed.map(x => x.handler).sort(), ['demo_done_work', 'other_handler']);
    assert.deepEqual(good.refused, []);
    assert.deepEqual(good.edits, fixAll([f], facts, text).edits);

    // Facts whose lock call name runs into its parenthesis: the edited function would not
    // parse, so nothing of it is fixed. A finding at an unlock is refused by the plan.
    const broken = structuredClone(facts);
    const fn = broken.functions.find(x => x.name === f.lockFunction)!;
    const op = fn.lockOps[f.lockOp];
    op.nameSpan = { ...op.nameSpan, end: op.argsSpan.start + 1 };
    const unlock = fn.lockOps.findIndex(o => o.action === 'unlock');
    const atUnlock = { ...f, lockOp: unlock, span: fn.lockOps[unlock].span };
    const bad = fixAll([f, twin, atUnlock], broken, text);
    assert.deepEqual(bad.edits, []);
    assert.deepEqual(bad.fixed, []);
    assert.deepEqual(
      bad.refused.map(r => [r.finding, r.reason]),
      [
        [atUnlock, 'the finding does not point at a lock call'],
        [f, 'the edited function would not parse cleanly; not applying'],
        [twin, 'the edited function would not parse cleanly; not applying'],
      ],
    );
  });

  it('refuses, with a reason, when the text changed under the finding', () => {
    const file = path.join(FIXTURES, 'fix', 'basic', 'before.c');
    const text = fs.readFileSync(file, 'utf8');
    const { facts, findings } = analyse(file, text);
    const stale = { ...findings[0], span: { ...findings[0].span, start: findings[0].span.start + 1 } };
    const r = irqsaveFix(stale, facts, text);
    assert.equal(r.ok, false);
  });
});
