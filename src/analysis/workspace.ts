// The workspace index: per-file facts, and the links between them that a finding needs
// (callbacks -> schedule sites -> work items -> bindings -> handlers -> drains under a lock).
// Facts are replaced one file at a time; the derived tables are rebuilt lazily, on the next
// query after a change, from the facts alone (no syntax trees are kept).
import type {
  BindingFact,
  CallFact,
  CallbackRegFact,
  ExprRef,
  FileFacts,
  FunctionFacts,
  ScheduleFact,
  Span,
  StructFacts,
  TypeRef,
} from './facts';
import { parseExprRef } from './text';

export interface FnRef {
  file: string;
  fn: FunctionFacts;
}

/**
 * A work item, canonically: the struct type that contains it by value and the member path from
 * there (`struct virtio_gpu_device` + `ctrlq.dequeue_work`), or a named global work item.
 * `root` is undefined when the containing type could not be resolved.
 */
export interface WorkKey {
  root?: string;
  path: string[];
  global?: string;
}

export interface ResolvedBinding {
  key: WorkKey;
  handler: FnRef;
  /** The INIT_WORK/DECLARE_WORK site, and for helper bindings the call site that supplied the handler. */
  site: { file: string; span: Span; api: string };
  /** `text`: the helper call's arguments as written. */
  via?: { file: string; span: Span; helper: string; text?: string };
}

export interface CallbackInfo {
  fn: FnRef;
  reg: { file: string; span: Span; how: string };
  /** Every registration of the function (one callback may serve several queues); `reg` is the first. */
  regs: { file: string; span: Span; how: string }[];
}

export interface ScheduleReach {
  callback: CallbackInfo;
  site: { file: string; fact: ScheduleFact; fn: FnRef };
  key: WorkKey;
  /** Functions from the callback to the function holding the schedule call. */
  path: FnRef[];
}

const MAX_DEPTH = 5;

/**
 * Names that are kernel API, never a driver's helper: the expansion step does not look for their
 * definitions among a driver's neighbours. Macros (all capitals) are in the same position.
 */
const KERNEL_API = new RegExp(
  '^(?:[A-Z_0-9]+|' +
    [
      'k[mvz]?alloc\\w*',
      'k[cv]?free\\w*',
      'kcalloc',
      'vfree',
      'devm_\\w+',
      'dev_\\w+',
      'pr_\\w+',
      'netdev_\\w+',
      'netif_\\w+',
      'list_\\w+',
      'hlist_\\w+',
      'llist_\\w+',
      'spin_\\w+',
      'raw_spin_\\w+',
      'read_\\w*lock\\w*',
      'write_\\w*lock\\w*',
      'mutex_\\w+',
      'wake_up\\w*',
      'wait_\\w+',
      'complete\\w*',
      'init_completion',
      'atomic\\w*',
      'test_\\w+',
      'set_bit',
      'clear_bit',
      '__set_bit',
      '__clear_bit',
      'mem\\w+',
      'str\\w+',
      'sg_\\w+',
      'dma_\\w+',
      'virtqueue_\\w+',
      'virtio_c\\w+',
      'le\\d+_to_cpu\\w*',
      'cpu_to_le\\d+\\w*',
      'be\\d+_to_cpu\\w*',
      'cpu_to_be\\d+\\w*',
      'virtio\\d+_to_cpu',
      'cpu_to_virtio\\d+',
      '\\w*schedule\\w*',
      'queue_\\w*work\\w*',
      'mod_delayed_work\\w*',
      'cancel_\\w*work\\w*',
      'flush_\\w*work\\w*',
      'rcu_\\w+',
      'synchronize_\\w+',
      'local_irq_\\w+',
      'preempt_\\w+',
      'put_device',
      'get_device',
      'kref_\\w+',
      'copy_\\w+_user',
      'likely',
      'unlikely',
      'min',
      'max',
      'min_t',
      'max_t',
      'clamp\\w*',
      'container_of\\w*',
      'sprintf',
      'snprintf',
      'scnprintf',
      'printk\\w*',
      'jiffies\\w*',
      'msecs_to_jiffies',
      'usecs_to_jiffies',
      'cpu_relax',
      'udelay',
      'mdelay',
      'msleep\\w*',
      'usleep_range',
      'xa_\\w+',
      'idr_\\w+',
      'ida_\\w+',
      'bitmap_\\w+',
      'find_\\w+_bit',
      'skb_\\w+',
      'kfree_skb\\w*',
      'napi_\\w+',
      'tasklet_\\w+',
      'timer_\\w+',
      'mod_timer',
      'del_timer\\w*',
      'add_timer',
      'hrtimer_\\w+',
    ].join('|') +
    ')$',
);

