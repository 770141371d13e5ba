import * as assert from 'node:assert/strict';
import {
  SourceMap,
  compareBeforeAfter,
  comparisonToJson,
  explore,
  renderScenario,
  renderScenarios,
  renderSummary,
  renderVerdictTable,
  resultToJson,
} from '../../src/sim';
import { resolveConfig } from '../../src/sim/model';
import { propertyTitle } from '../../src/sim/report';

const F = 'fs/fuse/virtio_fs.c';
const MAP: SourceMap = {
  callback: { file: F, line: 1010 },
  schedule: { file: F, line: 1014 },
  handler: { file: F, line: 700 },
  lock: { file: F, line: 712 },
  disableCb: { file: F, line: 714 },
  drain: { file: F, line: 716 },
  enableCb: { file: F, line: 721 },
  unlock: { file: F, line: 722 },
};

describe('sim: reports', () => {
  const cmp = compareBeforeAfter({ n: 4 });

  it('renders the before/after verdict table from the results', () => {
    const t = renderVerdictTable(cmp);
    assert.match(t, /property\s+question\s+as written \(spin_lock\)\s+with spin_lock_irqsave/);
    assert.match(t, /\nA\s+IRQ_NONE reachable\s+V \(16 steps\)\s+V \(20 steps\)/);
    assert.match(t, /\nB\s+.*V \(16 steps\)\s+-\n/);
    assert.match(t, /\nD\s+.*-\s+-\n/);
    assert.match(t, /states \/ transitions\s+1278 \/ 2216\s+961 \/ 1695/);
    const capped = renderVerdictTable(compareBeforeAfter({ n: 5, maxStates: 50 }));
    assert.match(capped, /\? \(capped\)/);
    assert.match(capped, /state cap reached/);
  });

  it('explores an already-irqsave configuration once, and says the fix changes nothing', () => {
    const same = compareBeforeAfter({ n: 3, lock: 'spin_lock_irqsave' });
    assert.equal(same.after, same.before);
    assert.match(renderSummary(same), /already masks local IRQs/);
    const irq = compareBeforeAfter({ n: 3, lock: 'spin_lock_irq' });
    assert.notEqual(irq.after, irq.before);
    assert.equal(irq.after.config.lock, 'spin_lock_irqsave');
  });

  it('renders a counterexample lockdep-style, with steps in their columns and source locations', () => {
    const text = renderScenario(cmp.after, 'A', MAP);
    const lines = text.split('\n');
    const header = lines.find(l => /CPU0/.test(l))!;
    const cpu0 = header.indexOf('CPU0'),
      cpu1 = header.indexOf('CPU1'),
      dev = header.indexOf('device');
    assert.ok(cpu0 < cpu1 && cpu1 < dev);
    const start = (n: number) => {
      const l = lines.find(x => x.startsWith(`${n}.`))!;
      return l.slice(l.indexOf('.') + 1).search(/\S/) + l.indexOf('.') + 1;
    };
    const trace = cmp.after.properties.A.trace!;
    trace.forEach((s, i) => {
      const col = start(i + 1);
      if (s.actor === 'device' || s.actor === 'fabric') assert.equal(col, dev, `step ${i + 1} in the device column`);
      else assert.equal(col, cpu0, `step ${i + 1} in the CPU0 column`);
    });
    assert.match(text, /spin_lock_irqsave\(&fsvq->lock\): local IRQs off {2}\[fs\/fuse\/virtio_fs\.c:712\]/);
    assert.match(text, /virtqueue_get_buf\(\) -> NULL {2}\[fs\/fuse\/virtio_fs\.c:716\]/);
    assert.match(text, /spin_unlock_irqrestore\(&fsvq->lock\): local IRQs back on {2}\[fs\/fuse\/virtio_fs\.c:722\]/);
    assert.match(text, /<IRQ> callback: schedule_work\(&fsvq->done_work\) -> IRQ_HANDLED {2}\[fs\/fuse\/virtio_fs\.c:1014\]/);
    // vring_interrupt() is not in the driver: the step names it and cites no driver line.
    assert.match(text, /\n20\.\s+<IRQ> vring_interrupt\(\): ring empty .*IRQ_NONE\n/);
    assert.match(text, /\*\*\* step 20 returns IRQ_NONE \*\*\*/);
    // Without a map there are no locations.
    assert.doesNotMatch(renderScenario(cmp.after, 'A'), /virtio_fs\.c:/);
  });

  it('puts steps of CPU 1 in the CPU1 column', () => {
    const r = explore({ n: 4, target: 'other', wqLocal: false });
    const text = renderScenario(r, 'B2', MAP);
    const lines = text.split('\n');
    const header = lines.find(l => /CPU0/.test(l))!;
    const cpu1 = header.indexOf('CPU1');
    const irqLine = lines.find(l => /IRQ_NONE while the work holds the lock/.test(l))!;
    assert.equal(irqLine.indexOf('<IRQ>'), cpu1);
    assert.match(renderScenario(r, 'B', MAP), /B: .*holds in the explored model/);
    assert.ok(renderScenarios(r, MAP).includes('B2: IRQ_NONE on any CPU'));
  });

  it('renders each distinct counterexample once, and names the property that shows a shared one', () => {
    const text = renderScenarios(cmp.before, MAP);
    assert.equal(text.match(/Shortest counterexample/g)!.length, 2, 'A and C; B, B2 and CX share theirs');
    assert.match(
      text,
      /^B: IRQ_NONE on the work's CPU while the drain holds the lock: the counterexample of A shows this too \(step 16\)\.$/m,
    );
    assert.match(text, /^CX: .*: the counterexample of C shows this too \(step \d+\)\.$/m);
  });

  it('has a JSON form that round-trips and carries locations', () => {
    const j = JSON.parse(JSON.stringify(comparisonToJson(cmp, MAP)));
    assert.equal(j.before.states, cmp.before.states);
    assert.equal(j.after.properties.B.violated, false);
    const steps = j.after.properties.A.trace;
    assert.equal(steps.length, 20);
    assert.deepEqual(steps.find((s: { cmd: string }) => s.cmd === 'W1').loc, { file: F, line: 712 });
    assert.equal(steps.find((s: { cmd: string }) => s.cmd === 'D1').loc, undefined);
    assert.equal(typeof j.summary, 'string');
    const single = resultToJson(explore({ n: 3, lock: 'mutex', cbLock: true })) as { illegal: string };
    assert.equal(single.illegal, 'mutex taken in hard-IRQ context');
  });

  it('writes a summary derived from the results, claiming no more than §10', () => {
    const s = renderSummary(cmp);
    assert.match(s, /IRQ_NONE stays reachable \(A, 20 steps\)/);
    assert.match(s, /the fix closes B \([^)]*\), B2 \([^)]*\), C \([^)]*\), CX/);
    assert.match(s, /no run here has more than 2 IRQ_NONE per IRQ_HANDLED \(C holds at N=4\)/);
    assert.match(
      s,
      /^Confirmed as written \(spin_lock\): an interrupt can land on the work's CPU mid-drain and return IRQ_NONE \(B, 16 steps\)\./,
    );
    assert.match(s, /threadirqs/);
    assert.match(s, /docs\/model\.md/);
    assert.doesNotMatch(s, /It does not close/);
    // Another CPU: irqsave masks only the local one; C is not closed and note_interrupt is not excluded.
    const other = renderSummary(compareBeforeAfter({ n: 4, target: 'other', wqLocal: false }));
    assert.match(other, /even during the drain \(B2\)/);
    assert.match(other, /It does not close B2 .* C .* CX/);
    assert.match(other, /irqsave masks only the local one/);
    assert.doesNotMatch(other, /C holds/);
    // In-flight MSIs: the bound on the same CPU is lost.
    assert.match(renderSummary(compareBeforeAfter({ n: 4, lat: true })), /MSIs in flight at the unlock land separately/);
    // The callback lock: D closed; mutex illegal.
    const m = renderSummary(compareBeforeAfter({ n: 4, lock: 'mutex', cbLock: true }));
    assert.match(m, /closes .*D \(AA deadlock/);
    assert.match(m, /illegal/);
    // A cached device loses completions with both locks.
    assert.match(
      renderSummary(compareBeforeAfter({ n: 3, stale: 'cached' })),
      /Lost completions \(E\) are reachable with both locks: they need a device that caches/,
    );
    // N=3 does not discriminate C.
    assert.match(renderSummary(compareBeforeAfter({ n: 3 })), /C holds with both locks at N=3/);
    // A capped exploration is not called exhaustive (issue 9).
    const capped = renderSummary(compareBeforeAfter({ n: 5, maxStates: 1000 }));
    assert.match(capped, /Partial exploration, stopped at the state cap/);
    assert.doesNotMatch(capped, /Exhaustive/);
    assert.match(capped, /properties reported as holding are unproven/);
    // Nothing to fix when the code already uses irqsave.
    assert.match(renderSummary(compareBeforeAfter({ n: 3, lock: 'spin_lock_irq' })), /already masks local IRQs/);
  });
});

describe('property questions per configuration', () => {
  it('asks B and B2 about the lock only where the drain takes one', () => {
    assert.match(propertyTitle('B', resolveConfig({ lock: 'spin_lock' })), /while the drain holds the lock/);
    assert.match(propertyTitle('B', resolveConfig({ lock: 'mutex' })), /while the drain holds the lock/);
    assert.equal(propertyTitle('B', resolveConfig({ lock: 'none' })), "IRQ_NONE on the work's CPU while it drains");
    assert.equal(propertyTitle('B', resolveConfig({ napi: true, lock: 'none' })), "IRQ_NONE on the poll's CPU while it drains");
    assert.doesNotMatch(propertyTitle('B2', resolveConfig({ lock: 'none' })), /lock/);
    assert.equal(propertyTitle('A', resolveConfig({ lock: 'none' })), propertyTitle('A', resolveConfig({ lock: 'spin_lock' })));
  });
});
