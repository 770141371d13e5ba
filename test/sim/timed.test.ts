import * as assert from 'node:assert/strict';
import { Mulberry32, TimedParams, runTimed, simulateTimed } from '../../src/sim';

// §10's regime: bursts whose MSIs arrive after the whole burst was published.
const LATE_MSI_BURSTS: Partial<TimedParams> = {
  completions: 300_000,
  arrival: { kind: 'bursts', burstSize: 10_000, intraGapUs: 2, interGapUs: 30_000 },
  msiLatencyUs: 25_000, handlerUs: 0.5, wakeUs: 1, getBufUs: 0.05,
};

describe('sim: timed mode', () => {
  it('is deterministic for a seed, and the seed matters', () => {
    const a = simulateTimed({ seed: 7, completions: 20_000 });
    const b = simulateTimed({ seed: 7, completions: 20_000 });
    assert.deepEqual(a, b);
    const c = simulateTimed({ seed: 8, completions: 20_000 });
    assert.notDeepEqual(c.asIs, a.asIs);
    const seq = (seed: number) => { const r = new Mulberry32(seed); return Array.from({ length: 5 }, () => r.next()); };
    assert.deepEqual(seq(1), seq(1));
    assert.notDeepEqual(seq(1), seq(2));
    for (const x of seq(3)) assert.ok(x >= 0 && x < 1);
  });

  it('consumes every completion and accounts every handler return', () => {
    const t = simulateTimed({ seed: 3, completions: 50_000 });
    for (const r of [t.asIs, t.irqsave]) {
      assert.equal(r.completions, 50_000);
      assert.equal(r.consumed, 50_000);
      assert.equal(r.handled + r.unhandled, r.interrupts);
      assert.ok(r.handled >= r.workRuns, 'every work run is queued by an IRQ_HANDLED');
      assert.equal(r.stoppedEarly, false);
      assert.equal(r.nobodyCared, null);
    }
    assert.equal(t.asIs.lock, 'spin_lock');
    assert.equal(t.irqsave.lock, 'spin_lock_irqsave');
  });

  it('IRQ_NONE stays reachable with irqsave, and masking matters only on the same CPU', () => {
    const same = simulateTimed({ seed: 5, completions: 50_000 });
    assert.ok(same.irqsave.unhandled > 0);
    assert.notDeepEqual(same.asIs.unhandled, same.irqsave.unhandled);
    const other = simulateTimed({ seed: 5, completions: 50_000, target: 'other' });
    const strip = ({ lock: _l, ...rest }: typeof other.asIs) => rest;
    assert.deepEqual(strip(other.asIs), strip(other.irqsave));
  });

  it('late-MSI bursts: irqsave trips "nobody cared" where spin_lock does not (§10)', () => {
    const t = simulateTimed(LATE_MSI_BURSTS);
    assert.equal(t.asIs.nobodyCared, null);
    assert.ok(t.asIs.unhandledFraction > 0.9 && t.asIs.unhandledFraction < 0.999);
    const nc = t.irqsave.nobodyCared!;
    assert.ok(nc, 'irqsave disables the line');
    assert.equal(nc.message, 'irq 24: nobody cared (try booting with the "irqpoll" option)');
    assert.ok(nc.unhandledInWindow > 99_900);
    assert.equal(nc.jiffies, Math.floor(nc.timeUs * 250 / 1e6));
    assert.equal(t.irqsave.stoppedEarly, true);
    assert.ok(t.irqsave.interrupts === nc.interruptIndex);
    // The sampled window fraction ends above the 99.9% threshold for irqsave only.
    const lastPoint = t.irqsave.series[t.irqsave.series.length - 1];
    assert.deepEqual(lastPoint, { interrupts: nc.interruptIndex, fraction: nc.unhandledInWindow / 100_000 });
    assert.equal(t.asIs.series.length, 200);
    assert.ok(t.asIs.maxUnhandledAtCheck > 90_000 && t.asIs.maxUnhandledAtCheck <= 99_900);
  });

  it('a gap over HZ/10 between bursts keeps note_interrupt from firing', () => {
    const t = simulateTimed({ ...LATE_MSI_BURSTS, arrival: { kind: 'bursts', burstSize: 10_000, intraGapUs: 2, interGapUs: 200_000 } });
    assert.equal(t.irqsave.nobodyCared, null);
    assert.ok(t.irqsave.unhandledFraction > 0.99);
  });

  it('shows the unbudgeted drain: fast completions keep the lock held for a long stretch', () => {
    const r = runTimed({ seed: 2, completions: 200_000, arrival: { kind: 'poisson', meanGapUs: 0.5 }, lock: 'spin_lock_irqsave' });
    assert.ok(r.longestLockHoldUs > 10_000, `longest hold ${r.longestLockHoldUs} us`);
    assert.ok(r.workRuns < 100);
  });

  it('suspends a work step for the handler and resumes it with its remaining time (§2.6, §7)', () => {
    // Buffer 1 at t=100, buffer 2 at t=101, both notified; MSIs land at 105 and 106.
    // spin_lock: IRQ 105-105.5 (HANDLED), W3 takes buffer 1 at 105.5 (cost 10), the IRQ at 106
    // preempts it for 0.5 (HANDLED: buffer 2 still there), W3 resumes to 116, buffer 2 ends at 126.
    // irqsave: the IRQ at 106 waits for the unlock at 125.5 and finds the ring empty.
    const p: Partial<TimedParams> = {
      completions: 2, arrival: { kind: 'bursts', burstSize: 2, intraGapUs: 1, interGapUs: 100 },
      decisionDelayUs: 0, msiLatencyUs: 5, handlerUs: 0.5, wakeUs: 0, rerunUs: 0,
      disableCbUs: 0, getBufUs: 10, nullGetBufUs: 0, enableCbWindowUs: 0, completeUs: 0,
    };
    const t = simulateTimed(p);
    assert.deepEqual([t.asIs.simulatedUs, t.asIs.handled, t.asIs.unhandled, t.asIs.workRuns], [126, 2, 0, 2]);
    assert.equal(t.asIs.longestLockHoldUs, 20.5);
    assert.deepEqual([t.irqsave.simulatedUs, t.irqsave.handled, t.irqsave.unhandled, t.irqsave.workRuns], [126, 1, 1, 1]);
    assert.equal(t.irqsave.longestLockHoldUs, 20);
  });

  it('preempts the drain with spin_lock: IRQs during the drain find buffers, with irqsave they wait', () => {
    const p: Partial<TimedParams> = { completions: 20_000, arrival: { kind: 'periodic', gapUs: 3 }, getBufUs: 2, handlerUs: 0.5, msiLatencyUs: 0.2 };
    const t = simulateTimed(p);
    assert.equal(t.asIs.consumed, 20_000);
    assert.equal(t.irqsave.consumed, 20_000);
    assert.ok(t.asIs.handled > t.irqsave.handled);
  });

  it('simulates 1,000,000 completions in under 3 s', () => {
    const t0 = performance.now();
    const r = runTimed({ completions: 1_000_000 });
    const ms = performance.now() - t0;
    assert.equal(r.completions, 1_000_000);
    assert.equal(r.consumed, 1_000_000);
    assert.ok(ms < 3000, `${ms.toFixed(0)} ms`);
  });

  it('runs once when the code already uses spin_lock_irqsave', () => {
    const t = simulateTimed({ completions: 2000, lock: 'spin_lock_irqsave' });
    assert.equal(t.irqsave, t.asIs);
    const irq = simulateTimed({ completions: 2000, lock: 'spin_lock_irq' });
    assert.notEqual(irq.irqsave, irq.asIs);
    assert.equal(irq.irqsave.lock, 'spin_lock_irqsave');
  });

  it('rejects bad parameters', () => {
    assert.throws(() => runTimed({ handlerUs: -1 }), RangeError);
    assert.throws(() => runTimed({ completions: 1.5 }), RangeError);
    assert.throws(() => runTimed({ arrival: { kind: 'bursts', burstSize: 0, intraGapUs: 1, interGapUs: 1 } }), RangeError);
  });
});
