import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { configFor, modelAt, modelFromFinding, modelFromFunction, renderSimulationText, simulateCode } from '../../src/sim/fromCode';
import { simulationView } from '../../src/api/simulationView';
import { runCli } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

const GPU = path.join(FIXTURES, 'vrl001', 'gpu-helper-binding');
const CB_LOCK = path.join(FIXTURES, 'sim', 'cb_lock.c');
const IRQ_OFF = path.join(FIXTURES, 'sim', 'irq_off.c');
const HELPER = path.join(FIXTURES, 'sim', 'lock_in_helper.c');

describe('simulation from analysed code', function () {
  this.timeout(30000);

  it('reads the lock kind, the re-check loop and the locations from a finding', async () => {
    const { findings, project } = await checkPaths([GPU], { workers: 0 });
    const f = findings.find(x => x.handler === 'demo_dequeue_ctrl_func')!;
    const m = modelFromFinding(f, project.index)!;
    assert.equal(m.lock, 'spin_lock');
    assert.equal(m.drain, 'recheck');
    assert.equal(m.callbackLocks, false);
    assert.equal(m.callback, 'demo_ctrl_ack');
    assert.deepEqual(m.sourceMap.lock, { file: path.join(GPU, 'demo_vq.c'), line: 36 });
    assert.deepEqual(m.sourceMap.drain, { file: path.join(GPU, 'demo_vq.c'), line: 23 });
    assert.deepEqual(m.sourceMap.schedule, { file: path.join(GPU, 'demo_vq.c'), line: 8 });
    assert.equal(m.sourceMap.unlock?.line, 41);
    assert.match(m.drainWhy ?? '', /re-check loop/);
  });

  it('sees a callback that takes the same lock, and the deadlock irqsave removes', async () => {
    const { findings, project } = await checkPaths([CB_LOCK], { workers: 0 });
    assert.equal(findings.length, 1);
    const m = modelFromFinding(findings[0], project.index)!;
    assert.equal(m.callbackLocks, true);
    const sim = simulateCode(m, { buffers: 3 });
    assert.equal(sim.comparison.before.properties.D.violated, true);
    assert.equal(sim.comparison.after.properties.D.violated, false);
    assert.equal(sim.comparison.after.properties.A.violated, true, 'IRQ_NONE stays reachable with irqsave');
  });

  it('models a handler VRL001 does not report, as written', async () => {
    const { project } = await checkPaths([CB_LOCK], { workers: 0 });
    const fn = project.index.get(CB_LOCK)!.functions.find(f => f.name === 'demo_irqsave_work')!;
    const m = modelFromFunction(fn, CB_LOCK)!;
    assert.equal(m.lock, 'spin_lock_irqsave');
    assert.equal(m.drain, 'plain');
    assert.equal(configFor(m, { irq: 'other', wq: 'pinned' }).target, 'other');
    assert.throws(() => configFor(m, { irq: 'other' }), /--irq other needs --wq pinned/);
    assert.deepEqual(configFor(m), {
      lock: 'spin_lock_irqsave',
      target: 'same',
      stale: 'prompt',
      lat: false,
      eventIdx: true,
      wqLocal: true,
      cbLock: false,
      n: 4,
      maxStates: 2_000_000,
      drain: 'plain',
      napi: false,
    });
    // The fix changes nothing here: the scenarios are printed once, as written.
    const text = renderSimulationText(simulateCode(m, { buffers: 3 }));
    assert.match(text, /Possible scenarios as written \(spin_lock_irqsave\)/);
    assert.doesNotMatch(text, /Possible scenarios with spin_lock_irqsave/);
  });

  it('models the lock, not local_irq_save(), and a plain spin_lock with IRQs already off as masking them', async () => {
    const { project } = await checkPaths([IRQ_OFF], { workers: 0 });
    const fns = project.index.get(IRQ_OFF)!.functions;
    const m = modelFromFunction(
      fns.find(f => f.name === 'demo_irqoff_work')!,
      IRQ_OFF,
    )!;
    assert.equal(m.lockText, 'spin_lock(&d->lock)');
    assert.equal(m.lockExpr, 'd->lock');
    assert.equal(m.line, 15);
    assert.deepEqual(m.sourceMap.unlock, { file: IRQ_OFF, line: 18 });
    assert.equal(m.lock, 'spin_lock_irqsave', 'IRQs are off at the drain');
    assert.ok(
      m.notes.some(n =>
        /spin_lock\(&d->lock\) is modelled as spin_lock_irqsave: hard IRQs are already off at the drain \(local_irq_save\(flags\)\)/.test(
          n,
        ),
      ),
      m.notes.join('\n'),
    );
    const sim = simulateCode(m, { buffers: 3 });
    assert.equal(sim.comparison.before.properties.B.violated, false, "no IRQ_NONE on the work's CPU during the drain");
    assert.doesNotMatch(renderSimulationText(sim), /\(&\)/);
    // The same drain without local_irq_save() stays a spin_lock, with no such note.
    const plain = modelFromFunction(
      fns.find(f => f.name === 'demo_plain_work')!,
      IRQ_OFF,
    )!;
    assert.equal(plain.lock, 'spin_lock');
    assert.deepEqual(plain.notes, []);
  });

  it('finds the model at a line: the lock, the function taking it, the handler calling it, or the function as written', async () => {
    const gpu = await checkPaths([GPU], { workers: 0 });
    const vq = path.join(GPU, 'demo_vq.c');
    const at = (line1: number) => modelAt(gpu.findings, gpu.project.index, vq, line1 - 1);
    assert.equal(at(36)?.handler, 'demo_dequeue_ctrl_func');
    assert.equal(at(39)?.handler, 'demo_dequeue_ctrl_func', 'a line in the function that takes the lock');
    assert.equal(at(28)?.callback, 'demo_ctrl_ack', 'the finding, not the function as written');
    assert.equal(at(55)?.handler, 'demo_dequeue_cursor_func');
    assert.equal(at(7), undefined, 'the callback holds no lock');
    assert.equal(at(3), undefined, 'no function there');

    const { findings, project } = await checkPaths([HELPER], { workers: 0 });
    const h = (line1: number) => modelAt(findings, project.index, HELPER, line1 - 1);
    for (const line of [12, 14, 22]) {
      const m = h(line)!;
      assert.equal(m.handler, 'helper_work', `line ${line}`);
      assert.equal(m.callback, 'helper_done');
      assert.equal(m.line, 12);
    }
    const quiet = h(37)!;
    assert.equal(quiet.handler, 'helper_quiet_work');
    assert.equal(quiet.lock, 'spin_lock_irqsave');
    assert.equal(quiet.callback, undefined);
  });

  it('gives the view every property, steps in lanes with source lines, and a summary from the results', async () => {
    const { findings, project } = await checkPaths([GPU], { workers: 0 });
    const m = modelFromFinding(findings[0], project.index)!;
    const v = simulationView(simulateCode(m, { buffers: 3, timed: true, completions: 2000 }));
    assert.deepEqual(Object.keys(v.before.properties), ['A', 'B', 'B2', 'C', 'CX', 'D', 'E']);
    assert.equal(v.before.properties.B.violated, true);
    assert.equal(v.after.properties.B.violated, false);
    const steps = v.before.properties.A.trace;
    assert.ok(steps.some(s => s.lane === 'device') && steps.some(s => s.lane === 'CPU0'));
    const lock = steps.find(s => s.command === 'W1')!;
    assert.deepEqual(lock.loc, { file: path.join(GPU, 'demo_vq.c'), line: 36 });
    assert.match(lock.text, /spin_lock\(&dev->ctrlq\.qlock\)/, "the driver's own lock name, not the model's");
    assert.ok(v.summary.some(s => /IRQ_NONE stays reachable/.test(s)));
    // One bullet per sentence, not the whole paragraph in one.
    assert.ok(v.summary.length >= 4, `${v.summary.length} summary bullets`);
    assert.match(
      v.summary.find(s => /IRQ_NONE stays reachable/.test(s))!,
      /^With spin_lock_irqsave IRQ_NONE stays reachable [^]*\.$/,
    );
    assert.ok(
      v.summary.every(s => /^[A-Z][^]*[.]$/.test(s) && !/\. (As written|With|Under|It|The|These|Exhaustive|Caveat) /.test(s)),
      v.summary.join('\n'),
    );
    assert.ok(v.timed && v.timed.before.completions === 2000 && v.timed.before.series.length > 0);
    assert.match(v.text, /^Simulation of demo_dequeue_ctrl_func\(\)/);
    const rel = renderSimulationText(simulateCode(m, { buffers: 3 }), f => path.relative(GPU, f));
    assert.match(rel, /^Simulation of demo_dequeue_ctrl_func\(\) at demo_vq\.c:36: /);
    assert.match(rel, /\[demo_vq\.c:36\]/);
    assert.doesNotMatch(rel, new RegExp(GPU.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });
});

describe('virtio-race-lint simulate', function () {
  this.timeout(30000);

  it('prints verdicts and lockdep-style scenarios with file:line for the finding at a line', async () => {
    const r = await runCli(['simulate', 'demo_vq.c:36', '--buffers', '4'], GPU);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Simulation of demo_dequeue_ctrl_func\(\) at demo_vq\.c:36: spin_lock\(&dev->ctrlq\.qlock\)$/m);
    assert.match(r.stdout, /^C\s+unhandled fraction above 2\/3.*V \(\d+ steps\)\s+-$/m);
    assert.match(r.stdout, /CPU0\s+CPU1\s+device/);
    assert.match(r.stdout, /\[demo_vq\.c:36\]/);
    assert.match(r.stdout, /\[demo_vq\.c:23\]/);
    assert.match(r.stdout, /With spin_lock_irqsave IRQ_NONE stays reachable/);
  });

  it('prints one JSON object per finding with the model used and before/after results', async () => {
    const r = await runCli(['simulate', 'demo_vq.c', '--json', '--irq', 'other', '--wq', 'pinned', '--device', 'cached'], GPU);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.length, 2);
    const [a] = out;
    assert.deepEqual(Object.keys(a).slice(0, 6), ['handler', 'file', 'line', 'model', 'before', 'after']);
    // Every setting used, under the flag names.
    for (const k of ['lock', 'irq', 'wq', 'drain', 'notify', 'device', 'latency', 'callbackLocks', 'napi', 'buffers', 'ring'])
      assert.ok(k in a.model, k);
    assert.deepEqual([a.model.irq, a.model.wq, a.model.notify, a.model.ring], ['other', 'pinned', 'event-idx', 128]);
    assert.equal(typeof a.model.ringBound.applies, 'boolean');
    assert.ok(Array.isArray(a.summary));
    assert.equal(a.file, 'demo_vq.c');
    assert.equal(a.model.target, 'other');
    assert.equal(a.model.stale, 'cached');
    for (const side of [a.before, a.after]) {
      assert.equal(typeof side.states, 'number');
      assert.equal(typeof side.transitions, 'number');
      for (const id of ['A', 'B', 'B2', 'C', 'CX', 'D', 'E']) assert.equal(typeof side.properties[id].violated, 'boolean');
    }
    // With the interrupt on the other CPU, irqsave does not close B2 (SIM-MODEL.md §9).
    assert.equal(a.after.properties.B2.violated, true);
    assert.equal(a.before.properties.E.violated, true, 'a caching device loses completions');
    assert.equal(a.before.properties.A.trace[0].step, 1);
  });

  it('simulates the finding of a work function that takes the lock in a helper, from a line in the work function', async () => {
    const r = await runCli(['simulate', 'lock_in_helper.c:22'], path.dirname(HELPER));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Simulation of helper_work\(\) at lock_in_helper\.c:12: spin_lock\(&d->lock\)$/m);
    assert.match(r.stdout, /; callback helper_done\(\)$/m);
  });

  it('lets --lock override the code, and refuses nonsense with exit 2', async () => {
    const r = await runCli(['simulate', 'demo_vq.c:36', '--json', '--lock', 'spin_lock_irqsave'], GPU);
    const [a] = JSON.parse(r.stdout);
    assert.equal(a.model.lock, 'spin_lock_irqsave');
    assert.deepEqual(a.before.states, a.after.states);
    assert.equal((await runCli(['simulate', 'demo_vq.c:36', '--lock', 'rcu'], GPU)).code, 2);
    assert.equal((await runCli(['simulate', 'demo_vq.c:36', '--buffers', '99'], GPU)).code, 2);
    const none = await runCli(['simulate', 'demo_drv.h'], GPU);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /simulate: demo_drv\.h: no finding to simulate in this file/);
  });
});

