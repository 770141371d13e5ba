// VRL002 deferred-drain-irqs-on: a vring callback defers the drain of its own queue to another
// context (a work item, a NAPI poll, a tasklet, or a task it wakes), and that drain runs with
// hard IRQs on and is not a VRL001 finding: under a mutex, under no lock, after a trylock the
// lock dataflow does not hold, in a NAPI poll, in a tasklet, or in a wait_event() condition or
// after it.
//
// The exposure is the RFC's closing point ("this race condition could in theory affect all
// drivers"): while such a drain runs, the queue's interrupt can land (on the drain's CPU, or on
// another) and vring_interrupt() finds the ring already drained and returns IRQ_NONE. There is
// no fix to offer: no lock change makes the interrupt find the buffer; irqsave only holds off
// this CPU's interrupts, and under a mutex or in a sleeping task it is impossible
// (README.md#vrl002-deferred-drain-irqs-on). The simulator models the work shapes (mutex, no lock,
// trylock: LOCK 0) and NAPI (SIM-MODEL §12); waiters and tasklets are not modelled yet.
//
// Not reported: VRL001's findings (a work draining under an IRQ-unsafe spinlock), a drain in the
// callback itself, a drain with hard IRQs off (spin_lock_irq*, irqsave, local_irq_*), a drain of a
// queue the callback does not serve (or of a queue set up without a callback), and transport code
// (drivers/virtio/virtio_ring.c, virtio_pci_*.c, virtio_mmio.c, virtio_vdpa.c).
import {
  DRAIN_APIS,
  isIrqUnsafeSpin,
  NAPI_ADD_APIS,
  NAPI_SCHEDULE_APIS,
  TASKLET_INIT_APIS,
  TASKLET_SCHEDULE_APIS,
  TRYLOCK_CALL,
  WAIT_API,
  WAKE_API,
} from '../apis';
import type { CallFact, DrainFact, FunctionFacts, LockOp, Span } from '../facts';
import { keysMatch, resolveKeys } from '../shape';
import { compareCodeUnits } from '../text';
import type { CallbackInfo, FnRef, Tables, WorkKey, WorkspaceIndex } from '../workspace';
import { SimOptionError, vrl002Model } from '../../sim/fromCode';
import { drainQueueCallbacks, drainQueueKeys } from './queues';
import { createRule, drainJson, type Finding, type RelatedLocation } from './rule';

const MAX_DEPTH = 5;

export type DeferralKind = 'work' | 'napi' | 'tasklet' | 'waiter';
/** What the finding's first line calls the shape. */
export type DeferredShape = 'mutex' | 'no lock' | 'trylock' | 'NAPI poll' | 'tasklet' | 'waiter';

export const vrl002 = createRule(
  {
    id: 'VRL002',
    name: 'deferred-drain-irqs-on',
    severity: 'information',
    description:
      'A vring callback defers the drain of its queue (work item, NAPI poll, tasklet or woken task) and the drain runs with hard IRQs on, outside VRL001 (mutex, no lock, trylock, NAPI, tasklet, waiter).',
  },
  check,
  {
    simulate: (f, index) => {
      const why = unmodelled(f);
      if (why) throw new SimOptionError(why);
      return vrl002Model(f, index);
    },
    unmodelled,
    json: (f, rel) => ({ ...drainJson(f, rel), deferral: { kind: f.data?.kind, shape: f.data?.shape, api: f.data?.api } }),
    sarifProperties: (f): Record<string, string> => ({ deferral: String(f.data?.kind), shape: String(f.data?.shape) }),
    fingerprint: f => [f.drain?.function ?? '', f.drain?.api ?? '', String(f.data?.kind)],
  },
);

/** Waiters and tasklets are not in the model yet (docs/model.md#drains-without-a-spinlock). */
function unmodelled(f: Finding): string | undefined {
  const shape = f.data?.shape as DeferredShape | undefined;
  if (shape !== 'waiter' && shape !== 'tasklet') return undefined;
  return `${f.handler}(): a drain in ${shape === 'waiter' ? 'a task woken by the callback (wait_event())' : 'a tasklet'} is not modelled yet (docs/model.md#drains-without-a-spinlock)`;
}

