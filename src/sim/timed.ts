// Timed / stochastic mode (SIM-MODEL.md §7, version 2): a seeded discrete-event simulation of the
// same actors, with a duration per command, and every handler return fed to note_interrupt().
//
// Semantics (documented in NOTES.md, "Timed mode"):
// - Two CPUs. MSIs go to CPU 0 (`target: 'same'`), CPU 1 ('other'), or the vector's current
//   affinity ('any': it starts on CPU 0 and moves to the other CPU at exponentially distributed
//   instants, mean `affinityMeanUs`). The work item runs on CPU 0 ('pinned') or on the CPU whose
//   handler queued it while it was idle ('local', kernel/workqueue.c:__queue_work; while it runs,
//   non-reentrancy keeps it, and its re-run, on its CPU).
// - A work step applies its effect when it starts and then occupies its CPU for its cost. A hard
//   IRQ on that CPU suspends the step; the step resumes with its remaining cost after the handler
//   (§2.6). With spin_lock_irqsave/irq, IRQs on the work's CPU stay latched while the lock is held.
// - The handler reads more_used() on entry; if there is work, the event_triggered store
//   (EVENT_IDX) and the callback (schedule_work) happen `callbackAtUs` later (step I1e of v2);
//   the return is accounted by note_interrupt() `handlerUs` after entry.
// - The device is in order: publish, decide `decisionDelayUs` later from the suppression state it
//   reads (live: prompt and lax; a private copy: cached), then emit. Without `latency` (LAT=0) the
//   MSI latches `msiLatencyUs` (+ uniform jitter) after the decision and the device publishes
//   nothing before it has latched. With `latency` (LAT=1) each MSI is in flight for that time plus
//   an exponential part of mean `msiLateMeanUs`, and the device goes on publishing meanwhile.
// - Devices: 'prompt' reads the live state; 'lax' notifies for every used buffer, suppressed or
//   not; 'cached' reads a private copy refreshed from the live state at Poisson instants (mean
//   `cacheRefreshUs`). TARGET any follows handle_edge_irq: an interrupt taken while the other CPU
//   runs the handler sets IRQS_PENDING and masks the vector (MSIs then set the PBA); the running
//   CPU unmasks (the PBA is replayed) and runs the handler again.
// - The ring (§6.1): at most `ring` requests outstanding (submitted and not yet taken back by
//   get_buf). The device completes only submitted requests. A buffer taken by get_buf is replaced
//   by a new request at once, or, with `ringCond1` (every submission takes the drain's lock), at
//   the next unlock of the drain's lock.
// - The callback taking the lock (`cbLock`, CBLOCK=1): spin_lock in hard-IRQ context, held for no
//   time around schedule_work(). If the work holds the lock on another CPU the handler spins until
//   the unlock; if it holds it on the handler's own CPU (which it interrupted), that is the AA
//   deadlock of property D: the run stops there (`deadlock`). Refused with a mutex (might_sleep()).

import {
  DRAIN_SHAPES,
  LOCKS,
  NOTIFY_MODES,
  STALES,
  TARGETS,
  WQ_LOCALITIES,
  masksHardIrqs,
  type DrainShape,
  type LockKind,
  type Notify,
  type Stale,
  type Target,
  type WqLocality,
} from './model';
import { Mulberry32 } from './prng';
import { IrqReturn, NOTE_WINDOW, NoteInterrupt, nobodyCaredMessage } from './noteInterrupt';

// The environment's unions are model.ts's; the old names stay as aliases.
export type TimedTarget = Target;
export type TimedDevice = Stale;
export type TimedDrain = DrainShape;
export type TimedWq = WqLocality;
export type TimedNotify = Notify;

/** An option the timed mode cannot honour; the message is one line that says which and why. */
export class TimedOptionError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'TimedOptionError';
  }
}

export type Arrival =
  | { kind: 'poisson'; meanGapUs: number }
  | { kind: 'periodic'; gapUs: number }
  /** `burstSize` completions `intraGapUs` apart, then `interGapUs` before the next burst. */
  | { kind: 'bursts'; burstSize: number; intraGapUs: number; interGapUs: number };

