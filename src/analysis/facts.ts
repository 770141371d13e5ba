// Per-file facts: plain, serialisable data extracted from one syntax tree. No tree-sitter node
// is kept, so facts cross worker threads, live in the workspace index cheaply, and a re-parse
// of one file replaces only that file's facts.
import type { IrqEffect, LockFamily, LockApi } from './apis';
import type { DriverWrappers, ExportedWrapper } from './summaries';
import type { VqTableFact } from './vqTables';

/** A source range; lines and columns are 0-based, columns and offsets in UTF-16 code units. */
export interface Span {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  start: number;
  end: number;
}

/** A C type as far as the analysis needs it: the struct tag (or typedef name) and the pointer depth. */
export interface TypeRef {
  /** `struct foo` -> 'foo'; a typedef name as written; undefined for scalars. */
  name?: string;
  pointer: number;
  /** The declared type text, normalised (single spaces). */
  text: string;
}

/**
 * A work item expression such as `&fsvq->done_work`, `&vgdev->ctrlq.dequeue_work`,
 * `&x->dwork.work` or `&global_work`, kept unresolved so the index can resolve its base type
 * with knowledge from other files (function return types, struct member types).
 */
export interface ExprRef {
  text: string;
  base:
    | { kind: 'var'; name: string; type?: TypeRef; param?: number; global?: boolean }
    | { kind: 'call'; callee: string; argBase?: ExprRef }
    | { kind: 'cast'; type: TypeRef }
    | { kind: 'unknown' };
  /** Member accesses after the base, in order. */
  chain: { op: '.' | '->'; field: string }[];
  /** The expression took the address (`&x->w`) rather than naming a pointer (`w`). */
  addressOf: boolean;
}

export interface Acquisition {
  /** Index into FunctionFacts.lockOps of the acquiring operation. */
  op: number;
}

/** A lock or unlock call, a guard() or a scoped_guard(). */
export interface LockOp {
  api: string;
  action: 'lock' | 'unlock';
  family: LockFamily;
  irq: IrqEffect;
  variant: LockApi['variant'];
  form: 'call' | 'guard' | 'scoped_guard';
  /** The call as written, white space folded: `spin_lock(&fsvq->lock)`, `guard(spinlock)(&x->lock)`. */
  text: string;
  /** Normalised lock expression without a leading `&`, e.g. `fsvq->lock`; '' for local_irq_*. */
  lock: string;
  lockExpr?: ExprRef;
  /** Span of the whole call (`spin_lock(&x->lock)`), of the callee name and of the argument list. */
  span: Span;
  nameSpan: Span;
  argsSpan: Span;
  /** For guard/scoped_guard: span of the class name argument (`spinlock`). */
  classSpan?: Span;
  /** Text of the flags argument of *_irqsave / *_irqrestore. */
  flags?: string;
  /** Inside a loop body (including macro loops such as list_for_each_entry). */
  inLoop: boolean;
  /** Unlock only: the acquisitions (indices into lockOps) this unlock may release. */
  releases?: number[];
  /** Unlock only: this unlock matched no lock taken earlier in this function. */
  unpaired?: boolean;
  /** Innermost enclosing loop (index into FunctionFacts.loops). */
  loop?: number;
  /**
   * The operation is the effect of a call of one of the file's lock wrappers (summaries.ts):
   * `vp_lock(vp)` acquiring `vp->lock` through its `spin_lock()`. `api`, `family`, `irq` and
   * `variant` are the underlying call's; `text` and the spans are the wrapper call's.
   */
  via?: {
    fn: string;
    kind: 'function' | 'macro';
    effect: number;
    /** The wrapper is defined in this other file of the driver. */ file?: string;
  };
  /** A `spin_trylock*()` in an `if` condition: held on the branch where it succeeded. */
  trylock?: boolean;
}

/** Lock state at a program point, from the intraprocedural dataflow. */
export interface LockState {
  /** Indices into lockOps of acquisitions that may be held here (on some path). */
  held: number[];
  /** Hard IRQs are disabled here on every path (an irqs-off lock or local_irq_save is held). */
  irqsOff: boolean;
  /**
   * On every path here the device was reset or its queues deleted (`virtio_reset_device()`,
   * `->del_vqs()`): no interrupt of its queues can arrive any more.
   */
  afterReset?: boolean;
  /**
   * The subset of `held` whose lock is held on some path only (not on every path); absent when
   * every lock in `held` is held on every path.
   */
  maybe?: number[];
}

