// VRL001 irq-unsafe-vq-drain: a work function scheduled from a vring callback drains a
// virtqueue with virtqueue_get_buf() while holding a spinlock taken with hard IRQs enabled.
//
// The device may publish a used buffer and raise its MSI while the work function drains; the
// drain takes the buffer, and the interrupt then finds an empty ring, so vring_interrupt()
// returns IRQ_NONE (drivers/virtio/virtio_ring.c). Enough of those and note_interrupt()
// disables the line ("irq N: nobody cared", kernel/irq/spurious.c).
//
// What spin_lock_irqsave() changes (../../../README.md#what-the-fix-does-and-does-not-do): no
// interrupt lands on the work's CPU while the drain holds the lock, and a callback that takes
// the same lock can no longer deadlock against it. IRQ_NONE stays possible (the deferred
// interrupt still finds the ring empty), and an interrupt routed to another CPU is not masked.
import { DRAIN_APIS, isIrqUnsafeSpin } from '../apis';
import type { DrainFact, FunctionFacts, LockOp } from '../facts';
import { compareCodeUnits } from '../text';
import { drainQueueCallbacks } from './queues';
import type { CallbackInfo, FnRef, ResolvedBinding, ScheduleReach, Tables, WorkspaceIndex } from '../workspace';
import { irqsaveFix } from '../../fix/irqsave';
import { modelFromFinding } from '../../sim/fromCode';
import { createRule, drainJson, type Finding, type RelatedLocation } from './rule';

const MAX_DEPTH = 5;

interface RacyDrain {
  owner: FnRef;
  op: number;
  drainFn: FnRef;
  drain: DrainFact;
  /** Calls from the lock's owner down to the drain. */
  chain: FnRef[];
}

export const vrl001 = createRule(
  {
    id: 'VRL001',
    name: 'irq-unsafe-vq-drain',
    severity: 'warning',
    description:
      'A work function scheduled from a vring callback drains a virtqueue while holding a spinlock taken with hard IRQs enabled.',
  },
  check,
  {
    // The irqsave fix (src/fix/irqsave.ts), its fix-all and its patch mail (src/fix/patch.ts).
    fix: { apply: (f, facts, text) => irqsaveFix(f, facts, text), refusedTitle: f => `Take ${f.lockExpr} with irqsave` },
    patch: true,
    simulate: (f, index) => modelFromFinding(f, index),
    json: drainJson,
  },
);

function check(index: WorkspaceIndex): Finding[] {
  const t = index.link();
  // One finding per lock in the function that takes it: a lock dropped and re-taken inside the
  // drain loop is the same lock, reported once at its first acquisition.
  const groups = new Map<string, { reach: ScheduleReach; binding: ResolvedBinding; rd: RacyDrain; ops: Set<number> }>();
  const racyMemo = new Map<FunctionFacts, RacyDrain[]>();
  const queueMemo = new Map<RacyDrain, Set<string | null> | undefined>();
  for (const cb of t.callbacks()) {
    for (const reach of t.schedulesFrom(cb)) {
      for (const binding of t.handlersFor(reach.key, reach.site.file)) {
        for (const rd of racyDrains(t, binding.handler, racyMemo, new Set(), 0)) {
          // Queue identity: a drain counts when its queue is one this callback serves. Where
          // the queue or its callback cannot be resolved, an ordinary drain still counts; a
          // busy-poll for one buffer counts only on a queue known to have this callback.
          const served = queueCallbacks(t, rd, queueMemo);
          if (rd.drain.poll ? !served?.has(cb.fn.fn.name) : served && !served.has(cb.fn.fn.name)) continue;
          const op = rd.owner.fn.lockOps[rd.op];
          const id = `${rd.owner.file}:${rd.owner.fn.span.start}:${op.family}:${op.lock}`;
          const g = groups.get(id);
          if (!g) groups.set(id, { reach, binding, rd, ops: new Set([rd.op]) });
          else {
            g.ops.add(rd.op);
            if (op.span.start < g.rd.owner.fn.lockOps[g.rd.op].span.start) g.rd = rd;
          }
        }
      }
    }
  }
  const findings = [...groups.values()].map(g =>
    makeFinding(
      t,
      g.reach,
      g.binding,
      g.rd,
      [...g.ops].sort((a, b) => a - b),
    ),
  );
  return findings.sort((a, b) => compareCodeUnits(a.file, b.file) || a.span.start - b.span.start);
}

/**
 * Drains in `f` or below it that run while an IRQ-unsafe spinlock is held and hard IRQs are not
 * otherwise disabled. The lock may be taken in `f` or in a function it calls.
 */
