// The irqsave fix for a VRL001 finding, as text edits on the function that takes the lock.
//
// spin_lock(&L) -> spin_lock_irqsave(&L, flags), and each unlock that releases that
// acquisition -> spin_unlock_irqrestore(&L, flags), with `unsigned long flags;` added after
// the function's leading declarations. guard()/scoped_guard() only change their class. Which
// unlocks pair with which locks comes from the dataflow (LockOp.releases), not from the lock's
// name: a second, unrelated section on the same lock in the same function is left alone.
//
// What this buys is stated in README "What the fix does and does not do": no interrupt on the
// work's CPU during the drain, no AA deadlock with a callback taking the same lock; IRQ_NONE
// itself stays reachable.
import { SLEEPING_APIS } from '../analysis/apis';
import type { FileFacts, FunctionFacts, LockOp } from '../analysis/facts';
import { fileLockSummaries } from '../analysis/summaries';
import { isVqCallbackSignature } from '../analysis/workspace';
import { parseC, type Node, type Tree } from '../analysis/parser';
import type { Finding } from '../analysis/rules/rule';
import { maskNonCode, splitArgs } from '../analysis/text';

export interface TextEdit {
  /** UTF-16 offsets into the original text. */
  start: number;
  end: number;
  newText: string;
}

export type FixResult =
  { ok: true; edits: TextEdit[]; title: string; flags?: string; function: string } | { ok: false; reason: string; function?: string };

/** Call-form renames: spin_lock -> spin_lock_irqsave, and so on. */
const LOCK_RENAME: Record<string, string> = {};
const UNLOCK_RENAME: Record<string, string> = {};
for (const p of ['spin_', 'raw_spin_', 'read_', 'write_']) {
  LOCK_RENAME[`${p}lock`] = `${p}lock_irqsave`;
  LOCK_RENAME[`${p}lock_bh`] = `${p}lock_irqsave`;
  LOCK_RENAME[`${p}lock_nested`] = `${p}lock_irqsave_nested`;
  UNLOCK_RENAME[`${p}unlock`] = `${p}unlock_irqrestore`;
  UNLOCK_RENAME[`${p}unlock_bh`] = `${p}unlock_irqrestore`;
}
LOCK_RENAME.spin_trylock = 'spin_trylock_irqsave';
LOCK_RENAME.raw_spin_trylock = 'raw_spin_trylock_irqsave';
/** The _irq forms, for a lock taken or dropped in a wrapper function, which cannot carry flags. */
const IRQ_RENAME: Record<string, string> = {};
for (const p of ['spin_', 'raw_spin_', 'read_', 'write_']) {
  IRQ_RENAME[`${p}lock`] = IRQ_RENAME[`${p}lock_bh`] = `${p}lock_irq`;
  IRQ_RENAME[`${p}unlock`] = IRQ_RENAME[`${p}unlock_bh`] = `${p}unlock_irq`;
}
// raw_spin_lock_irqsave_nested and the rwlock _nested forms do not exist.
delete LOCK_RENAME.raw_spin_lock_nested;
delete LOCK_RENAME.read_lock_nested;
delete LOCK_RENAME.write_lock_nested;

/** Guard classes: spinlock -> spinlock_irqsave (include/linux/spinlock.h DEFINE_LOCK_GUARD_1). */
const GUARD_RENAME: Record<string, string> = {
  spinlock: 'spinlock_irqsave',
  spinlock_bh: 'spinlock_irqsave',
  raw_spinlock: 'raw_spinlock_irqsave',
  raw_spinlock_bh: 'raw_spinlock_irqsave',
  read_lock: 'read_lock_irqsave',
  read_lock_bh: 'read_lock_irqsave',
  write_lock: 'write_lock_irqsave',
  write_lock_bh: 'write_lock_irqsave',
};

const FLAG_NAMES = ['flags', 'irqflags', 'irq_flags', 'lock_flags', 'flags2', 'flags3'];

/** The function a finding's lock call is in. */
export function lockFunctionOf(finding: Finding, facts: FileFacts): FunctionFacts | undefined {
  return (
    facts.functions.find(f => f.name === finding.lockFunction && f.lockOps[finding.lockOp]?.span.start === finding.span.start) ??
    facts.functions.find(f => f.name === finding.lockFunction && f.lockOps.some(o => o.span.start === finding.span.start))
  );
}

