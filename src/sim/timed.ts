// Timed / stochastic mode (SIM-MODEL.md §7): a seeded discrete-event simulation of the same
// actors, with a duration per command, and every handler return fed to note_interrupt().
//
// Semantics (documented in NOTES.md):
// - A work step applies its effect when it starts and then occupies CPU 0 for its cost. A hard
//   IRQ on CPU 0 suspends the step; the step resumes with its remaining cost after the handler
//   (§2.6). With spin_lock_irqsave/irq, IRQs on CPU 0 stay latched from W1 to W6.
// - The handler reads more_used() on entry, calls the callback (schedule_work) on entry, runs for
//   `handlerUs`, and its return is accounted by note_interrupt() at the end (jiffies then).
//   handle_edge_irq acks at entry, so an MSI arriving during the handler latches and is taken
//   right after it. MSIs that arrive while the pending bit is set coalesce.
// - The device is in order: publish, then decide after `decisionDelayUs` (reading the live
//   suppression state), then the MSI is in flight for `msiLatencyUs` (+ uniform jitter).
// - Not modelled here (untimed only): TARGET=any, WQLOCAL, CBLOCK, cached/lax devices.

import { LockKind, masksHardIrqs } from './model';
import { Mulberry32 } from './prng';
import { IrqReturn, NOTE_WINDOW, NoteInterrupt, nobodyCaredMessage } from './noteInterrupt';

export type Arrival =
  | { kind: 'poisson'; meanGapUs: number }
  | { kind: 'periodic'; gapUs: number }
  /** `burstSize` completions `intraGapUs` apart, then `interGapUs` before the next burst. */
  | { kind: 'bursts'; burstSize: number; intraGapUs: number; interGapUs: number };

export interface TimedParams {
  seed: number;
  /** Completions (used buffers) the device publishes. */
  completions: number;
  /** CONFIG_HZ; jiffies = floor(t * HZ). */
  hz: number;
  /** Linux IRQ number printed in the message. */
  irq: number;
  /** The lock as the code is written (the "before" run). */
  lock: LockKind;
  /** MSI destination: the work's CPU (0) or the other CPU (1). */
  target: 'same' | 'other';
  eventIdx: boolean;
  /** disable_cb / get_buf / enable_cb loop (true) or a plain get_buf drain (false). */
  recheckLoop: boolean;
  arrival: Arrival;
  /** Time between a publish and the device's read of the suppression state. */
  decisionDelayUs: number;
  /** MSI in-flight latency, plus a uniform [0, msiJitterUs) part. */
  msiLatencyUs: number;
  msiJitterUs: number;
  /** Hard-IRQ handler cost (flow handler + vring_interrupt + callback). */
  handlerUs: number;
  /** schedule_work() of an idle item until W0 runs. */
  wakeUs: number;
  /** Delay before the re-run when PENDING was set during a run. */
  rerunUs: number;
  disableCbUs: number;
  /** Each successful virtqueue_get_buf(). */
  getBufUs: number;
  /** The final NULL virtqueue_get_buf(). */
  nullGetBufUs: number;
  /** virtqueue_enable_cb(): from re-enabling (prepare) to the poll of used->idx. */
  enableCbWindowUs: number;
  /** Per request, completing it outside the lock (W7). */
  completeUs: number;
  /** Sample `series` every this many handler returns (0: about 200 points over the run). */
  seriesEvery: number;
}

const DEFAULT_TIMED: Readonly<TimedParams> = Object.freeze({
  seed: 1,
  completions: 100_000,
  hz: 250,
  irq: 24,
  lock: 'spin_lock',
  target: 'same',
  eventIdx: false,
  recheckLoop: true,
  arrival: Object.freeze({ kind: 'poisson', meanGapUs: 50 }) as Arrival,
  decisionDelayUs: 0.5,
  msiLatencyUs: 1,
  msiJitterUs: 0,
  handlerUs: 2,
  wakeUs: 10,
  rerunUs: 2,
  disableCbUs: 0.05,
  getBufUs: 0.2,
  nullGetBufUs: 0.05,
  enableCbWindowUs: 0.1,
  completeUs: 1,
  seriesEvery: 0,
});

export interface NobodyCaredEvent {
  /** Simulated time of the handler return that triggered the report. */
  timeUs: number;
  jiffies: number;
  /** 1-based index of that handler return among all handler returns. */
  interruptIndex: number;
  /** irqs_unhandled at the check (> 99,900). */
  unhandledInWindow: number;
  message: string;
}

