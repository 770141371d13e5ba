// The state vector of SIM-MODEL.md §3 and its packing into two 32-bit words.
// Fields a configuration never changes (e.g. inflight[] with LAT=0) get width 0 and are not
// packed; they stay at their initial value, so the number of valuations is unaffected.

import { SimConfig, cpuCount, needsObservers } from './model';

// Field indices into a state array (Int32Array of length FIELD_COUNT).
export const USED = 0; // used->idx (buffers published)
export const LAST = 1; // vq->last_used_idx
export const AFLAG = 2; // avail->flags & VRING_AVAIL_F_NO_INTERRUPT (shared memory)
export const SHADOW = 3; // avail_flags_shadow & NO_INTERRUPT
export const UEVENT = 4; // used_event (EVENT_IDX); NOEV = n + 1
export const EVTRIG = 5; // vq->event_triggered
export const DCACHE = 6; // device's cached copy of avail_flag / used_event (STALE=1)
export const DEVPC = 7; // 0 next publish, 1 published, 2 decided to notify
export const INF0 = 8; // inflight[c] (LAT=1): INF0 + c
export const PEND0 = 10; // pending[c]
export const INIRQ0 = 12; // in_irq[c]
export const IPC0 = 14; // ipc[c]: 1 entered, 4 more_used true (EVENT_IDX: event_triggered next), 2 callback next, 3 callback holds lock
export const DINPROG = 16; // IRQD_IRQ_INPROGRESS (TARGET=any)
export const DPEND = 17; // IRQS_PENDING (TARGET=any)
export const MASKED = 18; // vector masked (TARGET=any)
export const PBA = 19; // MSI-X pending bit array (TARGET=any)
export const LOCK = 20; // FREE, WORK, HIRQ0, HIRQ1
export const WQP = 21; // WORK_STRUCT_PENDING
export const RUN = 22; // work function executing
export const WCPU = 23; // pool CPU of the work item
export const WPC = 24; // next work step W0..W9 (0 = idle); NAPI: P1..P4 as 3..6
export const SCHED = 25; // NAPI_STATE_SCHED (NAPI only)
export const QUEUED = 26; // NAPI on the poll list, softirq raised (NAPI only)
export const NONES = 27; // observer: IRQ_NONE returns
export const HANDLED = 28; // observer: IRQ_HANDLED returns
export const FIELD_COUNT = 29;

export const L_FREE = 0;
export const L_WORK = 1;
export const L_HIRQ0 = 2; // HIRQ1 = 3

/** Fields that are observers, not part of the canonical state (§3). */
const OBSERVER_FIELDS: readonly number[] = [NONES, HANDLED];

interface FieldDef {
  name: string;
  index: number;
  width: number;
}

function bitsFor(maxValue: number): number {
  let b = 0;
  while (1 << b <= maxValue) b++;
  return b;
}

/** Bit layout of the fields that can change under a configuration. */
export class Layout {
  /** Active field indices in packing order; observers last. */
  readonly fields: Int32Array;
  readonly word: Int32Array;
  readonly shift: Int32Array;
  readonly mask: Int32Array;
  /** Bits of the high word that hold canonical fields (observers excluded). */
  readonly canonHiMask: number;
  readonly defs: readonly FieldDef[];
  readonly noev: number;
  /** High word of the last `pack()`. */
  hi = 0;