/**
 * The acquisitions and unlocks that must change together: those the finding's lock reaches, and
 * every other acquisition one of those unlocks may release (a lock dropped and re-taken in a loop).
 */
export function lockComponent(fn: FunctionFacts, op: number): { locks: number[]; unlocks: number[] } {
  const locks = new Set([op]);
  const unlocks = new Set<number>();
  for (let changed = true; changed;) {
    changed = false;
    fn.lockOps.forEach((u, i) => {
      if (u.action !== 'unlock' || unlocks.has(i)) return;
      if ((u.releases ?? []).some(r => locks.has(r))) {
        unlocks.add(i);
        changed = true;
        for (const r of u.releases ?? []) if (!locks.has(r)) locks.add(r);
      }
    });
  }
  return { locks: [...locks].sort((a, b) => a - b), unlocks: [...unlocks].sort((a, b) => a - b) };
}

export function irqsaveFix(finding: Finding, facts: FileFacts, text: string): FixResult {
  const fn = lockFunctionOf(finding, facts);
  if (!fn) return { ok: false, reason: `cannot find ${finding.lockFunction}() in the current text; re-run the analysis` };
  const opIndex = fn.lockOps.findIndex(o => o.span.start === finding.span.start);
  const plan = planFix(fn, opIndex, text, facts);
  if (!plan.ok) return { ...plan, function: fn.name };
  const flags = plan.needsFlags ? chooseFlagsName(fn, text) : undefined;
  if (plan.needsFlags && !flags) return { ok: false, reason: `no free name for the flags variable in ${fn.name}()`, function: fn.name };
  const edits = plan.edits(flags ?? '');
  if (flags) {
    const tree = parseC(text);
    try {
      const d = placeDeclaration(fn, text, [flags], edits, () => tree);
      if ('reason' in d) return { ok: false, reason: d.reason, function: fn.name };
      edits.push(d);
    } finally {
      tree.delete();
    }
  }
  const op = fn.lockOps[opIndex];
  const title = plan.title
    ? plan.title
    : op.form === 'call'
      ? `Take ${op.lock} with ${LOCK_RENAME[op.api]}() in ${fn.name}()`
      : `Use ${op.form}(${GUARD_RENAME[className(op)]}, …) for ${op.lock} in ${fn.name}()`;
  const result: FixResult = { ok: true, edits: sortEdits(edits), title, flags, function: fn.name };
  return checkParses(text, result);
}

interface Plan {
  ok: true;
  needsFlags: boolean;
  /** The acquisitions that change (lockComponent()). */
  locks: number[];
  edits(flags: string): TextEdit[];
  /** Set when the plan differs from the plain irqsave conversion (a lock wrapper changed). */
  title?: string;
}