export interface TimedRun {
  lock: LockKind;
  /** Completions the device published before the run ended (all, unless the line was disabled). */
  completions: number;
  /** Buffers the work consumed. */
  consumed: number;
  /** Handler returns (each fed to note_interrupt). */
  interrupts: number;
  handled: number;
  unhandled: number;
  unhandledFraction: number;
  nobodyCared: NobodyCaredEvent | null;
  /** The run stopped at the line disable (the device's MSIs are no longer handled). */
  stoppedEarly: boolean;
  workRuns: number;
  /** Longest time the work held fsvq->lock (with IRQs off on CPU 0 under irqsave/irq). */
  longestLockHoldUs: number;
  /** Largest irqs_unhandled seen at a 100,000-interrupt check. */
  maxUnhandledAtCheck: number;
  simulatedUs: number;
  /** irqs_unhandled / irq_count of the current note_interrupt() window, sampled. */
  series: TimedSeriesPoint[];
}

export interface TimedSeriesPoint {
  /** Handler returns so far. */
  interrupts: number;
  /** Unhandled fraction of the window note_interrupt() is counting (0 while it idles). */
  fraction: number;
}

export interface TimedComparison {
  params: TimedParams;
  /** The code as written (`params.lock`). */
  asIs: TimedRun;
  /** The same run with spin_lock_irqsave in the work function. */
  irqsave: TimedRun;
}

function resolveTimed(p: Partial<TimedParams> = {}): TimedParams {
  const r: TimedParams = { ...DEFAULT_TIMED, ...p } as TimedParams;
  if (!Number.isInteger(r.completions) || r.completions < 0) throw new RangeError('completions must be a non-negative integer');
  for (const k of ['decisionDelayUs', 'msiLatencyUs', 'msiJitterUs', 'handlerUs', 'wakeUs', 'rerunUs', 'disableCbUs',
    'getBufUs', 'nullGetBufUs', 'enableCbWindowUs', 'completeUs'] as const) {
    if (!(r[k] >= 0) || !Number.isFinite(r[k])) throw new RangeError(`${k} must be a finite non-negative number`);
  }
  const a = r.arrival;
  if (a.kind === 'bursts' && (!Number.isInteger(a.burstSize) || a.burstSize < 1)) throw new RangeError('burstSize must be a positive integer');
  if (!Number.isInteger(r.seriesEvery) || r.seriesEvery < 0) throw new RangeError('seriesEvery must be a non-negative integer');
  return r;
}

/**
 * Runs the code as written and with the irqsave fix, same seed and parameters; once when the
 * code already uses spin_lock_irqsave (then `irqsave` is `asIs`).
 */
export function simulateTimed(params: Partial<TimedParams> = {}): TimedComparison {
  const p = resolveTimed(params);
  const asIs = runTimed(p);
  return { params: p, asIs, irqsave: p.lock === 'spin_lock_irqsave' ? asIs : runTimed({ ...p, lock: 'spin_lock_irqsave' }) };
}

/** One seeded run with `params.lock`. */
export function runTimed(params: Partial<TimedParams> = {}): TimedRun {
  return new TimedSim(resolveTimed(params)).run();
}

const INF = Number.POSITIVE_INFINITY;

/** Min-heap of MSI arrival times (all to the same CPU). */
class TimeHeap {
  a = new Float64Array(64);
  size = 0;
  push(x: number): void {
    if (this.size === this.a.length) { const b = new Float64Array(this.a.length * 2); b.set(this.a); this.a = b; }
    const a = this.a;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p]; i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a, top = a[0], x = a[--this.size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && a[c + 1] < a[c]) c++;
      if (a[c] >= x) break;
      a[i] = a[c]; i = c;
    }
    if (this.size > 0) a[i] = x;
    return top;
  }
  peek(): number { return this.size > 0 ? this.a[0] : INF; }
}

class TimedSim {
  private t = 0;
  // Ring and suppression state (§3).
  private used = 0; private last = 0; private aflag = 0; private shadow = 0;
  private uevent = 0; private evtrig = 0;
  private readonly noev = -1;
  // Device.
  private devPhase = 0;            // 0 publish next, 1 decide next, 2 done
  private devT = 0;
  private nextReady = 0;
  private readonly rng: Mulberry32;
  private readonly msi = new TimeHeap();
  // CPUs: the work runs on CPU 0; MSIs go to CPU `ic`.
  private readonly ic: number;
  private readonly pending = new Int8Array(2);
  private readonly hEnd = Float64Array.of(INF, INF);
  /** Return value of the running handler: 1 IRQ_HANDLED, 0 IRQ_NONE. */
  private readonly hRet = new Int8Array(2);
  // Work item.
  private wqp = 0; private running = false; private wpc = 0;
  private busyUntil = INF; private preempted = false; private remaining = 0;
  private wakeAt = INF; private drained = 0; private irqsOff = false;
  private lockStart = 0;
  // Accounting.
  private readonly note: NoteInterrupt;
  private readonly masks: boolean;
  private readonly res: TimedRun;
  private readonly seriesEvery: number;

