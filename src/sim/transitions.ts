// The guarded commands of SIM-MODEL.md §4. `expand()` enumerates the commands enabled in a
// state and hands each successor to a callback, together with the property events the step
// raises (IRQ_NONE and where it happened). A step kind has several successors only where the
// model has a nondeterministic choice: the MSI target under TARGET=any (D3(t), and the PBA
// replay at EXIT). Each successor is its own (state, command) pair for the transition count.

import { SimConfig, cpuCount, masksHardIrqs, needsObservers } from './model';
import {
  AFLAG,
  DCACHE,
  DEVPC,
  DINPROG,
  DPEND,
  EVTRIG,
  FIELD_COUNT,
  HANDLED,
  INF0,
  INIRQ0,
  IPC0,
  LAST,
  LOCK,
  L_FREE,
  L_HIRQ0,
  L_WORK,
  MASKED,
  NONES,
  PBA,
  PEND0,
  QUEUED,
  RUN,
  SCHED,
  SHADOW,
  UEVENT,
  USED,
  WCPU,
  WPC,
  WQP,
} from './state';

// Command kinds. A command code is kind | cpu << 5 | variant << 6, where variant 1 / 2 means
// "the PBA replay at EXIT went to CPU 0 / CPU 1" (TARGET=any only). Wk is K_W0 + k (W0..W9).
export const K_D1 = 0,
  K_D2N = 1,
  K_D2S = 2,
  K_D2X = 3,
  K_D3 = 4,
  K_D4 = 5,
  K_F = 6;
export const K_I0 = 7,
  K_I1 = 8,
  K_I2 = 9,
  K_I2A = 10,
  K_I2B = 11,
  K_W0 = 12;
export const K_I1E = 22,
  K_I2N = 23,
  K_P0 = 24;
export const KIND_IDS = [
  'D1',
  'D2n',
  'D2s',
  'D2x',
  'D3',
  'D4',
  'F',
  'I0',
  'I1',
  'I2',
  'I2a',
  'I2b',
  'W0',
  'W1',
  'W2',
  'W3',
  'W4',
  'W5',
  'W6',
  'W7',
  'W8',
  'W9',
  'I1e',
  'I2n',
  'P0',
  'P1',
  'P2',
  'P3',
  'P4',
] as const;
export type CommandId = (typeof KIND_IDS)[number];

export const codeKind = (code: number): number => code & 31;
export const codeCpu = (code: number): number => (code >> 5) & 1;
export const codeVariant = (code: number): number => code >> 6;

// Property events raised by a step.
export const EV_NONE = 1; // an I1 step returned IRQ_NONE (A)
export const EV_B = 2; // ... on the CPU whose task holds the lock (B)
export const EV_B2 = 4; // ... while the work holds the lock (B2)
export const EV_C = 8; // ... and now nones > 2*handled (C)
export const EV_CX = 16; // ... and now handled == 1 && nones >= N-1 (CX)
export const EV_ILLEGAL = 32; // a mutex was taken in hard-IRQ context (CBLOCK with mutex)

export type Emit = (code: number, t: Int32Array, ev: number) => void;

export class Transitions {
  readonly n: number;
  readonly ncpu: number;
  private readonly masks: boolean;
  private readonly evidx: boolean;
  private readonly cached: boolean;
  private readonly lax: boolean;
  private readonly lat: boolean;
  private readonly any: boolean;
  private readonly wqLocal: boolean;
  private readonly cbLock: boolean;
  private readonly mutex: boolean;
  private readonly recheck: boolean;
  private readonly relock: boolean;
  private readonly napi: boolean;
  private readonly observers: boolean;
  private readonly noev: number;
  private readonly targets: readonly number[];
  private readonly t = new Int32Array(FIELD_COUNT);

