// Fact extraction, function bodies: the lock-state dataflow (FunctionWalker) and everything it
// records along the way: calls, lock operations, drains, schedule sites, bindings, loops.
import type { Node } from '../parser';
import {
  BINDING_APIS,
  DRAIN_APIS,
  GUARD_CLASSES,
  LOCK_APIS,
  SCHEDULE_APIS,
  TRYLOCK_APIS,
  VQ_SETUP_APIS,
  WQ_ALLOC_APIS,
  type LockApi,
} from '../apis';
import { substituteArgs } from '../summaries';
import { callbackOf, callbacksAt, entriesAssigned, entriesOfInitializer, type VqTableEntry } from '../vqTables';
import type {
  ArgFact,
  BindingFact,
  CallbackRegFact,
  ContainerOfFact,
  ExprRef,
  FunctionFacts,
  LockOp,
  LockState,
  LoopFact,
  ScheduleFact,
  Span,
  TypeRef,
  VqSetupFact,
  WqAllocFact,
} from '../facts';
import {
  identArg,
  isIdentChar,
  isIdentStart,
  maskNonCode,
  matchBrace,
  matchParen,
  normaliseLockExpr,
  parseExprRef,
  parseMemberPath,
  parseTypeText,
  splitArgs,
  stripComments,
  type ArgText,
} from '../text';

import {
  CallSite,
  LOCKISH,
  MACRO_LOOP,
  NEEDS_TREE,
  NOTHING_HELD,
  RESET_CALL,
  RESET_KEY,
  WQ_ALLOC,
  calleeName,
  foldSpace,
  isLoopLike,
  isMacroDeclaration,
  isStatementNode,
  lexicalCalls,
  lexicalFnAssignments,
  statementCall,
  topLevelResetEnd,
} from './lexical';
import type { FileCtx } from './declarations';
import { countErrors, declaratorName, typeOf } from './nodes';
import { InitializerScan } from './initialisers';

// ---------------------------------------------------------------------------------------------
// Function bodies: the lock-state dataflow and everything recorded along the way

export interface State {
  /** Lock key -> acquisitions (indices into lockOps) that may hold it. */
  may: Map<string, number[]>;
  /** Lock keys held on every path. */
  must: Set<string>;
  /** Guard scopes: lock key -> compound statement id that releases it. */
}

export function cloneState(s: State): State {
  return { may: new Map(s.may), must: new Set(s.must) };
}

export function mergeStates(a: State | null, b: State | null): State | null {
  if (!a) return b ? cloneState(b) : null;
  if (!b) return cloneState(a);
  const may = new Map(a.may);
  for (const [k, ops] of b.may) {
    const cur = may.get(k);
    may.set(k, cur ? [...new Set([...cur, ...ops])].sort((x, y) => x - y) : ops);
  }
  const must = new Set([...a.must].filter(k => b.must.has(k)));
  return { may, must };
}

export function sameState(a: State | null, b: State | null): boolean {
  if (!a || !b) return a === b;
  if (a.may.size !== b.may.size || a.must.size !== b.must.size) return false;
  for (const [k, ops] of a.may) {
    const o = b.may.get(k);
    if (!o || o.length !== ops.length || o.some((x, i) => x !== ops[i])) return false;
  }
  for (const k of a.must) if (!b.must.has(k)) return false;
  return true;
}

export interface LoopCtx {
  breaks: State | null;
  continues: State | null;
  isSwitch: boolean;
}

export class FunctionWalker {
  private lockOpByNode = new Map<number, number>();
  /** Lock operations of wrapper calls, keyed by call site and effect. */
  private summaryOpByKey = new Map<number, number>();
  private callByNode = new Map<number, number>();
  private drainByNode = new Map<number, number>();
  private seen = new Set<number>();
  private loops: LoopCtx[] = [];
  private labels = new Map<string, State | null>();
  private loopDepth = 0;
  /** Indices into fn.loops of the loops enclosing the current point, innermost last. */
  private loopStack: number[] = [];
  private loopByKey = new Map<number, number>();
  private recheckDepth = 0;
  private conditionDepth = 0;
  /** Statements already consumed as the body of a preceding scoped_guard or macro loop. */
  private consumed = new Set<number>();
  private paramIndex: Map<string, number>;
  private static EMPTY: State = { may: new Map(), must: new Set() };
  /** After a reset that every later point of a lock-free body is reached through. */
  private static RESET: State = { may: new Map(), must: new Set([RESET_KEY]) };

  constructor(
    private fc: FileCtx,
    private fn: FunctionFacts,
  ) {
    this.paramIndex = new Map(fn.params.map((p, i) => [p.name, i]));
  }

  run(body: Node): void {
    const bodyText = this.fc.text.slice(body.startIndex, body.endIndex);
    if (LOCKISH.test(bodyText) || this.fc.summaries?.callRe?.test(bodyText)) {
      // Only a function that takes a lock can be given the irqsave fix and its flags variable.
      this.leadingDecls(body);
      const end = this.stmt(body, { may: new Map(), must: new Set() });
      if (end) this.fn.exitStates.push(this.snapshot(end));
    } else {
      this.light(body);
    }
    this.valuesAndAllocs(body, bodyText);
    this.resolveExprTypes();
    this.fn.errors = body.hasError ? countErrors(body) : 0;
    this.fn.fnRefs = [...new Set(this.fn.fnRefs)].filter(n => !this.paramIndex.has(n) && !(n in this.fn.locals));
  }

