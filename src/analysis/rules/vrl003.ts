// VRL003 irq-flags-mismatch: a lock taken with one IRQ/softirq variant and released, in the same
// function, with an unlock of another: spin_lock_irqsave() + spin_unlock() (hard IRQs stay off),
// spin_lock_irq() + spin_unlock(), spin_lock_bh() + spin_unlock() (softirqs stay off), and the
// reverse: spin_lock() + spin_unlock_irqrestore() / spin_unlock_irq() / spin_unlock_bh(). The
// same for raw_spin_*, read_* and write_* (include/linux/spinlock.h, spinlock_api_smp.h,
// rwlock_api_smp.h: each _bh/_irq/_irqsave lock is undone only by its own unlock).
//
// Which unlock releases which acquisition comes from the dataflow (LockOp.releases). Not
// reported: a lock released in another function (the unlock pairs with nothing here, or the lock
// is still held at return); guard()/scoped_guard() (the class releases what it took); an unlock
// that may also release an acquisition it matches (conditional locking: `if (irq)
// spin_lock_irqsave(..) else spin_lock(..)`); and the split forms, where the IRQ or softirq state
// is saved or restored by another call of the same function:
//   spin_lock_irqsave(&a, f) ... spin_unlock(&a) ... local_irq_restore(f)   (or an irqrestore of
//                                                                             another lock with f)
//   local_irq_save(f) ... spin_lock(&a) ... spin_unlock_irqrestore(&a, f)   (or an irqsave of
//                                                                             another lock with f)
//   spin_lock_irq(&a) ... spin_unlock(&a) ... local_irq_enable()           (or *_unlock_irq())
//   local_irq_disable() ... spin_lock(&a) ... spin_unlock_irq(&a)           (or *_lock_irq())
//   spin_lock_bh(&a) ... spin_unlock(&a) ... local_bh_enable(), and local_bh_disable() ...
//   spin_lock(&a) ... spin_unlock_bh(&a)
// A plain lock released with *_irqrestore(.., flags) is also not reported when `flags` is not a
// local variable (a parameter or a member: saved in another function) or a call before it took
// &flags (a helper saved the state there), nor an unlock of a lock held on some paths only
// (on the others it releases a lock taken in another function).
// "Before" and "after" are source order within the function. The other call must be half of a
// split itself: a restore that releases no lock or one taken without saving the state (the
// lock's own irqrestore on another path does not count), a save that is never restored or is
// released somewhere without restoring (an earlier, complete irqsave section does not count).
// The same holds on one lock: read_lock_irqsave(l, f) .. read_unlock(l); write_lock(l) ..
// write_unlock_irqrestore(l, f) (an upgrade), spin_lock_irq(&l) .. spin_unlock(&l); work;
// spin_lock(&l) .. spin_unlock_irq(&l).
import type { FunctionFacts, LockOp } from '../facts';
import { compareCodeUnits } from '../text';
import type { WorkspaceIndex } from '../workspace';
import { irqFlagsFix } from '../../fix/irqflags';
import { createRule, type Finding } from './rule';

export const vrl003 = createRule(
  {
    id: 'VRL003',
    name: 'irq-flags-mismatch',
    severity: 'warning',
    description:
      'A spinlock or rwlock taken with one IRQ/softirq variant (_irqsave, _irq, _bh or plain) is released in the same function with an unlock of another variant.',
  },
  check,
  {
    // The unlock rewritten to match its lock (src/fix/irqflags.ts).
    fix: {
      apply: (f, facts, text) => irqFlagsFix(f, facts, text),
      refusedTitle: f => `Make ${f.unlock?.api ?? 'the unlock'}() match ${f.lockApi}()`,
    },
    json: f =>
      f.unlock
        ? { unlock: { line: f.unlock.span.line + 1, column: f.unlock.span.column + 1, text: f.unlock.text, api: f.unlock.api } }
        : {},
    sarifProperties: (f): Record<string, string> => (f.unlock ? { unlock: f.unlock.text } : {}),
    // One function may release a lock wrongly in two ways.
    fingerprint: f => (f.unlock ? [f.unlock.text] : []),
  },
);

