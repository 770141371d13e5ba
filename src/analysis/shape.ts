// What the simulator's model (SIM-MODEL v2) needs to know about a finding, read from the facts:
// the drain's shape (DRAIN 0 / 1 / 2, §2.5), where the work runs relative to the interrupt
// (WQLOCAL, §2.4), and whether the ring bound of §6.1 applies (its conditions 1 and 2).
// Plain data in, plain data out: no syntax trees, no editor or protocol imports.
import { DRAIN_APIS, SUBMIT_API } from './apis';
import type { CallFact, DrainFact, ExprRef, FunctionFacts, LockOp, LockState, ScheduleFact, Span } from './facts';
import type { Finding } from './rules/rule';
import { parseExprRef } from './text';
import type { FnRef, Tables, WorkKey, WorkspaceIndex } from './workspace';

export interface At {
  file: string;
  span: Span;
}

export interface DrainShapeInfo {
  /** SIM-MODEL §2.5: DRAIN 0 ('recheck'), 1 ('plain'), 2 ('relock'). */
  shape: 'recheck' | 'plain' | 'relock';
  /** A single virtqueue_get_buf (no loop): modelled as 'plain', an over-approximation. */
  single: boolean;
  /** DRAIN 2: the unlock inside the drain loop (step W8). */
  dropUnlock?: At;
  /** DRAIN 2: the re-lock before the next get_buf (step W9). */
  relock?: At;
  /** One short sentence naming the code that decided it. */
  why: string;
}

export interface WqInfo {
  /** SIM-MODEL §2.4: WQLOCAL=1 ('local') or 0 ('pinned'). */
  wq: 'local' | 'pinned';
  why: string;
  /** The schedule site that decided it. */
  at?: At;
}

export interface RingBoundInfo {
  /** Every virtqueue_add_* on the drained queue runs with the drain's lock held (on every path). */
  cond1: boolean;
  /** The drain does not resubmit (virtqueue_add_*) on that queue while it holds the lock. */
  cond2: boolean;
  /** cond1 && cond2 (condition 3, one MSI per used buffer, is a device assumption). */
  applies: boolean;
  why: string;
  /** The submission sites on the drained queue that were considered. */
  submits: (At & { fn: string; locked: boolean })[];
}

const MAX_DEPTH = 4;

// ---------------------------------------------------------------------------------------------
// Locating a finding's facts

interface Located {
  t: Tables;
  owner: FnRef;
  op: number;
  drainFn?: FnRef;
  drain?: DrainFact;
  /** Calls from the lock's owner down to the drain's function (empty when the owner drains). */
  chain: { from: FnRef; call: CallFact; to: FnRef }[];
}

function fnContaining(index: WorkspaceIndex, file: string, name: string, offset: number): FnRef | undefined {
  const fn = index.get(file)?.functions.find(f => f.name === name && f.span.start <= offset && offset <= f.span.end);
  return fn ? { file, fn } : undefined;
}

function locate(finding: Finding, index: WorkspaceIndex): Located | undefined {
  const t = index.link();
  const owner = fnContaining(index, finding.file, finding.lockFunction, finding.span.start);
  if (!owner) return undefined;
  const op =
    owner.fn.lockOps[finding.lockOp]?.span.start === finding.span.start
      ? finding.lockOp
      : owner.fn.lockOps.findIndex(o => o.span.start === finding.span.start);
  if (op < 0 || !finding.drain) return undefined;
  const d = finding.drain;
  const drainFn = fnContaining(index, d.file, d.function, d.span.start);
  const drain = drainFn?.fn.drains.find(x => x.span.start === d.span.start);
  const chain = drainFn && drainFn.fn !== owner.fn ? (callChain(t, owner, drainFn, op) ?? []) : [];
  return { t, owner, op, drainFn, drain, chain };
}

