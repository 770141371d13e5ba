// Fact extraction, lexical side: the patterns that decide what needs a tree or the lock
// dataflow, and the text-level readings of calls and assignments where macros defeat the tree.
import type { Node } from '../parser';
import type { LockState, SuppressionFact } from '../facts';
import { LineIndex, matchParen, stripComments } from '../text';

/** A body that may take or drop a lock, or mask interrupts, needs the full dataflow. */
export const LOCKISH =
  /\b(?:raw_spin_|spin_|read_|write_|mutex_)(?:un|try)?lock(?:_bh|_irq|_irqsave|_irqrestore|_nested|_interruptible){0,2}\s*\(|\b(?:scoped_)?guard\s*\(|\blocal_irq_(?:save|restore|disable|enable)\s*\(/;

/** Calls after which the device raises no more interrupts on its queues (teardown). */
export const RESET_CALL = /^(?:virtio_reset_device|del_vqs)$/;
export const RESET_KEY = 'reset:';

/**
 * A lock-free body that still needs its syntax tree: local types for the work items it schedules
 * or binds and for container_of, callback tables, the loop context of a drain, and the objects
 * of the other deferrals VRL002 follows (NAPI, tasklets, wait queues).
 */
export const NEEDS_TREE =
  /\b_*(?:INIT|DECLARE)_\w*WORK\w*|\b(?:schedule|queue|mod)_\w*work\w*\s*\(|container_of|\bcallbacks?\b|virtqueue_info|vq_callback_t|virtqueue_get_buf|\b(?:alloc|create)_\w*workqueue\w*\s*\(|napi_schedule|netif_napi_add|\btasklet_(?:schedule|hi_schedule|setup|init)\s*\(|\bwake_up\w*\s*\(|\bwait_event\w*\s*\(/;

/** A workqueue allocation: the target's type is read from the tree (NEEDS_TREE). */
export const WQ_ALLOC = /\b(?:alloc_(?:ordered_)?workqueue(?:_lockdep_map)?|create_(?:singlethread_|freezable_)?workqueue)\s*\(/;

export const NOTHING_HELD: LockState = Object.freeze({ held: Object.freeze([]) as unknown as number[], irqsOff: false });

/** Names of macro loops: `list_for_each_entry(pos, head, member) { ... }` and friends. */
export const MACRO_LOOP = /(^|_)for_each(_|$)|^for_each|_foreach$/;

/** A top-level item's facts, positioned relative to the item so they can be reused after edits elsewhere. */

// --- small syntax predicates -------------------------------------------------------------------

export interface CallSite {
  /** Identity for de-duplicating loop re-visits: a node id, or a negative offset for lexical calls. */
  key: number;
  name: string;
  direct: boolean;
  start: number;
  end: number;
  nameStart: number;
  nameEnd: number;
  argsStart: number;
  argsEnd: number;
}

export const NOT_CALLS = new Set([
  'if',
  'while',
  'for',
  'switch',
  'return',
  'sizeof',
  'typeof',
  '__typeof__',
  '__typeof',
  'alignof',
  '_Alignof',
  '__alignof__',
  '__attribute__',
  'asm',
  '__asm__',
  'do',
  'else',
  'case',
  'defined',
  'offsetof',
  '__builtin_expect',
  'likely',
  'unlikely',
  'READ_ONCE',
  'WRITE_ONCE',
]);

/** `lhs = fn;` where the right side is a bare name: candidate callback registrations. */
export function lexicalFnAssignments(masked: string): { left: string; right: string; rightStart: number }[] {
  const out: { left: string; right: string; rightStart: number }[] = [];
  // One `\s*` over a run of blanks (two, `\s*&?\s*`, backtracked quadratically over a long one).
  const re = /=\s*((?:&\s*)?[A-Za-z_]\w*)\s*;/g;
  for (let m; (m = re.exec(masked));) {
    const eq = m.index;
    if ('=!<>+-*/%&|^'.includes(masked[eq - 1] ?? '')) continue;
    // The lvalue: identifiers, member accesses and subscripts, scanned backwards.
    let i = eq - 1;
    let depth = 0;
    while (i >= 0) {
      const c = masked[i];
      if (c === ']') depth++;
      else if (c === '[') depth--;
      else if (depth === 0 && !/[\w\s.>-]/.test(c)) break;
      else if (depth === 0 && c === '>' && masked[i - 1] !== '-') break;
      i--;
    }
    const left = masked.slice(i + 1, eq).trim();
    if (!left) continue;
    out.push({ left, right: m[1], rightStart: eq + m[0].indexOf(m[1]) });
  }
  return out;
}

/** Calls found in comment- and string-masked text: `name(` not preceded by an identifier character. */
export function lexicalCalls(masked: string, base: number): CallSite[] {
  const out: CallSite[] = [];
  const re = /(?<![\w$])([A-Za-z_]\w*)\s*\(/g;
  for (let m; (m = re.exec(masked));) {
    const name = m[1];
    if (NOT_CALLS.has(name)) continue;
    const open = m.index + m[0].length - 1;
    const close = matchParen(masked, open);
    if (close < 0) continue;
    let p = m.index - 1;
    while (p >= 0 && (masked[p] === ' ' || masked[p] === '\t' || masked[p] === '\n')) p--;
    const direct = !(masked[p] === '.' || (masked[p] === '>' && masked[p - 1] === '-'));
    // Skip declarations of function pointers and prototypes: `int (*f)(` never matches; `int f(void);`
    // inside a body is rare enough to ignore.
    out.push({
      key: -(base + m.index + 1),
      name,
      direct,
      start: base + m.index,
      end: base + close + 1,
      nameStart: base + m.index,
      nameEnd: base + m.index + name.length,
      argsStart: base + open,
      argsEnd: base + close + 1,
    });
  }
  return out;
}

/**
 * In a lock-free body (masked text, from its `{`), the end of the first `virtio_reset_device()` or
 * `->del_vqs()` call that is a statement of the body's own block, before any label: every later
 * point of the body is reached through it. Infinity when there is none.
 */
export function topLevelResetEnd(masked: string): number {
  if (!/\b(?:virtio_reset_device|del_vqs)\s*\(/.test(masked)) return Infinity;
  let depth = 0;
  let stmtStart = 1;
  for (let i = 0; i < masked.length; i++) {
    const c = masked[i];
    if (c === '{') {
      depth++;
      if (depth === 1) stmtStart = i + 1;
      continue;
    }
    if (c === '}') {
      depth--;
      if (depth === 1) stmtStart = i + 1;
      continue;
    }
    if (depth !== 1) continue;
    if (c === ';') {
      stmtStart = i + 1;
      continue;
    }
    if (c === ':' && /^\s*[A-Za-z_]\w*\s*$/.test(masked.slice(stmtStart, i)) && masked[i + 1] !== ':') return Infinity;
    if (c === '(') {
      const head = masked.slice(stmtStart, i);
      const m = /^\s*(?:virtio_reset_device|[A-Za-z_]\w*(?:\s*(?:->|\.)\s*[A-Za-z_]\w*)*\s*->\s*del_vqs)\s*$/.exec(head);
      if (m) {
        const close = matchParen(masked, i);
        return close < 0 ? Infinity : close + 1;
      }
      // Skip the rest of a statement that starts otherwise (if, while, an assignment, ...).
      const close = matchParen(masked, i);
      if (close < 0) return Infinity;
      i = close;
    }
  }
  return Infinity;
}

/** `a, { b, c }, d(e, f)` split at its top-level commas. */
export function foldSpace(t: string): string {
  return stripComments(t).replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')');
}

export function statementCall(n: Node): Node | null {
  if (n.type !== 'expression_statement') return null;
  const e = n.namedChildren[0];
  return e && e.type === 'call_expression' ? e : null;
}

export function calleeName(call: Node): string | undefined {
  const f = call.childForFieldName('function');
  if (!f) return undefined;
  if (f.type === 'identifier') return f.text;
  if (f.type === 'field_expression') return f.childForFieldName('field')?.text;
  if (f.type === 'parenthesized_expression') {
    const inner = f.namedChildren[0];
    if (inner?.type === 'identifier') return inner.text;
  }
  return undefined;
}

export function isLoopLike(n: Node): boolean {
  return n.type === 'while_statement' || n.type === 'for_statement' || n.type === 'do_statement';
}

export function isStatementNode(n: Node): boolean {
  return n.type.endsWith('_statement') || n.type === 'declaration';
}

/** `LIST_HEAD(reqs);`, `DECLARE_BITMAP(x, n);`, `DEFINE_WAIT(wait);` at the top of a body. */
export function isMacroDeclaration(n: Node): boolean {
  const call = statementCall(n);
  const name = call ? calleeName(call) : undefined;
  return !!name && /^(LIST_HEAD|HLIST_HEAD|DECLARE_[A-Z_]+|DEFINE_[A-Z_]+)$/.test(name);
}

/** The comment form documented in README: `/* virtio-race-lint: ignore VRL001 -- reason *\/`. */
export const SUPPRESSION = /virtio-race-lint:\s*ignore\s+(VRL\d+(?:\s*,\s*VRL\d+)*)/g;

/**
 * Why a suppression's reason (the text after `--`) is not one, or undefined: a suppression needs
 * a reason, and a placeholder (`<reason>`, `TODO`, `reason`, a bare `reviewed:`) is none.
 */
export function missingReason(rest: string): string | undefined {
  const dash = /^\s*--/.exec(rest);
  if (!dash) return 'no reason given (write `-- reviewed: why` after the rule)';
  const reason = rest
    .slice(dash[0].length)
    .replace(/^\s*reviewed\s*:?/i, '')
    .trim();
  if (reason === '') return 'the reason is empty';
  if (/^(<[^>]*>|\.\.\.|…|todo|fixme|xxx|tbd|reason|why)$/i.test(reason.replace(/[.:!]+$/, '').trim()))
    return `the reason is a placeholder (${reason})`;
  return undefined;
}

export function suppressionsIn(text: string, start: number, end: number, lines: LineIndex): SuppressionFact[] {
  const slice = text.slice(start, end);
  if (!slice.includes('virtio-race-lint')) return [];
  const out: SuppressionFact[] = [];
  SUPPRESSION.lastIndex = 0;
  for (let m; (m = SUPPRESSION.exec(slice));) {
    // Only inside a comment: find the comment that contains the match.
    const at = start + m.index;
    const open = Math.max(text.lastIndexOf('/*', at), text.lastIndexOf('//', at));
    if (open < 0) continue;
    const isBlock = text.startsWith('/*', open);
    const close = isBlock ? text.indexOf('*/', open) : text.indexOf('\n', open);
    if (isBlock && close >= 0 && close < at) continue;
    if (!isBlock && text.slice(open, at).includes('\n')) continue;
    const e = close < 0 ? text.length : isBlock ? close + 2 : close;
    const missing = missingReason(text.slice(at + m[0].length, close < 0 ? text.length : close));
    out.push({ rules: m[1].split(/\s*,\s*/), span: lines.span(open, e), ...(missing ? { invalid: missing } : {}) });
  }
  return out;
}