function planFix(fn: FunctionFacts, opIndex: number, text: string, facts: FileFacts): Plan | { ok: false; reason: string } {
  const op = fn.lockOps[opIndex];
  if (!op || op.action !== 'lock') return { ok: false, reason: 'the finding does not point at a lock call' };
  const { locks, unlocks } = lockComponent(fn, opIndex);
  const line = (o: LockOp) => o.span.line + 1;
  if ([...locks, ...unlocks].some(i => fn.lockOps[i].via)) return planWrapperFix(fn, opIndex, text, facts);

  // The lock must be taken and released in this function.
  for (const l of locks) {
    if (fn.exitStates.some(s => s.held.includes(l))) {
      return {
        ok: false,
        reason: `${fn.lockOps[l].text} (line ${line(fn.lockOps[l])}) is still held when ${fn.name}() returns: the lock is released in another function, so the irqsave flags cannot be carried to its unlock`,
      };
    }
  }
  const key = (o: LockOp) => `${o.family}:${o.lock}`;
  for (const u of fn.lockOps) {
    if (u.action === 'unlock' && key(u) === key(op) && u.unpaired) {
      return {
        ok: false,
        reason: `${u.text} (line ${line(u)}) releases a lock this function did not take: the lock is taken in another function`,
      };
    }
  }
  // Operations already irq-safe (another preprocessor branch: `#ifdef X spin_lock_irqsave ...
  // #else spin_lock ... #endif`) stay as they are; the others take the same form, and irqsave
  // forms reuse those branches' flags variable (the lock is one, so never held twice at once).
  const isSafe = (o: LockOp) => o.irq === 'irqs-off';
  const safe = [...locks, ...unlocks].map(i => fn.lockOps[i]).filter(isSafe);
  let irqForms = false;
  let reuseFlags: string | undefined;
  if (safe.length) {
    const kinds = new Set(
      safe.map(o => (o.variant === '_irqsave' || o.variant === '_irqrestore' ? 'save' : o.variant === '_irq' ? 'irq' : 'other')),
    );
    if (kinds.size > 1 || kinds.has('other')) {
      return {
        ok: false,
        reason: `the lock is taken or released both with _irq and with _irqsave forms elsewhere in ${fn.name}() (${safe.map(o => `line ${line(o)}`).join(', ')}), so there is no one form to make the other branches consistent with`,
      };
    }
    if (kinds.has('irq')) irqForms = true;
    else {
      const names = new Set(safe.map(o => (o.flags ?? '').replace(/\s+/g, '')));
      const [only] = [...names];
      if (names.size !== 1 || !/^[A-Za-z_]\w*$/.test(only) || !fn.declaredNames.includes(only)) {
        return {
          ok: false,
          reason: `the irqsave forms elsewhere in ${fn.name}() use flags ${[...names].join(', ')}, not one local variable the other branches could share`,
        };
      }
      reuseFlags = only;
    }
  }
  const todo = [...locks, ...unlocks].filter(i => !isSafe(fn.lockOps[i]));
  // Every op to change must be of a form with an irqsave counterpart.
  for (const i of todo) {
    const o = fn.lockOps[i];
    if (irqForms) {
      if (o.form !== 'call' || !IRQ_RENAME[o.api])
        return { ok: false, reason: `${o.text} (line ${line(o)}) has no _irq form to match the other branches` };
      continue;
    }
    if (o.form === 'call' && o.action === 'lock' && !LOCK_RENAME[o.api]) return { ok: false, reason: `${o.api}() has no irqsave form` };
    if (o.form === 'call' && o.action === 'unlock' && !UNLOCK_RENAME[o.api]) {
      return { ok: false, reason: `${o.text} (line ${line(o)}) cannot be paired with an irqsave lock` };
    }
    if (o.form !== 'call' && !GUARD_RENAME[className(o)]) return { ok: false, reason: `guard class ${className(o)} has no irqsave form` };
  }
  // Holding a spinlock across a sleeping call is a bug already; with IRQs off it gets worse, so
  // the fix is not offered until that is sorted out.
  for (const c of fn.calls) {
    if (SLEEPING_APIS.has(c.callee) && c.state.held.some(h => locks.includes(h))) {
      return {
        ok: false,
        reason: `${c.callee}() (line ${c.span.line + 1}) may sleep while the lock is held; disabling IRQs around it would make that worse`,
      };
    }
  }

  if (irqForms) {
    return {
      ok: true,
      needsFlags: false,
      locks,
      edits: () => todo.map(i => fn.lockOps[i]).map(o => ({ start: o.nameSpan.start, end: o.nameSpan.end, newText: IRQ_RENAME[o.api] })),
      title: `Take ${op.lock} with ${IRQ_RENAME[op.api]}() in ${fn.name}(), as the other preprocessor branches do`,
    };
  }
  const needsFlags = !reuseFlags && todo.some(i => fn.lockOps[i].form === 'call' && fn.lockOps[i].action === 'lock');
  return {
    ok: true,
    needsFlags,
    locks,
    edits: (flags: string) => {
      const edits: TextEdit[] = [];
      for (const i of todo) edits.push(...opEdits(fn.lockOps[i], text, reuseFlags ?? flags));
      return edits;
    },
    ...(reuseFlags
      ? { title: `Take ${op.lock} with ${LOCK_RENAME[op.api]}() in ${fn.name}(), reusing ${reuseFlags} from the other preprocessor branch` }
      : {}),
  };
}