/** The calls from `from` to `to` (breadth first), starting with a call made while `op` is held. */
function callChain(t: Tables, from: FnRef, to: FnRef, op: number): Located['chain'] | undefined {
  type Hop = Located['chain'][number];
  const queue: { at: FnRef; path: Hop[] }[] = [{ at: from, path: [] }];
  const seen = new Set<FunctionFacts>([from.fn]);
  while (queue.length) {
    const { at, path } = queue.shift()!;
    if (path.length > MAX_DEPTH) continue;
    for (const call of at.fn.calls)
      for (const g of t.callTargets(call, at)) {
        if (DRAIN_APIS.has(call.callee)) continue;
        if (path.length === 0 && !call.state.held.includes(op)) continue;
        const p = [...path, { from: at, call, to: g }];
        if (g.fn === to.fn) return p;
        if (seen.has(g.fn)) continue;
        seen.add(g.fn);
        queue.push({ at: g, path: p });
      }
  }
  return undefined;
}

const at = (file: string, span: Span): At => ({ file, span });

// ---------------------------------------------------------------------------------------------
// DRAIN

export function drainShapeOf(finding: Finding, index: WorkspaceIndex): DrainShapeInfo {
  const l = locate(finding, index);
  if (!l) {
    return { shape: 'plain', single: false, why: `the facts of ${finding.lockFunction}() were not found; modelled as a plain drain` };
  }
  return shapeOf(l.owner, l.op, l.drainFn, l.drain, l.chain);
}

/** For a function that is not a finding: its own drain under its own lock. */
export function drainShapeOfFunction(fn: FunctionFacts, file: string, lockOp: number, drain: DrainFact | undefined): DrainShapeInfo {
  const owner = { file, fn };
  return shapeOf(owner, lockOp, drain ? owner : undefined, drain, []);
}

/** Loops from `loop` outwards (indices into fn.loops). */
function loopChain(fn: FunctionFacts, loop: number | undefined): number[] {
  const out: number[] = [];
  for (let i = loop; i !== undefined && out.length < 32; i = fn.loops?.[i]?.parent) out.push(i);
  return out;
}

function inLoop(fn: FunctionFacts, opLoop: number | undefined, loop: number): boolean {
  return loopChain(fn, opLoop).includes(loop);
}

function sameLock(a: LockOp, b: LockOp): boolean {
  return a.family === b.family && a.lock === b.lock;
}