/** A context the callback hands the drain to. */
interface Deferral {
  kind: DeferralKind;
  /** The schedule / wake call, in the callback or a function it calls. */
  site: { file: string; span: Span; api: string; text: string; fn: FnRef };
  handler: FnRef;
  /** INIT_WORK / netif_napi_add / tasklet_setup, or the wait_event() call (waiter). */
  binding: { file: string; span: Span; api: string; text: string };
  via?: { file: string; span: Span; helper: string };
  /** Waiter: drains count from this offset in the handler (the wait_event() call) on. */
  from: number;
  /** The work item, napi_struct, tasklet or wait queue the callback hands over. */
  obj: { key: WorkKey; file: string };
}

interface Reached {
  drainFn: FnRef;
  drain: DrainFact;
  chain: FnRef[];
  locks: { op: LockOp; fn: FnRef }[];
  trylock?: string;
  /** Where, in the deferred function, the drain or the call that leads to it is. */
  at: Span;
}

function check(index: WorkspaceIndex): Finding[] {
  const t = index.link();
  const out = new Map<string, Finding>();
  for (const cb of t.callbacks()) {
    for (const d of deferralsFrom(t, cb)) {
      if (d.handler.fn === cb.fn.fn) continue;
      for (const r of drainsFrom(t, d.handler, d.from, new Set(), 0, [], [])) {
        if (isTransport(r.drainFn.file)) continue;
        const id = `${r.drainFn.file}:${r.drain.span.start}`;
        if (out.has(id)) continue;
        const shape = shapeOf(d.kind, r);
        if (!shape) continue;
        // Queue identity: the drain's queue must be one this callback serves (or unknown; a
        // busy-poll for one buffer only on a queue known to be this callback's).
        const served = drainQueueCallbacks(t, r.chain, r.drainFn, r.drain);
        if (r.drain.poll ? !served?.has(cb.fn.fn.name) : served && !served.has(cb.fn.fn.name)) continue;
        // Where the queue's callback is not known, the queue must belong to the structure that holds
        // what the callback hands over (virtio_net: a receive_queue's NAPI poll drains rq->vq for
        // the RX callback; the sq->vq it also cleans is the TX callback's).
        if (!served && !related(t, d.obj, drainQueueKeys(t, r.chain, r.drainFn, r.drain))) continue;
        out.set(id, makeFinding(t, cb, d, r, shape));
      }
    }
  }
  return [...out.values()].sort((a, b) => compareCodeUnits(a.file, b.file) || a.span.start - b.span.start);
}

/** Transport code: the ring and the transports drain on behalf of drivers, with their own callbacks. */
function isTransport(file: string): boolean {
  return /(?:^|[\\/])drivers[\\/]virtio[\\/]virtio_(?:ring|pci_\w+|mmio|vdpa)\.c$/.test(file) || /(?:^|[\\/])virtio_ring\.c$/.test(file);
}

/** The shape of a reached drain, or undefined when it is not VRL002's (VRL001's, or IRQs off). */
function shapeOf(kind: DeferralKind, r: Reached): DeferredShape | undefined {
  if (kind === 'napi') return 'NAPI poll';
  if (kind === 'tasklet') return 'tasklet';
  if (kind === 'waiter') return 'waiter';
  // A work item under an IRQ-unsafe spinlock (spin_trylock() included) is VRL001's.
  if (r.locks.some(l => isIrqUnsafeSpin(l.op.family, l.op.irq) && l.op.action === 'lock')) return undefined;
  if (r.locks.some(l => l.op.family === 'mutex' && l.op.action === 'lock')) return 'mutex';
  if (r.trylock) return 'trylock';
  return 'no lock';
}

// --- deferrals ---------------------------------------------------------------------------------