describe('simulation from analysed code: model v2 settings read from the code', function () {
  this.timeout(60000);
  const GOLDEN = path.join(FIXTURES, 'golden');

  it('reads DRAIN 2 from a console-shaped handler, and irqsave then leaves C and CX violated', async () => {
    const dir = path.join(GOLDEN, 'console');
    const { findings, project } = await checkPaths([dir], { workers: 0 });
    const m = modelFromFinding(findings[0], project.index)!;
    assert.equal(m.drain, 'relock');
    assert.equal(m.wq, 'local');
    assert.deepEqual([m.ring?.cond1, m.ring?.cond2], [true, false]);
    assert.ok(m.sourceMap.dropUnlock && m.sourceMap.relock && m.sourceMap.unlock);
    assert.ok(m.sourceMap.unlock!.line > m.sourceMap.relock!.line, 'W6 is the final unlock, not the drop inside the loop');
    const sim = simulateCode(m);
    const after = sim.comparison.after.properties;
    assert.deepEqual([after.B.violated, after.C.violated, after.CX.violated], [false, true, true]);
    assert.equal(sim.ringBound.applies, false);
    const text = renderSimulationText(sim);
    assert.match(text, /It does not close C \([^)]*\), CX/);
    assert.match(text, /The ring bound \(docs\/model\.md#the-ring-bound\) does not apply here: .*resubmits/);
    assert.doesNotMatch(text, /fix closes [^.]*\bC \(/);
    // The W8 / W9 steps cite the drop and the re-lock.
    const t = sim.comparison.after.properties.CX.trace!;
    assert.ok(t.some(s => s.cmd === 'W8'));
  });

  it('reads the ring bound for fs- and gpu-shaped handlers and states it with R', async () => {
    for (const dir of ['fs', 'gpu']) {
      const { findings, project } = await checkPaths([path.join(GOLDEN, dir)], { workers: 0 });
      assert.equal(findings.length, 2, dir);
      for (const f of findings) {
        const m = modelFromFinding(f, project.index)!;
        assert.equal(m.drain, 'recheck', f.handler);
        const sim = simulateCode(m, { ring: 256 });
        assert.equal(sim.ringBound.applies, true, f.handler);
        const text = renderSimulationText(sim);
        assert.match(
          text,
          /unhandled fraction is at most R\/\(R\+1\), here 256\/257 = 99\.61% \(R = 256, from --ring\); "nobody cared" needs R >= 1000/,
        );
        // The irqsave fix closes C here, and the fix's cost is bounded by R.
        assert.match(text, /local IRQs are off on the work's CPU for up to R = 256 get_buf iterations per hold/);
      }
    }
  });

  it('refuses --irq other with local work in one line, and accepts it with --wq pinned', async () => {
    const r = await runCli(['simulate', 'golden_fs.c'], path.join(GOLDEN, 'fs'));
    assert.equal(r.code, 0, r.stderr);
    const bad = await runCli(['simulate', 'golden_fs.c', '--irq', 'other'], path.join(GOLDEN, 'fs'));
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /--irq other needs --wq pinned: .*read from the code: schedule_work\(\)/);
    const ok = await runCli(['simulate', 'golden_fs.c', '--irq', 'other', '--wq', 'pinned', '--json'], path.join(GOLDEN, 'fs'));
    assert.equal(ok.code, 0, ok.stderr);
    const [a] = JSON.parse(ok.stdout);
    assert.deepEqual([a.model.irq, a.model.wq, a.after.properties.C.violated], ['other', 'pinned', true]);
  });

  it('takes --drain, --notify (and --event-idx as its alias), --napi and --ring, and rejects bad values', async () => {
    const cwd = path.join(GOLDEN, 'fs');
    const j = async (...args: string[]) => {
      const r = await runCli(['simulate', 'golden_fs.c:33', '--json', ...args], cwd);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout)[0];
    };
    const relock = await j('--drain', 'relock');
    assert.equal(relock.model.drain, 'relock');
    assert.equal(relock.after.properties.C.violated, true);
    assert.equal(relock.model.ringBound.applies, false, "the conditions were read for the code's shape");
    assert.equal((await j('--notify', 'flags')).model.notify, 'flags');
    assert.equal((await j('--event-idx')).model.notify, 'event-idx');
    const napi = await j('--napi');
    assert.deepEqual([napi.model.napi, napi.model.lock], [true, 'none']);
    assert.equal(napi.before.states, napi.after.states, 'no fix to apply to a NAPI poll');
    assert.equal((await j('--ring', '1024')).model.ring, 1024);
    const napiTimed = await runCli(['simulate', 'golden_fs.c:33', '--napi', '--timed'], cwd);
    assert.equal(napiTimed.code, 2);
    assert.match(napiTimed.stderr, /--timed does not model a NAPI poll yet/);
    for (const bad of [
      ['--ring', '0x80'],
      ['--buffers', '0x3'],
      ['--drain', 'loop'],
      ['--notify', 'msi'],
      ['--napi', '--lock', 'spin_lock'],
    ]) {
      const r = await runCli(['simulate', 'golden_fs.c:33', ...bad], cwd);
      assert.equal(r.code, 2, bad.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});

describe('simulate: shapes not modelled yet', () => {
  it('says so in one line for a drain in a wait_event() condition and for a tasklet', async () => {
    const dir = path.join(FIXTURES, 'sim');
    for (const [line, what] of [
      [20, /wait_event\(\) condition .* is not modelled yet/],
      [28, /a drain in a tasklet is not modelled yet/],
    ] as const) {
      const r = await runCli(['simulate', `unmodelled.c:${line}`], dir);
      assert.equal(r.code, 2, r.stdout);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, what);
    }
  });
});