const CHECKED_FAMILIES = new Set(['spinlock', 'raw_spinlock', 'rwlock']);

/** What an acquisition does to hard IRQs and softirqs, and what an unlock does. */
type IrqLock = 'none' | 'save' | 'disable';
type IrqUnlock = 'none' | 'restore' | 'enable';

function lockIrq(o: LockOp): IrqLock {
  return o.variant === '_irqsave' ? 'save' : o.variant === '_irq' ? 'disable' : 'none';
}

function unlockIrq(o: LockOp): IrqUnlock {
  return o.variant === '_irqrestore' ? 'restore' : o.variant === '_irq' ? 'enable' : 'none';
}

const MATCHING: Record<IrqLock, IrqUnlock> = { none: 'none', save: 'restore', disable: 'enable' };

/** The unlock that matches an acquisition: `spin_lock_irqsave` -> `spin_unlock_irqrestore`. */
export function matchingUnlock(lockApi: string, variant: LockOp['variant']): string | undefined {
  const m = /^(raw_spin_|spin_|read_|write_)lock(?:_nested|_bh|_irq|_irqsave|_irqsave_nested)?$/.exec(lockApi);
  if (!m) return undefined;
  const suffix = variant === '_irqsave' ? '_irqrestore' : variant === '_irq' ? '_irq' : variant === '_bh' ? '_bh' : '';
  return `${m[1]}unlock${suffix}`;
}

export function isMismatch(lock: LockOp, unlock: LockOp): boolean {
  return MATCHING[lockIrq(lock)] !== unlockIrq(unlock) || (lock.variant === '_bh') !== (unlock.variant === '_bh');
}

function check(index: WorkspaceIndex): Finding[] {
  const out: Finding[] = [];
  for (const file of index.allFiles()) {
    for (const fn of file.functions) {
      if (!fn.lockOps.some(o => o.action === 'unlock' && CHECKED_FAMILIES.has(o.family))) continue;
      fn.lockOps.forEach((u, ui) => {
        const f = mismatchAt(fn, ui);
        if (f) out.push(makeFinding(file.file, fn, f.lock, ui, u));
      });
    }
  }
  return out.sort((a, b) => compareCodeUnits(a.file, b.file) || a.span.start - b.span.start);
}

const flagsKey = (t: string | undefined) => (t ?? '').replace(/\s+/g, '');

/**
 * The acquisition the unlock at `ui` releases with the wrong variant, if it is a VRL003 mismatch:
 * every acquisition it may release (all taken with call forms, in this function) is mismatched,
 * and no other call of the function saves or restores the state the pair leaves unbalanced.
 */
export function mismatchAt(fn: FunctionFacts, ui: number): { lock: number } | undefined {
  const u = fn.lockOps[ui];
  // A wrapper's effect (summaries.ts) pairs a lock and an unlock written in other functions:
  // handed between functions, which each pair nothing on their own.
  if (!u || u.action !== 'unlock' || u.form !== 'call' || u.via || !CHECKED_FAMILIES.has(u.family)) return undefined;
  const rel = u.releases ?? [];
  if (rel.length === 0) return undefined;
  const acqs = rel.map(i => fn.lockOps[i]);
  if (acqs.some(a => !a || a.form !== 'call' || a.action !== 'lock' || a.via)) return undefined;
  if (acqs.some(a => !isMismatch(a, u))) return undefined;
  // Held on some paths only: on the others this unlock releases a lock taken in another function
  // (`base = lock_timer_base(t, &flags); if (..) { unlock; base = other; lock; } unlock_irqrestore`).
  const at = fn.calls.find(c => c.span.start === u.span.start);
  if (at?.state.maybe?.some(m => rel.includes(m))) return undefined;
  if (!acqs.every(a => !splitExplains(fn, a, rel, u, ui))) return undefined;
  return { lock: rel.reduce((best, i) => (fn.lockOps[i].span.start < fn.lockOps[best].span.start ? i : best), rel[0]) };
}