function shapeOf(
  owner: FnRef,
  opIndex: number,
  drainFn: FnRef | undefined,
  drain: DrainFact | undefined,
  hops: Located['chain'],
): DrainShapeInfo {
  const chain = hops.map(h => h.call);
  const fn = owner.fn;
  const op = fn.lockOps[opIndex];
  const ownerName = `${fn.name}()`;
  const lockText = op?.text ?? 'the lock';
  if (!drain || !drainFn) {
    const recheck = hasRecheckCalls(fn, op);
    return recheck
      ? {
          shape: 'recheck',
          single: false,
          why: `no virtqueue_get_buf() found under ${lockText}, but ${ownerName} has the virtqueue_disable_cb() / virtqueue_enable_cb() re-check; modelled as DRAIN 0`,
        }
      : { shape: 'plain', single: false, why: `no virtqueue_get_buf() found under ${lockText} in ${ownerName}; modelled as a plain drain` };
  }
  const drainName = `${drainFn.fn.name}()`;
  const api = `${drain.api}()`;
  // The loop that repeats the get_buf, seen from the lock's owner: the drain's own loop when the
  // owner drains, else the loop around the call (in the owner) that leads to a single get_buf.
  const first = chain[0];
  const drainLoops = loopChain(drainFn.fn, drain.loop);
  const drainLoopHere = drainFn.fn === fn ? drain.loop : !drain.inLoop ? first?.loop : undefined;

  // DRAIN 2: the lock dropped and re-taken inside the loop that takes one buffer per iteration.
  if (op && drainLoopHere !== undefined) {
    const unlock = fn.lockOps.find(u => u.action === 'unlock' && sameLock(u, op) && inLoop(fn, u.loop, drainLoopHere));
    const relock =
      unlock &&
      fn.lockOps.find(r => r.action === 'lock' && sameLock(r, op) && inLoop(fn, r.loop, drainLoopHere) && r.span.start > unlock.span.start);
    if (unlock && relock) {
      const where =
        drainFn.fn === fn
          ? `the ${api} loop of ${ownerName}`
          : `the loop of ${ownerName} around ${first!.callee}(), which calls ${api} once`;
      return {
        shape: 'relock',
        single: false,
        dropUnlock: at(owner.file, unlock.span),
        relock: at(owner.file, relock.span),
        why: `${unlock.text} and ${relock.text} inside ${where}: the lock is dropped after each buffer and re-taken before the next ${api}`,
      };
    }
  }

  // DRAIN 0: the re-check loop around the get_buf loop, in the draining function or around a
  // call on the way down to it.
  if (drain.recheckLoop) {
    const rl = drainLoops.map(i => drainFn.fn.loops?.[i]).find(x => x?.recheck);
    const disabled = rl ? calledWithin(drainFn.fn, 'virtqueue_disable_cb', rl.span) : true;
    return {
      shape: 'recheck',
      single: false,
      why:
        `the ${api} ${drain.inLoop && drainLoops.length > 1 ? 'loop' : 'call'} in ${drainName} runs inside a do { ... } while (!virtqueue_enable_cb()) re-check loop` +
        (disabled ? '' : ' (without virtqueue_disable_cb() in it)'),
    };
  }
  for (const { from, call: c } of hops) {
    const caller = from.fn;
    const rl = loopChain(caller, c.loop)
      .map(x => caller.loops?.[x])
      .find(x => x?.recheck);
    if (rl) {
      const disabled = calledWithin(caller, 'virtqueue_disable_cb', rl.span);
      return {
        shape: 'recheck',
        single: false,
        why:
          `the ${api} ${drain.inLoop ? 'loop' : 'call'} in ${drainName}` +
          (c.callee === drainFn.fn.name ? ', called' : `, reached through ${c.callee}(),`) +
          ` inside the do { ... } while (!virtqueue_enable_cb()) re-check loop of ${caller.name}()` +
          (disabled ? '' : ' (without virtqueue_disable_cb() in it)'),
      };
    }
  }
  if (!drain.inLoop && !chain.some(c => c.inLoop)) {
    return {
      shape: 'plain',
      single: true,
      why: `a single ${api} in ${drainName}, not in a loop, under ${lockText}: modelled as a plain drain, which over-approximates it`,
    };
  }
  const loopWhere = drain.inLoop ? `a ${api} loop in ${drainName}` : `${api} in ${drainName}, called in a loop`;
  return { shape: 'plain', single: false, why: `${loopWhere} under one hold of ${lockText}, callbacks never disabled` };
}

function calledWithin(fn: FunctionFacts, name: string, span: Span): boolean {
  return fn.calls.some(c => c.callee === name && c.span.start >= span.start && c.span.end <= span.end);
}

function hasRecheckCalls(fn: FunctionFacts, op: LockOp | undefined): boolean {
  const after = (c: CallFact) => !op || c.span.start > op.span.start;
  return (
    fn.calls.some(c => c.callee === 'virtqueue_disable_cb' && after(c)) &&
    fn.calls.some(c => /^virtqueue_enable_cb/.test(c.callee) && after(c))
  );
}

// ---------------------------------------------------------------------------------------------
// WQLOCAL

/** Per-CPU system workqueues (include/linux/workqueue.h): queue_work() on them queues locally. */
const PERCPU_SYSTEM_WQ = new Set([
  'system_wq',
  'system_percpu_wq',
  'system_highpri_wq',
  'system_long_wq',
  'system_freezable_wq',
  'system_bh_wq',
  'system_bh_highpri_wq',
]);
const UNBOUND_SYSTEM_WQ = new Set(['system_unbound_wq', 'system_dfl_wq']);
const POWER_EFFICIENT_WQ = new Set(['system_power_efficient_wq', 'system_freezable_power_efficient_wq']);

