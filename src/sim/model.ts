// Configuration of the race model (SIM-MODEL.md §2-§4). Every knob of the specification is a
// field here; `resolveConfig` fills defaults and rejects values the state encoding cannot hold.

import { PROPERTY_IDS, PROPERTY_TITLES, type PropertyId } from './properties';

// The property ids and their titles live with the result shape the editor's view imports
// (src/shared/ is all the extension bundle takes); the simulator re-exports them.
export { PROPERTY_IDS, PROPERTY_TITLES };
export type { PropertyId };

/**
 * How the work function takes `fsvq->lock` (§2.5, include/linux/spinlock_api_smp.h). 'none' is a
 * drain under no lock (§12): for hard IRQs it is LOCK 0, like spin_lock and mutex, and "holds the
 * lock" in B and B2 reads "is inside the drain (W1..W6)".
 */
export type LockKind = 'spin_lock' | 'spin_lock_bh' | 'spin_lock_irqsave' | 'spin_lock_irq' | 'mutex' | 'none';

/** Where the device sends the virtqueue's MSI (§2.2): the work's CPU, the other CPU, or either. */
export type Target = 'same' | 'other' | 'any';

/** STALE (§2.1): 0 prompt (reads the live value), 1 cached (private copy), 2 lax (may notify anyway). */
export type Stale = 'prompt' | 'cached' | 'lax';

/**
 * DRAIN (§2.5): 'recheck' (0) `lock; do { disable_cb; while (get_buf) ...; } while (!enable_cb); unlock`;
 * 'plain' (1) `lock; while (get_buf) ...; unlock` (also a single get_buf, over-approximated);
 * 'relock' (2) the lock is dropped after each buffer and re-taken before the next get_buf.
 */
export type DrainShape = 'recheck' | 'plain' | 'relock';
export const DRAIN_SHAPES: readonly DrainShape[] = ['recheck', 'plain', 'relock'];

/**
 * WQLOCAL (§2.4): 'local' (1) schedule_work()/queue_work() on a per-CPU workqueue queue the item on
 * the CPU that took the interrupt; 'pinned' (0) the item runs on CPU 0 whatever CPU the IRQ hit
 * (an unbound workqueue, or queue_work_on() another CPU).
 */
export type WqLocality = 'local' | 'pinned';
export const WQ_LOCALITIES: readonly WqLocality[] = ['local', 'pinned'];

/** EVIDX (§2.1): how the driver suppresses used-buffer notifications. */
export type Notify = 'event-idx' | 'flags';
export const NOTIFY_MODES: readonly Notify[] = ['event-idx', 'flags'];

export interface SimConfig {
  /** LOCK: how `virtio_fs_requests_done_work` takes `fsvq->lock`. */
  lock: LockKind;
  /** TARGET: the MSI's CPU. 'same' is CPU 0 (where the work runs with wqLocal=false). */
  target: Target;
  /** STALE: how the device reads the driver's suppression state. */
  stale: Stale;
  /** LAT: an emitted MSI is in flight for an arbitrary time before it latches. */
  lat: boolean;
  /** EVIDX: VIRTIO_RING_F_EVENT_IDX (used_event) instead of VRING_AVAIL_F_NO_INTERRUPT. */
  eventIdx: boolean;
  /**
   * WQLOCAL (§2.4): schedule_work queues on the caller's CPU (and non-reentrancy); else pinned to
   * CPU 0. The v2 default is true: schedule_work() and queue_work() on a per-CPU workqueue do this.
   */
  wqLocal: boolean;
  /** CBLOCK: the vring callback takes the same lock as the work before schedule_work. */
  cbLock: boolean;
  /** N: buffers the device completes (requests outstanding at the start). 1..14. */
  n: number;
  /** Hard cap on stored states; exploration stops with `capped: true` when it is exceeded. */
  maxStates: number;
  /**
   * DRAIN (§2.5). 'recheck': `do { disable_cb; while (get_buf) ...; } while (!enable_cb)` (W2..W5).
   * 'plain': a `while (get_buf)` drain under one hold: W1 goes to W3, the NULL get_buf goes to W6;
   * disable_cb/enable_cb never run, so callbacks stay enabled and, with EVENT_IDX, each get_buf
   * publishes used_event itself (virtqueue_get_buf_ctx_split, shadow flag clear). 'relock': as
   * 'plain', but after each buffer the lock is dropped (W8) and re-taken (W9).
   */
  drain: DrainShape;
  /**
   * NAPI (§12): the callback schedules a NAPI poll (virtqueue_napi_schedule) instead of a work
   * item; the poll runs in softirq on the CPU that scheduled it, takes no lock (I2n, P0..P4).
   * Needs wqLocal; `lock`, `drain` and `cbLock` do not apply.
   */
  napi: boolean;
  /** Properties to check. C and CX need the nones/handled observers; leaving both out skips them. */
  properties?: readonly PropertyId[];
}