  constructor(readonly cfg: SimConfig) {
    this.n = cfg.n;
    this.ncpu = cpuCount(cfg);
    this.masks = masksHardIrqs(cfg.lock);
    this.evidx = cfg.eventIdx;
    this.cached = cfg.stale === 'cached';
    this.lax = cfg.stale === 'lax';
    this.lat = cfg.lat;
    this.any = cfg.target === 'any';
    this.wqLocal = cfg.wqLocal;
    this.cbLock = cfg.cbLock;
    this.mutex = cfg.lock === 'mutex';
    this.recheck = cfg.drain === 'recheck';
    this.relock = cfg.drain === 'relock';
    this.napi = cfg.napi;
    this.observers = needsObservers(cfg);
    this.noev = cfg.n + 1;
    this.targets = cfg.target === 'same' ? [0] : cfg.target === 'other' ? [1] : [0, 1];
  }

  /** §3: N requests outstanding, empty ring, callbacks enabled, nothing queued or pending. */
  initial(): Int32Array {
    return new Int32Array(FIELD_COUNT);
  }

  /** IRQS_ON(c) of §2.6: not in hard IRQ, and not masked by an irqsave lock held on c. */
  irqsOn(s: Int32Array, c: number): boolean {
    return s[INIRQ0 + c] === 0 && !(this.masks && s[LOCK] === L_WORK && s[WCPU] === c);
  }

  /** WSTEP of §2.6 for the work's CPU. */
  wstep(s: Int32Array): boolean {
    const w = s[WCPU];
    return s[INIRQ0 + w] === 0 && !(s[PEND0 + w] === 1 && this.irqsOn(s, w));
  }

  /** The driver's suppression state as the device's decide step reads it (§2.1, §4 SUPPRESSED). */
  liveSuppression(s: Int32Array): number {
    return this.evidx ? s[UEVENT] : s[AFLAG];
  }

  suppressed(s: Int32Array): boolean {
    const view = this.cached ? s[DCACHE] : this.liveSuppression(s);
    // Flags: VRING_AVAIL_F_NO_INTERRUPT set. EVENT_IDX: vring_need_event(used_event, new, new-1)
    // is false, i.e. used_event != new - 1 (NOEV never matches, §8).
    return this.evidx ? view !== s[USED] - 1 : view === 1;
  }

  /** D (§6): a hard IRQ on c needs the lock (CBLOCK) held by the task it interrupted on c. */
  isDeadlock(s: Int32Array): boolean {
    if (!this.cbLock || s[LOCK] !== L_WORK) return false;
    const w = s[WCPU];
    return s[IPC0 + w] === 2;
  }

  /** E (§6), evaluated on terminal states. */
  isLostCompletion(s: Int32Array): boolean {
    // NAPI (§12): `sched==0 && !queued` in place of `!wq_pending`.
    if (this.napi && (s[SCHED] !== 0 || s[QUEUED] !== 0)) return false;
    return (
      s[LAST] !== s[USED] &&
      s[SHADOW] === 0 &&
      s[WQP] === 0 &&
      s[RUN] === 0 &&
      s[PEND0] === 0 &&
      s[PEND0 + 1] === 0 &&
      s[INF0] === 0 &&
      s[INF0 + 1] === 0 &&
      s[DEVPC] === 0
    );
  }