/** A loop statement (or macro loop) of a function that takes a lock or drains. */
export interface LoopFact {
  span: Span;
  /** The loop's condition calls virtqueue_enable_cb*(): the disable_cb / enable_cb re-check loop. */
  recheck: boolean;
  /** Index into FunctionFacts.loops of the enclosing loop. */
  parent?: number;
}

export interface CallFact {
  callee: string;
  /** The callee is a plain identifier (a direct call), not `ops->fn(...)`. */
  direct: boolean;
  /** For a call through a member (`vp->ops->reclaim(vp)`): the function expression as written. */
  fnExpr?: string;
  span: Span;
  args: ArgFact[];
  state: LockState;
  inLoop: boolean;
  /** The call is the condition of a loop or inside it. */
  inLoopCondition: boolean;
  /** Innermost enclosing loop (index into FunctionFacts.loops); recorded where lock state is tracked. */
  loop?: number;
}

export interface ArgFact {
  text: string;
  /** The argument names a function or parameter: `fn`, `&fn`, `(work_func_t)fn`. */
  ident?: string;
  /** Resolved to a parameter of this function. */
  param?: number;
  expr?: ExprRef;
}

export interface DrainFact {
  api: string;
  span: Span;
  /** Text of the virtqueue argument. */
  vq: string;
  state: LockState;
  /** Within a loop, or the condition of one: a drain rather than a single get. */
  inLoop: boolean;
  /** The enclosing do/while re-checks with virtqueue_enable_cb(). */
  recheckLoop: boolean;
  /**
   * `while (!virtqueue_get_buf(vq, &len)) cpu_relax();`: polling for one buffer just submitted
   * (a control queue without a callback), not draining completions an interrupt announced.
   */
  poll: boolean;
  /** Innermost enclosing loop (index into FunctionFacts.loops). */
  loop?: number;
}

export interface ScheduleFact {
  api: string;
  span: Span;
  work: ExprRef;
  delayed: boolean;
  /** The workqueue argument of queue_work*() / queue_delayed_work*() / mod_delayed_work*(), as written. */
  wq?: string;
  wqExpr?: ExprRef;
  /** The CPU argument of the *_on() forms (node argument of queue_work_node()). */
  cpu?: string;
  /** The delay argument of the delayed forms. */
  delay?: string;
}

/** `x->wq = alloc_workqueue("n", WQ_UNBOUND | ..., 0)` and the create_*workqueue() forms. */
export interface WqAllocFact {
  api: string;
  /** The assigned expression as written (`vgdev->wq`, `my_wq`). */
  target: string;
  targetExpr?: ExprRef;
  /** The flags argument as written ('' for create_*workqueue(), whose flags are implied). */
  flags: string;
  span: Span;
}

/**
 * `d->ctrl_vq = virtio_find_single_vq(vdev, NULL, "ctrl")`, or `d->req_vq = vqs[0]` after
 * `virtio_find_vqs(vdev, n, vqs, callbacks, ...)` with a local `callbacks[]` / `struct
 * virtqueue_info[]` initialiser: the queue stored in `target` has callback `callback`.
 */
export interface VqSetupFact {
  target: string;
  /** The callback function's name, or null for a queue set up without one; absent with `table`. */
  callback?: string | null;
  /**
   * The callback is the element with subscript `sub` (absent: any element) of the file-scope table `name`
   * (FileFacts.vqTables), looked up when linking.
   */
  table?: { name: string; sub?: string };
  span: Span;
}

export interface BindingFact {
  api: string;
  span: Span;
  work: ExprRef;
  /**
   * The handler: a function name, a parameter of the enclosing function (helper binding), or a
   * function-pointer member (`vp->cfg->done_fn`) resolved through the driver's const tables.
   */
  handler: { fn: string } | { param: number; name: string } | { member: string };
  delayed: boolean;
}