  constructor(private readonly p: TimedParams) {
    this.rng = new Mulberry32(p.seed);
    this.ic = p.target === 'same' ? 0 : 1;
    this.note = new NoteInterrupt(p.hz);
    this.masks = masksHardIrqs(p.lock);
    this.res = {
      lock: p.lock, completions: 0, consumed: 0, interrupts: 0, handled: 0, unhandled: 0, unhandledFraction: 0,
      nobodyCared: null, stoppedEarly: false, workRuns: 0, longestLockHoldUs: 0, maxUnhandledAtCheck: 0, simulatedUs: 0,
      series: [],
    };
    this.seriesEvery = p.seriesEvery > 0 ? p.seriesEvery : Math.max(1, Math.ceil(p.completions / 200));
    this.nextReady = this.gap(0);
    this.devT = p.completions > 0 ? this.nextReady : INF;
    if (p.completions === 0) this.devPhase = 2;
  }

  /** Gap before completion i (0-based) from the arrival process. */
  private gap(i: number): number {
    const a = this.p.arrival;
    switch (a.kind) {
      case 'poisson': return this.rng.exponential(a.meanGapUs);
      case 'periodic': return a.gapUs;
      case 'bursts': return i % a.burstSize === 0 ? a.interGapUs : a.intraGapUs;
    }
  }

  run(): TimedRun {
    const hEnd = this.hEnd;
    for (;;) {
      let tn = this.devT;
      const m = this.msi.peek();
      if (m < tn) tn = m;
      if (hEnd[0] < tn) tn = hEnd[0];
      if (hEnd[1] < tn) tn = hEnd[1];
      // The work's next boundary; while CPU 0 is in a handler it is re-evaluated at the return.
      const w = hEnd[0] !== INF ? INF : this.running ? (this.preempted ? INF : this.busyUntil) : this.wakeAt;
      if (w < tn) tn = w;
      if (tn === INF) break;
      this.t = tn;
      // Handler returns first: note_interrupt() sees the return at this instant.
      for (let c = 0; c < 2; c++) {
        if (hEnd[c] <= tn && this.endHandler(c)) return this.finish(true);
      }
      while (this.msi.peek() <= tn) { this.msi.pop(); this.pending[this.ic] = 1; }
      if (this.devT <= tn) this.deviceStep();
      this.settle();
    }
    return this.finish(false);
  }

  private finish(stopped: boolean): TimedRun {
    const r = this.res;
    r.stoppedEarly = stopped;
    r.consumed = this.last;
    r.simulatedUs = this.t;
    r.unhandledFraction = r.interrupts > 0 ? r.unhandled / r.interrupts : 0;
    return r;
  }

  // ---- device (§2.1): publish, decide after the decision delay, emit
  private deviceStep(): void {
    const p = this.p;
    if (this.devPhase === 0) {
      this.used++;
      this.res.completions++;
      this.devPhase = 1;
      this.devT = this.t + p.decisionDelayUs;
      return;
    }
    // decide: flags mode reads VRING_AVAIL_F_NO_INTERRUPT; EVENT_IDX: vring_need_event().
    const suppressed = p.eventIdx ? this.uevent !== this.used - 1 : this.aflag === 1;
    if (!suppressed) {
      const lat = p.msiLatencyUs + (p.msiJitterUs > 0 ? p.msiJitterUs * this.rng.next() : 0);
      if (lat === 0) this.pending[this.ic] = 1; else this.msi.push(this.t + lat);
    }
    if (this.res.completions >= p.completions) { this.devPhase = 2; this.devT = INF; return; }
    this.devPhase = 0;
    this.nextReady += this.gap(this.res.completions);
    this.devT = this.nextReady > this.t ? this.nextReady : this.t;
  }

  // ---- hard IRQs
  private settle(): void {
    if (this.pending[1] === 1 && this.hEnd[1] === INF) this.takeIrq(1);
    for (;;) {
      if (this.hEnd[0] !== INF) return;
      if (this.pending[0] === 1 && !this.irqsOff) { this.takeIrq(0); return; }
      if (!this.workStep()) return;
    }
  }