function racyDrains(t: Tables, f: FnRef, memo: Map<FunctionFacts, RacyDrain[]>, stack: Set<FunctionFacts>, depth: number): RacyDrain[] {
  const cached = memo.get(f.fn);
  if (cached) return cached;
  if (stack.has(f.fn) || depth > MAX_DEPTH) return [];
  stack.add(f.fn);
  const out: RacyDrain[] = [];
  const unsafeHeld = (held: number[]) =>
    held.filter(i => {
      const op = f.fn.lockOps[i];
      return op && isIrqUnsafeSpin(op.family, op.irq);
    });
  for (const d of f.fn.drains) {
    // After virtio_reset_device() / del_vqs() no interrupt of the queue can find it drained.
    if (d.state.irqsOff || d.state.afterReset) continue;
    for (const op of unsafeHeld(d.state.held)) out.push({ owner: f, op, drainFn: f, drain: d, chain: [f] });
  }
  for (const c of f.fn.calls)
    for (const g of t.callTargets(c, f)) {
      // A drain API is a drain, already counted above; its definition (virtio_ring.c) is not the driver's code.
      if (c.state.irqsOff || c.state.afterReset || DRAIN_APIS.has(c.callee)) continue;
      if (g.fn === f.fn) continue;
      const held = unsafeHeld(c.state.held);
      if (held.length) {
        for (const { fn: drainFn, drain, chain } of drainsBelow(t, g, new Set(stack), depth + 1)) {
          for (const op of held) out.push({ owner: f, op, drainFn, drain, chain: [f, ...chain] });
        }
      } else {
        for (const rd of racyDrains(t, g, memo, stack, depth + 1)) out.push(rd);
      }
    }
  stack.delete(f.fn);
  memo.set(f.fn, out);
  return out;
}

/** Drains in `f` or its callees that run with hard IRQs enabled (relative to f's entry). */
function drainsBelow(t: Tables, f: FnRef, stack: Set<FunctionFacts>, depth: number): { fn: FnRef; drain: DrainFact; chain: FnRef[] }[] {
  if (stack.has(f.fn) || depth > MAX_DEPTH) return [];
  stack.add(f.fn);
  const out: { fn: FnRef; drain: DrainFact; chain: FnRef[] }[] = [];
  for (const d of f.fn.drains) if (!d.state.irqsOff && !d.state.afterReset) out.push({ fn: f, drain: d, chain: [f] });
  for (const c of f.fn.calls)
    for (const g of t.callTargets(c, f)) {
      if (c.state.irqsOff || c.state.afterReset || DRAIN_APIS.has(c.callee)) continue;
      for (const r of drainsBelow(t, g, stack, depth + 1)) out.push({ ...r, chain: [f, ...r.chain] });
    }
  stack.delete(f.fn);
  return out;
}

/**
 * The callbacks of the queue a drain acts on (null for a queue set up without one), or undefined
 * when the queue, or where it was set up, is not known.
 */
function queueCallbacks(t: Tables, rd: RacyDrain, memo: Map<RacyDrain, Set<string | null> | undefined>): Set<string | null> | undefined {
  if (memo.has(rd)) return memo.get(rd);
  const out = drainQueueCallbacks(t, rd.chain, rd.drainFn, rd.drain);
  memo.set(rd, out);
  return out;
}

/**
 * Whether `from` (the vring callback) or a function it calls takes the lock of `op`, held by
 * `owner`: the lock expressions are compared by the struct type and member path they resolve to.
 */
function takesSameLock(t: Tables, from: FnRef, owner: FnRef, op: LockOp): boolean {
  if (!op.lockExpr) return false;
  const key = t.workKey(op.lockExpr, owner);
  if (!key) return false;
  const want = new Set(t.keyForms(key, owner.file));
  const seen = new Set<FunctionFacts>();
  const visit = (f: FnRef, depth: number): boolean => {
    if (seen.has(f.fn) || depth > MAX_DEPTH) return false;
    seen.add(f.fn);
    for (const o of f.fn.lockOps) {
      if (o.action !== 'lock' || !o.lockExpr || o.family !== op.family) continue;
      const k = t.workKey(o.lockExpr, f);
      if (k && t.keyForms(k, f.file).some(x => want.has(x))) return true;
    }
    return f.fn.calls.some(c => t.callTargets(c, f).some(g => visit(g, depth + 1)));
  };
  return visit(from, 0);
}

/**
 * The registration of the queue whose callback schedules this handler. One callback may serve
 * several queues (virtio-fs registers virtio_fs_vq_done for the hiprio queue and for each request
 * queue) and the work item it schedules is bound to a different handler per queue. Among the
 * callback's registrations, prefer one whose queue index names this handler (`vqs[VQ_HIPRIO]` for
 * a `*_hiprio_*` handler) or the index of the call that bound it, and avoid one whose index names
 * another handler bound to the same work item.
 */