  /** Calls emit once per enabled command (and outcome); returns how many times it did. */
  expand(s: Int32Array, emit: Emit): number {
    const t = this.t;
    let count = 0;

    // ---- device (§2.1)
    const pc = s[DEVPC];
    if (pc === 0 && s[USED] < this.n) {
      t.set(s);
      t[USED]++;
      t[DEVPC] = 1;
      emit(K_D1, t, 0);
      count++;
    } else if (pc === 1) {
      if (!this.suppressed(s)) {
        t.set(s);
        t[DEVPC] = 2;
        emit(K_D2N, t, 0);
        count++;
      } else {
        t.set(s);
        t[DEVPC] = 0;
        emit(K_D2S, t, 0);
        count++;
        if (this.lax) {
          t.set(s);
          t[DEVPC] = 2;
          emit(K_D2X, t, 0);
          count++;
        }
      }
    } else if (pc === 2) {
      for (const c of this.targets) {
        t.set(s);
        t[DEVPC] = 0;
        this.send(t, c);
        emit(K_D3 | (c << 5), t, 0);
        count++;
      }
    }
    if (this.cached && (s[USED] < this.n || pc !== 0)) {
      const live = this.liveSuppression(s);
      if (s[DCACHE] !== live) {
        t.set(s);
        t[DCACHE] = live;
        emit(K_D4, t, 0);
        count++;
      }
    }

    // ---- fabric: an in-flight MSI latches (LAT=1)
    if (this.lat) {
      for (let c = 0; c < this.ncpu; c++) {
        if (s[INF0 + c] > 0) {
          t.set(s);
          t[INF0 + c]--;
          t[PEND0 + c] = 1;
          emit(K_F | (c << 5), t, 0);
          count++;
        }
      }
    }

    // ---- hard IRQ context on each CPU (§2.2, §2.3)
    for (let c = 0; c < this.ncpu; c++) {
      const cb = c << 5;
      if (s[PEND0 + c] === 1 && this.irqsOn(s, c)) {
        // handle_edge_irq: irq_may_run() fails while another CPU has IRQD_IRQ_INPROGRESS.
        t.set(s);
        t[PEND0 + c] = 0;
        if (this.any && s[DINPROG] === 1) {
          t[DPEND] = 1;
          t[MASKED] = 1;
        } else {
          if (this.any) t[DINPROG] = 1;
          t[INIRQ0 + c] = 1;
          t[IPC0 + c] = 1;
        }
        emit(K_I0 | cb, t, 0);
        count++;
      }
      const ipc = s[IPC0 + c];
      if (ipc === 1) {
        t.set(s);
        if (s[LAST] !== s[USED]) {
          // vring_interrupt: more_used(); with EVENT_IDX the `event_triggered = true` store is
          // its own step (I1e), after this read.
          t[IPC0 + c] = this.evidx ? 4 : 2;
          emit(K_I1 | cb, t, 0);
          count++;
        } else {
          let ev = EV_NONE;
          // "While the drain is in progress": the work holds the lock (W1..W6, and W3 with
          // DRAIN 2), or for NAPI the poll runs (P0..P4).
          if (this.napi ? s[RUN] === 1 : s[LOCK] === L_WORK) {
            ev |= EV_B2;
            if (s[WCPU] === c) ev |= EV_B;
          }
          if (this.observers) {
            const nones = ++t[NONES],
              handled = t[HANDLED];
            if (nones + handled > this.n) throw new Error('observer overflow: more handler returns than MSIs');
            if (nones > 2 * handled) ev |= EV_C;
            if (handled === 1 && nones >= this.n - 1) ev |= EV_CX;
          }
          count += this.exit(t, c, K_I1 | cb, ev, emit);
        }
      } else if (ipc === 4) {
        // I1e: `if (vq->event) data_race(vq->event_triggered = true)`.
        t.set(s);
        t[EVTRIG] = 1;
        t[IPC0 + c] = 2;
        emit(K_I1E | cb, t, 0);
        count++;
      } else if (ipc === 2) {
        if (this.napi) {
          // I2n: virtqueue_napi_schedule(): napi_schedule_prep() fails while NAPI_STATE_SCHED is
          // set; otherwise virtqueue_disable_cb() and __napi_schedule() on this CPU.
          t.set(s);
          if (s[SCHED] === 0) {
            this.disableCb(t);
            t[SCHED] = 1;
            t[QUEUED] = 1;
            if (s[RUN] === 0) t[WCPU] = c;
          }
          this.countHandled(t);
          count += this.exit(t, c, K_I2N | cb, 0, emit);
        } else if (!this.cbLock) {
          t.set(s);
          this.scheduleWork(t, c);
          this.countHandled(t);
          count += this.exit(t, c, K_I2 | cb, 0, emit);
        } else if (s[LOCK] === L_FREE) {
          // CBLOCK: spin_lock in the callback (IRQs are already off in hard IRQ context).
          t.set(s);
          t[LOCK] = L_HIRQ0 + c;
          t[IPC0 + c] = 3;
          emit(K_I2A | cb, t, this.mutex ? EV_ILLEGAL : 0);
          count++;
        }
      } else if (ipc === 3) {
        t.set(s);
        this.scheduleWork(t, c);
        t[LOCK] = L_FREE;
        this.countHandled(t);
        count += this.exit(t, c, K_I2B | cb, 0, emit);
      }
    }

    // ---- the NAPI poll (§12), in softirq on CPU wcpu, only when WSTEP holds
    if (this.napi) {
      if (this.wstep(s)) count += this.poll(s, emit);
      return count;
    }

    // ---- the work function (§2.5), on CPU wcpu, only when WSTEP holds (§2.6)
    if (this.wstep(s)) {
      const w = s[WCPU] << 5;
      const wpc = s[WPC];
      t.set(s);
      switch (wpc) {
        case 0: // process_one_work: clear PENDING, then call the function
          if (s[WQP] === 0) break;
          t[WQP] = 0;
          t[RUN] = 1;
          t[WPC] = 1;
          emit(K_W0 | w, t, 0);
          count++;
          break;
        case 1: // the lock; irqsave/irq also mask local IRQs (IRQS_ON)
          if (s[LOCK] !== L_FREE) break;
          t[LOCK] = L_WORK;
          t[WPC] = this.recheck ? 2 : 3;
          emit((K_W0 + 1) | w, t, 0);
          count++;
          break;
        case 2: // virtqueue_disable_cb_split
          this.disableCb(t);
          t[WPC] = 3;
          emit((K_W0 + 2) | w, t, 0);
          count++;
          break;
        case 3: // virtqueue_get_buf_ctx_split; DRAIN 2 drops the lock after each buffer (W8)
          if (this.getBuf(t)) {
            if (this.relock) t[WPC] = 8;
          } else t[WPC] = this.recheck ? 4 : 6;
          emit((K_W0 + 3) | w, t, 0);
          count++;
          break;
        case 4: // virtqueue_enable_cb_prepare(_split)
          this.enableCbPrepare(t);
          t[WPC] = 5;
          emit((K_W0 + 4) | w, t, 0);
          count++;
          break;
        case 5: // virtqueue_poll_split after virtio_mb
          t[WPC] = t[USED] !== t[LAST] ? 2 : 6;
          emit((K_W0 + 5) | w, t, 0);
          count++;
          break;
        case 6: // unlock (irqrestore unmasks)
          t[LOCK] = L_FREE;
          t[WPC] = 7;
          emit((K_W0 + 6) | w, t, 0);
          count++;
          break;
        case 7: // complete requests outside the lock, return
          t[RUN] = 0;
          t[WPC] = 0;
          emit((K_W0 + 7) | w, t, 0);
          count++;
          break;
        case 8: // DRAIN 2: unlock after a buffer (irqrestore unmasks)
          t[LOCK] = L_FREE;
          t[WPC] = 9;
          emit((K_W0 + 8) | w, t, 0);
          count++;
          break;
        case 9: // DRAIN 2: re-lock before the next get_buf
          if (s[LOCK] !== L_FREE) break;
          t[LOCK] = L_WORK;
          t[WPC] = 3;
          emit((K_W0 + 9) | w, t, 0);
          count++;
          break;
      }
    }
    return count;
  }