  constructor(readonly cfg: SimConfig) {
    const n = cfg.n;
    const two = cpuCount(cfg) === 2;
    const any = cfg.target === 'any';
    const cnt = bitsFor(n);
    this.noev = n + 1;
    const cntE = bitsFor(n + 1);
    const obs = needsObservers(cfg);
    const defs: FieldDef[] = [
      { name: 'used_idx', index: USED, width: cnt },
      { name: 'last_used', index: LAST, width: cnt },
      // avail_flag is only written in flags mode; shadow in both modes.
      { name: 'avail_flag', index: AFLAG, width: cfg.eventIdx ? 0 : 1 },
      { name: 'shadow', index: SHADOW, width: 1 },
      { name: 'used_event', index: UEVENT, width: cfg.eventIdx ? cntE : 0 },
      { name: 'ev_trig', index: EVTRIG, width: cfg.eventIdx ? 1 : 0 },
      { name: 'dev_cache', index: DCACHE, width: cfg.stale === 'cached' ? (cfg.eventIdx ? cntE : 1) : 0 },
      { name: 'dev_pc', index: DEVPC, width: 2 },
      { name: 'inflight[0]', index: INF0, width: cfg.lat ? cnt : 0 },
      { name: 'inflight[1]', index: INF0 + 1, width: cfg.lat && two ? cnt : 0 },
      { name: 'pending[0]', index: PEND0, width: 1 },
      { name: 'pending[1]', index: PEND0 + 1, width: two ? 1 : 0 },
      { name: 'in_irq[0]', index: INIRQ0, width: 1 },
      { name: 'in_irq[1]', index: INIRQ0 + 1, width: two ? 1 : 0 },
      { name: 'ipc[0]', index: IPC0, width: 3 },
      { name: 'ipc[1]', index: IPC0 + 1, width: two ? 3 : 0 },
      { name: 'desc_inprog', index: DINPROG, width: any ? 1 : 0 },
      { name: 'desc_pend', index: DPEND, width: any ? 1 : 0 },
      { name: 'masked', index: MASKED, width: any ? 1 : 0 },
      { name: 'pba', index: PBA, width: any ? 1 : 0 },
      { name: 'lock', index: LOCK, width: cfg.napi ? 0 : 2 },
      { name: 'wq_pending', index: WQP, width: cfg.napi ? 0 : 1 },
      { name: 'running', index: RUN, width: 1 },
      { name: 'wcpu', index: WCPU, width: cfg.wqLocal ? 1 : 0 },
      { name: 'wpc', index: WPC, width: 4 },
      { name: 'sched', index: SCHED, width: cfg.napi ? 1 : 0 },
      { name: 'queued', index: QUEUED, width: cfg.napi ? 1 : 0 },
      { name: 'nones', index: NONES, width: obs ? cnt : 0 },
      { name: 'handled', index: HANDLED, width: obs ? cnt : 0 },
    ];
    this.defs = defs;
    const active = defs.filter(d => d.width > 0);
    this.fields = new Int32Array(active.length);
    this.word = new Int32Array(active.length);
    this.shift = new Int32Array(active.length);
    this.mask = new Int32Array(active.length);
    // Fill the low word, then the high word; a field never straddles the two words. The
    // observers always go to the high word, so masking them off yields the canonical key.
    let w = 0,
      pos = 0,
      canonHi = 0;
    active.forEach((d, i) => {
      const observer = OBSERVER_FIELDS.includes(d.index);
      if (pos + d.width > 32 || (observer && w === 0)) {
        if (w === 1) throw new RangeError('state vector does not fit in 64 bits');
        w = 1;
        pos = 0;
      }
      this.fields[i] = d.index;
      this.word[i] = w;
      this.shift[i] = pos;
      this.mask[i] = (1 << d.width) - 1;
      if (w === 1 && !observer) canonHi |= ((1 << d.width) - 1) << pos;
      pos += d.width;
    });
    this.canonHiMask = canonHi | 0;
  }

  /** Packs s; the high word is left in `this.hi`, the low word returned. */
  pack(s: Int32Array): number {
    let lo = 0,
      hi = 0;
    const f = this.fields,
      wd = this.word,
      sh = this.shift;
    for (let i = 0; i < f.length; i++) {
      const v = s[f[i]] << sh[i];
      if (wd[i] === 0) lo |= v;
      else hi |= v;
    }
    this.hi = hi;
    return lo;
  }

  unpack(hi: number, lo: number, s: Int32Array): void {
    s.fill(0);
    const f = this.fields,
      wd = this.word,
      sh = this.shift,
      m = this.mask;
    for (let i = 0; i < f.length; i++) s[f[i]] = ((wd[i] === 0 ? lo : hi) >>> sh[i]) & m[i];
  }
}

export type StateView = Record<string, number | string>;

/** Readable valuation of the fields active under the configuration (spec names). */
export function viewState(layout: Layout, s: Int32Array): StateView {
  const v: StateView = {};
  for (const d of layout.defs) {
    if (d.width === 0) continue;
    const x = s[d.index];
    if (d.index === LOCK) v[d.name] = ['FREE', 'WORK', 'HIRQ0', 'HIRQ1'][x];
    else if (d.index === UEVENT && x === layout.noev) v[d.name] = 'NOEV';
    else if (d.index === DCACHE && layout.cfg.eventIdx && x === layout.noev) v[d.name] = 'NOEV';
    else v[d.name] = x;
  }
  return v;
}