/** Another call in the function does the save/restore/enable the pair leaves out. */
function splitExplains(fn: FunctionFacts, a: LockOp, rel: number[], u: LockOp, ui: number): boolean {
  const before = (o: { span: { start: number } }) => o.span.start < u.span.start;
  const after = (o: { span: { start: number } }) => o.span.start > u.span.end;
  // Only calls that are themselves half of a split count: a restore/enable that closes one (it
  // releases nothing, or releases a lock taken without saving the state), and a save/disable
  // that opens one (never released, or released somewhere without restoring). The lock's own
  // matching unlock on another path, or an earlier, complete irqsave section, balances nothing.
  const others = fn.lockOps.filter((o, i) => i !== ui && o.family !== 'mutex');
  const releasersOf = (i: number) => fn.lockOps.filter(o => o.action === 'unlock' && (o.releases ?? []).includes(i));
  const closer = (r: LockOp) =>
    (r.releases ?? []).length === 0 || (r.releases ?? []).some(i => fn.lockOps[i] && isMismatch(fn.lockOps[i], r));
  const opener = (o: LockOp) => {
    const i = fn.lockOps.indexOf(o);
    const rs = releasersOf(i);
    return rs.length === 0 || rs.some(r => isMismatch(o, r));
  };
  const li = lockIrq(a);
  const ul = unlockIrq(u);
  let irqOk = MATCHING[li] === ul;
  if (!irqOk) {
    // What the lock leaves undone must be done later; what the unlock undoes must have been done before.
    const lockSide =
      li === 'none'
        ? true
        : li === 'save'
          ? ul === 'none' &&
            others.some(
              o => o.action === 'unlock' && o.variant === '_irqrestore' && after(o) && flagsKey(o.flags) === flagsKey(a.flags) && closer(o),
            )
          : ul === 'none' && others.some(o => o.action === 'unlock' && o.variant === '_irq' && after(o) && closer(o));
    const unlockSide =
      ul === 'none'
        ? true
        : ul === 'restore'
          ? others.some(
              o =>
                o.action === 'lock' &&
                o.variant === '_irqsave' &&
                before(o) &&
                !rel.includes(fn.lockOps.indexOf(o)) &&
                flagsKey(o.flags) === flagsKey(u.flags) &&
                opener(o),
            ) ||
            savedByCallee(fn, flagsKey(u.flags), u.span.start) ||
            !isLocal(fn, flagsKey(u.flags))
          : li === 'none' &&
            others.some(o => o.action === 'lock' && o.variant === '_irq' && before(o) && !rel.includes(fn.lockOps.indexOf(o)) && opener(o));
    irqOk = lockSide && unlockSide;
  }
  const lb = a.variant === '_bh';
  const ub = u.variant === '_bh';
  const bhOk =
    lb === ub ||
    (lb && fn.calls.some(c => c.callee === 'local_bh_enable' && after(c))) ||
    (ub && fn.calls.some(c => c.callee === 'local_bh_disable' && before(c)));
  return irqOk && bhOk;
}

/**
 * `flags` is a local variable of the function. A parameter, a member (`d->irqflags`) or a global
 * carries a state saved elsewhere: the IRQ state is handed between functions, not VRL003.
 */
function isLocal(fn: FunctionFacts, flags: string): boolean {
  return /^[A-Za-z_]\w*$/.test(flags) && flags in fn.locals && !fn.params.some(p => p.name === flags);
}

/** A call before `end` takes `&flags`: a helper saved the state there (`lock_x(obj, &flags)`). */
function savedByCallee(fn: FunctionFacts, flags: string, end: number): boolean {
  return !!flags && fn.calls.some(c => c.span.start < end && c.args.some(x => x.text.replace(/\s+/g, '') === `&${flags}`));
}