export const MAX_N = 14;

export const DEFAULT_CONFIG: Readonly<SimConfig> = Object.freeze({
  lock: 'spin_lock',
  target: 'same',
  stale: 'prompt',
  lat: false,
  eventIdx: false,
  wqLocal: true,
  cbLock: false,
  n: 3,
  maxStates: 2_000_000,
  drain: 'recheck',
  napi: false,
});

/** The values each knob can take (for validation, and for the CLI's options). */
export const LOCKS: readonly LockKind[] = ['spin_lock', 'spin_lock_bh', 'spin_lock_irqsave', 'spin_lock_irq', 'mutex', 'none'];
export const TARGETS: readonly Target[] = ['same', 'other', 'any'];
export const STALES: readonly Stale[] = ['prompt', 'cached', 'lax'];

/** Defaults for missing fields; throws RangeError on values the model cannot represent. */
export function resolveConfig(partial: Partial<SimConfig> = {}): SimConfig {
  const c: SimConfig = { ...DEFAULT_CONFIG, ...stripUndefined(partial) };
  if (!LOCKS.includes(c.lock)) throw new RangeError(`unknown lock kind '${String(c.lock)}'`);
  if (!TARGETS.includes(c.target)) throw new RangeError(`unknown target '${String(c.target)}'`);
  if (!STALES.includes(c.stale)) throw new RangeError(`unknown device variant '${String(c.stale)}'`);
  if (!Number.isInteger(c.n) || c.n < 1 || c.n > MAX_N) throw new RangeError(`n must be an integer in 1..${MAX_N}, got ${c.n}`);
  if (!Number.isInteger(c.maxStates) || c.maxStates < 1) throw new RangeError(`maxStates must be a positive integer, got ${c.maxStates}`);
  if (!DRAIN_SHAPES.includes(c.drain)) throw new RangeError(`unknown drain shape '${String(c.drain)}'`);
  if (c.napi) {
    if (!c.wqLocal) throw new RangeError('a NAPI poll runs on the CPU that scheduled it: NAPI needs the local work placement');
    if (c.cbLock) throw new RangeError('the NAPI shape has no lock for the callback to take');
  }
  if (c.lock === 'none' && c.cbLock) throw new RangeError('with no lock in the work there is no lock for the callback to take');
  if (c.properties) {
    for (const p of c.properties) if (!PROPERTY_IDS.includes(p)) throw new RangeError(`unknown property '${String(p)}'`);
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Does holding the lock mask hard IRQs on the holder's CPU? spin_lock_irqsave does
 * local_irq_save (__raw_spin_lock_irqsave), spin_lock_irq does local_irq_disable
 * (__raw_spin_lock_irq). spin_lock, spin_lock_bh (softirqs only) and mutex_lock leave them on.
 */
export function masksHardIrqs(lock: LockKind): boolean {
  return lock === 'spin_lock_irqsave' || lock === 'spin_lock_irq';
}

/**
 * The same configuration with the RFC's fix applied to the work function, or undefined where it
 * does not apply (§12: a NAPI poll or a drain under no lock has no spin_lock to change).
 */
export function withIrqsaveFix(c: SimConfig): SimConfig | undefined {
  if (c.napi || c.lock === 'none') return undefined;
  return { ...c, lock: 'spin_lock_irqsave' };
}

/** CPUs that exist (§4): CPU 0 always, CPU 1 if TARGET != same or WQLOCAL. */
export function cpuCount(c: SimConfig): number {
  return c.target !== 'same' || c.wqLocal ? 2 : 1;
}

/** True when C or CX is requested, which needs the nones/handled observers. */
export function needsObservers(c: SimConfig): boolean {
  const ps = c.properties ?? PROPERTY_IDS;
  return ps.includes('C') || ps.includes('CX');
}

/** Short one-line description, e.g. "spin_lock, IRQ on same CPU, prompt device, N=4". */
export function describeConfig(c: SimConfig): string {
  const parts = [
    c.napi ? 'NAPI poll (no lock)' : c.lock === 'none' ? 'no lock' : c.lock,
    `IRQ on ${c.target === 'any' ? 'any' : c.target} CPU`,
    `${c.stale} device`,
  ];
  if (c.cbLock) parts.push('callback takes the lock');
  if (c.lat) parts.push('MSIs in flight (LAT=1)');
  parts.push(c.eventIdx ? 'EVENT_IDX' : 'flags mode');
  if (!c.napi) parts.push(c.wqLocal ? 'work queued on the CPU that took the IRQ' : 'work pinned to CPU 0');
  if (!c.napi && c.drain === 'plain') parts.push('plain get_buf drain (no disable/enable_cb loop)');
  if (!c.napi && c.drain === 'relock') parts.push('lock dropped and re-taken per buffer');
  parts.push(`N=${c.n}`);
  return parts.join(', ');
}