export interface TimedParams {
  seed: number;
  /** Completions (used buffers) the device publishes at most. */
  completions: number;
  /** CONFIG_HZ; jiffies = floor(t * HZ). */
  hz: number;
  /** Linux IRQ number printed in the message. */
  irq: number;
  /** The lock as the code is written (the "before" run). */
  lock: LockKind;
  /** MSI destination: CPU 0, CPU 1, or the vector's affinity, which moves (`affinityMeanUs`). */
  target: TimedTarget;
  /** Where the work item runs: on the CPU that queued it ('local', per-CPU workqueue) or CPU 0. */
  wq: TimedWq;
  /** How the device reads the driver's suppression state. */
  device: TimedDevice;
  /** Notification suppression: EVENT_IDX (`used_event`) or VRING_AVAIL_F_NO_INTERRUPT. */
  notify: TimedNotify;
  /** Same as `notify === 'event-idx'` (kept for callers of version 1). */
  eventIdx: boolean;
  /** The work function's drain (§2.5). */
  drain: TimedDrain;
  /** Same as `drain === 'recheck'` (kept for callers of version 1). */
  recheckLoop: boolean;
  /** LAT=1: each MSI is in flight for an extra exponential time and the device does not wait for it. */
  latency: boolean;
  /** The vring callback takes the drain's lock (CBLOCK=1); refused with a mutex. */
  cbLock: boolean;
  /** R: requests outstanding at most (§6.1). 1..32768. */
  ring: number;
  /** §6.1 condition 1 holds: every submission takes the drain's lock, so replacements wait for it. */
  ringCond1: boolean;
  arrival: Arrival;
  /** Time between a publish and the device's read of the suppression state. */
  decisionDelayUs: number;
  /** MSI flight time, plus a uniform [0, msiJitterUs) part. */
  msiLatencyUs: number;
  msiJitterUs: number;
  /** With `latency`: mean of the exponential extra flight time of each MSI. */
  msiLateMeanUs: number;
  /** TARGET any: mean time between moves of the vector's affinity (exponential). */
  affinityMeanUs: number;
  /** Cached device: mean time between refreshes of its private copy (exponential). */
  cacheRefreshUs: number;
  /** Hard-IRQ handler cost (flow handler + vring_interrupt + callback), entry to return. */
  handlerUs: number;
  /** From the handler's more_used() read to the event_triggered store and the callback (<= handlerUs). */
  callbackAtUs: number;
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
  /** Per request, completing it outside the lock (W7; for 'relock' between W8 and W9). */
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
  wq: 'local',
  device: 'prompt',
  notify: 'event-idx',
  eventIdx: true,
  drain: 'recheck',
  recheckLoop: true,
  latency: false,
  cbLock: false,
  ring: 128,
  ringCond1: true,
  arrival: Object.freeze({ kind: 'poisson', meanGapUs: 50 }) as Arrival,
  decisionDelayUs: 0.5,
  msiLatencyUs: 1,
  msiJitterUs: 0,
  msiLateMeanUs: 50,
  affinityMeanUs: 1000,
  cacheRefreshUs: 10,
  handlerUs: 2,
  callbackAtUs: 0.1,
  wakeUs: 10,
  rerunUs: 2,
  disableCbUs: 0.05,
  getBufUs: 0.2,
  nullGetBufUs: 0.05,
  enableCbWindowUs: 0.1,
  completeUs: 1,
  seriesEvery: 0,
} satisfies TimedParams);

/** The defaults (a copy). */
export function defaultTimedParams(): TimedParams {
  return { ...DEFAULT_TIMED, arrival: { ...DEFAULT_TIMED.arrival } };
}

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
  /** Completions the device published before the run ended. */
  completions: number;
  /** Buffers the work consumed. */
  consumed: number;
  /** Handler returns (each fed to note_interrupt). */
  interrupts: number;
  /** IRQ_HANDLED returns (§6.1's HANDLED). */
  handled: number;
  /** IRQ_NONE returns (§6.1's NONE). */
  unhandled: number;
  unhandledFraction: number;
  nobodyCared: NobodyCaredEvent | null;
  /** The run stopped: at the line disable, or at a deadlock. */
  stoppedEarly: boolean;
  /**
   * cbLock: the callback spun on the lock held by the work it interrupted on its own CPU (AA
   * deadlock, property D). Nothing can release the lock; the run stops at that instant.
   */
  deadlock: { timeUs: number; cpu: number } | null;
  /** cbLock: longest time a callback spun on the lock held by the work on the other CPU. */
  longestCallbackSpinUs: number;
  workRuns: number;
  /** Handler runs per CPU (IRQ_HANDLED + IRQ_NONE), [CPU 0, CPU 1]. */
  irqsPerCpu: [number, number];
  /** Work runs per CPU, [CPU 0, CPU 1]. */
  workRunsPerCpu: [number, number];
  /** Lock holds of the drain (one per run, or one per buffer with the 'relock' drain). */
  lockHolds: number;
  /** §6.1: most buffers consumed in one lock hold (at most R when condition 1 holds). */
  maxConsumedPerHold: number;
  /** Most buffers consumed in one run of the work function. */
  maxConsumedPerRun: number;
  /**
   * Longest run of consecutive IRQ_NONE returns. "nobody cared" needs more than 99,900 IRQ_NONE
   * among 100,000 returns, so at most 99 IRQ_HANDLED, hence a run of at least 1000: a run shorter
   * than 1000 shows that no window of this run could fire, however long it lasted.
   */
  maxNoneStreak: number;
  /**
   * Buffers published but never consumed when nothing more could happen (a lost completion, E).
   * 0 unless the device withheld a notification the driver asked for (the cached device).
   */
  lostCompletions: number;
  /** Longest time the work held the lock (with IRQs off on its CPU under irqsave/irq). */
  longestLockHoldUs: number;
  /** Largest irqs_unhandled seen at a 100,000-interrupt check. */
  maxUnhandledAtCheck: number;
  /** note_interrupt() checks done (windows of 100,000 counted returns that completed). */
  windowChecks: number;
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