/** Short effect for the first line, and the sentence that explains it. */
function effects(fn: FunctionFacts, a: LockOp, u: LockOp): { short: string[]; long: string[] } {
  const short: string[] = [];
  const long: string[] = [];
  const li = lockIrq(a);
  const ul = unlockIrq(u);
  const l = `${a.api}()`;
  const un = `${u.api}()`;
  if (MATCHING[li] !== ul) {
    if (ul === 'none') {
      short.push('hard IRQs stay off');
      long.push(
        li === 'save'
          ? `${l} disables local hard IRQs and saves their state in ${a.flags}, but ${un} leaves them disabled: they stay off after the unlock until something restores ${a.flags}.`
          : `${l} disables local hard IRQs and ${un} does not enable them again: they stay off after the unlock until something enables them.`,
      );
    } else if (ul === 'enable') {
      short.push('IRQs forced on');
      long.push(
        li === 'save'
          ? `${un} enables local hard IRQs unconditionally instead of restoring the state ${l} saved in ${a.flags}: wrong if the caller had them off.`
          : `${un} enables local hard IRQs unconditionally, though ${l} did not disable them: wrong if the caller had them off.`,
      );
    } else {
      short.push(`IRQs set from ${u.flags}`);
      const how = li === 'disable' ? `${l} disabled them without saving their state` : `${l} did not touch them`;
      // An earlier save of the same flags is one that its own restore pairs with (else no finding).
      const save = fn.lockOps
        .filter(
          o => o.action === 'lock' && o.variant === '_irqsave' && o.span.start < u.span.start && flagsKey(o.flags) === flagsKey(u.flags),
        )
        .pop();
      const restore = save && fn.lockOps.find(o => o.action === 'unlock' && (o.releases ?? []).includes(fn.lockOps.indexOf(save)));
      long.push(
        save && restore
          ? `${un} sets local hard IRQs to the state held in ${u.flags} (${how}), but ${save.api}() on line ${save.span.line + 1} saved ${u.flags} for its own ${restore.api}(): ${u.flags} is restored twice.`
          : `${un} sets local hard IRQs to the state held in ${u.flags} (${how}), but no irqsave call in ${fn.name}() saves ${u.flags} before it: the state restored is whatever ${u.flags} holds there.`,
      );
    }
  }
  const lb = a.variant === '_bh';
  const ub = u.variant === '_bh';
  if (lb && !ub) {
    short.push('softirqs stay off');
    long.push(`${l} disables softirqs on this CPU and ${un} does not enable them again: they stay disabled after the unlock.`);
  } else if (!lb && ub) {
    short.push('softirqs enabled unpaired');
    long.push(
      `${un} re-enables softirqs (local_bh_enable) that ${l} did not disable: the softirq-disable count drops below what it was before the lock.`,
    );
  }
  return { short, long };
}

function makeFinding(file: string, fn: FunctionFacts, lockIndex: number, ui: number, u: LockOp): Finding {
  const a = fn.lockOps[lockIndex];
  const { short, long } = effects(fn, a, u);
  const lockText = a.text.length <= 60 ? a.text : `${a.api}(${a.lock}${a.flags ? `, ${a.flags}` : ''})`;
  let first = `${fn.name}() takes ${lockText} but releases it with ${u.api}(): ${short.join(', ')}`;
  if (first.length > 110) first = `${fn.name}() takes ${a.api}() but releases it with ${u.api}(): ${short.join(', ')}`;
  const fix = matchingUnlock(a.api, a.variant);
  const message = `${first}\n${long.join(' ')}` + (fix ? ` The matching unlock is ${fix}().` : '');
  return {
    rule: vrl003.meta.id,
    file,
    span: u.span,
    message,
    severity: vrl003.meta.severity,
    handler: fn.name,
    handlerFile: file,
    callback: '',
    lock: a.text,
    lockApi: a.api,
    lockExpr: a.lock,
    lockFunction: fn.name,
    lockOp: lockIndex,
    callbackTakesLock: false,
    unlock: { text: u.text, api: u.api, span: u.span, op: ui },
    related: [{ role: 'lock', file, span: a.span, message: `${a.text}: the acquisition ${u.api}() releases` }],
  };
}