export interface CallbackRegFact {
  /** The callback function's name. */
  fn: string;
  span: Span;
  /** How it was registered, for the message: `virtio_find_vqs() callbacks[]`, `.callback =`, ... */
  how: string;
}

export interface ContainerOfFact {
  /** Name of the container_of's pointer argument when it is a parameter, or its text. */
  from: string;
  type: TypeRef;
  member: string[];
  span: Span;
}

export interface ParamFact {
  name: string;
  type?: TypeRef;
}

export interface FunctionFacts {
  name: string;
  isStatic: boolean;
  /** Span of the name in the declarator. */
  nameSpan: Span;
  /** Span of the whole definition and of the body. */
  span: Span;
  bodySpan: Span;
  returnType?: TypeRef;
  params: ParamFact[];
  /** Locals by name (the innermost declaration wins; scopes are not distinguished). */
  locals: Record<string, TypeRef>;
  lockOps: LockOp[];
  calls: CallFact[];
  drains: DrainFact[];
  schedules: ScheduleFact[];
  bindings: BindingFact[];
  callbackRegs: CallbackRegFact[];
  containerOfs: ContainerOfFact[];
  /** Functions named as values (not called): candidates for callbacks and handlers. */
  fnRefs: string[];
  /** Loops, where lock state is tracked or a drain sits in one (see LoopFact). */
  loops?: LoopFact[];
  /**
   * In functions that name a virtqueue API: values assigned to plain identifiers (`vq = fsvq->vq`,
   * the declaration's initialiser included), as written, for reading which queue a call names.
   */
  values?: Record<string, string[]>;
  /** Queues this function sets up, with the callback each gets (null: none). */
  vqSetups?: VqSetupFact[];
  /** Workqueues allocated in this function. */
  wqAllocs?: WqAllocFact[];
  /** Lock states at each `return` (and the end of the body): a lock still held leaks to the caller. */
  exitStates: LockState[];
  /** Where the leading declarations of the body end (offset just after the last one). */
  declsEnd?: { offset: number; line: number; indent: string };
  /** Identifiers declared in the body, for choosing a free name. */
  declaredNames: string[];
  /** Number of ERROR / MISSING nodes inside the function. */
  errors: number;
  /** `virtio-race-lint: ignore VRL001` comments in the function or just before it. */
  suppressions: SuppressionFact[];
}

export interface SuppressionFact {
  rules: string[];
  span: Span;
  /** Why the suppression does not count (its reason is missing or a placeholder); it silences nothing. */
  invalid?: string;
}

export interface StructFacts {
  name: string;
  span: Span;
  /** Members with their types, nested anonymous structs flattened. */
  fields: Record<string, TypeRef>;
}

export interface GlobalVarFacts {
  name: string;
  isStatic: boolean;
  type: TypeRef;
  span: Span;
}

export interface FileFacts {
  /** Path or URI key, as given by the caller. */
  file: string;
  functions: FunctionFacts[];
  /** Prototypes: function name -> return type (for resolving `&vq_to_x(vq)->work`). */
  prototypes: Record<string, TypeRef>;
  structs: StructFacts[];
  globals: GlobalVarFacts[];
  /**
   * Function-pointer members fixed by designated initialisers of const structs:
   * `static const struct vp_ops ops = { .reclaim = vp_reclaim }` is {struct: 'vp_ops', field: 'reclaim', fn: 'vp_reclaim'}.
   */
  fieldFns?: { struct: string; field: string; fn: string }[];
  /** Lock wrappers other files of the driver may call (summaries.ts: every one of a header, non-static ones of a .c file). */
  wrappers?: ExportedWrapper[];
  /** The wrappers of the driver's other files these facts were extracted with (see Project.linkWrappers()). */
  driverWrappers?: DriverWrappers;
  /** File-scope callback tables (`static vq_callback_t *cbs[] = {...}`, `static struct virtqueue_info info[] = {...}`). */
  vqTables?: VqTableFact[];
  /** File-scope facts: DECLARE_WORK, static callback arrays and virtqueue_info tables. */
  bindings: BindingFact[];
  callbackRegs: CallbackRegFact[];
  fnRefs: string[];
  /** ERROR and MISSING nodes in the file. */
  errors: number;
  /** Non-fatal problems met while extracting (never thrown). */
  problems: string[];
}