  /**
   * Most functions take no lock at all: every call then runs with nothing held, so the calls,
   * declarations and assignments are collected without the statement-by-statement dataflow.
   */
  private light(body: Node): void {
    const text = this.fc.text;
    const masked = maskNonCode(text.slice(body.startIndex, body.endIndex));
    const base = body.startIndex;
    // Local types matter only for resolving work items, container_of and callback tables.
    if (NEEDS_TREE.test(masked)) {
      for (const d of body.descendantsOfType('declaration')) if (d) this.localDecl(d, null, false);
    }
    for (const a of lexicalFnAssignments(masked)) this.lexicalAssignment(a.left, a.right, base + a.rightStart);
    const resetAt = base + topLevelResetEnd(masked);
    for (const site of lexicalCalls(masked, base)) {
      if (DRAIN_APIS.has(site.name)) this.loopContextAt(body, site.start);
      this.callSite(site, site.start >= resetAt ? FunctionWalker.RESET : FunctionWalker.EMPTY);
      this.loopDepth = this.recheckDepth = this.conditionDepth = 0;
      this.loopStack = [];
    }
    this.fn.exitStates.push({ held: [], irqsOff: false });
  }

  /** Loop nesting of the call at `offset`, for drains found lexically. */
  private loopContextAt(body: Node, offset: number): void {
    const c = body.descendantForIndex(offset);
    if (!c) return;
    const enclosing: { n: Node; recheck: boolean }[] = [];
    for (let p = c.parent, child: Node = c; p && p.id !== body.id; child = p, p = p.parent) {
      if (!isLoopLike(p)) continue;
      this.loopDepth++;
      const cond = p.childForFieldName('condition');
      const recheck = !!cond && /\bvirtqueue_enable_cb\w*\s*\(/.test(cond.text);
      if (recheck) this.recheckDepth = 1;
      if (cond && cond.id === child.id) this.conditionDepth = 1;
      enclosing.push({ n: p, recheck });
    }
    // Outermost first, so each loop's parent is registered before it.
    for (const { n, recheck } of enclosing.reverse()) this.enterLoop(n.id, n.startIndex, n.endIndex, recheck);
  }

  /** Registers a loop (once, however often the dataflow revisits it) and makes it the innermost. */
  private enterLoop(key: number, start: number, end: number, recheck: boolean): void {
    let i = this.loopByKey.get(key);
    if (i === undefined) {
      const loops = (this.fn.loops ??= []);
      const parent = this.loopStack[this.loopStack.length - 1];
      loops.push({ span: this.fc.lines.span(start, end), recheck, ...(parent !== undefined ? { parent } : {}) } satisfies LoopFact);
      i = loops.length - 1;
      this.loopByKey.set(key, i);
    }
    this.loopStack.push(i);
  }

  private innermostLoop(): { loop?: number } {
    const l = this.loopStack[this.loopStack.length - 1];
    return l !== undefined ? { loop: l } : {};
  }

  /**
   * Values assigned to plain identifiers, in functions that name a virtqueue API (which queue a
   * call names), and workqueue allocations. Read from the masked text: cheap, and the same in
   * the light and the full walk.
   */
  private valuesAndAllocs(body: Node, bodyText: string): void {
    const hasVq = bodyText.includes('virtqueue_');
    const hasAlloc = WQ_ALLOC.test(bodyText);
    const hasSetup = /\b(?:virtio_)?find_(?:single_vq|vqs)/.test(bodyText);
    if (!hasVq && !hasAlloc && !hasSetup) return;
    const masked = maskNonCode(bodyText);
    if (hasSetup) this.vqSetups(body, bodyText, masked);
    if (hasVq) {
      const values: Record<string, string[]> = {};
      // Linear in the body: the right-hand side is bounded and matched greedily (a lazy one
      // followed by `\s*;` went quadratic over a long run of blanks, such as a huge comment).
      const re = /(?<![\w.>])([A-Za-z_]\w*)\s*=(?!=)([^;{}]{1,512});/dg;
      for (let m; (m = re.exec(masked));) {
        const [rs, re2] = m.indices![2];
        const rhs = foldSpace(bodyText.slice(rs, re2).trim());
        if (!rhs) continue;
        // An access path or an alias (`fsvq->vq`, `vqs[2]`, `other`), not a call's result.
        const e = parseExprRef(rhs);
        if (!e || (e.chain.length === 0 && e.base.kind !== 'var') || /^\d/.test(rhs)) continue;
        const l = (values[m[1]] ??= []);
        if (!l.includes(rhs) && l.length < 4) l.push(rhs);
      }
      if (Object.keys(values).length) this.fn.values = values;
    }
    if (hasAlloc) {
      const calls = /=\s*(alloc_(?:ordered_)?workqueue(?:_lockdep_map)?|create_(?:singlethread_|freezable_)?workqueue)\s*\(/g;
      for (const a of assignedFrom(masked, calls)) {
        const open = a.end - 1;
        const close = matchParen(masked, open);
        if (close < 0) continue;
        const api = WQ_ALLOC_APIS.get(a.groups[1])!;
        const args = splitArgs(bodyText.slice(open, close + 1));
        const target = a.target;
        const start = body.startIndex + a.start;
        (this.fn.wqAllocs ??= []).push({
          api: a.groups[1],
          target,
          targetExpr: parseExprRef(target),
          flags: api.flagsArg !== undefined ? foldSpace(args[api.flagsArg]?.text ?? '') : '',
          span: this.fc.lines.span(start, body.startIndex + close + 1),
        } satisfies WqAllocFact);
      }
    }
  }

  /**
   * Which callback each queue set up here gets: `x = virtio_find_single_vq(vdev, cb, name)`, and
   * after `virtio_find_vqs*(vdev, n, vqs, cbs, ...)`, `x = vqs[k]` (any subscript: a loop index
   * names any element) or, when `vqs` is a member array (`d->vqs`), its elements. `cbs` is a table
   * of this body (vqTables.ts), or else one at file scope, looked up when linking.
   */
  private vqSetups(body: Node, bodyText: string, masked: string): void {
    const out: VqSetupFact[] = [];
    const span = (a: number, b: number) => this.fc.lines.span(body.startIndex + a, body.startIndex + b);
    for (const a of assignedFrom(masked, /=\s*virtio_find_single_vq\s*\(/g)) {
      const open = a.end - 1;
      const close = matchParen(masked, open);
      if (close < 0) continue;
      const cb = callbackOf(splitArgs(bodyText.slice(open, close + 1))[1]?.text);
      if (cb !== undefined) out.push({ target: foldSpace(a.target), callback: cb, span: span(a.start, close + 1) });
    }
    const finds = /\b(?:virtio_find_vqs(?:_ctx)?)\s*\(/g;
    for (let m; (m = finds.exec(masked));) {
      const open = m.index + m[0].length - 1;
      const close = matchParen(masked, open);
      if (close < 0) continue;
      const args = splitArgs(bodyText.slice(open, close + 1));
      const vqsText = foldSpace(args[2]?.text ?? '');
      const cbs = identArg(args[3]?.text ?? '');
      if (!vqsText || !cbs) continue;
      // The table's initialiser, `NAME[...] = { ... };`, and element assignments, in this body.
      let entries: VqTableEntry[] = [];
      let local = false;
      const init = new RegExp(`\\b${cbs}\\s*\\[[^\\]]*\\]\\s*=\\s*\\{`).exec(masked);
      if (init) {
        const lb = init.index + init[0].length - 1;
        const rb = matchBrace(masked, lb);
        if (rb < 0) continue;
        entries = entriesOfInitializer(masked.slice(lb + 1, rb));
        local = true;
      }
      const assigned = entriesAssigned(cbs, masked);
      if (assigned.length) {
        entries = [...entries, ...assigned];
        local = true;
      }
      // A local table the body declares but does not fill here (filled by a helper): not known.
      const declaredHere =
        cbs in this.fn.locals ||
        this.fn.params.some(p => p.name === cbs) ||
        new RegExp(`(?:vq_callback_t|virtqueue_info)[^;=(){}]*\\b${cbs}\\b`).test(masked);
      if (!local && declaredHere) continue;
      const push = (target: string, sub: string | undefined, at: number, to: number) => {
        if (!local) {
          out.push({ target, table: { name: cbs, ...(sub !== undefined ? { sub } : {}) }, span: span(at, to) });
          return;
        }
        for (const cb of callbacksAt(entries, sub) ?? []) out.push({ target, callback: cb, span: span(at, to) });
      };
      const vqs = identArg(vqsText);
      if (vqs && !/\[/.test(vqsText)) {
        for (const a of assignedFrom(masked, new RegExp(`=\\s*${vqs}\\s*\\[([^\\]]+)\\]\\s*;`, 'g')))
          push(foldSpace(a.target), a.groups[1], a.start, a.end);
      } else {
        // The queues are stored straight into a member array: its elements.
        const e = parseExprRef(vqsText);
        if (e && !e.addressOf && e.chain.length > 0) push(`${vqsText}[0]`, undefined, m.index, close + 1);
      }
    }
    if (out.length) this.fn.vqSetups = out;
  }

  // --- statements -----------------------------------------------------------------------------

  private stmt(n: Node, s: State | null): State | null {
    switch (n.type) {
      case 'compound_statement':
        return this.block(
          n.namedChildren.filter((c): c is Node => !!c),
          s,
          n.id,
        );
      case 'declaration':
        this.localDecl(n, s);
        return s;
      case 'expression_statement':
        return this.expr(n, s);
      case 'if_statement': {
        const condNode = n.childForFieldName('condition');
        const afterCond = this.cond(condNode, s);
        // `if (spin_trylock(&l))` holds l in the then-branch, `if (!spin_trylock(&l))` in the else-branch.
        const tl = condNode ? this.trylock(condNode, afterCond) : undefined;
        const thenS = this.stmtOpt(n.childForFieldName('consequence'), tl && !tl.negated ? tl.state : afterCond);
        const alt = n.childForFieldName('alternative');
        const elseIn = tl && tl.negated ? tl.state : afterCond;
        const elseS = alt ? this.stmtOpt(alt.type === 'else_clause' ? alt.namedChildren[0] : alt, elseIn) : elseIn;
        return mergeStates(thenS, elseS);
      }
      case 'else_clause':
        return this.stmtOpt(n.namedChildren[0], s);
      case 'while_statement':
        return this.loop(n, s, 'while');
      case 'for_statement':
        return this.loop(n, s, 'for');
      case 'do_statement':
        return this.loop(n, s, 'do');
      case 'switch_statement': {
        const afterCond = this.cond(n.childForFieldName('condition'), s);
        const ctx: LoopCtx = { breaks: null, continues: null, isSwitch: true };
        this.loops.push(ctx);
        const body = n.childForFieldName('body');
        let fall: State | null = null;
        let sawDefault = false;
        for (const c of body?.namedChildren ?? []) {
          if (!c) continue;
          if (c.type === 'case_statement') {
            if (!c.childForFieldName('value')) sawDefault = true;
            let cs = mergeStates(afterCond, fall);
            for (const inner of c.namedChildren) {
              if (!inner || inner.id === c.childForFieldName('value')?.id) continue;
              cs = this.stmt(inner, cs);
            }
            fall = cs;
          } else {
            fall = this.stmt(c, mergeStates(afterCond, fall));
          }
        }
        this.loops.pop();
        return mergeStates(mergeStates(fall, ctx.breaks), sawDefault ? null : afterCond);
      }
      case 'case_statement':
        return this.block(
          n.namedChildren.filter((c): c is Node => !!c && c.id !== n.childForFieldName('value')?.id),
          s,
          -1,
        );
      case 'return_statement': {
        const r = this.expr(n, s);
        if (r) this.fn.exitStates.push(this.snapshot(r));
        return null;
      }
      case 'break_statement': {
        const ctx = this.loops[this.loops.length - 1];
        if (ctx) ctx.breaks = mergeStates(ctx.breaks, s);
        return null;
      }
      case 'continue_statement': {
        const ctx = [...this.loops].reverse().find(l => !l.isSwitch);
        if (ctx) ctx.continues = mergeStates(ctx.continues, s);
        return null;
      }
      case 'goto_statement': {
        const label = n.childForFieldName('label')?.text;
        if (label) this.labels.set(label, mergeStates(this.labels.get(label) ?? null, s));
        return null;
      }
      case 'labeled_statement': {
        const label = n.childForFieldName('label')?.text;
        let st = s;
        if (label) {
          st = mergeStates(s, this.labels.get(label) ?? null);
          this.labels.set(label, null);
        }
        const inner = n.namedChildren.filter((c): c is Node => !!c && c.type !== 'statement_identifier');
        return this.block(inner, st, -1);
      }
      case 'preproc_if':
      case 'preproc_ifdef':
      case 'preproc_elif':
      case 'preproc_else':
      case 'preproc_elifdef':
        return this.preproc(n, s);
      case 'comment':
      case 'preproc_include':
      case 'preproc_def':
      case 'preproc_function_def':
      case 'preproc_call':
      case 'type_definition':
      case 'struct_specifier':
        return s;
      case 'attributed_statement':
        return this.block(
          n.namedChildren.filter((c): c is Node => !!c && c.type !== 'attribute_declaration'),
          s,
          -1,
        );
      default:
        // ERROR nodes and anything unexpected: treat the children as a statement sequence.
        return this.expr(n, s);
    }
  }

  private stmtOpt(n: Node | null | undefined, s: State | null): State | null {
    return n ? this.stmt(n, s) : s;
  }

  /** A statement list; guard() acquisitions are released when the list (scope) ends. */
  private block(children: Node[], s: State | null, scopeId: number): State | null {
    const guards: string[] = [];
    let st = s;
    for (let i = 0; i < children.length; i++) {
      const c = children[i];
      if (this.consumed.has(c.id)) continue;
      const call = statementCall(c);
      const callee = call ? calleeName(call) : undefined;
      const next = children[i + 1];
      if (call && callee === 'scoped_guard') {
        // scoped_guard(class, &lock) <statement>: the guard covers exactly the next statement.
        const key = this.guardAcquire(call, 'scoped_guard', st);
        st = key.state;
        if (next) {
          this.consumed.add(next.id);
          st = this.stmt(next, st);
        }
        if (st && key.key) {
          st = cloneState(st);
          st.may.delete(key.key);
          st.must.delete(key.key);
        }
        continue;
      }
      if (call && callee && MACRO_LOOP.test(callee) && next && !isLoopLike(next)) {
        // list_for_each_entry(...) <statement>: a loop the grammar cannot see.
        st = this.expr(c, st);
        this.consumed.add(next.id);
        this.enterLoop(c.id, c.startIndex, next.endIndex, false);
        st = this.loopBody(next, st, null, null);
        this.loopStack.pop();
        continue;
      }
      if (
        call &&
        call.childForFieldName('function')?.type === 'call_expression' &&
        calleeName(call.childForFieldName('function')!) === 'guard'
      ) {
        const key = this.guardAcquire(call, 'guard', st);
        st = key.state;
        if (key.key) guards.push(key.key);
        continue;
      }
      st = this.stmt(c, st);
    }
    if (st && guards.length && scopeId !== -1) {
      st = cloneState(st);
      for (const k of guards) {
        st.may.delete(k);
        st.must.delete(k);
      }
    }
    return st;
  }

  private preproc(n: Node, s: State | null): State | null {
    // #if A ... #else ... #endif: the branches are alternatives, like if/else.
    const body: Node[] = [];
    let alt: Node | null = null;
    for (const c of n.namedChildren) {
      if (!c) continue;
      if (c.type === 'preproc_else' || c.type === 'preproc_elif' || c.type === 'preproc_elifdef') alt = c;
      else if (c.id !== n.childForFieldName('condition')?.id && c.id !== n.childForFieldName('name')?.id) body.push(c);
    }
    const a = this.block(body, s, -1);
    // `#else` is the last alternative; an #if or #elif without one may also take none of its branches.
    if (n.type === 'preproc_else') return a;
    const b = alt ? this.preproc(alt, s) : s;
    return mergeStates(a, b);
  }

  private loop(n: Node, s: State | null, kind: 'while' | 'for' | 'do'): State | null {
    const condNode = n.childForFieldName('condition');
    const recheck = !!condNode && /\bvirtqueue_enable_cb\w*\s*\(/.test(condNode.text);
    if (kind === 'for') {
      const init = n.childForFieldName('initializer');
      if (init) s = init.type === 'declaration' ? (this.localDecl(init, s), s) : this.expr(init, s);
    }
    const body = n.childForFieldName('body');
    const update = n.childForFieldName('update');
    if (recheck) this.recheckDepth++;
    this.enterLoop(n.id, n.startIndex, n.endIndex, recheck);
    const out = this.loopBody(body, s, condNode, update, kind === 'do');
    this.loopStack.pop();
    if (recheck) this.recheckDepth--;
    return out;
  }

  /**
   * Runs a loop to a fixpoint: the head state is the entry merged with the states flowing back
   * from the end of the body and from `continue`.
   */
  private loopBody(body: Node | null, entry: State | null, cond: Node | null, update: Node | null, bodyFirst = false): State | null {
    let head = entry;
    let exit: State | null = null;
    this.loopDepth++;
    for (let iter = 0; iter < 4; iter++) {
      const ctx: LoopCtx = { breaks: null, continues: null, isSwitch: false };
      this.loops.push(ctx);
      let s = head;
      let afterCond: State | null;
      if (bodyFirst) {
        s = body ? this.inBody(body, s) : s;
        s = mergeStates(s, ctx.continues);
        afterCond = cond ? this.loopCond(cond, s) : s;
        s = afterCond;
      } else {
        afterCond = cond ? this.loopCond(cond, s) : s;
        s = body ? this.inBody(body, afterCond) : afterCond;
        s = mergeStates(s, ctx.continues);
        if (update) s = this.expr(update, s);
      }
      this.loops.pop();
      exit = mergeStates(afterCond, ctx.breaks);
      const nextHead = mergeStates(entry, s);
      if (sameState(nextHead, head)) break;
      head = nextHead;
    }
    this.loopDepth--;
    return exit;
  }

  /** The condition is `[!]spin_trylock*(...)` alone: the state with the lock taken, and on which branch. */
  private trylock(cond: Node, s: State | null): { state: State | null; negated: boolean } | undefined {
    let e: Node | null = cond;
    while (e && e.type === 'parenthesized_expression') e = e.namedChildren[0];
    let negated = false;
    if (e && e.type === 'unary_expression' && e.childForFieldName('operator')?.text === '!') {
      negated = true;
      e = e.childForFieldName('argument');
      while (e && e.type === 'parenthesized_expression') e = e.namedChildren[0];
    }
    if (!e || e.type !== 'call_expression') return undefined;
    const fnNode = e.childForFieldName('function');
    const argsNode = e.childForFieldName('arguments');
    const api = fnNode?.type === 'identifier' ? TRYLOCK_APIS.get(fnNode.text) : undefined;
    if (!api || !argsNode || !fnNode) return undefined;
    const rawArgs = splitArgs(this.fc.text.slice(argsNode.startIndex, argsNode.endIndex));
    const lockArg = rawArgs[api.lockArg]?.text;
    const lock = lockArg ? normaliseLockExpr(lockArg) : '';
    const call = e;
    const opIndex = this.record(this.lockOpByNode, call.id, this.fn.lockOps, () => ({
      ...this.callLockOp(api, lockArg, lock, api.flagsArg !== undefined ? rawArgs[api.flagsArg]?.text : undefined, {
        start: call.startIndex,
        end: call.endIndex,
        span: this.fc.span(call),
        nameSpan: this.fc.span(fnNode),
        argsSpan: this.fc.span(argsNode),
      }),
      trylock: true,
    }));
    return { state: this.applyLock(s, `${api.family}:${lock}`, opIndex, 'lock'), negated };
  }

  private cond(n: Node | null, s: State | null): State | null {
    return n ? this.expr(n, s) : s;
  }

  private inBody(n: Node, s: State | null): State | null {
    const outer = this.conditionDepth;
    this.conditionDepth = 0;
    const r = this.stmt(n, s);
    this.conditionDepth = outer;
    return r;
  }

  private loopCond(n: Node, s: State | null): State | null {
    const outer = this.conditionDepth;
    this.conditionDepth = 1;
    const r = this.expr(n, s);
    this.conditionDepth = outer;
    return r;
  }

  // --- declarations ---------------------------------------------------------------------------

  private leadingDecls(body: Node): void {
    let last: Node | null = null;
    for (const c of body.namedChildren) {
      if (!c || c.type === 'comment') continue;
      if (c.type === 'declaration' || isMacroDeclaration(c)) {
        last = c;
        continue;
      }
      break;
    }
    if (!last) return;
    const text = this.fc.text;
    let end = last.endIndex;
    const nl = text.indexOf('\n', end);
    end = nl === -1 ? text.length : nl + 1;
    const lineStart = this.fc.lines.lineStart(last.startPosition.row);
    const indent = /^[ \t]*/.exec(text.slice(lineStart, last.startIndex))![0];
    this.fn.declsEnd = { offset: end, line: this.fc.lines.position(end).line, indent };
  }

  private localDecl(n: Node, s: State | null, visitValues = true): void {
    const typeNode = n.childForFieldName('type');
    for (const d of n.childrenForFieldName('declarator')) {
      if (!d) continue;
      const name = declaratorName(d);
      if (!name) continue;
      const type = typeOf(typeNode, d);
      this.fn.locals[name.text] = type;
      this.fn.declaredNames.push(name.text);
      if (d.type === 'init_declarator') {
        const value = d.childForFieldName('value');
        if (value) {
          if (value.type === 'initializer_list' || /\bvq_callback_t\b/.test(type.text) || type.name === 'virtqueue_info') {
            new InitializerScan(this.fc, type, name.text, this.fn).scan(value);
          }
          if (visitValues) this.expr(value, s);
        }
      }
    }
  }

  // --- expressions ----------------------------------------------------------------------------

  /** Visits an expression's calls in evaluation order, threading the lock state. */
  private expr(n: Node, s: State | null): State | null {
    switch (n.type) {
      case 'call_expression': {
        let st = s;
        const fnNode = n.childForFieldName('function');
        if (fnNode && fnNode.type !== 'identifier') st = this.expr(fnNode, st);
        const args = n.childForFieldName('arguments');
        if (args) st = this.expr(args, st);
        return this.call(n, st);
      }
      case 'assignment_expression': {
        let st = this.expr(n.childForFieldName('right')!, s);
        const left = n.childForFieldName('left');
        if (left) st = this.expr(left, st);
        this.assignment(n);
        return st;
      }
      case 'identifier':
      case 'string_literal':
      case 'number_literal':
      case 'char_literal':
      case 'field_identifier':
      case 'true':
      case 'false':
      case 'null':
      case 'comment':
        return s;
      case 'compound_statement':
        // A GNU statement expression ({ ... }).
        return this.stmt(n, s);
      case 'declaration':
        this.localDecl(n, s);
        return s;
      default: {
        let st = s;
        for (const c of n.namedChildren) {
          if (!c) continue;
          if (isStatementNode(c)) st = this.stmt(c, st);
          else st = this.expr(c, st);
        }
        return st;
      }
    }
  }

  private assignment(n: Node): void {
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (left && right) this.lexicalAssignment(left.text, right.text, right.startIndex);
  }

  private lexicalAssignment(leftText: string, rightText: string, rightStart: number): void {
    const rightIdent = identArg(rightText);
    if (!rightIdent) return;
    this.fn.fnRefs.push(rightIdent);
    const l = stripComments(leftText).replace(/\s+/g, '');
    const span = this.fc.lines.span(rightStart, rightStart + rightText.length);
    // vqs_info[i].callback = fn (6.11+), callbacks[i] = fn (≤ 6.10), x->cbs[i] = fn.
    if (/\.callback$|->callback$/.test(l)) {
      this.fn.callbackRegs.push({ fn: rightIdent, span, how: `${l} =` });
      return;
    }
    const arr = /^([A-Za-z_][\w>.-]*?)\[[^\]]*\]$/.exec(l);
    if (arr) {
      const root = arr[1].split(/->|\./).pop()!;
      const declared = this.fn.locals[root] ?? this.fn.params.find(p => p.name === root)?.type;
      if ((declared && /\bvq_callback_t\b/.test(declared.text)) || /callbacks?$|^cbs$|_cbs$/i.test(root)) {
        this.fn.callbackRegs.push({ fn: rightIdent, span, how: `${l} =` });
      }
    }
  }

  private call(n: Node, s: State | null): State | null {
    const name = calleeName(n);
    const fnNode = n.childForFieldName('function');
    const argsNode = n.childForFieldName('arguments');
    if (!name || !argsNode || !fnNode) return s;
    const nameNode = fnNode.type === 'field_expression' ? (fnNode.childForFieldName('field') ?? fnNode) : fnNode;
    return this.callSite(
      {
        key: n.id,
        name,
        direct: fnNode.type === 'identifier',
        start: n.startIndex,
        end: n.endIndex,
        nameStart: nameNode.startIndex,
        nameEnd: nameNode.endIndex,
        argsStart: argsNode.startIndex,
        argsEnd: argsNode.endIndex,
      },
      s,
    );
  }

  private callSite(site: CallSite, s: State | null): State | null {
    const { name } = site;
    const lines = this.fc.lines;
    const rawArgs = splitArgs(this.fc.text.slice(site.argsStart, site.argsEnd));
    const argSpan = (a: ArgText) => lines.span(site.argsStart + a.start, site.argsStart + a.end);
    const first = !this.seen.has(site.key);
    this.seen.add(site.key);
    const state = s && (s.may.size || s.must.size) ? this.snapshot(s) : NOTHING_HELD;
    const span = lines.span(site.start, site.end);
    const nameSpan = () => lines.span(site.nameStart, site.nameEnd);
    const argsSpan = () => lines.span(site.argsStart, site.argsEnd);
    const at = () => ({ start: site.start, end: site.end, span, nameSpan: nameSpan(), argsSpan: argsSpan() });

    // Generic call record (for the call graph and helper drains / schedules).
    const args: ArgFact[] = rawArgs.map(a => {
      const ident = identArg(a.text);
      const param = ident !== undefined ? this.paramIndex.get(ident) : undefined;
      return { text: a.text, ident, param };
    });
    // Argument access paths are parsed by the index when it needs them (a helper that binds a
    // work item), not here for every argument of every call.
    if (first) {
      for (const a of args) if (a.ident && a.param === undefined) this.fn.fnRefs.push(a.ident);
    }
    this.record(
      this.callByNode,
      site.key,
      this.fn.calls,
      () => ({
        callee: name,
        direct: site.direct,
        ...(site.direct ? {} : { fnExpr: this.fnExprOf(site) }),
        span,
        args,
        state,
        inLoop: this.loopDepth > 0,
        inLoopCondition: this.conditionDepth > 0 && this.loopDepth > 0,
        ...this.innermostLoop(),
      }),
      state,
    );

    if (RESET_CALL.test(name) && s) {
      const st = cloneState(s);
      st.must.add(RESET_KEY);
      return st;
    }

    // A call of one of the file's lock wrappers: its effects, parameters replaced by the arguments.
    const summary = site.direct && name !== this.fn.name ? this.fc.summaries?.byName.get(name) : undefined;
    if (summary) {
      const actual = rawArgs.map(a => a.text);
      let st = s;
      summary.effects.forEach((eff, k) => {
        const api = LOCK_APIS.get(eff.api)!;
        const args = eff.args.map(a => substituteArgs(a, summary.params, actual));
        const lockArg = api.lockArg >= 0 ? args[api.lockArg] : undefined;
        const lock = lockArg ? normaliseLockExpr(lockArg) : '';
        const opIndex = this.record(this.summaryOpByKey, site.key * 16 + k, this.fn.lockOps, () => ({
          ...this.callLockOp(api, lockArg, lock, api.flagsArg !== undefined ? args[api.flagsArg] : undefined, at()),
          via: { fn: name, kind: summary.kind, effect: k, ...(summary.file !== undefined ? { file: summary.file } : {}) },
        }));
        st = this.applyLock(st, `${api.family}:${lock}`, opIndex, api.action);
      });
      return st;
    }

    // Locks.
    const lockApi = LOCK_APIS.get(name);
    if (lockApi && site.direct) {
      const lockArg = lockApi.lockArg >= 0 ? rawArgs[lockApi.lockArg]?.text : undefined;
      const lock = lockArg ? normaliseLockExpr(lockArg) : '';
      const key = `${lockApi.family}:${lock}`;
      const opIndex = this.record(this.lockOpByNode, site.key, this.fn.lockOps, () =>
        this.callLockOp(lockApi, lockArg, lock, lockApi.flagsArg !== undefined ? rawArgs[lockApi.flagsArg]?.text : undefined, at()),
      );
      return this.applyLock(s, key, opIndex, lockApi.action);
    }

    // Drains.
    if (DRAIN_APIS.has(name)) {
      this.record(
        this.drainByNode,
        site.key,
        this.fn.drains,
        () => ({
          api: name,
          span,
          vq: rawArgs[0]?.text ?? '',
          state,
          inLoop: this.loopDepth > 0,
          recheckLoop: this.recheckDepth > 0,
          poll:
            this.conditionDepth > 0 &&
            this.loopDepth > 0 &&
            /!\s*\(?\s*$/.test(this.fc.text.slice(Math.max(0, site.start - 8), site.start)),
          ...this.innermostLoop(),
        }),
        state,
      );
    }

    if (!first) return s;

    const sched = SCHEDULE_APIS.get(name);
    if (sched) {
      const w = rawArgs[sched.workArg];
      const work = w ? parseExprRef(w.text) : undefined;
      const arg = (i: number | undefined) => (i !== undefined && rawArgs[i] ? foldSpace(rawArgs[i].text) : undefined);
      const wq = arg(sched.wqArg);
      const wqExpr = wq ? parseExprRef(wq) : undefined;
      const cpu = arg(sched.cpuArg);
      const delay = arg(sched.delayArg);
      if (work) {
        this.fn.schedules.push({
          api: name,
          span,
          work,
          delayed: sched.delayed,
          ...(wq ? { wq } : {}),
          ...(wqExpr ? { wqExpr } : {}),
          ...(cpu ? { cpu } : {}),
          ...(delay ? { delay } : {}),
        } satisfies ScheduleFact);
      }
    }
    const bind = BINDING_APIS.get(name);
    if (bind) {
      const w = rawArgs[bind.workArg];
      const h = rawArgs[bind.fnArg];
      const work = w ? parseExprRef(w.text) : undefined;
      const hn = h ? identArg(h.text) : undefined;
      if (work && hn) {
        const pi = this.paramIndex.get(hn);
        this.fn.bindings.push({
          api: name,
          span,
          work,
          delayed: bind.delayed,
          handler: pi !== undefined ? { param: pi, name: hn } : { fn: hn },
        } satisfies BindingFact);
      } else if (work && h && /^[A-Za-z_]\w*(?:\s*(?:->|\.)\s*[A-Za-z_]\w*)+$/.test(h.text.trim())) {
        // INIT_WORK(&w, vp->cfg->done_fn): a handler fixed by a const table, resolved by the index.
        this.fn.bindings.push({
          api: name,
          span,
          work,
          delayed: bind.delayed,
          handler: { member: foldSpace(h.text) },
        } satisfies BindingFact);
      }
    }
    if (name === 'container_of' || name === 'container_of_const') {
      const [ptr, type, member] = rawArgs;
      const t = type ? this.typeArg(type.text) : undefined;
      const m = member ? parseMemberPath(member.text) : undefined;
      if (ptr && t && m) {
        this.fn.containerOfs.push({ from: normaliseLockExpr(ptr.text), type: t, member: m, span } satisfies ContainerOfFact);
      }
    }
    const setup = VQ_SETUP_APIS.get(name);
    if (setup && !setup.array) {
      const a = rawArgs[setup.arg];
      const ident = a ? identArg(a.text) : undefined;
      // A parameter passed through (a transport's own vring_create_virtqueue wrapper) is not a function.
      if (a && ident && !this.paramIndex.has(ident) && !(ident in this.fn.locals)) {
        this.fn.callbackRegs.push({ fn: ident, span: argSpan(a), how: `${name}()` } satisfies CallbackRegFact);
      }
    }
    return s;
  }

  /**
   * A lock or unlock call as a lock operation (a direct call, a trylock, or one effect of a
   * wrapper's call): `api` its table entry, `lockArg` and `flags` its argument texts, `at` the
   * call's place (for a wrapper's effect, the wrapper call's).
   */
  private callLockOp(
    api: LockApi,
    lockArg: string | undefined,
    lock: string,
    flags: string | undefined,
    at: { start: number; end: number; span: Span; nameSpan: Span; argsSpan: Span },
  ): LockOp {
    return {
      api: api.name,
      action: api.action,
      family: api.family,
      irq: api.irq,
      variant: api.variant,
      form: 'call',
      text: foldSpace(this.fc.text.slice(at.start, at.end)),
      lock,
      lockExpr: lockArg ? parseExprRef(lockArg) : undefined,
      span: at.span,
      nameSpan: at.nameSpan,
      argsSpan: at.argsSpan,
      flags,
      inLoop: this.loopDepth > 0,
      ...this.innermostLoop(),
    };
  }

  /** `vp->ops->reclaim` of `vp->ops->reclaim(vp)`: the text before the argument list. */
  private fnExprOf(site: CallSite): string {
    // A member chain ends at the name; a comment or string inside it would end the match early.
    const before = this.fc.text.slice(Math.max(0, site.nameEnd - 120), site.nameEnd);
    const m = /[A-Za-z_]\w*(?:\s*(?:->|\.)\s*[A-Za-z_]\w*)*$/.exec(before);
    return m ? m[0].replace(/\s+/g, '') : '';
  }

  private typeArg(text: string): TypeRef | undefined {
    const t = stripComments(text).trim();
    const m = /^(?:typeof|__typeof__)\s*\(\s*\*\s*([A-Za-z_]\w*)\s*\)$/.exec(t);
    if (m) {
      const v = this.fn.locals[m[1]] ?? this.fn.params.find(p => p.name === m[1])?.type;
      return v ? { ...v, pointer: Math.max(0, v.pointer - 1) } : undefined;
    }
    return parseTypeText(t);
  }

  private guardAcquire(call: Node, form: 'guard' | 'scoped_guard', s: State | null): { state: State | null; key?: string } {
    const argsNode = call.childForFieldName('arguments');
    const inner = call.childForFieldName('function');
    if (!argsNode) return { state: s };
    let classArg: ArgText | undefined;
    let lockArg: ArgText | undefined;
    let classBase = 0;
    if (form === 'guard') {
      // guard(spinlock)(&lock): the class is the inner call's argument.
      const innerArgs = inner?.childForFieldName('arguments');
      if (!innerArgs) return { state: s };
      classArg = splitArgs(this.fc.text.slice(innerArgs.startIndex, innerArgs.endIndex))[0];
      classBase = innerArgs.startIndex;
      lockArg = splitArgs(this.fc.text.slice(argsNode.startIndex, argsNode.endIndex))[0];
    } else {
      const a = splitArgs(this.fc.text.slice(argsNode.startIndex, argsNode.endIndex));
      classArg = a[0];
      classBase = argsNode.startIndex;
      lockArg = a[1];
    }
    const cls = classArg ? GUARD_CLASSES.get(classArg.text) : undefined;
    // Visit the lock expression for any calls inside it.
    let st = this.expr(argsNode, s);
    if (!cls || !classArg) return { state: st };
    const lock = lockArg ? normaliseLockExpr(lockArg.text) : '';
    const key = `${cls.family}:${lock}`;
    const span = this.fc.span(call);
    const nameNode = form === 'guard' ? inner?.childForFieldName('function') : call.childForFieldName('function');
    const opIndex = this.record(this.lockOpByNode, call.id, this.fn.lockOps, () => ({
      api: `${form}(${classArg!.text})`,
      action: 'lock' as const,
      family: cls.family,
      irq: cls.irq,
      variant: cls.variant,
      form,
      text: foldSpace(this.fc.text.slice(call.startIndex, call.endIndex)),
      lock,
      lockExpr: lockArg ? parseExprRef(lockArg.text) : undefined,
      span,
      nameSpan: nameNode ? this.fc.span(nameNode) : span,
      argsSpan: this.fc.span(argsNode),
      classSpan: this.fc.lines.span(classBase + classArg!.start, classBase + classArg!.end),
      inLoop: this.loopDepth > 0,
      ...this.innermostLoop(),
    }));
    st = this.applyLock(st, key, opIndex, 'lock');
    return { state: st, key };
  }

  private applyLock(s: State | null, key: string, opIndex: number, action: 'lock' | 'unlock'): State | null {
    if (!s) return s;
    const st = cloneState(s);
    if (action === 'lock') {
      st.may.set(key, [opIndex]);
      st.must.add(key);
    } else {
      const held = st.may.get(key);
      const op = this.fn.lockOps[opIndex];
      const releases = new Set(op.releases ?? []);
      for (const h of held ?? []) releases.add(h);
      op.releases = [...releases].sort((a, b) => a - b);
      op.unpaired = op.releases.length === 0;
      st.may.delete(key);
      st.must.delete(key);
    }
    return st;
  }

  /** Records a fact on the first visit of a node; later visits (loop iterations) widen its state. */
  private record<T extends object>(byNode: Map<number, number>, key: number, list: T[], make: () => T, state?: LockState): number {
    const existing = byNode.get(key);
    if (existing !== undefined) {
      const f = list[existing] as { state?: LockState };
      if (state && f.state) {
        const a = f.state;
        const held = [...new Set([...a.held, ...state.held])].sort((x, y) => x - y);
        // A lock is held on every path only if it is (by any of its acquisitions) at each visit.
        const key = (i: number) => {
          const o = this.fn.lockOps[i];
          return o ? `${o.family}:${o.lock}` : `#${i}`;
        };
        const surely = (st: LockState) => new Set(st.held.filter(i => !st.maybe?.includes(i)).map(key));
        const sa = surely(a);
        const sb = surely(state);
        const maybe = held.filter(h => !sa.has(key(h)) || !sb.has(key(h)));
        f.state = {
          held,
          irqsOff: a.irqsOff && state.irqsOff,
          ...(maybe.length ? { maybe } : {}),
          ...(a.afterReset && state.afterReset ? { afterReset: true } : {}),
        };
      }
      return existing;
    }
    list.push(make());
    byNode.set(key, list.length - 1);
    return list.length - 1;
  }

  private snapshot(s: State): LockState {
    const held = [...new Set([...s.may.values()].flat())].sort((a, b) => a - b);
    let irqsOff = false;
    for (const key of s.must) {
      const ops = s.may.get(key) ?? [];
      if (ops.length && ops.every(o => this.fn.lockOps[o]?.irq === 'irqs-off')) irqsOff = true;
    }
    let maybe: number[] | undefined;
    for (const [key, ops] of s.may) if (!s.must.has(key)) (maybe ??= []).push(...ops);
    const reset = s.must.has(RESET_KEY) ? { afterReset: true } : {};
    return maybe ? { held, irqsOff, maybe: [...new Set(maybe)].sort((a, b) => a - b), ...reset } : { held, irqsOff, ...reset };
  }

  /** Fills in base types of recorded expressions from parameters and locals. */
  private resolveExprTypes(): void {
    const resolve = (e: ExprRef | undefined) => {
      if (!e) return;
      if (e.base.kind === 'var') {
        const pi = this.paramIndex.get(e.base.name);
        if (pi !== undefined) {
          e.base.param = pi;
          e.base.type = this.fn.params[pi].type;
        } else if (this.fn.locals[e.base.name]) e.base.type = this.fn.locals[e.base.name];
        else e.base.global = true;
      } else if (e.base.kind === 'call') {
        resolve(e.base.argBase);
      }
    };
    for (const s of this.fn.schedules) {
      resolve(s.work);
      resolve(s.wqExpr);
    }
    for (const a of this.fn.wqAllocs ?? []) resolve(a.targetExpr);
    for (const b of this.fn.bindings) resolve(b.work);
    for (const c of this.fn.calls) for (const a of c.args) resolve(a.expr);
    for (const l of this.fn.lockOps) resolve(l.lockExpr);
  }
}

/** Characters of an assignment's target as the setup patterns read it: `d->vqs[i]`, `vi.cvq`. */
function isTargetChar(c: number): boolean {
  // Letters, '_', digits, and . > [ ] -
  return isIdentChar(c) || c === 46 || c === 62 || c === 91 || c === 93 || c === 45;
}

/**
 * `TARGET = <tail>` in `masked`, where `tail` (global, starting at the `=`) is found first and the
 * target (`[A-Za-z_][\w.>[\]-]*`, blanks before the `=`) is read backwards from it: linear in the
 * text, where the pattern with the target first backtracked quadratically over a long identifier.
 * `start`/`end`: the target's start and the tail's end; `groups`: the tail's match.
 */
function assignedFrom(masked: string, tail: RegExp): { target: string; start: number; end: number; groups: RegExpExecArray }[] {
  const out: { target: string; start: number; end: number; groups: RegExpExecArray }[] = [];
  let from = 0;
  for (let m; (m = tail.exec(masked));) {
    const end = m.index + m[0].length;
    let i = m.index;
    while (i > from && /\s/.test(masked[i - 1])) i--;
    const runEnd = i;
    while (i > from && isTargetChar(masked.charCodeAt(i - 1))) i--;
    while (i < runEnd && !isIdentStart(masked.charCodeAt(i))) i++;
    if (i < runEnd) {
      out.push({ target: masked.slice(i, runEnd), start: i, end, groups: m });
      from = end;
    }
  }
  return out;
}