interface ObjBinding {
  key: WorkKey;
  file: string;
  handler: FnRef;
  site: Deferral['binding'];
}

const registrationMemo = new WeakMap<
  Tables,
  { napi: ObjBinding[]; tasklet: ObjBinding[]; waits: { key: WorkKey; file: string; fn: FnRef; call: CallFact }[] }
>();

/** NAPI poll functions and tasklet handlers registered in the index, and every wait_event() call. */
function registrations(t: Tables) {
  let r = registrationMemo.get(t);
  if (r) return r;
  r = { napi: [], tasklet: [], waits: [] };
  for (const file of t.files.values()) {
    for (const fn of file.functions) {
      const ref: FnRef = { file: file.file, fn };
      for (const c of fn.calls) {
        const napi = NAPI_ADD_APIS.get(c.callee);
        const tl = TASKLET_INIT_APIS.get(c.callee);
        const reg = napi ?? tl;
        if (reg) {
          const h = c.args[reg.fnArg]?.ident;
          const handler = h && c.args[reg.fnArg].param === undefined ? t.resolveFunction(h, file.file) : undefined;
          const obj = c.args[reg.objArg]?.text;
          if (!handler || !obj) continue;
          for (const k of resolveKeys(t, obj, ref, 0)) {
            (napi ? r.napi : r.tasklet).push({
              key: k.key,
              file: k.file,
              handler,
              site: { file: file.file, span: c.span, api: c.callee, text: callText(c) },
            });
          }
        } else if (WAIT_API.test(c.callee) && c.args[0]) {
          for (const k of resolveKeys(t, c.args[0].text, ref, 0)) r.waits.push({ key: k.key, file: k.file, fn: ref, call: c });
        }
      }
    }
  }
  registrationMemo.set(t, r);
  return r;
}

function callText(c: CallFact): string {
  const t = `${c.callee}(${c.args.map(a => a.text.replace(/\s+/g, ' ').trim()).join(', ')})`;
  return t.length <= 70 ? t : `${c.callee}(${c.args[0]?.text.replace(/\s+/g, ' ').trim() ?? ''}, ...)`;
}

/** Keys that may be written differently but name the same object (work.ts's key forms). */
function sameObject(t: Tables, a: { key: WorkKey; file: string }, b: { key: WorkKey; file: string }): boolean {
  if (!a.key.global && a.key.root === undefined) return false;
  if (!b.key.global && b.key.root === undefined) return false;
  return keysMatch(t, a.key, a.file, b.key, b.file);
}

/** The innermost struct type a key names a member of, and every struct it can be written from. */
function roots(t: Tables, k: { key: WorkKey; file: string }): string[] {
  return t
    .keyForms(k.key, k.file)
    .map(f => f.slice(0, f.indexOf(':')))
    .filter(r => r && r !== '?');
}

/** The handed-over object and the drained queue are members of the same structure (or that is unknown). */
function related(t: Tables, obj: { key: WorkKey; file: string }, queues: { key: WorkKey; file: string }[]): boolean {
  const objRoots = roots(t, obj);
  const known = queues.filter(q => roots(t, q).length);
  if (!objRoots.length || !known.length) return true;
  return known.some(q => {
    const qRoots = roots(t, q);
    return qRoots.includes(objRoots[objRoots.length - 1]) || objRoots.includes(qRoots[qRoots.length - 1]);
  });
}