export class WorkspaceIndex {
  private files = new Map<string, FileFacts>();
  private symbols = new Symbols();
  private version = 0;
  private builtVersion = -1;
  private tables?: Tables;

  /** Adds or replaces one file's facts; the symbol tables change by that file only. */
  update(facts: FileFacts): void {
    const old = this.files.get(facts.file);
    if (old) this.symbols.remove(old);
    this.files.set(facts.file, facts);
    this.symbols.add(facts);
    this.version++;
  }

  remove(file: string): void {
    const old = this.files.get(file);
    if (!old) return;
    this.symbols.remove(old);
    this.files.delete(file);
    this.version++;
  }

  has(file: string): boolean {
    return this.files.has(file);
  }
  get(file: string): FileFacts | undefined {
    return this.files.get(file);
  }
  get fileCount(): number {
    return this.files.size;
  }
  allFiles(): IterableIterator<FileFacts> {
    return this.files.values();
  }

  /** Derived tables, rebuilt when facts changed since the last query. */
  link(): Tables {
    if (!this.tables || this.builtVersion !== this.version) {
      this.tables = new Tables(this.files, this.symbols);
      this.builtVersion = this.version;
    }
    return this.tables;
  }

  /**
   * Names the index wants but cannot find: functions called or registered whose definition is
   * in no indexed file. A scanner may look for them in neighbouring files and add those.
   */
  unresolvedNames(isPrimary: (file: string) => boolean = () => true): Map<string, Set<string>> {
    return this.link().unresolved(isPrimary);
  }
}

function dirOf(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i < 0 ? '' : file.slice(0, i);
}

export function keyString(k: WorkKey): string {
  return k.global ? `global:${k.global}` : `${k.root ?? '?'}:${k.path.join('.')}`;
}

/** Name tables over all files, kept up to date one file at a time (no full rebuild per edit). */
class Symbols {
  readonly byName = new Map<string, FnRef[]>();
  /** callee -> file -> calls of it from that file. */
  readonly callersByFile = new Map<string, Map<string, { caller: FnRef; call: CallFact }[]>>();
  readonly structs = new Map<string, { file: string; s: StructFacts }[]>();
  readonly prototypes = new Map<string, { file: string; type: TypeRef }[]>();
  readonly globals = new Map<string, { file: string; type: TypeRef; isStatic: boolean }[]>();
  /** Names of functions with the vq_callback_t signature. */
  readonly vqSignature = new Set<string>();
  /** Function names used as values -> files that use them so. */
  readonly refs = new Map<string, Set<string>>();