// A drain under no lock (and NAPI) has no lock for the timed mode's work to take: refused.
const LOCK_KINDS: readonly LockKind[] = LOCKS.filter(l => l !== 'none');
const ENUMS = { target: TARGETS, wq: WQ_LOCALITIES, device: STALES, notify: NOTIFY_MODES, drain: DRAIN_SHAPES } as const;
const KNOWN = new Set<string>(Object.keys(DEFAULT_TIMED));

/** Defaults for missing fields; throws TimedOptionError for anything the timed mode cannot honour. */
function resolveTimed(p: Partial<TimedParams> = {}): TimedParams {
  const given: Partial<TimedParams> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (!KNOWN.has(k)) throw new TimedOptionError(`timed mode: unknown option '${k}'`);
    (given as Record<string, unknown>)[k] = v;
  }
  const r: TimedParams = { ...DEFAULT_TIMED, ...given } as TimedParams;
  // notify / eventIdx and drain / recheckLoop: either name may be given; both must agree.
  if (given.notify === undefined && given.eventIdx !== undefined) r.notify = given.eventIdx ? 'event-idx' : 'flags';
  if (given.drain === undefined && given.recheckLoop !== undefined) r.drain = given.recheckLoop ? 'recheck' : 'plain';
  for (const k of Object.keys(ENUMS) as (keyof typeof ENUMS)[]) {
    if (!(ENUMS[k] as readonly string[]).includes(r[k] as string)) {
      throw new TimedOptionError(`timed mode: unknown ${k} '${String(r[k])}' (one of ${ENUMS[k].join(', ')})`);
    }
  }
  if (given.eventIdx !== undefined && given.eventIdx !== (r.notify === 'event-idx')) {
    throw new TimedOptionError(`timed mode: eventIdx ${given.eventIdx} contradicts notify '${r.notify}'`);
  }
  if (given.recheckLoop !== undefined && given.recheckLoop !== (r.drain === 'recheck')) {
    throw new TimedOptionError(`timed mode: recheckLoop ${given.recheckLoop} contradicts drain '${r.drain}'`);
  }
  r.eventIdx = r.notify === 'event-idx';
  r.recheckLoop = r.drain === 'recheck';
  if (!LOCK_KINDS.includes(r.lock)) throw new TimedOptionError(`timed mode: unknown lock kind '${String(r.lock)}'`);
  if (r.cbLock && r.lock === 'mutex') {
    throw new TimedOptionError('timed mode: a callback cannot take a mutex in hard-IRQ context (might_sleep() in kernel/locking/mutex.c)');
  }
  for (const k of ['latency', 'ringCond1'] as const) {
    if (typeof r[k] !== 'boolean') throw new TimedOptionError(`timed mode: ${k} must be true or false`);
  }
  if (!Number.isInteger(r.completions) || r.completions < 0)
    throw new TimedOptionError('timed mode: completions must be a non-negative integer');
  if (!Number.isInteger(r.ring) || r.ring < 1 || r.ring > 32768) {
    throw new TimedOptionError(`timed mode: ring must be an integer in 1..32768 (a virtqueue has at most 32768 entries), got ${r.ring}`);
  }
  if (!Number.isInteger(r.seed)) throw new TimedOptionError('timed mode: seed must be an integer');
  if (!Number.isInteger(r.hz) || r.hz <= 0) throw new TimedOptionError('timed mode: hz must be a positive integer');
  for (const k of [
    'decisionDelayUs',
    'msiLatencyUs',
    'msiJitterUs',
    'msiLateMeanUs',
    'handlerUs',
    'callbackAtUs',
    'wakeUs',
    'rerunUs',
    'disableCbUs',
    'getBufUs',
    'nullGetBufUs',
    'enableCbWindowUs',
    'completeUs',
  ] as const) {
    if (!(r[k] >= 0) || !Number.isFinite(r[k])) throw new TimedOptionError(`timed mode: ${k} must be a finite non-negative number`);
  }
  for (const k of ['affinityMeanUs', 'cacheRefreshUs'] as const) {
    if (!(r[k] > 0) || !Number.isFinite(r[k])) throw new TimedOptionError(`timed mode: ${k} must be a finite positive number`);
  }
  if (r.callbackAtUs > r.handlerUs)
    throw new TimedOptionError('timed mode: callbackAtUs must not exceed handlerUs (the callback runs inside the handler)');
  const a = r.arrival;
  if (!a || !['poisson', 'periodic', 'bursts'].includes(a.kind))
    throw new TimedOptionError('timed mode: arrival must be poisson, periodic or bursts');
  const gaps = a.kind === 'poisson' ? [a.meanGapUs] : a.kind === 'periodic' ? [a.gapUs] : [a.intraGapUs, a.interGapUs];
  for (const g of gaps)
    if (!(g >= 0) || !Number.isFinite(g)) throw new TimedOptionError('timed mode: arrival gaps must be finite non-negative numbers');
  if (a.kind === 'bursts' && (!Number.isInteger(a.burstSize) || a.burstSize < 1))
    throw new TimedOptionError('timed mode: burstSize must be a positive integer');
  if (!Number.isInteger(r.seriesEvery) || r.seriesEvery < 0)
    throw new TimedOptionError('timed mode: seriesEvery must be a non-negative integer');
  return r;
}