function queueRegistration(t: Tables, reach: ScheduleReach, binding: ResolvedBinding): CallbackInfo['reg'] {
  const regs = reach.callback.regs;
  if (regs.length < 2) return reach.callback.reg;
  const handler = binding.handler.fn.name;
  const others = t
    .handlersFor(reach.key, reach.site.file)
    .map(b => b.handler.fn.name)
    .filter(n => n !== handler);
  const mine = words(handler);
  const theirs = new Set(others.flatMap(o => [...words(o)]).filter(w => !mine.has(w)));
  const viaIndex = binding.via ? indexOf(binding.via.text ?? '') : undefined;
  let best = reach.callback.reg;
  let bestScore = -Infinity;
  for (const r of regs) {
    const idx = indexOf(r.how);
    const ws = words(idx ?? '');
    let score = 0;
    if (viaIndex !== undefined && idx !== undefined && idx === viaIndex) score += 2;
    if ([...ws].some(w => mine.has(w))) score += 1;
    if ([...ws].some(w => theirs.has(w))) score -= 1;
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}

const GENERIC_WORDS = new Set([
  'vq',
  'vqs',
  'i',
  'j',
  'k',
  'n',
  'idx',
  'index',
  'queue',
  'q',
  'nr',
  'num',
  'info',
  'callback',
  'callbacks',
]);

function words(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9]+|_/)
      .filter(w => w && !GENERIC_WORDS.has(w) && !/^\d+$/.test(w)),
  );
}

/** The subscript in `vqs_info[VQ_HIPRIO].callback =` or `&fs->vqs[i]`, spaces removed. */
function indexOf(text: string): string | undefined {
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1].replace(/\s+/g, '') : undefined;
}

function registrationLocation(reg: CallbackInfo['reg']): RelatedLocation {
  return { role: 'registration', file: reg.file, span: reg.span, message: `registered as a virtqueue callback (${reg.how})` };
}

function makeFinding(t: Tables, reach: ScheduleReach, binding: ResolvedBinding, rd: RacyDrain, ops: number[]): Finding {
  const op = rd.owner.fn.lockOps[rd.op];
  const handler = binding.handler;
  const cb = reach.callback;
  const lock = op.text;
  const cbTakesLock = takesSameLock(t, cb.fn, rd.owner, op);
  // The first line names the function, the lock and the callback; the second says what can
  // happen on the work's CPU and what irqsave changes, no more (docs/model.md#what-irqsave-guarantees).
  const queued = rd.owner.fn !== handler.fn ? `${cb.fn.fn.name}() queues ${handler.fn.name}()` : `queued by ${cb.fn.fn.name}()`;
  const message =
    `${rd.owner.fn.name}() drains under ${lock}, IRQs on; ${queued}\n` +
    "Unless IRQs are force-threaded (threadirqs, PREEMPT_RT), the queue's interrupt can run on the work's CPU " +
    'mid-drain and find the ring already drained, so vring_interrupt() returns IRQ_NONE.' +
    (cbTakesLock ? ` ${cb.fn.fn.name}() takes the same lock, so such an interrupt can also deadlock against the work (AA).` : '') +
    ` Taking the lock with irqsave defers such interrupts to the unlock${cbTakesLock ? ', which removes that deadlock' : ''}; ` +
    'IRQ_NONE stays possible, as the ring can be empty by then.';
  const related: RelatedLocation[] = [
    { role: 'callback', file: cb.fn.file, span: cb.fn.fn.nameSpan, message: `vring callback ${cb.fn.fn.name}() (hard IRQ)` },
    registrationLocation(queueRegistration(t, reach, binding)),
    {
      role: 'schedule',
      file: reach.site.file,
      span: reach.site.fact.span,
      message:
        `${reach.site.fact.api}(${reach.site.fact.work.text})` +
        (reach.site.fn.fn !== cb.fn.fn ? ` in ${reach.site.fn.fn.name}(), called from the callback` : ' from the callback'),
    },
    {
      role: 'binding',
      file: binding.site.file,
      span: binding.site.span,
      message: `${binding.site.api} binds the work item to ${handler.fn.name}()`,
    },
  ];
  if (binding.via) {
    related.push({
      role: 'helper-call',
      file: binding.via.file,
      span: binding.via.span,
      message: `${binding.via.helper}() called with ${handler.fn.name}`,
    });
  }
  related.push({
    role: 'drain',
    file: rd.drainFn.file,
    span: rd.drain.span,
    message:
      `${rd.drain.api}() drains the virtqueue with ${lock} held` +
      (rd.chain.length > 1 ? ` (${rd.chain.map(c => c.fn.name).join(' -> ')})` : ''),
  });
  for (const other of ops) {
    if (other === rd.op) continue;
    const o = rd.owner.fn.lockOps[other];
    related.push({ role: 'lock', file: rd.owner.file, span: o.span, message: `${o.text}: the same lock, taken again before the drain` });
  }
  return {
    rule: vrl001.meta.id,
    file: rd.owner.file,
    span: op.span,
    message,
    severity: vrl001.meta.severity,
    handler: handler.fn.name,
    handlerFile: handler.file,
    callback: cb.fn.fn.name,
    lock,
    lockApi: op.api,
    lockExpr: op.lock,
    lockFunction: rd.owner.fn.name,
    lockOp: rd.op,
    callbackTakesLock: cbTakesLock,
    drain: { file: rd.drainFn.file, span: rd.drain.span, api: rd.drain.api, function: rd.drainFn.fn.name },
    related,
  };
}
