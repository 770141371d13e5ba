// kernel/irq/spurious.c:note_interrupt(), transcribed for a hard handler such as
// vring_interrupt(): no IRQ_WAKE_THREAD, no irqfixup/irqpoll (try_misrouted_irq() is false),
// line not polled. The function is identical in 6.1 and 6.12. State per irq_desc: irq_count,
// irqs_unhandled, last_unhandled (jiffies); all zero at allocation (alloc_desc uses kzalloc).

export type IrqReturn = 'none' | 'handled';

/** Number of counted interrupts per check (`desc->irq_count < 100000`). */
export const NOTE_WINDOW = 100_000;
/** The line is disabled when more than this many of a window were unhandled. */
const NOTE_THRESHOLD = 99_900;

export interface NobodyCared {
  /** 1-based index of the handler return that triggered the report. */
  interruptIndex: number;
  jiffies: number;
  /** irqs_unhandled at the check. */
  unhandled: number;
}

export class NoteInterrupt {
  irqCount = 0;
  irqsUnhandled = 0;
  lastUnhandled = 0;
  /** Handler returns fed so far (while the line was enabled). */
  calls = 0;
  /** Window checks done (irq_count reached 100,000) and irqs_unhandled at the last one. */
  checks = 0;
  lastCheckUnhandled = 0;
  /** Set once __report_bad_irq() ran and the line was disabled (IRQS_SPURIOUS_DISABLED). */
  fired: NobodyCared | null = null;
  /** HZ/10 in integer arithmetic, as the C expression. */
  readonly gapJiffies: number;

  constructor(readonly hz = 250) {
    if (!Number.isInteger(hz) || hz <= 0) throw new RangeError(`HZ must be a positive integer, got ${hz}`);
    this.gapJiffies = Math.floor(hz / 10);
  }

  /** jiffies at simulated time `us` (microseconds, the timed mode's unit): floor(t * HZ), t in seconds. */
  jiffiesAt(us: number): number {
    return Math.floor((us * this.hz) / 1e6);
  }

  /**
   * One handler return at `jiffies`. Returns true when this call printed
   * "irq N: nobody cared" and disabled the line. After that the line is disabled: the flow
   * handler no longer calls the handler, so further calls are ignored (return false).
   */
  note(ret: IrqReturn, jiffies: number): boolean {
    if (this.fired) return false;
    this.calls++;
    if (ret === 'none') {
      // time_after(jiffies, last_unhandled + HZ/10): (long)(b - a) < 0. Simulated jiffies
      // never wrap, so this is a plain comparison.
      if (jiffies > this.lastUnhandled + this.gapJiffies) this.irqsUnhandled = 1;
      else this.irqsUnhandled++;
      this.lastUnhandled = jiffies;
    }
    // "if (likely(!desc->irqs_unhandled)) return;": counting idles until the next IRQ_NONE.
    if (this.irqsUnhandled === 0) return false;
    this.irqCount++;
    if (this.irqCount < NOTE_WINDOW) return false;
    this.irqCount = 0;
    this.checks++;
    this.lastCheckUnhandled = this.irqsUnhandled;
    let fired = false;
    if (this.irqsUnhandled > NOTE_THRESHOLD) {
      // __report_bad_irq(); IRQS_SPURIOUS_DISABLED; depth++; irq_disable(desc).
      this.fired = { interruptIndex: this.calls, jiffies, unhandled: this.irqsUnhandled };
      fired = true;
    }
    this.irqsUnhandled = 0;
    return fired;
  }
}

/** The kernel's message (kernel/irq/spurious.c:__report_bad_irq) for irq number `irq`. */
export function nobodyCaredMessage(irq: number): string {
  return `irq ${irq}: nobody cared (try booting with the "irqpoll" option)`;
}