const POWER_NOTE =
  'per-CPU unless the kernel runs with workqueue.power_efficient=1 or CONFIG_WQ_POWER_EFFICIENT_DEFAULT=y, or (6.12) with nohz_full=, which make it unbound (Debian amd64 leaves the option off)';

export function workLocalityOf(finding: Finding, index: WorkspaceIndex): WqInfo {
  const rel = finding.related.find(r => r.role === 'schedule');
  const t = index.link();
  if (!rel) return { wq: 'local', why: 'the schedule site of this finding was not found; assumed a per-CPU queue (local)' };
  for (const fn of index.get(rel.file)?.functions ?? []) {
    const s = fn.schedules.find(x => x.span.start === rel.span.start);
    if (s) return { ...localityOfSchedule(t, { file: rel.file, fn }, s), at: at(rel.file, s.span) };
  }
  return {
    wq: 'local',
    why: `the schedule call at ${rel.file}:${rel.span.line + 1} was not found in the facts; assumed a per-CPU queue (local)`,
    at: at(rel.file, rel.span),
  };
}

const LOCAL_CPU = /^(?:raw_)?smp_processor_id\s*\(\s*\)$/;

function localityOfSchedule(t: Tables, f: FnRef, s: ScheduleFact): Omit<WqInfo, 'at'> {
  const call = `${s.api}()`;
  // The *_on() forms: a CPU chosen by the caller, unless it is this one or WORK_CPU_UNBOUND.
  if (s.api === 'queue_work_node') {
    return {
      wq: 'pinned',
      why: `queue_work_node(${s.cpu ?? 'node'}, ...) queues on a CPU of that NUMA node, not necessarily the one that took the interrupt`,
    };
  }
  if (s.cpu !== undefined && s.cpu !== 'WORK_CPU_UNBOUND') {
    if (LOCAL_CPU.test(s.cpu)) {
      return { wq: 'local', why: `${s.api}(${s.cpu}, ...) queues on the CPU that runs the callback, the one that took the interrupt` };
    }
    return {
      wq: 'pinned',
      why: `${s.api}(${s.cpu}, ...) queues on the CPU the driver names, not necessarily the one that took the interrupt`,
    };
  }
  // A delayed work with a delay goes through a timer that is not pinned (add_timer_global() in
  // 6.12, add_timer() with timer migration in 6.1): the work is queued where the timer fires.
  if (s.delayed && s.delay !== undefined && !/^\(?\s*0[uUlL]*\s*\)?$/.test(s.delay)) {
    return {
      wq: 'pinned',
      why: `${s.api}(..., ${s.delay}) arms a timer that is not pinned (__queue_delayed_work: add_timer_global() in 6.12, add_timer() in 6.1), so the work is queued on the CPU where the timer fires, not necessarily the one that took the interrupt`,
    };
  }
  const delayNote = s.delayed ? ' (a delay of 0 queues at once, __queue_delayed_work)' : '';
  if (s.wq === undefined) {
    return {
      wq: 'local',
      why: `${call} queues on the per-CPU system workqueue (system_percpu_wq in 6.12, system_wq in 6.1), on the CPU that took the interrupt${delayNote}`,
    };
  }
  const wq = s.wq.replace(/^\(\s*|\s*\)$/g, '');
  if (PERCPU_SYSTEM_WQ.has(wq))
    return {
      wq: 'local',
      why: `${s.api}(${wq}, ...): a per-CPU workqueue, so the work is queued on the CPU that took the interrupt${delayNote}`,
    };
  if (UNBOUND_SYSTEM_WQ.has(wq))
    return { wq: 'pinned', why: `${s.api}(${wq}, ...): an unbound workqueue, so the work may run on another CPU than the interrupt` };
  if (POWER_EFFICIENT_WQ.has(wq)) return { wq: 'local', why: `${s.api}(${wq}, ...): ${POWER_NOTE}; modelled as per-CPU (local)` };
  const alloc = findWqAlloc(t, f, s);
  if (!alloc) {
    return {
      wq: 'local',
      why: `${s.api}(${wq}, ...): no alloc_workqueue() assignment to ${wq} found in the driver's indexed files, so its kind is unknown; assumed per-CPU (local)`,
    };
  }
  const a = alloc.fact;
  const flags = a.flags;
  const allocText = `${wq} = ${a.api}(${flags ? `..., ${flags}, ...` : '...'}) in ${alloc.fn.fn.name}()`;
  if (/\bWQ_UNBOUND\b/.test(flags) || /ordered|singlethread|freezable/.test(a.api)) {
    const reason = /\bWQ_UNBOUND\b/.test(flags)
      ? 'WQ_UNBOUND'
      : `${a.api}() allocates an unbound workqueue in 6.1 and 6.12 (include/linux/workqueue.h)`;
    return {
      wq: 'pinned',
      why: `${s.api}(${wq}, ...) where ${allocText}: ${reason}, so the work may run on another CPU than the interrupt`,
    };
  }
  if (/\bWQ_POWER_EFFICIENT\b/.test(flags))
    return {
      wq: 'local',
      why: `${s.api}(${wq}, ...) where ${allocText}: WQ_POWER_EFFICIENT is ${POWER_NOTE}; modelled as per-CPU (local)`,
    };
  return {
    wq: 'local',
    why: `${s.api}(${wq}, ...) where ${allocText}: a per-CPU workqueue (no WQ_UNBOUND), so the work is queued on the CPU that took the interrupt${delayNote}`,
  };
}