/**
 * Runs the code as written and with the irqsave fix, same seed and parameters; once when the
 * code already uses spin_lock_irqsave (then `irqsave` is `asIs`).
 */
export function simulateTimed(params: Partial<TimedParams> = {}): TimedComparison {
  const p = resolveTimed(params);
  const asIs = new TimedSim(p).run();
  return { params: p, asIs, irqsave: p.lock === 'spin_lock_irqsave' ? asIs : new TimedSim({ ...p, lock: 'spin_lock_irqsave' }).run() };
}

/** One seeded run with `params.lock`. */
export function runTimed(params: Partial<TimedParams> = {}): TimedRun {
  return new TimedSim(resolveTimed(params)).run();
}

const INF = Number.POSITIVE_INFINITY;
/** hEnd of a handler that spins on the lock: in a handler, with no return time yet. */
const SPIN = Number.MAX_VALUE;

/** Min-heap of MSI arrival times (one per CPU). */
class TimeHeap {
  a = new Float64Array(64);
  size = 0;
  push(x: number): void {
    if (this.size === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    const a = this.a;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a,
      top = a[0],
      x = a[--this.size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && a[c + 1] < a[c]) c++;
      if (a[c] >= x) break;
      a[i] = a[c];
      i = c;
    }
    if (this.size > 0) a[i] = x;
    return top;
  }
  peek(): number {
    return this.size > 0 ? this.a[0] : INF;
  }
}

// Device phases.
const D_PUBLISH = 0,
  D_DECIDE = 1,
  D_LATCH = 2,
  D_STARVED = 3,
  D_DONE = 4;
// Work program counter: the W steps of §2.5; 10 = return.
const W_RET = 10;