/**
 * A lock taken or dropped through one of the file's lock wrappers (summaries.ts). The wrapper
 * cannot hand irqsave flags to its caller, so the whole section moves to the _irq forms: the
 * wrapper's own lock call, and every lock and unlock paired with a call of the wrapper anywhere in
 * the file. That is sound only where IRQs are on when the lock is taken, so it is refused when
 * the wrapper is not private to the file (not static), is used as a value, or is called with
 * IRQs off or from a vring callback.
 */
function planWrapperFix(fn: FunctionFacts, opIndex: number, text: string, facts: FileFacts): Plan | { ok: false; reason: string } {
  const sums = fileLockSummaries(text, undefined, facts.driverWrappers);
  const where = (g: FunctionFacts, o: LockOp) => `${o.text} (line ${o.span.line + 1} in ${g.name}())`;
  // Sections (function, acquisitions, unlocks) that must change together, and the wrappers they use.
  const sections = new Map<FunctionFacts, { locks: Set<number>; unlocks: Set<number> }>();
  const wrappers = new Set<string>();
  const addSection = (g: FunctionFacts, i: number): string | undefined => {
    const o = g.lockOps[i];
    let starts = [i];
    if (o.action === 'unlock') {
      if (o.unpaired || !o.releases?.length) return `${where(g, o)} releases a lock ${g.name}() did not take`;
      starts = o.releases;
    }
    for (const st of starts) {
      // A wrapper of another file of the driver (linkWrappers()) is shared with that file's other callers.
      const v = g.lockOps[st]?.via;
      if (v?.file !== undefined) return foreignReason(v.fn, v.file);
      const sec = sections.get(g) ?? { locks: new Set<number>(), unlocks: new Set<number>() };
      sections.set(g, sec);
      if (sec.locks.has(st)) continue;
      const c = lockComponent(g, st);
      for (const l of c.locks) sec.locks.add(l);
      for (const u of c.unlocks) sec.unlocks.add(u);
      for (const k of [...c.locks, ...c.unlocks]) {
        const v = g.lockOps[k].via;
        if (v?.file !== undefined) return foreignReason(v.fn, v.file);
        if (v) wrappers.add(v.fn);
      }
    }
    return undefined;
  };
  const first = addSection(fn, opIndex);
  if (first) return { ok: false, reason: first };
  // A wrapper of a wrapper changes the inner wrapper's lock call: every wrapper whose effect is
  // that same call changes with it (and so do all their callers).
  const closeWrappers = () => {
    const calls = new Set<number>();
    // (A call in another file, offset -1, is refused below.)
    for (const w of wrappers) for (const e of sums.byName.get(w)?.effects ?? []) if (e.file === undefined) calls.add(e.nameStart);
    let added = false;
    for (const [name, sm] of sums.byName) {
      if (!wrappers.has(name) && sm.effects.some(e => calls.has(e.nameStart))) {
        wrappers.add(name);
        added = true;
      }
    }
    return added;
  };
  // Every call of a wrapper in the file changes with it.
  for (let grew = true; grew;) {
    grew = closeWrappers();
    for (const g of facts.functions) {
      // A wrapper's own body changes through its summary (the underlying call), not as a section.
      if (wrappers.has(g.name) && sums.byName.has(g.name)) continue;
      for (let i = 0; i < g.lockOps.length; i++) {
        const o = g.lockOps[i];
        if (!o.via || !wrappers.has(o.via.fn)) continue;
        const sec = sections.get(g);
        if (sec && (sec.locks.has(i) || sec.unlocks.has(i))) continue;
        const r = addSection(g, i);
        if (r) return { ok: false, reason: r };
        grew = true;
      }
    }
  }
  for (const w of wrappers) {
    const sm = sums.byName.get(w);
    if (!sm) return { ok: false, reason: `cannot find the definition of ${w}() in this file` };
    const foreign = sm.effects.find(e => e.file !== undefined);
    if (foreign) return { ok: false, reason: foreignReason(foreign.through[foreign.through.length - 1] ?? w, foreign.file!, w) };
    if (!sm.isStatic)
      return {
        ok: false,
        reason: `${w}() takes or drops the lock for its callers but is not static: callers in other files would change with it, so it is left alone`,
      };
    if (facts.fnRefs.includes(w) || facts.functions.some(g => g.fnRefs.includes(w))) {
      return { ok: false, reason: `${w}() is used as a value in this file, so not every caller can be checked` };
    }
    for (const e of sm.effects) {
      if (!IRQ_RENAME[e.api]) return { ok: false, reason: `${e.api}() in ${w}() has no _irq form` };
    }
  }
  const edits: TextEdit[] = [];
  for (const [g, sec] of sections) {
    for (const l of sec.locks) {
      if (g.exitStates.some(s => s.held.includes(l))) {
        return {
          ok: false,
          reason: `${where(g, g.lockOps[l])} is still held when ${g.name}() returns: the lock is released in another function`,
        };
      }
    }
    for (const i of [...sec.locks, ...sec.unlocks]) {
      const o = g.lockOps[i];
      if (o.form !== 'call' || (!o.via && !IRQ_RENAME[o.api]))
        return { ok: false, reason: `${where(g, o)} has no _irq form to pair with the wrapper` };
      if (o.action === 'lock') {
        const at = g.calls.find(c => c.span.start === o.span.start);
        if (at?.state.irqsOff)
          return { ok: false, reason: `${where(g, o)} runs with IRQs already off; spin_unlock_irq() would turn them on` };
        if (isVqCallbackSignature(g))
          return { ok: false, reason: `${where(g, o)} is in a vring callback (hard IRQ); spin_unlock_irq() would turn IRQs on there` };
      }
      if (!o.via) edits.push({ start: o.nameSpan.start, end: o.nameSpan.end, newText: IRQ_RENAME[o.api] });
    }
    for (const c of g.calls) {
      if (SLEEPING_APIS.has(c.callee) && c.state.held.some(h => sec.locks.has(h))) {
        return {
          ok: false,
          reason: `${c.callee}() (line ${c.span.line + 1}) may sleep while the lock is held; disabling IRQs around it would make that worse`,
        };
      }
    }
  }
  for (const w of wrappers) {
    for (const e of sums.byName.get(w)!.effects) edits.push({ start: e.nameStart, end: e.nameEnd, newText: IRQ_RENAME[e.api] });
  }
  const op = fn.lockOps[opIndex];
  const names = [...wrappers]
    .sort()
    .map(w => `${w}()`)
    .join(', ');
  return {
    ok: true,
    needsFlags: false,
    locks: [...sections.get(fn)!.locks].sort((a, b) => a - b),
    edits: () => dedupe(edits),
    title: `Take ${op.lock} with IRQs off (_irq forms) in ${fn.name}() and the lock wrapper${wrappers.size > 1 ? 's' : ''} ${names}`,
  };
}

