import * as assert from 'node:assert/strict';
import { IrqReturn, NOTE_WINDOW, NoteInterrupt, nobodyCaredMessage } from '../../src/sim';

/** Feeds `count` returns of a periodic pattern (k IRQ_NONE then one IRQ_HANDLED) at jiffies 0. */
function periodic(k: number, count: number, start = 0): NoteInterrupt {
  const n = new NoteInterrupt(250);
  for (let i = 0; i < count; i++) n.note((start + i) % (k + 1) === k ? 'handled' : 'none', 0);
  return n;
}

describe('sim: note_interrupt() (kernel/irq/spurious.c)', () => {
  it('fires for k IRQ_NONE then one IRQ_HANDLED with k >= 1000, not with k <= 999', () => {
    for (const k of [1000, 1001, 5000]) {
      const n = periodic(k, 3 * NOTE_WINDOW);
      assert.ok(n.fired, `k=${k}`);
      assert.equal(n.fired.interruptIndex, NOTE_WINDOW, 'the first window ends at the 100,000th counted return');
    }
    const at1000 = periodic(1000, NOTE_WINDOW);
    // 99 handled in the window: 100000 - 99 = 99901 > 99900.
    assert.equal(at1000.fired!.unhandled, 99_901);
    for (const k of [1, 10, 998, 999]) {
      const n = periodic(k, 10 * NOTE_WINDOW);
      assert.equal(n.fired, null, `k=${k}`);
      assert.ok(n.checks >= 9, `k=${k}: windows were checked`);
    }
    // k=999: exactly 100 handled per window, 99,900 unhandled: not "more than 99,900".
    assert.equal(periodic(999, NOTE_WINDOW).lastCheckUnhandled, 99_900);
  });

  it('idles until the first IRQ_NONE: leading IRQ_HANDLED returns are not counted', () => {
    const n = new NoteInterrupt(250);
    for (let i = 0; i < 500; i++) n.note('handled', 0);
    assert.equal(n.irqCount, 0);
    for (let i = 0; i < NOTE_WINDOW; i++) n.note('none', 0);
    assert.equal(n.fired!.interruptIndex, 500 + NOTE_WINDOW);
  });

  it('does not reset irqs_unhandled on IRQ_HANDLED, only on a gap of more than HZ/10 jiffies', () => {
    const n = new NoteInterrupt(250);
    n.note('none', 0);
    n.note('handled', 1000);
    assert.equal(n.irqsUnhandled, 1);
    n.note('none', 10); // 10 jiffies after the last IRQ_NONE: counts on
    assert.equal(n.irqsUnhandled, 2);
    n.note('none', 35); // 25 jiffies later: time_after(35, 10 + 25) is false
    assert.equal(n.irqsUnhandled, 3);
    n.note('none', 61); // 26 jiffies later: reset to 1
    assert.equal(n.irqsUnhandled, 1);
    assert.equal(n.irqCount, 5, 'irq_count is not reset by the gap');
  });

  it('with HZ=250 a 101 ms gap sometimes does not reset (discrete jiffies)', () => {
    const hz = 250;
    const reset = (t0Us: number) => {
      const n = new NoteInterrupt(hz);
      n.note('none', n.jiffiesAt(t0Us));
      n.note('none', n.jiffiesAt(t0Us));
      n.note('none', n.jiffiesAt(t0Us + 101_000)); // 101 ms after the previous IRQ_NONE
      return n.irqsUnhandled === 1;
    };
    assert.equal(reset(0), false); // jiffies 0 then 25: 25 is not after 0 + 25
    assert.equal(reset(3900), true); // jiffies 0 then 26: 26 is after 0 + 25
    assert.equal(reset(1_000_000), false); // jiffies 250 then 275
  });

  it('never fires when bursts of IRQ_NONE are separated by gaps over HZ/10', () => {
    const n = new NoteInterrupt(250);
    let j = 0;
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 50_000; i++) n.note('none', j);
      j += 26;
    }
    assert.equal(n.fired, null);
    assert.ok(n.checks >= 9);
    // ... unless one burst alone holds more than 99,900 of a window.
    const m = new NoteInterrupt(250);
    for (let i = 0; i < NOTE_WINDOW; i++) m.note('none', 0);
    assert.ok(m.fired);
  });

  it('stops counting once the line is disabled, and uses HZ/10 in integer arithmetic', () => {
    const n = periodic(2000, NOTE_WINDOW);
    const calls = n.calls;
    assert.equal(n.note('none' as IrqReturn, 0), false);
    assert.equal(n.calls, calls);
    assert.equal(new NoteInterrupt(100).gapJiffies, 10);
    assert.equal(new NoteInterrupt(300).gapJiffies, 30);
    assert.equal(new NoteInterrupt(1000).gapJiffies, 100);
    assert.equal(new NoteInterrupt(250).jiffiesAt(1_500_000), 375);
    assert.throws(() => new NoteInterrupt(0), RangeError);
    assert.equal(nobodyCaredMessage(24), 'irq 24: nobody cared (try booting with the "irqpoll" option)');
  });
});