function findWqAlloc(t: Tables, f: FnRef, s: ScheduleFact) {
  const e = s.wqExpr ?? (s.wq ? parseExprRef(s.wq) : undefined);
  if (!e) return undefined;
  const want = exprKey(t, e, f);
  const bare = e.base.kind === 'var' && e.chain.length === 0 ? e.base.name : undefined;
  // A workqueue passed in or held in a local is not followed (its callers or assignments decide).
  if (bare !== undefined && (f.fn.params.some(p => p.name === bare) || bare in f.fn.locals)) return undefined;
  const dir = dirOf(f.file);
  for (const file of t.files.values()) {
    if (dirOf(file.file) !== dir) continue;
    for (const fn of file.functions) {
      for (const a of fn.wqAllocs ?? []) {
        const ref = { file: file.file, fn };
        const te = a.targetExpr;
        if (!te) continue;
        if (bare !== undefined) {
          if (
            te.base.kind === 'var' &&
            te.chain.length === 0 &&
            te.base.name === bare &&
            !(bare in fn.locals) &&
            !fn.params.some(p => p.name === bare)
          )
            return { fn: ref, fact: a };
          continue;
        }
        const k = exprKey(t, te, ref);
        if (want && k && keysMatch(t, want, f.file, k, file.file)) return { fn: ref, fact: a };
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Keys for queues and locks (the work-key style: `&a->b.c` is member path b.c of *a's type)

function dirOf(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i < 0 ? '' : file.slice(0, i);
}

function exprKey(t: Tables, e: ExprRef, f: FnRef): WorkKey | undefined {
  if (e.base.kind === 'var' && e.chain.length === 0) {
    const name = e.base.name;
    if (f.fn.params.some(p => p.name === name) || name in f.fn.locals) return undefined;
    return { global: name, path: [] };
  }
  return t.workKey({ ...e, addressOf: true }, f);
}

function primary(k: WorkKey): string {
  return k.global ? `global:${k.global}` : `${k.root ?? '?'}:${k.path.join('.')}`;
}

/** One key is the other written from an inner struct (as Tables.handlersFor matches work items). */
export function keysMatch(t: Tables, a: WorkKey, aFile: string, b: WorkKey, bFile: string): boolean {
  if (a.global || b.global) return !!a.global && a.global === b.global;
  if (a.root === undefined || b.root === undefined) return a.path.join('.') === b.path.join('.');
  return t.keyForms(a, aFile).includes(primary(b)) || t.keyForms(b, bFile).includes(primary(a));
}

/**
 * The keys an expression written in `f` may name: a local is followed to the values assigned to
 * it, and a parameter to the argument of each call of `f` (or of the one call in `ctx`).
 */
interface Resolved {
  key: WorkKey;
  file: string;
  via: { caller: FnRef; call: CallFact }[];
  /** The expression that named it. */ text: string;
}

export function resolveKeys(t: Tables, text: string, f: FnRef, depth: number, ctx?: { caller: FnRef; call: CallFact }[]): Resolved[] {
  const e = parseExprRef(text);
  if (!e || depth > MAX_DEPTH) return [];
  if (e.base.kind === 'var' && e.chain.length === 0) {
    const name = e.base.name;
    const vals = f.fn.values?.[name];
    if (vals && !f.fn.params.some(p => p.name === name)) return vals.flatMap(v => resolveKeys(t, v, f, depth + 1, ctx));
    const p = f.fn.params.findIndex(x => x.name === name);
    if (p >= 0) {
      const callers = ctx?.length ? [ctx[ctx.length - 1]] : t.callersOf(f.fn.name);
      const rest = ctx?.length ? ctx.slice(0, -1) : undefined;
      return callers.flatMap(c => {
        const arg = c.call.args[p];
        return arg ? resolveKeys(t, arg.text, c.caller, depth + 1, rest).map(r => ({ ...r, via: [...r.via, c] })) : [];
      });
    }
  }
  // `fsvq->vq` with fsvq a local: its declared type names the queue's container.
  const k = exprKey(t, e, f);
  return k ? [{ key: k, file: f.file, via: [], text: e.text.replace(/^&\s*/, '') }] : [];
}

// ---------------------------------------------------------------------------------------------
// The ring bound (§6.1)

export function ringBoundOf(finding: Finding, index: WorkspaceIndex): RingBoundInfo {
  const l = locate(finding, index);
  const none = (why: string): RingBoundInfo => ({ cond1: false, cond2: false, applies: false, why, submits: [] });
  if (!l || !l.drain || !l.drainFn)
    return none(`the drain of ${finding.handler}() was not found in the facts, so the ring bound cannot be read from the code`);
  const { t, owner, op: opIndex, drain, drainFn } = l;
  const op = owner.fn.lockOps[opIndex];

  // The drained queue, followed up the call chain when the draining helper takes it as a parameter.
  const chainCtx = l.chain.map(h => ({ caller: h.from, call: h.call }));
  const queues = resolveKeys(t, drain.vq, drainFn, 0, chainCtx);
  if (queues.length === 0)
    return none(
      `the queue ${drain.vq} drained in ${drainFn.fn.name}() could not be resolved to a member or variable, so the ring bound cannot be read from the code`,
    );
  const queueName = describeQueue(drain.vq, queues);
  const locks = op.lockExpr ? resolveKeys(t, op.lockExpr.text.replace(/^&\s*/, ''), owner, 0) : [];
  if (locks.length === 0)
    return none(`the lock ${op.text} could not be resolved to a member or variable, so the ring bound cannot be read from the code`);
  const lockName = op.lock;

  const isQueue = (r: Resolved) => queues.some(q => keysMatch(t, q.key, q.file, r.key, r.file));
  const isLock = (r: Resolved) => locks.some(k => keysMatch(t, k.key, k.file, r.key, r.file));
  /** The drain's lock is held on every path at a point of `f` with lock state `s`. */
  const holds = (f: FnRef, s: LockState, may: boolean, ctx?: { caller: FnRef; call: CallFact }[]) =>
    s.held.some(i => {
      const o = f.fn.lockOps[i];
      if (!o || o.action !== 'lock' || o.family !== op.family || !o.lockExpr) return false;
      if (!may && s.maybe?.includes(i)) return false;
      const rs = resolveKeys(t, o.lockExpr.text.replace(/^&\s*/, ''), f, 0, ctx);
      return rs.length > 0 && (may ? rs.some(isLock) : rs.every(isLock));
    });

  // Condition 1: every submission on the queue, in the driver's files, runs with the lock held.
  const dirs = new Set([dirOf(drainFn.file), dirOf(owner.file)]);
  const submits: RingBoundInfo['submits'] = [];
  const unlocked: string[] = [];
  const lockedAt: string[] = [];
  for (const file of t.files.values()) {
    if (!dirs.has(dirOf(file.file))) continue;
    for (const fn of file.functions) {
      const f = { file: file.file, fn };
      for (const c of fn.calls) {
        if (!c.direct || !SUBMIT_API.test(c.callee) || !c.args[0]) continue;
        for (const r of resolveKeys(t, c.args[0].text, f, 0)) {
          if (!isQueue(r)) continue;
          // Held at the add, or (a helper taking the queue as a parameter) at one of the calls that
          // lead to it, outermost first; a lock passed as a parameter is read along the same calls.
          const via = r.via;
          let locked = holds(f, c.state, false, via);
          for (let i = 0; i < via.length && !locked; i++) locked = holds(via[i].caller, via[i].call.state, false, via.slice(0, i));
          const site: { fn: FnRef; span: Span } = via.length ? { fn: via[0].caller, span: via[0].call.span } : { fn: f, span: c.span };
          const label = via.length ? `${c.callee}() in ${fn.name}(), called from ${site.fn.fn.name}()` : `${c.callee}() in ${fn.name}()`;
          if (!submits.some(s => s.file === site.fn.file && s.span.start === site.span.start)) {
            submits.push({ file: site.fn.file, span: site.span, fn: site.fn.fn.name, locked });
            (locked ? lockedAt : unlocked).push(label);
          }
        }
      }
    }
  }

  // Condition 2: the drain resubmits on the queue while it holds the lock (in the owner, or in a
  // function it calls with the lock held).
  const resubmits: string[] = [];
  const visit = (f: FnRef, under: boolean, ctx: { caller: FnRef; call: CallFact }[], depth: number, seen: Set<FunctionFacts>) => {
    if (seen.has(f.fn) || depth > MAX_DEPTH) return;
    seen.add(f.fn);
    for (const c of f.fn.calls) {
      if (!c.direct) continue;
      const held = under || holds(f, c.state, true);
      if (!held) continue;
      if (SUBMIT_API.test(c.callee)) {
        if (c.args[0] && resolveKeys(t, c.args[0].text, f, 0, ctx).some(isQueue)) {
          const top = ctx[0];
          resubmits.push(top ? `${top.call.callee}() in ${top.caller.fn.name}()` : `${c.callee}() in ${f.fn.name}()`);
        }
        continue;
      }
      if (DRAIN_APIS.has(c.callee)) continue;
      const g = t.resolveFunction(c.callee, f.file);
      if (g) visit(g, true, [...ctx, { caller: f, call: c }], depth + 1, seen);
    }
    seen.delete(f.fn);
  };
  visit(owner, false, [], 0, new Set());

  const cond2 = resubmits.length === 0;
  const cond1 = submits.length > 0 && unlocked.length === 0;
  const lockShort = lockName;
  let why: string;
  if (!cond2)
    why = `${uniq(resubmits).join(', ')} resubmits to ${queueName} under ${lockShort}, so one hold is not bounded by the ring (condition 2 fails)`;
  else if (submits.length === 0)
    why = `no virtqueue_add_* on ${queueName} found in the driver's files, so condition 1 cannot be read from the code`;
  else if (!cond1) why = `${uniq(unlocked).join(', ')} adds to ${queueName} without ${lockShort} held on every path (condition 1 fails)`;
  else
    why = `${uniq(lockedAt).join(', ')} ${lockedAt.length > 1 ? 'add' : 'adds'} to ${queueName} under ${lockShort}, and the drain does not resubmit while it holds it`;
  return { cond1, cond2, applies: cond1 && cond2, why, submits };
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

function describeQueue(text: string, qs: Resolved[]): string {
  const named = uniq(qs.map(q => q.text));
  return named.length === 1 ? named[0] : `${text} (${named.join(' or ')})`;
}