/** Why a wrapper defined in another file of the driver is left alone. */
function foreignReason(w: string, file: string, via?: string): string {
  const name = file.replace(/^.*[\\/]/, '');
  const where = /\.h$/i.test(name) ? `the header ${name}, which other files may include` : `${name}, where it is not static`;
  const who =
    via && via !== w
      ? `${via}() takes or drops the lock through ${w}(), defined in`
      : `${w}() takes or drops the lock for its callers and is defined in`;
  return `${who} ${where}: its other callers would change with it, so it is left alone`;
}

function dedupe(edits: TextEdit[]): TextEdit[] {
  const seen = new Set<string>();
  return sortEdits(edits).filter(e => {
    const k = `${e.start}:${e.end}:${e.newText}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function className(o: LockOp): string {
  return /\(([^)]*)\)/.exec(o.api)?.[1] ?? '';
}

/** Rename the call and add the flags argument (second for the _nested forms, last otherwise). */
function opEdits(o: LockOp, text: string, flags: string): TextEdit[] {
  if (o.form !== 'call') {
    const cls = className(o);
    return [{ start: o.classSpan!.start, end: o.classSpan!.end, newText: GUARD_RENAME[cls] }];
  }
  const rename = o.action === 'lock' ? LOCK_RENAME[o.api] : UNLOCK_RENAME[o.api];
  const edits: TextEdit[] = [{ start: o.nameSpan.start, end: o.nameSpan.end, newText: rename }];
  const argsText = text.slice(o.argsSpan.start, o.argsSpan.end);
  const args = splitArgs(argsText);
  if (o.variant === '_nested' && args.length >= 1) {
    edits.push({ start: o.argsSpan.start + args[0].end, end: o.argsSpan.start + args[0].end, newText: `, ${flags}` });
  } else {
    const close = o.argsSpan.end - 1;
    const lastArg = args[args.length - 1];
    const at = lastArg ? o.argsSpan.start + lastArg.end : close;
    edits.push({ start: at, end: at, newText: `, ${flags}` });
  }
  return edits;
}

/** `flags`, or the first of a few kernel-usual names that the function does not use already. */
export function chooseFlagsName(fn: FunctionFacts, text: string, alsoTaken: string[] = []): string | undefined {
  const body = maskNonCode(text.slice(fn.span.start, fn.span.end));
  const used = new Set([...fn.declaredNames, ...alsoTaken, ...definedMacros(text)]);
  return FLAG_NAMES.find(n => !used.has(n) && !usesIdentifier(body, n));
}

/** Names the file #defines anywhere: `unsigned long flags;` would expand a macro named flags. */
function definedMacros(text: string): string[] {
  if (!text.includes('define')) return [];
  return [...maskNonCode(text).matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)/gm)].map(m => m[1]);
}

/** `name` used as an identifier (a member `x->flags` or `x.flags` is another name). */
function usesIdentifier(code: string, name: string): boolean {
  return new RegExp(`(?<!->\\s*|\\.\\s*)\\b${name}\\b`).test(code);
}

/** The line break used at `at` (the next one after it), or the file's first, or LF. */
function eolAt(text: string, at: number): string {
  const m = /\r\n|\n|\r/.exec(text.slice(at)) ?? /\r\n|\n|\r/.exec(text);
  return m ? m[0] : '\n';
}

/** The offset just past the line break at or after `at` (CRLF, LF or CR), or undefined at the end of the text. */
function nextLineStart(text: string, at: number): number | undefined {
  const m = /\r\n|\n|\r/g;
  m.lastIndex = at;
  const r = m.exec(text);
  return r ? r.index + r[0].length : undefined;
}

/** The start of the line holding `at`. */
function lineStartOf(text: string, at: number): number {
  return Math.max(text.lastIndexOf('\n', at - 1), text.lastIndexOf('\r', at - 1)) + 1;
}

/** The end offset of the last leading declaration of `fn`'s body, from the tree. */
function lastLeadingDecl(fn: FunctionFacts, tree: Tree): { start: number; end: number } | undefined {
  let n: Node | null = tree.rootNode.descendantForIndex(fn.bodySpan.start, fn.bodySpan.start + 1);
  while (n && !(n.type === 'compound_statement' && n.startIndex === fn.bodySpan.start)) n = n.parent;
  if (!n) return undefined;
  let last: Node | undefined;
  for (const c of n.namedChildren) {
    if (!c || c.type === 'comment') continue;
    // Declarations, and the declaring macros extract.ts counts as such (LIST_HEAD(x); DEFINE_...).
    if (
      c.type === 'declaration' ||
      (c.type === 'expression_statement' && /^(?:H?LIST_HEAD|DECLARE_[A-Z_]+|DEFINE_[A-Z_]+)\s*\(/.test(c.text))
    ) {
      last = c;
      continue;
    }
    break;
  }
  return last ? { start: last.startIndex, end: last.endIndex } : undefined;
}

/**
 * Where `unsigned long <names>;` goes: after the function's leading declarations, on a line of
 * its own, with the file's line breaks. Candidates in order: the line after the last
 * declaration (after the brace when there is none), then the line of the last declaration
 * itself (when a statement or a comment shares that line). Each is checked on the edited text
 * by the caller (flagsDeclaredBeforeUse); the first that passes is used.
 */
function declarationCandidates(fn: FunctionFacts, text: string, names: string[], tree: Tree): TextEdit[] {
  const out: TextEdit[] = [];
  const last = lastLeadingDecl(fn, tree);
  const declEnd = last?.end ?? (fn.declsEnd ? text.lastIndexOf(';', fn.declsEnd.offset) + 1 : 0);
  if (fn.declsEnd || last) {
    const eol = eolAt(text, declEnd);
    const lineStart = lineStartOf(text, last?.start ?? declEnd);
    const indent = last ? /^[ \t]*/.exec(text.slice(lineStart))![0] : (fn.declsEnd?.indent ?? '\t');
    const decl = names.map(n => `${indent}unsigned long ${n};${eol}`).join('');
    const after = nextLineStart(text, declEnd);
    if (after !== undefined) {
      // Keep a blank line between declarations and code if there was none (checkpatch's
      // "Missing a blank line after declarations").
      const nextEnd = nextLineStart(text, after);
      const next = text.slice(after, nextEnd);
      const blank = /^\s*$/.test(next) || next.trim().startsWith('}') ? '' : eol;
      out.push({ start: after, end: after, newText: decl + blank });
    }
    out.push({ start: lineStart, end: lineStart, newText: decl });
    return out;
  }
  // No declarations: open the body with them.
  const brace = fn.bodySpan.start;
  const eol = eolAt(text, brace);
  const after = nextLineStart(text, brace) ?? brace + 1;
  const firstLine = text.slice(after, nextLineStart(text, after));
  const indent = /^[ \t]*/.exec(firstLine)?.[0] || '\t';
  out.push({ start: after, end: after, newText: names.map(n => `${indent}unsigned long ${n};${eol}`).join('') + eol });
  return out;
}

/**
 * The fixed function declares each flags variable in code (not in a comment or a string) before
 * its first use. `edits` include the declaration; offsets are into `text`.
 */
function flagsDeclaredBeforeUse(fn: FunctionFacts, text: string, edits: TextEdit[], decl: TextEdit, names: string[]): boolean {
  const sorted = sortEdits(edits);
  let delta = 0;
  let declAt = -1;
  let fnEnd = fn.span.end;
  for (const e of sorted) {
    if (e === decl) declAt = e.start + delta;
    if (e.start < fn.span.end) fnEnd += e.newText.length - (e.end - e.start);
    delta += e.newText.length - (e.end - e.start);
  }
  if (declAt < 0) return false;
  const newText = applyEdits(text, sorted);
  const masked = maskNonCode(newText.slice(fn.span.start, fnEnd));
  const declRel = declAt - fn.span.start;
  for (const n of names) {
    const at = masked.indexOf(`unsigned long ${n};`, declRel);
    if (at < 0 || at >= declRel + decl.newText.length) return false;
    const use = new RegExp(`(?<!->\\s*|\\.\\s*)\\b${n}\\b`).exec(masked);
    if (!use || use.index !== at + 'unsigned long '.length) return false;
  }
  return true;
}

/** The declaration edit that passes flagsDeclaredBeforeUse() with `others`, or a reason. */
function placeDeclaration(
  fn: FunctionFacts,
  text: string,
  names: string[],
  others: TextEdit[],
  tree: () => Tree,
): TextEdit | { reason: string } {
  for (const d of declarationCandidates(fn, text, names, tree())) {
    if (flagsDeclaredBeforeUse(fn, text, [...others, d], d, names)) return d;
  }
  return { reason: `no place in ${fn.name}() to declare ${names.join(', ')} before its first use and outside comments; not applying` };
}

function sortEdits(edits: TextEdit[]): TextEdit[] {
  return [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Applies non-overlapping edits (offsets into `text`). */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const sorted = sortEdits(edits);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.start < at) throw new Error('overlapping edits');
    out += text.slice(at, e.start) + e.newText;
    at = e.end;
  }
  return out + text.slice(at);
}

/**
 * ESLint's invariant for autofixes: the fixed text must not parse worse than the original.
 * `before` is errorCount(text), when the caller has it already.
 */
export function checkParses(text: string, result: FixResult, before?: number): FixResult {
  if (!result.ok) return result;
  before ??= errorCount(text);
  const after = errorCount(applyEdits(text, result.edits));
  if (after > before) return { ok: false, reason: 'the edited function would not parse cleanly; not applying', function: result.function };
  return result;
}

export function errorCount(text: string): number {
  const tree = parseC(text);
  try {
    if (!tree.rootNode.hasError) return 0;
    let n = 0;
    const c = tree.walk();
    for (;;) {
      const node = c.currentNode;
      if (node.isError || node.isMissing) n++;
      if (node.hasError && c.gotoFirstChild()) continue;
      let up = false;
      while (!c.gotoNextSibling()) {
        if (!c.gotoParent()) {
          up = true;
          break;
        }
      }
      if (up) break;
    }
    c.delete();
    return n;
  } finally {
    tree.delete();
  }
}

/**
 * Every VRL001 finding of one file at once (fix-all); findings of other rules are skipped. Findings in the same function that need flags
 * share one declaration when their lock sections never overlap; otherwise each gets its own name.
 */
export function fixAll(
  findings: Finding[],
  facts: FileFacts,
  text: string,
): { edits: TextEdit[]; fixed: Finding[]; refused: { finding: Finding; reason: string }[] } {
  const refused: { finding: Finding; reason: string }[] = [];
  const fixed: Finding[] = [];
  const edits: TextEdit[] = [];
  const byFn = new Map<FunctionFacts, Finding[]>();
  // The irqsave fix is VRL001's; other rules' findings are neither fixed nor refused here.
  for (const f of findings) {
    if (f.rule !== 'VRL001') continue;
    const fn = lockFunctionOf(f, facts);
    if (!fn) {
      refused.push({ finding: f, reason: `cannot find ${f.lockFunction}()` });
      continue;
    }
    byFn.set(fn, [...(byFn.get(fn) ?? []), f]);
  }
  let before: number | undefined;
  let tree: Tree | undefined;
  const treeOf = () => (tree ??= parseC(text));
  try {
    for (const [fn, list] of byFn) {
      // One plan per lock component, with every finding whose lock call it changes.
      const plans: { findings: Finding[]; plan: Plan }[] = [];
      const planAt = new Map<number, { findings: Finding[]; plan: Plan }>();
      for (const f of list) {
        const opIndex = fn.lockOps.findIndex(o => o.span.start === f.span.start);
        const covering = planAt.get(opIndex);
        if (covering) {
          covering.findings.push(f);
          continue;
        }
        const plan = planFix(fn, opIndex, text, facts);
        if (!plan.ok) {
          refused.push({ finding: f, reason: plan.reason });
          continue;
        }
        const entry = { findings: [f], plan };
        for (const i of plan.locks) planAt.set(i, entry);
        plans.push(entry);
      }
      const withFlags = plans.filter(p => p.plan.needsFlags);
      const overlap = withFlags.some((a, i) => withFlags.some((b, j) => j > i && sectionsOverlap(fn, a.plan.locks, b.plan.locks)));
      const names: string[] = [];
      const pickName = () => {
        const n = chooseFlagsName(fn, text, names);
        if (n) names.push(n);
        return n;
      };
      const shared = withFlags.length && !overlap ? pickName() : undefined;
      const fnEdits: TextEdit[] = [];
      const planned: Finding[] = [];
      for (const p of plans) {
        const name = p.plan.needsFlags ? (shared ?? pickName()) : '';
        if (p.plan.needsFlags && !name) {
          for (const f of p.findings) refused.push({ finding: f, reason: 'no free name for the flags variable' });
          continue;
        }
        fnEdits.push(...p.plan.edits(name ?? ''));
        planned.push(...p.findings);
      }
      if (planned.length === 0) continue;
      if (names.length) {
        const d = placeDeclaration(fn, text, names, fnEdits, treeOf);
        if ('reason' in d) {
          for (const f of planned) refused.push({ finding: f, reason: d.reason });
          continue;
        }
        fnEdits.push(d);
      }
      before ??= errorCount(text);
      const checked = checkParses(text, { ok: true, edits: sortEdits(fnEdits), title: '', function: fn.name }, before);
      if (checked.ok) {
        edits.push(...checked.edits);
        fixed.push(...planned);
      } else {
        for (const f of planned) refused.push({ finding: f, reason: checked.reason });
      }
    }
  } finally {
    tree?.delete();
  }
  return { edits: dedupe(edits), fixed, refused };
}

/** Whether an acquisition of one section may be held at an operation of the other. */
function sectionsOverlap(fn: FunctionFacts, a: number[], b: number[]): boolean {
  const heldAt = (i: number) =>
    [...fn.calls, ...fn.drains].filter(c => c.span.start === fn.lockOps[i].span.start).flatMap(c => c.state.held);
  return b.some(i => heldAt(i).some(h => a.includes(h))) || a.some(i => heldAt(i).some(h => b.includes(h)));
}