  add(f: FileFacts): void {
    const push = <T>(m: Map<string, T[]>, k: string, v: T) => {
      const l = m.get(k);
      if (l) l.push(v);
      else m.set(k, [v]);
    };
    for (const fn of f.functions) {
      const ref = { file: f.file, fn };
      push(this.byName, fn.name, ref);
      if (isVqCallbackSignature(fn)) this.vqSignature.add(fn.name);
      for (const c of fn.calls) {
        if (!c.direct) continue;
        let byFile = this.callersByFile.get(c.callee);
        if (!byFile) this.callersByFile.set(c.callee, (byFile = new Map()));
        const l = byFile.get(f.file);
        if (l) l.push({ caller: ref, call: c });
        else byFile.set(f.file, [{ caller: ref, call: c }]);
      }
      for (const r of fn.fnRefs) this.addRef(r, f.file);
    }
    for (const r of f.fnRefs) this.addRef(r, f.file);
    for (const st of f.structs) push(this.structs, st.name, { file: f.file, s: st });
    for (const [name, type] of Object.entries(f.prototypes)) push(this.prototypes, name, { file: f.file, type });
    for (const g of f.globals) push(this.globals, g.name, { file: f.file, type: g.type, isStatic: g.isStatic });
  }

  remove(f: FileFacts): void {
    const drop = <T extends { file: string }>(m: Map<string, T[]>, k: string) => {
      const l = m.get(k);
      if (!l) return;
      const kept = l.filter(x => x.file !== f.file);
      if (kept.length) m.set(k, kept);
      else m.delete(k);
    };
    for (const fn of f.functions) {
      drop(this.byName, fn.name);
      if (!this.byName.get(fn.name)?.some(r => isVqCallbackSignature(r.fn))) this.vqSignature.delete(fn.name);
      for (const c of fn.calls) this.callersByFile.get(c.callee)?.delete(f.file);
      for (const r of fn.fnRefs) this.refs.get(r)?.delete(f.file);
    }
    for (const r of f.fnRefs) this.refs.get(r)?.delete(f.file);
    for (const st of f.structs) drop(this.structs, st.name);
    for (const name of Object.keys(f.prototypes)) drop(this.prototypes, name);
    for (const g of f.globals) drop(this.globals, g.name);
  }

  private addRef(name: string, file: string): void {
    const set = this.refs.get(name);
    if (set) set.add(file);
    else this.refs.set(name, new Set([file]));
  }
}

/** Linked view of the index at one version; queries are memoised until the next change. */
export class Tables {
  private callbacksMemo?: CallbackInfo[];
  private bindingsMemo?: ResolvedBinding[];
  private bindingsByForm?: Map<string, ResolvedBinding[]>;
  private callersMemo = new Map<string, { caller: FnRef; call: CallFact }[]>();

  constructor(
    readonly files: Map<string, FileFacts>,
    private symbols: Symbols,
  ) {}

  get byName(): Map<string, FnRef[]> {
    return this.symbols.byName;
  }

  callersOf(name: string): { caller: FnRef; call: CallFact }[] {
    let l = this.callersMemo.get(name);
    if (!l) {
      l = [...(this.symbols.callersByFile.get(name)?.values() ?? [])].flat();
      this.callersMemo.set(name, l);
    }
    return l;
  }

  // --- symbol resolution ----------------------------------------------------------------------

  /**
   * The definition a name refers to from `fromFile`: a static function of the same file first,
   * then a global one in the same directory (the same driver), then any global one.
   */
  resolveFunction(name: string, fromFile: string): FnRef | undefined {
    const cands = this.byName.get(name);
    if (!cands) return undefined;
    const same = cands.find(c => c.file === fromFile);
    if (same) return same;
    const globals = cands.filter(c => !c.fn.isStatic);
    const dir = dirOf(fromFile);
    return globals.find(c => dirOf(c.file) === dir) ?? globals[0];
  }

  struct(name: string | undefined, fromFile: string): StructFacts | undefined {
    if (!name) return undefined;
    const cands = this.symbols.structs.get(name);
    if (!cands) return undefined;
    const dir = dirOf(fromFile);
    return (cands.find(c => c.file === fromFile) ?? cands.find(c => dirOf(c.file) === dir) ?? cands[0]).s;
  }

  returnType(name: string, fromFile: string): TypeRef | undefined {
    const protos = this.symbols.prototypes.get(name);
    return this.resolveFunction(name, fromFile)?.fn.returnType ?? (protos?.find(p => p.file === fromFile) ?? protos?.[0])?.type;
  }