  /** The NAPI poll's steps P0..P4 (§12); wpc 3..6 stand for P1..P4. */
  private poll(s: Int32Array, emit: Emit): number {
    const t = this.t;
    const w = s[WCPU] << 5;
    t.set(s);
    switch (s[WPC]) {
      case 0: // net_rx_action picks the NAPI instance off the poll list
        if (s[QUEUED] === 0 || s[RUN] === 1) return 0;
        t[QUEUED] = 0;
        t[RUN] = 1;
        t[WPC] = 3;
        emit(K_P0 | w, t, 0);
        return 1;
      case 3: // the virtqueue_get_buf() loop (no budget)
        if (!this.getBuf(t)) t[WPC] = 4;
        emit((K_P0 + 1) | w, t, 0);
        return 1;
      case 4: // virtqueue_napi_complete(): virtqueue_enable_cb_prepare()
        this.enableCbPrepare(t);
        t[WPC] = 5;
        emit((K_P0 + 2) | w, t, 0);
        return 1;
      case 5: // napi_complete_done(): NAPI_STATE_SCHED cleared
        t[SCHED] = 0;
        t[WPC] = 6;
        emit((K_P0 + 3) | w, t, 0);
        return 1;
      case 6: // virtqueue_poll(); if more and napi_schedule_prep(): disable_cb, __napi_schedule
        if (s[USED] !== s[LAST] && s[SCHED] === 0) {
          this.disableCb(t);
          t[SCHED] = 1;
          t[QUEUED] = 1;
        }
        t[RUN] = 0;
        t[WPC] = 0;
        emit((K_P0 + 4) | w, t, 0);
        return 1;
      default:
        return 0;
    }
  }