class TimedSim {
  private t = 0;
  // Ring and suppression state (§3).
  private used = 0;
  private last = 0;
  private aflag = 0;
  private shadow = 0;
  private uevent = 0;
  private evtrig = 0;
  private readonly noev = -1;
  /** Requests made available to the device; consumed buffers not yet replaced (ringCond1). */
  private submitted: number;
  private owed = 0;
  // Device.
  private devPhase = D_PUBLISH;
  private devT = INF;
  private nextReady = 0;
  private cacheFlag = 0;
  private cacheEvent = 0;
  private nextRefresh = INF;
  private tgt = 0;
  private nextMove = INF;
  private readonly rng: Mulberry32;
  private readonly msi = [new TimeHeap(), new TimeHeap()];
  // CPUs: pending bit, handler (more_used result, callback time, return time).
  private readonly pending = new Int8Array(2);
  private readonly hMid = Float64Array.of(INF, INF);
  private readonly hEnd = Float64Array.of(INF, INF);
  private readonly hRet = new Int8Array(2);
  // TARGET any: irq_desc state of handle_edge_irq (§2.2).
  private descCpu = -1;
  private descPend = 0;
  private masked = 0;
  private pba = 0;
  // Work item.
  private wcpu = 0;
  private wqp = 0;
  private running = false;
  private wpc = 0;
  private busyUntil = INF;
  private preempted = false;
  private remaining = 0;
  private wakeAt = INF;
  private drainedRun = 0;
  private drainedHold = 0;
  private toComplete = 0;
  private irqsOff = false;
  /** The work holds the drain's lock. */
  private locked = false;
  /** cbLock: handler c spins on the lock since spinSince[c] (hEnd[c] is SPIN meanwhile). */
  private readonly spinSince = Float64Array.of(INF, INF);
  private lockStart = 0;
  // Accounting.
  private noneStreak = 0;
  private readonly note: NoteInterrupt;
  private readonly masks: boolean;
  private readonly evIdx: boolean;
  private readonly lax: boolean;
  private readonly cached: boolean;
  private readonly any: boolean;
  private readonly local: boolean;
  private readonly res: TimedRun;
  private readonly seriesEvery: number;

  constructor(private readonly p: TimedParams) {
    this.rng = new Mulberry32(p.seed);
    this.note = new NoteInterrupt(p.hz);
    this.masks = masksHardIrqs(p.lock);
    this.evIdx = p.notify === 'event-idx';
    this.lax = p.device === 'lax';
    this.cached = p.device === 'cached';
    this.any = p.target === 'any';
    this.local = p.wq === 'local';
    this.tgt = p.target === 'other' ? 1 : 0;
    this.submitted = Math.min(p.ring, p.completions);
    this.res = {
      lock: p.lock,
      completions: 0,
      consumed: 0,
      interrupts: 0,
      handled: 0,
      unhandled: 0,
      unhandledFraction: 0,
      nobodyCared: null,
      stoppedEarly: false,
      deadlock: null,
      longestCallbackSpinUs: 0,
      workRuns: 0,
      irqsPerCpu: [0, 0],
      workRunsPerCpu: [0, 0],
      lockHolds: 0,
      maxConsumedPerHold: 0,
      maxConsumedPerRun: 0,
      maxNoneStreak: 0,
      lostCompletions: 0,
      longestLockHoldUs: 0,
      maxUnhandledAtCheck: 0,
      windowChecks: 0,
      simulatedUs: 0,
      series: [],
    };
    this.seriesEvery = p.seriesEvery > 0 ? p.seriesEvery : Math.max(1, Math.ceil(p.completions / 200));
    if (this.any) this.nextMove = this.rng.exponential(p.affinityMeanUs);
    if (this.cached) this.nextRefresh = this.rng.exponential(p.cacheRefreshUs);
    if (p.completions > 0) {
      this.nextReady = this.gap(0);
      this.devT = this.nextReady;
    } else {
      this.devPhase = D_DONE;
    }
  }

  /** Gap before completion i (0-based) from the arrival process. */
  private gap(i: number): number {
    const a = this.p.arrival;
    switch (a.kind) {
      case 'poisson':
        return this.rng.exponential(a.meanGapUs);
      case 'periodic':
        return a.gapUs;
      case 'bursts':
        return i % a.burstSize === 0 ? a.interGapUs : a.intraGapUs;
    }
  }