/** Every context the callback hands work to: work items (as VRL001 finds them), NAPI, tasklets, waiters. */
function deferralsFrom(t: Tables, cb: CallbackInfo): Deferral[] {
  const out: Deferral[] = [];
  for (const reach of t.schedulesFrom(cb)) {
    for (const b of t.handlersFor(reach.key, reach.site.file)) {
      out.push({
        kind: 'work',
        site: {
          file: reach.site.file,
          span: reach.site.fact.span,
          api: reach.site.fact.api,
          text: `${reach.site.fact.api}(${reach.site.fact.work.text})`,
          fn: reach.site.fn,
        },
        handler: b.handler,
        binding: { file: b.site.file, span: b.site.span, api: b.site.api, text: b.site.api },
        ...(b.via ? { via: { file: b.via.file, span: b.via.span, helper: b.via.helper } } : {}),
        from: 0,
        obj: { key: reach.key, file: reach.site.file },
      });
    }
  }
  const regs = registrations(t);
  const seen = new Set<FunctionFacts>();
  // ctx: the calls from the callback down to f, so an object passed as an argument (a driver's
  // own napi-schedule wrapper) resolves to what this callback passed.
  const walk = (f: FnRef, depth: number, ctx: { caller: FnRef; call: CallFact }[]) => {
    if (seen.has(f.fn) || depth > MAX_DEPTH) return;
    seen.add(f.fn);
    const keysOf = (text: string) => resolveKeys(t, text, f, 0, ctx.length ? ctx : undefined);
    for (const c of f.fn.calls) {
      const napi = NAPI_SCHEDULE_APIS.get(c.callee);
      const tl = TASKLET_SCHEDULE_APIS.get(c.callee);
      const sched = napi ?? tl;
      if (sched) {
        const arg = c.args[sched.objArg]?.text;
        const keys = arg ? keysOf(arg) : [];
        for (const k of keys) {
          for (const b of napi ? regs.napi : regs.tasklet) {
            if (!sameObject(t, k, b)) continue;
            out.push({
              kind: napi ? 'napi' : 'tasklet',
              site: { file: f.file, span: c.span, api: c.callee, text: callText(c), fn: f },
              handler: b.handler,
              binding: b.site,
              from: 0,
              obj: k,
            });
          }
        }
        // virtqueue_napi_schedule() is the driver's own: its body is the schedule, not a path to follow.
        continue;
      }
      if (WAKE_API.test(c.callee) && c.args[0]) {
        for (const k of keysOf(c.args[0].text)) {
          for (const w of regs.waits) {
            if (w.fn.fn === cb.fn.fn || !sameObject(t, k, w)) continue;
            out.push({
              kind: 'waiter',
              site: { file: f.file, span: c.span, api: c.callee, text: callText(c), fn: f },
              handler: w.fn,
              binding: { file: w.fn.file, span: w.call.span, api: w.call.callee, text: callText(w.call) },
              from: w.call.span.start,
              obj: k,
            });
          }
        }
        continue;
      }
      if (DRAIN_APIS.has(c.callee)) continue;
      for (const g of t.callTargets(c, f)) walk(g, depth + 1, [...ctx, { caller: f, call: c }]);
    }
  };
  walk(cb.fn, 0, []);
  return out;
}

// --- drains ------------------------------------------------------------------------------------

/**
 * Drains in `f` (from offset `from` on) or below it that run with hard IRQs on, with the locks
 * held along the way and a trylock the dataflow does not hold (called before the drain).
 */
function drainsFrom(
  t: Tables,
  f: FnRef,
  from: number,
  stack: Set<FunctionFacts>,
  depth: number,
  chain: FnRef[],
  held: Reached['locks'],
): Reached[] {
  if (stack.has(f.fn) || depth > MAX_DEPTH) return [];
  stack.add(f.fn);
  const here = [...chain, f];
  const out: Reached[] = [];
  const locksAt = (state: { held: number[] }) => [...held, ...state.held.map(i => ({ op: f.fn.lockOps[i], fn: f })).filter(l => l.op)];
  const trylockBefore = (pos: number) => f.fn.calls.find(c => TRYLOCK_CALL.test(c.callee) && c.span.start < pos)?.callee;
  for (const d of f.fn.drains) {
    if (d.span.start < from || d.state.irqsOff || d.state.afterReset) continue;
    out.push({ drainFn: f, drain: d, chain: here, locks: locksAt(d.state), trylock: trylockBefore(d.span.start), at: d.span });
  }
  for (const c of f.fn.calls) {
    if (c.span.start < from || c.state.irqsOff || c.state.afterReset || DRAIN_APIS.has(c.callee)) continue;
    for (const g of t.callTargets(c, f)) {
      if (g.fn === f.fn) continue;
      const tl = trylockBefore(c.span.start);
      for (const r of drainsFrom(t, g, 0, stack, depth + 1, here, locksAt(c.state)))
        out.push({ ...r, ...(tl && !r.trylock ? { trylock: tl } : {}), at: c.span });
    }
  }
  stack.delete(f.fn);
  return out;
}