  /** virtqueue_disable_cb_split: the W2 effect (also the callback's disable_cb under NAPI). */
  private disableCb(t: Int32Array): void {
    if (t[SHADOW] === 0) {
      t[SHADOW] = 1;
      if (t[EVTRIG] === 0) {
        if (this.evidx) t[UEVENT] = this.noev;
        else t[AFLAG] = 1;
      }
    }
  }

  /**
   * virtqueue_get_buf_ctx_split, the W3 effect: takes a buffer if there is one (true). "If we
   * expect an interrupt for the next entry, tell host": used_event is written only with the
   * shadow flag clear, i.e. never inside the re-check loop.
   */
  private getBuf(t: Int32Array): boolean {
    if (t[LAST] === t[USED]) return false;
    t[LAST]++;
    if (this.evidx && t[SHADOW] === 0) t[UEVENT] = t[LAST];
    return true;
  }

  /** virtqueue_enable_cb_prepare(_split), the W4 effect. */
  private enableCbPrepare(t: Int32Array): void {
    t[EVTRIG] = 0;
    if (t[SHADOW] === 1) {
      t[SHADOW] = 0;
      if (!this.evidx) t[AFLAG] = 0;
    }
    if (this.evidx) t[UEVENT] = t[LAST];
  }

  /** emit of §4: in flight with LAT=1, else latched at once. */
  private emitMsi(t: Int32Array, c: number): void {
    if (this.lat) t[INF0 + c]++;
    else t[PEND0 + c] = 1;
  }

  /** send of D3: a masked vector only sets its PBA bit (MSI-X). */
  private send(t: Int32Array, c: number): void {
    if (this.any && t[MASKED] === 1) t[PBA] = 1;
    else this.emitMsi(t, c);
  }

  /** queue_work_on / __queue_work (kernel/workqueue.c): no-op while PENDING is set. */
  private scheduleWork(t: Int32Array, c: number): void {
    if (t[WQP] === 0) {
      t[WQP] = 1;
      // WQLOCAL: the caller's pool, unless the item is executing (non-reentrancy).
      if (this.wqLocal && t[RUN] === 0) t[WCPU] = c;
    }
  }

  private countHandled(t: Int32Array): void {
    if (this.observers && ++t[HANDLED] + t[NONES] > this.n) {
      throw new Error('observer overflow: more handler returns than MSIs');
    }
  }

  /**
   * EXIT(c): handler return. Under TARGET=any with IRQS_PENDING set, handle_edge_irq loops:
   * it unmasks the vector (the PBA bit replays the MSI to the vector's target, which may be
   * either CPU, so both outcomes are successors) and re-runs the handler.
   */
  private exit(t: Int32Array, c: number, code: number, ev: number, emit: Emit): number {
    if (this.any && t[DPEND] === 1) {
      t[DPEND] = 0;
      t[IPC0 + c] = 1;
      if (t[MASKED] === 1) {
        t[MASKED] = 0;
        if (t[PBA] === 1) {
          t[PBA] = 0;
          for (let d = 0; d < 2; d++) {
            const inf = t[INF0 + d],
              pend = t[PEND0 + d];
            this.emitMsi(t, d);
            emit(code | ((d + 1) << 6), t, ev);
            t[INF0 + d] = inf;
            t[PEND0 + d] = pend;
          }
          return 2;
        }
      }
      emit(code, t, ev);
      return 1;
    }
    if (this.any) t[DINPROG] = 0;
    t[INIRQ0 + c] = 0;
    t[IPC0 + c] = 0;
    emit(code, t, ev);
    return 1;
  }
}