  run(): TimedRun {
    const hEnd = this.hEnd,
      hMid = this.hMid,
      msi = this.msi;
    for (;;) {
      let tn = this.devT;
      const m0 = msi[0].peek(),
        m1 = msi[1].peek();
      if (m0 < tn) tn = m0;
      if (m1 < tn) tn = m1;
      if (hMid[0] < tn) tn = hMid[0];
      if (hMid[1] < tn) tn = hMid[1];
      if (hEnd[0] < tn) tn = hEnd[0];
      if (hEnd[1] < tn) tn = hEnd[1];
      // The work's next boundary; while its CPU is in a handler it is re-evaluated at the return.
      const w = hEnd[this.wcpu] !== INF ? INF : this.running ? (this.preempted ? INF : this.busyUntil) : this.wakeAt;
      if (w < tn) tn = w;
      // The cached device's refreshes matter only while something else can still happen.
      if (this.nextRefresh < tn && this.devPhase !== D_DONE && (tn !== INF || this.devPhase !== D_STARVED)) tn = this.nextRefresh;
      if (tn >= SPIN) break; // INF, or only a spinning handler left (cannot happen: the holder runs)
      this.t = tn;
      if (this.nextRefresh <= tn) this.refresh();
      for (let c = 0; c < 2; c++) if (hMid[c] <= tn && this.callback(c)) return this.finish(true);
      // Handler returns: note_interrupt() sees the return at this instant.
      for (let c = 0; c < 2; c++) {
        if (hEnd[c] <= tn && this.endHandler(c)) return this.finish(true);
      }
      for (let c = 0; c < 2; c++)
        while (msi[c].peek() <= tn) {
          msi[c].pop();
          this.pending[c] = 1;
        }
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
    r.lostCompletions = stopped ? 0 : this.used - this.last;
    r.windowChecks = this.note.checks;
    return r;
  }

  // ---- device (§2.1): publish, decide after the decision delay, emit
  private refresh(): void {
    this.cacheFlag = this.aflag;
    this.cacheEvent = this.uevent;
    this.nextRefresh = this.t + this.rng.exponential(this.p.cacheRefreshUs);
  }

  private deviceStep(): void {
    const p = this.p;
    switch (this.devPhase) {
      case D_PUBLISH:
        if (this.used >= this.submitted) {
          this.devPhase = D_STARVED;
          this.devT = INF;
          return;
        }
        this.used++;
        this.res.completions++;
        this.devPhase = D_DECIDE;
        this.devT = this.t + p.decisionDelayUs;
        return;
      case D_DECIDE: {
        // Flags mode reads VRING_AVAIL_F_NO_INTERRUPT; EVENT_IDX: vring_need_event() for one step.
        const flag = this.cached ? this.cacheFlag : this.aflag;
        const ev = this.cached ? this.cacheEvent : this.uevent;
        const suppressed = this.evIdx ? ev !== this.used - 1 : flag === 1;
        if (!suppressed || this.lax) {
          let lat = p.msiLatencyUs;
          if (p.msiJitterUs > 0) lat += p.msiJitterUs * this.rng.next();
          if (p.latency) {
            lat += this.rng.exponential(p.msiLateMeanUs);
            this.send(lat);
          } else if (lat === 0) {
            this.send(0);
          } else {
            // LAT=0: the in-order device publishes nothing before this MSI has latched.
            this.devPhase = D_LATCH;
            this.devT = this.t + lat;
            return;
          }
        }
        this.nextPublish();
        return;
      }
      case D_LATCH:
        this.send(0);
        this.nextPublish();
        return;
    }
  }

  private nextPublish(): void {
    if (this.res.completions >= this.p.completions) {
      this.devPhase = D_DONE;
      this.devT = INF;
      return;
    }
    this.devPhase = D_PUBLISH;
    this.nextReady += this.gap(this.res.completions);
    this.devT = this.nextReady > this.t ? this.nextReady : this.t;
  }

  /** The device sends the vector's MSI now; it latches `lat` later on the affinity's CPU. */
  private send(lat: number): void {
    if (this.any) {
      while (this.nextMove <= this.t) {
        this.tgt ^= 1;
        this.nextMove += this.rng.exponential(this.p.affinityMeanUs);
      }
      if (this.masked) {
        this.pba = 1;
        return;
      } // masked vector: the device's pending bit (PBA)
    }
    if (lat === 0) this.pending[this.tgt] = 1;
    else this.msi[this.tgt].push(this.t + lat);
  }

  /** Submissions of replacement requests (§6.1); wakes a starved device. */
  private submit(n: number): void {
    const s = Math.min(this.p.completions, this.submitted + n);
    if (s === this.submitted) return;
    this.submitted = s;
    if (this.devPhase === D_STARVED) {
      this.devPhase = D_PUBLISH;
      this.devT = this.nextReady > this.t ? this.nextReady : this.t;
    }
  }

  // ---- hard IRQs
  private settle(): void {
    const pend = this.pending,
      hEnd = this.hEnd;
    for (let c = 0; c < 2; c++) {
      if (pend[c] === 1 && hEnd[c] === INF && !(this.irqsOff && c === this.wcpu)) this.takeIrq(c);
    }
    for (;;) {
      const w = this.wcpu;
      if (hEnd[w] !== INF) return;
      if (pend[w] === 1 && !this.irqsOff) {
        this.takeIrq(w);
        continue;
      }
      if (!this.workStep()) return;
    }
  }

  /** handle_edge_irq on CPU c for a latched interrupt. */
  private takeIrq(c: number): void {
    this.pending[c] = 0;
    if (this.any) {
      if (this.descCpu >= 0) {
        // IRQD_IRQ_INPROGRESS on the other CPU: IRQS_PENDING, mask, return without the handler.
        this.descPend = 1;
        this.masked = 1;
        return;
      }
      this.descCpu = c;
    }
    if (c === this.wcpu && this.running && !this.preempted) {
      // The task's step is suspended and resumes with its remaining time (§7).
      this.preempted = true;
      this.remaining = Math.max(0, this.busyUntil - this.t);
    }
    this.enterHandler(c);
  }

  /** vring_interrupt(): more_used() decides the return value. */
  private enterHandler(c: number): void {
    const p = this.p;
    if (this.last !== this.used) {
      this.hRet[c] = 1;
      this.hMid[c] = this.t + p.callbackAtUs;
      this.hEnd[c] = this.t + p.handlerUs;
      if (p.callbackAtUs === 0) this.hMid[c] = this.t; // the loop runs the callback at this instant
    } else {
      this.hRet[c] = 0;
      this.hEnd[c] = this.t + p.handlerUs;
    }
  }

  /**
   * I1e and the callback: event_triggered := 1 (EVENT_IDX), then (cbLock) spin_lock, then
   * schedule_work(). True when the callback deadlocks on its own CPU.
   */
  private callback(c: number): boolean {
    this.hMid[c] = INF;
    if (this.evIdx) this.evtrig = 1;
    if (this.p.cbLock && this.locked) {
      if (this.wcpu === c) {
        // The work holds the lock on this CPU and this handler interrupted it: AA deadlock (D).
        this.res.deadlock = { timeUs: this.t, cpu: c };
        return true;
      }
      // The work holds it on the other CPU: spin until its unlock.
      this.spinSince[c] = this.t;
      this.hEnd[c] = SPIN;
      return false;
    }
    this.scheduleWork(c);
    return false;
  }

  /** schedule_work() from CPU c (kernel/workqueue.c). */
  private scheduleWork(c: number): void {
    // queue_work_on: nothing when PENDING is already set.
    if (this.wqp === 1) return;
    this.wqp = 1;
    if (!this.running) {
      // __queue_work: an idle item goes to the calling CPU's pool (per-CPU workqueue).
      if (this.local) this.wcpu = c;
      this.wakeAt = this.t + this.p.wakeUs;
    }
  }

  /** Handler return on CPU c; true when note_interrupt() disabled the line. */
  private endHandler(c: number): boolean {
    const r = this.res;
    const ret: IrqReturn = this.hRet[c] === 1 ? 'handled' : 'none';
    this.hEnd[c] = INF;
    r.interrupts++;
    r.irqsPerCpu[c]++;
    if (ret === 'handled') {
      r.handled++;
      this.noneStreak = 0;
    } else {
      r.unhandled++;
      if (++this.noneStreak > r.maxNoneStreak) r.maxNoneStreak = this.noneStreak;
    }
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
    if (fired) {
      r.nobodyCared = {
        timeUs: this.t,
        jiffies,
        interruptIndex: this.note.fired!.interruptIndex,
        unhandledInWindow: this.note.fired!.unhandled,
        message: nobodyCaredMessage(this.p.irq),
      };
      return true;
    }
    if (this.any) {
      if (this.descPend === 1) {
        // handle_edge_irq loops: unmask (the device replays its PBA), and run the handler again.
        this.descPend = 0;
        this.masked = 0;
        if (this.pba === 1) {
          this.pba = 0;
          this.send(this.p.msiLatencyUs + (this.p.latency ? this.rng.exponential(this.p.msiLateMeanUs) : 0));
        }
        this.enterHandler(c);
        return false;
      }
      this.descCpu = -1;
    }
    if (c === this.wcpu && this.preempted) {
      this.preempted = false;
      this.busyUntil = this.t + this.remaining;
    }
    return false;
  }

  // ---- the lock
  /** The work's unlock: a callback spinning on the other CPU takes the lock, queues the work, releases it. */
  private releaseSpinners(): void {
    for (let c = 0; c < 2; c++) {
      if (this.hEnd[c] !== SPIN) continue;
      const spun = this.t - this.spinSince[c];
      if (spun > this.res.longestCallbackSpinUs) this.res.longestCallbackSpinUs = spun;
      this.spinSince[c] = INF;
      this.scheduleWork(c);
      this.hEnd[c] = this.t + (this.p.handlerUs - this.p.callbackAtUs);
    }
  }

  private lock(): void {
    this.locked = true;
    this.lockStart = this.t;
    this.irqsOff = this.masks;
    this.drainedHold = 0;
    this.res.lockHolds++;
  }

  private unlock(): void {
    this.locked = false;
    if (this.p.cbLock) this.releaseSpinners();
    const hold = this.t - this.lockStart,
      r = this.res;
    if (hold > r.longestLockHoldUs) r.longestLockHoldUs = hold;
    if (this.drainedHold > r.maxConsumedPerHold) r.maxConsumedPerHold = this.drainedHold;
    this.irqsOff = false; // irqrestore: a latched interrupt is taken next
    if (this.owed > 0) {
      const n = this.owed;
      this.owed = 0;
      this.submit(n);
    }
  }

  // ---- workqueue (kernel/workqueue.c) and the work function (§2.5)
  /** Starts the next work step if one is due at time t; false when nothing happened. */
  private workStep(): boolean {
    const p = this.p,
      t = this.t;
    if (!this.running) {
      if (this.wakeAt > t) return false;
      // W0: process_one_work clears PENDING before calling the function.
      this.wakeAt = INF;
      this.wqp = 0;
      this.running = true;
      this.drainedRun = 0;
      this.toComplete = 0;
      this.res.workRuns++;
      this.res.workRunsPerCpu[this.wcpu]++;
      this.wpc = 1;
      this.busyUntil = t;
      return true;
    }
    if (this.preempted || this.busyUntil > t) return false;
    let cost = 0;
    switch (this.wpc) {
      case 1: // lock; irqsave/irq mask local IRQs until the unlock
        this.lock();
        this.wpc = p.drain === 'recheck' ? 2 : 3;
        break;
      case 2: // virtqueue_disable_cb_split
        if (this.shadow === 0) {
          this.shadow = 1;
          if (this.evtrig === 0) {
            if (this.evIdx) this.uevent = this.noev;
            else this.aflag = 1;
          }
        }
        cost = p.disableCbUs;
        this.wpc = 3;
        break;
      case 3: // virtqueue_get_buf_ctx_split
        if (this.last !== this.used) {
          this.last++;
          this.drainedRun++;
          this.drainedHold++;
          if (this.drainedRun > this.res.maxConsumedPerRun) this.res.maxConsumedPerRun = this.drainedRun;
          // The descriptor is free again: its replacement request waits for the lock or goes at once.
          if (p.ringCond1) this.owed++;
          else this.submit(1);
          // "If we expect an interrupt for the next entry, tell host" (shadow flag clear).
          if (this.evIdx && this.shadow === 0) this.uevent = this.last;
          cost = p.getBufUs;
          if (p.drain === 'relock') this.wpc = 8;
          else this.toComplete++;
        } else {
          cost = p.nullGetBufUs;
          this.wpc = p.drain === 'recheck' ? 4 : 6;
        }
        break;
      case 4: // virtqueue_enable_cb_prepare(_split); the poll follows after the window
        this.evtrig = 0;
        if (this.shadow === 1) {
          this.shadow = 0;
          if (!this.evIdx) this.aflag = 0;
        }
        if (this.evIdx) this.uevent = this.last;
        cost = p.enableCbWindowUs;
        this.wpc = 5;
        break;
      case 5: // virtqueue_poll_split
        this.wpc = this.used !== this.last ? 2 : 6;
        break;
      case 6: // unlock (irqrestore unmasks)
        this.unlock();
        this.wpc = 7;
        break;
      case 7: // complete the drained requests outside the lock
        cost = p.completeUs * this.toComplete;
        this.wpc = W_RET;
        break;
      case 8: // DRAIN 2: unlock after a buffer, handle it outside the lock
        this.unlock();
        cost = p.completeUs;
        this.wpc = 9;
        break;
      case 9: // DRAIN 2: re-lock before the next get_buf
        this.lock();
        this.wpc = 3;
        break;
      default: // return from the work function
        this.running = false;
        this.busyUntil = INF;
        this.wpc = 0;
        if (this.wqp === 1) this.wakeAt = t + p.rerunUs;
        return true;
    }
    this.busyUntil = t + cost;
    return true;
  }
}