  globalType(name: string, fromFile: string): TypeRef | undefined {
    const cands = this.symbols.globals.get(name);
    if (!cands) return undefined;
    return (cands.find(c => c.file === fromFile) ?? cands.find(c => !c.isStatic))?.type;
  }

  /**
   * Names a finding may depend on that no indexed file defines, by the file that wants them:
   * callbacks and handlers named in registrations and bindings, functions called (transitively)
   * from callbacks and handlers, helpers that receive a function by name, and (as
   * `member:NAME`) the member of a scheduled work item no binding was found for. Callees
   * (`near:NAME`) are wanted only from files of the driver itself (see Project.expand()); they are
   * followed only through primary files (those parsed for their own sake, not to resolve a
   * name), so resolving one name does not pull in a whole subsystem.
   */
  unresolved(isPrimary: (file: string) => boolean): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    const want = (file: string, name: string) => {
      const bare = name.replace(/^(member|near):/, '');
      if (!name.startsWith('member:') && (this.byName.has(bare) || KERNEL_API.test(bare))) return;
      const s = out.get(file);
      if (s) s.add(name);
      else out.set(file, new Set([name]));
    };
    const visited = new Set<FunctionFacts>();
    const closure = (f: FnRef, depth: number) => {
      if (visited.has(f.fn) || depth > MAX_DEPTH || !isPrimary(f.file)) return;
      visited.add(f.fn);
      for (const c of f.fn.calls) {
        if (!c.direct) continue;
        const g = this.resolveFunction(c.callee, f.file);
        if (g) closure(g, depth + 1);
        else want(f.file, `near:${c.callee}`);
      }
    };
    for (const f of this.files.values()) {
      for (const r of f.callbackRegs) want(f.file, r.fn);
      for (const b of f.bindings) if ('fn' in b.handler) want(f.file, b.handler.fn);
      for (const fn of f.functions) {
        for (const r of fn.callbackRegs) want(f.file, r.fn);
        for (const b of fn.bindings) {
          if ('fn' in b.handler) {
            want(f.file, b.handler.fn);
            continue;
          }
          if (!('param' in b.handler)) continue;
          // A binding helper: the handlers are whatever its callers pass.
          const p = b.handler.param;
          for (const { caller, call } of this.callersOf(fn.name)) {
            const ident = call.args[p]?.ident;
            if (ident) want(caller.file, ident);
          }
        }
        for (const c of fn.calls) {
          // A helper that receives a work function by name may bind it (virtio_gpu_init_vq).
          if (c.direct && c.args.some(a => a.ident !== undefined && this.isWorkFunction(a.ident, f.file))) want(f.file, c.callee);
        }
      }
    }
    for (const cb of this.callbacks()) {
      closure(cb.fn, 0);
      for (const reach of this.schedulesFrom(cb)) {
        if (this.handlersFor(reach.key, reach.site.file).length === 0 && reach.key.path.length) {
          want(reach.site.file, `member:${reach.key.path[reach.key.path.length - 1]}`);
        }
      }
    }
    for (const b of this.bindings()) closure(b.handler, 0);
    return out;
  }

  private isWorkFunction(name: string, fromFile: string): boolean {
    const fn = this.resolveFunction(name, fromFile)?.fn;
    return !!fn && fn.params.length === 1 && fn.params[0].type?.name === 'work_struct';
  }

  // --- indirect calls -------------------------------------------------------------------------

  private fieldFnIndex?: Map<string, { struct: string; fn: string; file: string }[]>;

  /**
   * Functions a function-pointer member `expr` (`vp->ops->reclaim`) can hold: those a const
   * table of the same driver (same directory) fixes it to, matched by the member's struct type
   * where it resolves, by the member name otherwise.
   */
  memberTargets(expr: string, f: FnRef): FnRef[] {
    if (!this.fieldFnIndex) {
      this.fieldFnIndex = new Map();
      for (const file of this.files.values()) {
        for (const x of file.fieldFns ?? []) {
          const l = this.fieldFnIndex.get(x.field);
          const v = { struct: x.struct, fn: x.fn, file: file.file };
          if (l) l.push(v);
          else this.fieldFnIndex.set(x.field, [v]);
        }
      }
    }
    const e = parseExprRef(expr);
    if (!e || e.chain.length === 0) return [];
    const field = e.chain[e.chain.length - 1].field;
    const cands = this.fieldFnIndex.get(field);
    if (!cands) return [];
    const key = this.workKey(e, f);
    const struct = key && !key.global && key.path.length === 1 ? key.root : undefined;
    const dir = dirOf(f.file);
    const out: FnRef[] = [];
    for (const c of cands) {
      if (dirOf(c.file) !== dir || (struct && c.struct !== struct)) continue;
      const g = this.resolveFunction(c.fn, c.file);
      if (g && !out.some(o => o.fn === g.fn)) out.push(g);
    }
    return out;
  }

  /** The functions a call may enter: its direct callee, or the members a const table fixes. */
  callTargets(c: CallFact, f: FnRef): FnRef[] {
    if (c.direct) {
      const g = this.resolveFunction(c.callee, f.file);
      return g ? [g] : [];
    }
    return c.fnExpr ? this.memberTargets(c.fnExpr, f) : [];
  }

  // --- types and work keys --------------------------------------------------------------------

  private baseType(e: ExprRef, ctx: FnRef): TypeRef | undefined {
    const b = e.base;
    switch (b.kind) {
      case 'var': {
        if (b.type) return b.type;
        const p = ctx.fn.params.find(x => x.name === b.name);
        if (p?.type) return p.type;
        const l = ctx.fn.locals[b.name];
        if (l) return l;
        return this.globalType(b.name, ctx.file);
      }
      case 'call':
        return this.returnType(b.callee, ctx.file);
      case 'cast':
        return b.type;
      default:
        return undefined;
    }
  }

  private fieldType(structName: string | undefined, field: string, fromFile: string): TypeRef | undefined {
    const s = this.struct(structName, fromFile);
    const f = s?.fields[field.replace(/\[\]$/, '')];
    if (!f) return undefined;
    // `struct foo vqs[N]` indexed as `vqs[i]` is one element of type struct foo.
    return field.endsWith('[]') && f.pointer > 0 ? { ...f, pointer: f.pointer - 1 } : f;
  }

  /** Type of `base chain[0..n)`, or undefined. */
  private prefixType(e: ExprRef, n: number, ctx: FnRef): TypeRef | undefined {
    let t = this.baseType(e, ctx);
    for (let i = 0; i < n && t; i++) {
      const step = e.chain[i];
      if (step.op === '->' && t.pointer < 1) return undefined;
      t = this.fieldType(t.name, step.field, ctx.file);
    }
    return t;
  }

  /**
   * The work item an expression names: `&a->b.c` is member path b.c of the object `*a`. With
   * `objectOnly`, the expression names an object (not necessarily a work item), as when `&x->q`
   * is passed to a helper that then names `q->dequeue_work`.
   */
  workKey(e: ExprRef, ctx: FnRef): WorkKey | undefined {
    const chain = e.chain;
    let lastArrow = -1;
    for (let i = chain.length - 1; i >= 0; i--)
      if (chain[i].op === '->') {
        lastArrow = i;
        break;
      }
    if (lastArrow >= 0) {
      const ptr = this.prefixType(e, lastArrow, ctx);
      return { root: ptr && ptr.pointer >= 1 ? ptr.name : undefined, path: chain.slice(lastArrow).map(c => c.field) };
    }
    if (e.base.kind === 'var') {
      const t = this.baseType(e, ctx);
      if (chain.length === 0) {
        // A bare name: a global work item (`&my_work`), or a pointer to one (a parameter `w`).
        if (e.addressOf || (t && t.pointer === 0)) {
          const isStatic = this.symbols.globals.get(e.base.name)?.find(g => g.file === ctx.file)?.isStatic;
          return { global: isStatic ? `${ctx.file}#${e.base.name}` : e.base.name, path: [] };
        }
        return undefined;
      }
      if (t && t.pointer === 0) return { root: t.name, path: chain.map(c => c.field) };
      return { root: undefined, path: chain.map(c => c.field) };
    }
    if (e.base.kind === 'cast' && chain.length) return { root: e.base.type.name, path: chain.map(c => c.field) };
    return undefined;
  }

  /**
   * All the ways a key can be written: `struct A` + `q.w`, and, where `A.q` is a struct by value,
   * `struct Q` + `w`; a delayed work's `dwork.work` also as `dwork`.
   */
  keyForms(k: WorkKey, fromFile: string): string[] {
    if (k.global) return [keyString(k)];
    const forms: string[] = [];
    let root = k.root;
    let path = k.path;
    for (;;) {
      forms.push(`${root ?? '?'}:${path.join('.')}`);
      if (path.length > 1 && path[path.length - 1] === 'work') forms.push(`${root ?? '?'}:${path.slice(0, -1).join('.')}`);
      if (!root || path.length < 2) break;
      const f = this.fieldType(root, path[0], fromFile);
      if (!f || f.pointer !== 0 || !f.name) break;
      root = f.name;
      path = path.slice(1);
    }
    return forms;
  }

  // --- callbacks ------------------------------------------------------------------------------

  /** Functions registered as vring callbacks, each with where it was registered. */
  callbacks(): CallbackInfo[] {
    if (this.callbacksMemo) return this.callbacksMemo;
    const seen = new Map<FunctionFacts, CallbackInfo>();
    const add = (name: string, file: string, reg: CallbackRegFact | { span: Span; how: string }, strict: boolean) => {
      const fn = this.resolveFunction(name, file);
      if (!fn) return;
      if (strict && !isVqCallbackSignature(fn.fn)) return;
      // A callback never has a non-virtqueue first parameter.
      if (fn.fn.params.length > 0 && fn.fn.params[0].type?.name && fn.fn.params[0].type.name !== 'virtqueue') return;
      const r = { file, span: reg.span, how: reg.how };
      const known = seen.get(fn.fn);
      if (known) known.regs.push(r);
      else seen.set(fn.fn, { fn, reg: r, regs: [r] });
    };
    for (const f of this.files.values()) {
      for (const r of f.callbackRegs) add(r.fn, f.file, r, /=$/.test(r.how));
      for (const fn of f.functions) for (const r of fn.callbackRegs) add(r.fn, f.file, r, /=$/.test(r.how));
    }
    // Any other function of type vq_callback_t whose address is taken is registered somewhere
    // (through a helper or a table this index cannot see).
    for (const name of this.symbols.vqSignature) {
      for (const file of this.symbols.refs.get(name) ?? []) {
        const fn = this.resolveFunction(name, file);
        if (!fn || seen.has(fn.fn) || !isVqCallbackSignature(fn.fn)) continue;
        const r = { file: fn.file, span: fn.fn.nameSpan, how: 'address taken as a vq_callback_t' };
        seen.set(fn.fn, { fn, reg: r, regs: [r] });
      }
    }
    this.callbacksMemo = [...seen.values()];
    return this.callbacksMemo;
  }

  /** Schedule sites reachable from a callback through direct calls. */
  schedulesFrom(cb: CallbackInfo): ScheduleReach[] {
    const out: ScheduleReach[] = [];
    const visited = new Set<FunctionFacts>();
    const walk = (f: FnRef, path: FnRef[]) => {
      if (visited.has(f.fn) || path.length > MAX_DEPTH) return;
      visited.add(f.fn);
      for (const s of f.fn.schedules) {
        for (const key of this.scheduleKeys(s, f))
          out.push({ callback: cb, site: { file: f.file, fact: s, fn: f }, key, path: [...path, f] });
      }
      for (const c of f.fn.calls) for (const g of this.callTargets(c, f)) walk(g, [...path, f]);
    };
    walk(cb.fn, []);
    return out;
  }

  /** Keys of a schedule site; a work pointer passed in as a parameter resolves at the callers. */
  private scheduleKeys(s: ScheduleFact, f: FnRef): WorkKey[] {
    const direct = this.workKey(s.work, f);
    if (direct) return [direct];
    if (s.work.base.kind === 'var' && s.work.base.param !== undefined && s.work.chain.length === 0) {
      const keys: WorkKey[] = [];
      for (const { caller, call } of this.callersOf(f.fn.name)) {
        const arg = call.args[s.work.base.param];
        const e = arg?.expr ?? (arg ? parseExprRef(arg.text) : undefined);
        const k = e ? this.workKey(e, caller) : undefined;
        if (k) keys.push(k);
      }
      return keys;
    }
    return [];
  }

  // --- bindings -------------------------------------------------------------------------------

  /** Every work item bound to a handler, helper bindings resolved at their call sites. */
  bindings(): ResolvedBinding[] {
    if (this.bindingsMemo) return this.bindingsMemo;
    const out: ResolvedBinding[] = [];
    for (const f of this.files.values()) {
      for (const b of f.bindings) {
        if (!('fn' in b.handler)) continue;
        const handler = this.resolveFunction(b.handler.fn, f.file);
        const isStatic = b.work.base.kind === 'var' && this.symbols.globals.get(b.work.base.name)?.find(g => g.file === f.file)?.isStatic;
        if (handler && b.work.base.kind === 'var') {
          out.push({
            key: { global: isStatic ? `${f.file}#${b.work.base.name}` : b.work.base.name, path: [] },
            handler,
            site: { file: f.file, span: b.span, api: b.api },
          });
        }
      }
      for (const fn of f.functions) {
        const ref = { file: f.file, fn };
        for (const b of fn.bindings) out.push(...this.resolveBinding(b, ref));
      }
    }
    this.bindingsMemo = out;
    return out;
  }

  private resolveBinding(b: BindingFact, f: FnRef): ResolvedBinding[] {
    const out: ResolvedBinding[] = [];
    const site = { file: f.file, span: b.span, api: b.api };
    const direct = this.workKey(b.work, f);
    if ('member' in b.handler) {
      // INIT_WORK(&w, vp->cfg->done_fn): each function a const table fixes the member to.
      if (direct) for (const handler of this.memberTargets(b.handler.member, f)) out.push({ key: direct, handler, site });
      return out;
    }
    if ('fn' in b.handler) {
      const handler = this.resolveFunction(b.handler.fn, f.file);
      if (!handler) return out;
      if (direct) out.push({ key: direct, handler, site });
    }
    // Helper bindings: the handler or the work item's container comes from a parameter, so each
    // call of the helper binds a (more) concrete pair.
    const handlerParam = 'param' in b.handler ? b.handler.param : undefined;
    const workParam = b.work.base.kind === 'var' ? b.work.base.param : undefined;
    if (handlerParam === undefined && workParam === undefined) return out;
    for (const { caller, call } of this.callersOf(f.fn.name)) {
      let handler: FnRef | undefined;
      if (handlerParam !== undefined) {
        const a = call.args[handlerParam];
        handler = a?.ident ? this.resolveFunction(a.ident, caller.file) : undefined;
      } else if ('fn' in b.handler) {
        handler = this.resolveFunction(b.handler.fn, f.file);
      }
      if (!handler) continue;
      const via = { file: caller.file, span: call.span, helper: f.fn.name, text: call.args.map(a => a.text).join(', ') };
      const key = workParam !== undefined ? this.substitute(b.work, call, workParam, caller) : direct;
      if (key) out.push({ key, handler, site, via });
      else if (direct) out.push({ key: direct, handler, site, via });
    }
    return out;
  }

  /** `INIT_WORK(&q->w, fn)` in helper(q, fn) called as helper(&dev->ctrlq, h): dev's type + ctrlq.w. */
  private substitute(work: ExprRef, call: CallFact, param: number, caller: FnRef): WorkKey | undefined {
    const arg = call.args[param];
    if (!arg) return undefined;
    const e = arg.expr ?? parseExprRef(arg.text);
    if (!e) return undefined;
    const rest = work.chain.map(c => c.field);
    if (work.chain.length === 0) return this.workKey(e, caller);
    if (work.chain[0].op === '->') {
      if (e.addressOf) {
        // &obj passed as a pointer: the helper's `p->a` is `obj.a`.
        const objKey = this.workKey({ ...e, addressOf: true }, caller);
        if (objKey && !objKey.global) return { root: objKey.root, path: [...objKey.path, ...rest] };
        if (objKey?.global) return undefined;
      }
      // A pointer expression: the helper's parameter type is as good as the argument's.
      const t = this.prefixType(e, e.chain.length, caller);
      if (t && t.pointer >= 1) return { root: t.name, path: rest };
      return undefined;
    }
    return undefined;
  }

  /**
   * Handlers bound to a key. Two keys match when one is the other written from an inner struct:
   * `virtio_gpu_device:ctrlq.dequeue_work` matches `virtio_gpu_queue:dequeue_work`, but not
   * `virtio_gpu_device:cursorq.dequeue_work`, although both reduce to the same inner form.
   */
  handlersFor(key: WorkKey, fromFile: string): ResolvedBinding[] {
    if (!this.bindingsByForm) {
      // Each binding under every form of its key, and under its primary forms marked '=' so a
      // less specific key can find the more specific bindings that reduce to it.
      this.bindingsByForm = new Map();
      const put = (k: string, b: ResolvedBinding) => {
        const l = this.bindingsByForm!.get(k);
        if (l) {
          if (!l.includes(b)) l.push(b);
        } else this.bindingsByForm!.set(k, [b]);
      };
      for (const b of this.bindings()) {
        for (const f of primaryForms(b.key)) put(`=${f}`, b);
        for (const f of this.keyForms(b.key, b.site.file)) put(f, b);
        if (!b.key.global) put(`path:${b.key.path.join('.')}`, b);
      }
    }
    const out = new Set<ResolvedBinding>();
    // A binding written as one of this key's forms, or this key written as one of a binding's.
    for (const f of this.keyForms(key, fromFile)) for (const b of this.bindingsByForm.get(`=${f}`) ?? []) out.add(b);
    for (const f of primaryForms(key)) for (const b of this.bindingsByForm.get(f) ?? []) out.add(b);
    // An unresolved container type matches on the member path alone, within the same driver.
    if (!key.global && key.root === undefined) {
      for (const b of this.bindingsByForm.get(`path:${key.path.join('.')}`) ?? []) {
        if (!b.key.global && dirOf(b.site.file) === dirOf(fromFile)) out.add(b);
      }
    }
    return [...out];
  }
}

/** A key as written, and for `dwork.work` also `dwork` (the delayed_work that contains it). */
function primaryForms(k: WorkKey): string[] {
  if (k.global) return [keyString(k)];
  const p = `${k.root ?? '?'}:${k.path.join('.')}`;
  return k.path.length > 1 && k.path[k.path.length - 1] === 'work' ? [p, `${k.root ?? '?'}:${k.path.slice(0, -1).join('.')}`] : [p];
}

/** `void f(struct virtqueue *vq)`: the type vq_callback_t of include/linux/virtio.h. */
export function isVqCallbackSignature(fn: FunctionFacts): boolean {
  return (
    fn.params.length === 1 &&
    fn.params[0].type?.name === 'virtqueue' &&
    fn.params[0].type.pointer === 1 &&
    (fn.returnType?.text ?? 'void') === 'void'
  );
}