// --- the finding -------------------------------------------------------------------------------

/** The callback, or a function it calls, calls virtqueue_disable_cb(). */
function suppresses(t: Tables, f: FnRef, seen = new Set<FunctionFacts>(), depth = 0): boolean {
  if (seen.has(f.fn) || depth > MAX_DEPTH) return false;
  seen.add(f.fn);
  return f.fn.calls.some(c => c.callee === 'virtqueue_disable_cb' || t.callTargets(c, f).some(g => suppresses(t, g, seen, depth + 1)));
}

function makeFinding(t: Tables, cb: CallbackInfo, d: Deferral, r: Reached, shape: DeferredShape): Finding {
  const h = d.handler.fn.name;
  const c = cb.fn.fn.name;
  const lock = [...r.locks]
    .reverse()
    .find(l => l.op.action === 'lock' && (l.op.family === 'mutex' || isIrqUnsafeSpin(l.op.family, l.op.irq)));
  const inside = r.drainFn.fn !== d.handler.fn ? ` (in ${r.drainFn.fn.name}())` : '';
  const inWait = d.kind === 'waiter' && d.binding.span.start <= r.at.start && r.at.end <= d.binding.span.end;
  const how = (lockText: string, irqs: string, wait: string) =>
    shape === 'mutex'
      ? `${h}() drains under ${lockText}, ${irqs}; queued by ${c}()`
      : shape === 'no lock'
        ? `${h}() drains with no lock, ${irqs}; queued by ${c}()`
        : shape === 'trylock'
          ? `${h}() drains after ${r.trylock}(), ${irqs}; queued by ${c}()`
          : shape === 'NAPI poll'
            ? `NAPI poll ${h}() drains with ${irqs}; scheduled by ${c}()`
            : shape === 'tasklet'
              ? `tasklet ${h}() drains with ${irqs}; scheduled by ${c}()`
              : `waiter ${h}() drains ${inWait ? 'in' : 'after'} its ${wait}, ${irqs}; woken by ${c}()`;
  // About 100 characters at most (a Problems row): shorter forms where the names are long.
  const forms = [
    how(lock?.op.text ?? '', 'hard IRQs on', `${d.binding.api}()`),
    how(lock ? `${lock.op.api}()` : '', 'hard IRQs on', `${d.binding.api}()`),
    how(lock ? `${lock.op.api}()` : '', 'hard IRQs on', 'wait'),
    how(lock ? `${lock.op.api}()` : '', 'IRQs on', 'wait'),
  ];
  const first = forms.find(x => x.length <= 100) ?? forms[forms.length - 1];
  const exposure =
    shape === 'NAPI poll' || shape === 'tasklet'
      ? `the ${shape === 'tasklet' ? 'tasklet' : 'poll'} runs in softirq with hard IRQs on`
      : shape === 'waiter'
        ? 'the woken task runs with hard IRQs on'
        : shape === 'mutex'
          ? 'a mutex leaves hard IRQs on (and its holder may sleep, so it cannot be made an irqsave spinlock)'
          : shape === 'trylock'
            ? `the lock ${r.trylock}() takes is not one the analysis sees held at the drain, and nothing turns hard IRQs off`
            : 'no lock is held and nothing turns hard IRQs off';
  // Whether a compliant device is quiet during the drain depends on the callback: virtio_net's
  // suppress the queue's interrupts (virtqueue_disable_cb()) before scheduling the poll; vsock's,
  // virtio_bt's, the balloon's and rpmsg's only queue or wake, and leave them enabled.
  const quiet = suppresses(t, cb.fn);
  const device = quiet
    ? `${c}() suppresses the queue's interrupts (virtqueue_disable_cb()), but a compliant device can still send an MSI it decided on before that; a device that caches the suppression state (which the VIRTIO spec does not allow) can send more. `
    : `${c}() does not suppress the queue's interrupts (no virtqueue_disable_cb() in it or the functions it calls), so while they are enabled a compliant device notifies for the buffers it uses, also for one this drain may already have taken. `;
  const message =
    `${first}\n` +
    `The queue's interrupt can arrive while this drain${inside} runs, because ${exposure}; vring_interrupt() then finds the ring already drained and returns IRQ_NONE. ` +
    device +
    'No lock change makes the interrupt find the buffer, so there is no fix to offer (see the docs); ' +
    (shape === 'NAPI poll'
      ? 'Simulate shows which verdicts need which device.'
      : shape === 'waiter' || shape === 'tasklet'
        ? 'Simulate does not model this shape yet.'
        : 'Simulate explores this shape with the device you choose.');
  const related: RelatedLocation[] = [
    { role: 'callback', file: cb.fn.file, span: cb.fn.fn.nameSpan, message: `vring callback ${c}() (hard IRQ)` },
    { role: 'registration', file: cb.reg.file, span: cb.reg.span, message: `registered as a virtqueue callback (${cb.reg.how})` },
    {
      role: 'schedule',
      file: d.site.file,
      span: d.site.span,
      message:
        `${d.site.text}` + (d.site.fn.fn !== cb.fn.fn ? ` in ${d.site.fn.fn.name}(), called from the callback` : ' from the callback'),
    },
    d.kind === 'waiter'
      ? {
          role: 'wait',
          file: d.binding.file,
          span: d.binding.span,
          message: `${d.binding.text}: ${h}() waits on the wait queue ${c}() wakes`,
        }
      : {
          role: 'binding',
          file: d.binding.file,
          span: d.binding.span,
          message: `${d.binding.api} binds ${d.kind === 'napi' ? 'the NAPI instance' : d.kind === 'tasklet' ? 'the tasklet' : 'the work item'} to ${h}()`,
        },
  ];
  if (d.via) related.push({ role: 'helper-call', file: d.via.file, span: d.via.span, message: `${d.via.helper}() called with ${h}` });
  if (lock)
    related.push({ role: 'lock', file: lock.fn.file, span: lock.op.span, message: `${lock.op.text}: held at the drain, hard IRQs on` });
  related.push({
    role: 'drain',
    file: r.drainFn.file,
    span: r.drain.span,
    message:
      `${r.drain.api}() drains the virtqueue with hard IRQs on` +
      (r.chain.length > 1 ? ` (${r.chain.map(x => x.fn.name).join(' -> ')})` : ''),
  });
  const opIndex = lock ? lock.fn.fn.lockOps.indexOf(lock.op) : -1;
  return {
    rule: vrl002.meta.id,
    file: r.drainFn.file,
    span: r.drain.span,
    message,
    severity: vrl002.meta.severity,
    handler: h,
    handlerFile: d.handler.file,
    callback: c,
    lock: lock?.op.text ?? '',
    lockApi: lock?.op.api ?? '',
    lockExpr: lock?.op.lock ?? '',
    lockFunction: r.drainFn.fn.name,
    lockOp: opIndex,
    callbackTakesLock: false,
    drain: { file: r.drainFn.file, span: r.drain.span, api: r.drain.api, function: r.drainFn.fn.name },
    related,
    data: {
      kind: d.kind,
      shape,
      api: d.site.api,
      callbackSuppresses: quiet,
      ...(lock ? { lockFile: lock.fn.file, lockFn: lock.fn.fn.name } : {}),
    },
  };
}