  private takeIrq(c: number): void {
    this.pending[c] = 0;
    if (c === 0 && this.running && !this.preempted) {
      // The task's step is suspended and resumes with its remaining time (§7).
      this.preempted = true;
      this.remaining = Math.max(0, this.busyUntil - this.t);
    }
    // vring_interrupt(): more_used() decides the return value.
    if (this.last !== this.used) {
      if (this.p.eventIdx) this.evtrig = 1;
      this.hRet[c] = 1;
      this.scheduleWork();
    } else {
      this.hRet[c] = 0;
    }
    this.hEnd[c] = this.t + this.p.handlerUs;
  }

  /** Handler return on CPU c; true when note_interrupt() disabled the line. */
  private endHandler(c: number): boolean {
    const r = this.res;
    const ret: IrqReturn = this.hRet[c] === 1 ? 'handled' : 'none';
    this.hEnd[c] = INF;
    r.interrupts++;
    if (ret === 'handled') r.handled++; else r.unhandled++;
    const checks = this.note.checks;
    const jiffies = this.note.jiffiesAt(this.t);
    const fired = this.note.note(ret, jiffies);
    if (this.note.checks !== checks && this.note.lastCheckUnhandled > r.maxUnhandledAtCheck) {
      r.maxUnhandledAtCheck = this.note.lastCheckUnhandled;
    }
    if (r.interrupts % this.seriesEvery === 0 || fired) {
      const n = this.note;
      const fraction = fired ? n.fired!.unhandled / NOTE_WINDOW : n.irqCount > 0 ? n.irqsUnhandled / n.irqCount : 0;
      r.series.push({ interrupts: r.interrupts, fraction });
    }
    if (c === 0 && this.preempted) {
      this.preempted = false;
      this.busyUntil = this.t + this.remaining;
    }
    if (fired) {
      r.nobodyCared = {
        timeUs: this.t, jiffies, interruptIndex: this.note.fired!.interruptIndex,
        unhandledInWindow: this.note.fired!.unhandled, message: nobodyCaredMessage(this.p.irq),
      };
      return true;
    }
    return false;
  }

  // ---- workqueue (kernel/workqueue.c)
  private scheduleWork(): void {
    if (this.wqp === 1) return;   // queue_work_on: PENDING already set
    this.wqp = 1;
    if (!this.running) this.wakeAt = this.t + this.p.wakeUs;
  }

  /** Starts the next work step if one is due at time t; false when nothing happened. */
  private workStep(): boolean {
    const p = this.p, t = this.t;
    if (!this.running) {
      if (this.wakeAt > t) return false;
      // W0: process_one_work clears PENDING before calling the function.
      this.wakeAt = INF; this.wqp = 0; this.running = true; this.drained = 0;
      this.res.workRuns++;
      this.wpc = 1; this.busyUntil = t;
      return true;
    }
    if (this.preempted || this.busyUntil > t) return false;
    let cost = 0;
    switch (this.wpc) {
      case 1: // lock; irqsave/irq mask local IRQs until W6
        this.lockStart = t;
        this.irqsOff = this.masks;
        this.wpc = p.recheckLoop ? 2 : 3;
        break;
      case 2: // virtqueue_disable_cb_split
        if (this.shadow === 0) {
          this.shadow = 1;
          if (this.evtrig === 0) { if (p.eventIdx) this.uevent = this.noev; else this.aflag = 1; }
        }
        cost = p.disableCbUs; this.wpc = 3;
        break;
      case 3: // virtqueue_get_buf_ctx_split
        if (this.last !== this.used) {
          this.last++; this.drained++;
          if (p.eventIdx && this.shadow === 0) this.uevent = this.last;
          cost = p.getBufUs;
        } else {
          cost = p.nullGetBufUs; this.wpc = p.recheckLoop ? 4 : 6;
        }
        break;
      case 4: // virtqueue_enable_cb_prepare(_split); the poll follows after the window
        this.evtrig = 0;
        if (this.shadow === 1) { this.shadow = 0; if (!p.eventIdx) this.aflag = 0; }
        if (p.eventIdx) this.uevent = this.last;
        cost = p.enableCbWindowUs; this.wpc = 5;
        break;
      case 5: // virtqueue_poll_split
        this.wpc = this.used !== this.last ? 2 : 6;
        break;
      case 6: { // unlock (irqrestore unmasks)
        const hold = t - this.lockStart;
        if (hold > this.res.longestLockHoldUs) this.res.longestLockHoldUs = hold;
        this.irqsOff = false; this.wpc = 7;
        break;
      }
      case 7: // complete the drained requests outside the lock
        cost = p.completeUs * this.drained; this.wpc = 8;
        break;
      default: // return from the work function
        this.running = false; this.busyUntil = INF;
        if (this.wqp === 1) this.wakeAt = t + p.rerunUs;
        return true;
    }
    this.busyUntil = t + cost;
    return true;
  }
}
