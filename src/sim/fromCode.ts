// From analysed code to a simulation: the model's code-derived settings (lock kind, whether the
// drain uses the disable_cb / get_buf / enable_cb re-check loop, whether the callback takes the
// same lock), the source locations each model step stands for, and the result in the shapes the
// CLI (--json), the language server and the simulation view use.
import type { DrainFact, FunctionFacts, LockOp, Span } from '../analysis/facts';
import type { Finding } from '../analysis/rules/rule';
import { drainShapeOf, drainShapeOfFunction, ringBoundOf, workLocalityOf, type DrainShapeInfo } from '../analysis/shape';
import type { WorkspaceIndex } from '../analysis/workspace';
import { compareBeforeAfter, type Comparison } from './compare';
import { explore, type ExploreResult } from './explore';
import {
  describeConfig,
  masksHardIrqs,
  PROPERTY_IDS,
  resolveConfig,
  type DrainShape,
  type LockKind,
  type Notify,
  type SimConfig,
  type Stale,
  type Target,
  type WqLocality,
} from './model';
import { renderTimed, timedSentences } from './timedReport';
import {
  renderDeviceTable,
  renderScenarios,
  renderSummary,
  summarySentences,
  renderVerdictTable,
  resultToJson,
  type SourceMap,
  type SummaryContext,
} from './report';
import { simulateTimed, type TimedComparison, type TimedRun } from './timed';

/** What the code says, before any user override. */
export interface CodeModel {
  handler: string;
  file: string;
  /** 1-based line of the lock call. */
  line: number;
  lock: LockKind;
  /** The lock call as written, e.g. `spin_lock(&fsvq->lock)`. */
  lockText: string;
  lockExpr: string;
  /** DRAIN (§2.5), read from the code. */
  drain: DrainShape;
  /** A single virtqueue_get_buf(), modelled as DRAIN 1 (an over-approximation). */
  drainSingle: boolean;
  /** What decided the drain shape. */
  drainWhy?: string;
  /** WQLOCAL (§2.4), read from the schedule site. */
  wq: WqLocality;
  wqWhy: string;
  /** §6.1 conditions 1 and 2, read from the code; undefined when nothing was read. */
  ring?: RingConditions;
  callbackLocks: boolean;
  callback?: string;
  /** The drain runs in a NAPI poll the callback schedules (VRL002; SIM-MODEL §12). */
  napi?: boolean;
  /** No irqsave fix to compare with (VRL002: a mutex may sleep; SIM-MODEL §12). */
  noFix?: boolean;
  sourceMap: SourceMap;
  /** Notes on how the code was mapped onto the model (e.g. raw_spin_lock modelled as spin_lock). */
  notes: string[];
}

/** §6.1's conditions 1 and 2 as read from the code (condition 3 is the device's). */
export interface RingConditions {
  /** Every virtqueue_add_* on the drained queue runs with the drain's lock held. */
  cond1: boolean;
  /** The drain does not resubmit while it holds the lock. */
  cond2: boolean;
  /** One sentence: why the bound applies, or which condition fails and where. */
  why: string;
}

/** The user's overrides (CLI flags, view settings); anything unset comes from the code. */
export interface SimulateOptions {
  lock?: LockKind;
  irq?: Target;
  /** Work placement; default from the schedule site. */
  wq?: WqLocality;
  /** Drain shape; default from the code. */
  drain?: DrainShape;
  /** Notification mode; default event-idx (what QEMU and virtiofsd negotiate). */
  notify?: Notify;
  device?: Stale;
  latency?: boolean;
  callbackLocks?: boolean;
  /** Model the deferral as a NAPI poll (§12) instead of a work item. */
  napi?: boolean;
  buffers?: number;
  /** R: ring entries (the §6.1 bound and the timed mode); default 128. */
  ring?: number;
  maxStates?: number;
  timed?: boolean;
  /** Completions for the timed mode (default 100,000). */
  completions?: number;
}

/** R when neither the user nor the code says: QEMU's common queue size (SIM-MODEL §7). */
export const DEFAULT_RING = 128;

/** An option combination the model refuses, with one line that says why. */
export class SimOptionError extends RangeError {}

function lockKindOf(op: LockOp): { kind: LockKind; note?: string } {
  if (op.family === 'mutex') return { kind: 'mutex' };
  const v = op.variant;
  const kind: LockKind =
    v === '_bh' ? 'spin_lock_bh' : v === '_irqsave' ? 'spin_lock_irqsave' : v === '_irq' ? 'spin_lock_irq' : 'spin_lock';
  if (op.family === 'raw_spinlock' || op.family === 'rwlock' || op.form !== 'call' || v === '_nested') {
    return { kind, note: `${op.text} is modelled as ${kind}: only whether hard IRQs are masked matters to the model` };
  }
  return { kind };
}

/** The model for a VRL001 finding. */
export function modelFromFinding(finding: Finding, index: WorkspaceIndex): CodeModel | undefined {
  const facts = index.get(finding.file);
  const fn = facts?.functions.find(f => f.name === finding.lockFunction && f.lockOps.some(o => o.span.start === finding.span.start));
  // Only VRL001 findings have a drain to model.
  if (!fn || !finding.drain) return undefined;
  const d = finding.drain;
  const opIndex = fn.lockOps.findIndex(o => o.span.start === finding.span.start);
  const drainFn = index.get(d.file)?.functions.find(f => f.name === d.function);
  const drain = drainFn?.drains.find(x => x.span.start === d.span.start);
  const callback = finding.related.find(r => r.role === 'callback');
  const schedule = finding.related.find(r => r.role === 'schedule');
  const handlerFacts = index.get(finding.handlerFile)?.functions.find(f => f.name === finding.handler);
  const model = baseModel(fn, opIndex, finding.file, drain, d.file, drainShapeOf(finding, index));
  model.handler = finding.handler;
  model.callback = finding.callback;
  model.callbackLocks = finding.callbackTakesLock;
  if (callback) model.sourceMap.callback = { file: callback.file, line: callback.span.line + 1 };
  if (schedule) model.sourceMap.schedule = { file: schedule.file, line: schedule.span.line + 1 };
  if (handlerFacts) model.sourceMap.handler = { file: finding.handlerFile, line: handlerFacts.nameSpan.line + 1 };
  const wq = workLocalityOf(finding, index);
  model.wq = wq.wq;
  model.wqWhy = wq.why;
  const ring = ringBoundOf(finding, index);
  model.ring = { cond1: ring.cond1, cond2: ring.cond2, why: ring.why };
  return model;
}

/**
 * The model for a VRL002 finding (SIM-MODEL §12): a work item draining under a mutex (LOCK 0 with
 * the mutex), under no lock or after a trylock the analysis does not see held (LOCK 0, lock
 * 'none'), or a NAPI poll. Waiters and tasklets are refused by the rule before this.
 */
export function vrl002Model(finding: Finding, index: WorkspaceIndex): CodeModel | undefined {
  const d = finding.drain;
  if (!d) return undefined;
  const drainFn = index.get(d.file)?.functions.find(f => f.name === d.function && f.span.start <= d.span.start && d.span.end <= f.span.end);
  const drain = drainFn?.drains.find(x => x.span.start === d.span.start);
  if (!drainFn || !drain) return undefined;
  const shape = String(finding.data?.shape ?? '');
  const napi = shape === 'NAPI poll';
  let model: CodeModel;
  const lockFnName = finding.data?.lockFn;
  const lockFile = String(finding.data?.lockFile ?? d.file);
  const lockFn = lockFnName
    ? index.get(lockFile)?.functions.find(f => f.name === lockFnName && f.lockOps[finding.lockOp]?.text === finding.lock)
    : undefined;
  if (shape === 'mutex' && lockFn) {
    model = baseModel(
      lockFn,
      finding.lockOp,
      lockFile,
      drain,
      d.file,
      drainShapeOfFunction(lockFn, lockFile, finding.lockOp, lockFn === drainFn ? drain : undefined),
    );
    model.noFix = true;
    model.notes.push('a mutex may sleep, so the irqsave fix does not apply: only the code as written is explored (SIM-MODEL §12)');
  } else {
    model = noLockModel(drainFn, d.file, drain);
    if (shape === 'trylock') {
      model.notes = [
        `the drain follows a trylock the analysis does not see held there; modelled as no lock (LOCK 0): for hard IRQs a held trylock is the same`,
      ];
    }
  }
  if (napi) {
    model.napi = true;
    model.lockText = 'NAPI poll';
    model.notes = [
      'the drain runs in a NAPI poll the callback schedules (SIM-MODEL §12): no lock, softirq on the CPU that scheduled it; threaded NAPI (/sys/class/net/DEV/threaded), whose poll runs in a kernel thread on any CPU, is not modelled',
    ];
    if (finding.data?.callbackSuppresses === false) {
      model.notes.push(
        `the model's callback suppresses the queue's interrupts before scheduling the poll, as virtio_net's virtqueue_napi_schedule() does; ${finding.callback}() does not, so this code can take more interrupts during the poll than the model shows`,
      );
    }
  }
  model.handler = finding.handler;
  model.callback = finding.callback;
  model.callbackLocks = false;
  const callback = finding.related.find(r => r.role === 'callback');
  const schedule = finding.related.find(r => r.role === 'schedule');
  const handlerFacts = index.get(finding.handlerFile)?.functions.find(f => f.name === finding.handler);
  if (callback) model.sourceMap.callback = { file: callback.file, line: callback.span.line + 1 };
  if (schedule) model.sourceMap.schedule = { file: schedule.file, line: schedule.span.line + 1 };
  if (handlerFacts) model.sourceMap.handler = { file: finding.handlerFile, line: handlerFacts.nameSpan.line + 1 };
  if (!napi) {
    const wq = workLocalityOf(finding, index);
    model.wq = wq.wq;
    model.wqWhy = wq.why;
  } else {
    model.wq = 'local';
    model.wqWhy = 'a NAPI poll runs on the CPU that scheduled it (unless NAPI is threaded)';
  }
  return model;
}

/**
 * The model for any function the user points at: the drain in it (or below it, in the file) and
 * the lock held there, whatever its kind; used for handlers VRL001 does not report (already
 * irqsave, or a mutex) so the user can see what their code guarantees.
 */
export function modelFromFunction(fn: FunctionFacts, file: string): CodeModel | undefined {
  const drain = fn.drains.find(d => !d.poll && d.state.held.length) ?? fn.drains.find(d => !d.poll);
  const unmodelled = drain && unmodelledShape(fn, drain);
  if (unmodelled) throw new SimOptionError(`${fn.name}(): ${unmodelled} is not modelled yet (docs/model.md#drains-without-a-spinlock)`);
  // A lock, not local_irq_save()/local_irq_disable() (family 'irq'): those take no lock, and
  // their effect on the drain is read from drain.state.irqsOff in baseModel.
  const isLock = (o: LockOp | undefined) => o?.action === 'lock' && o.family !== 'irq';
  const opIndex = drain?.state.held.find(i => isLock(fn.lockOps[i])) ?? fn.lockOps.findIndex(isLock);
  if (opIndex < 0) return drain ? noLockModel(fn, file, drain) : undefined;
  const model = baseModel(fn, opIndex, file, drain, file, drainShapeOfFunction(fn, file, opIndex, drain));
  model.sourceMap.handler = { file, line: fn.nameSpan.line + 1 };
  return model;
}

/**
 * Deferred drains that docs/model.md does not model yet, so that simulate says so instead of
 * guessing: a task woken by the callback that consumes buffers in its wait_event() condition,
 * and a tasklet.
 */
export function unmodelledShape(fn: FunctionFacts, drain: DrainFact): string | undefined {
  const inWait = fn.calls.some(
    c => /^(?:wait_event|___wait_event|__wait_event)/.test(c.callee) && c.span.start <= drain.span.start && drain.span.end <= c.span.end,
  );
  if (inWait) return 'a drain in a wait_event() condition (a task woken by the callback)';
  if (fn.params.some(p => p.type?.name === 'tasklet_struct')) return 'a drain in a tasklet';
  return undefined;
}

/** No work item is linked to a function the user points at: the placement is an assumption. */
const ASSUMED_WQ = 'no schedule site links this function to a callback; assumed queued with schedule_work()';

/** A drain under no lock (§12: LOCK 0; the irqsave fix does not apply). */
function noLockModel(fn: FunctionFacts, file: string, drain: DrainFact): CodeModel {
  return {
    handler: fn.name,
    file,
    line: drain.span.line + 1,
    lock: 'none',
    lockText: 'no lock',
    lockExpr: 'the drain',
    drain: drain.recheckLoop ? 'recheck' : 'plain',
    drainSingle: !drain.inLoop,
    wq: 'local',
    wqWhy: ASSUMED_WQ,
    callbackLocks: false,
    sourceMap: { drain: { file, line: drain.span.line + 1 }, handler: { file, line: fn.nameSpan.line + 1 } },
    notes: [
      'no lock is held around the drain: for hard IRQs this is the same as spin_lock, and there is no lock for the irqsave fix to change',
    ],
  };
}

/**
 * The model for a position in `file` (0-based `line`, as in Span and LSP positions), from the
 * findings of that analysis and its index. In order: the finding whose lock call is on the line;
 * the finding whose lock is taken in the function containing the line; the finding whose handler
 * (the work function, when it takes the lock in a helper) contains the line; otherwise the
 * function containing the line, modelled as written (modelFromFunction). Undefined when there is
 * no lock held around a virtqueue drain there. `modelOf` is the finding's rule's model (the
 * front ends pass the registry's simulationModel; the default is VRL001's).
 */
export function modelAt(
  findings: readonly Finding[],
  index: WorkspaceIndex,
  file: string,
  line: number,
  modelOf: (f: Finding) => CodeModel | undefined = f => modelFromFinding(f, index),
): CodeModel | undefined {
  const fns = index.get(file)?.functions ?? [];
  const within = (s: Span) => s.line <= line && line <= s.endLine;
  const fnAt = fns.find(f => within(f.span));
  const lockFn = (f: Finding) => fns.find(x => x.name === f.lockFunction && x.span.start <= f.span.start && f.span.end <= x.span.end);
  const candidates = [
    findings.find(f => f.file === file && within(f.span)),
    fnAt && findings.find(f => f.file === file && lockFn(f) === fnAt),
    fnAt && findings.find(f => f.handlerFile === file && f.handler === fnAt.name),
  ];
  for (const f of candidates) {
    const model = f && modelOf(f);
    if (model) return model;
  }
  return fnAt ? modelFromFunction(fnAt, file) : undefined;
}

function baseModel(
  fn: FunctionFacts,
  opIndex: number,
  file: string,
  drain: DrainFact | undefined,
  drainFile: string,
  shape: DrainShapeInfo,
): CodeModel {
  const op = fn.lockOps[opIndex];
  const lockKind = lockKindOf(op);
  let { kind } = lockKind;
  const { note } = lockKind;
  // Hard IRQs off at the drain on every path (local_irq_save() before a plain spin_lock, say):
  // what the model's lock kind stands for is whether the work can be interrupted while it holds
  // the lock, so the lock is modelled as one that masks them.
  let irqsOffNote: string | undefined;
  if (drain?.state.irqsOff && !masksHardIrqs(kind)) {
    const local = fn.drains.includes(drain)
      ? drain.state.held.map(i => fn.lockOps[i]).find(o => o?.family === 'irq' || (o && o !== op && o.irq === 'irqs-off'))
      : undefined;
    irqsOffNote =
      `${op.text} is modelled as spin_lock_irqsave: hard IRQs are already off at the drain` +
      `${local ? ` (${local.text})` : ''}, so the work cannot be interrupted on its CPU while it holds the lock`;
    kind = 'spin_lock_irqsave';
  }
  // The last unlock that releases this lock: with the lock dropped inside the drain loop (DRAIN 2)
  // the first one is the drop (W8), the last the final unlock (W6).
  const unlock = fn.lockOps.filter(u => u.action === 'unlock' && (u.releases ?? []).includes(opIndex)).pop();
  const call = (name: string) => fn.calls.find(c => c.callee === name && c.span.start > op.span.start);
  const loc = (line: number) => ({ file, line: line + 1 });
  const disable = call('virtqueue_disable_cb');
  const enable = call('virtqueue_enable_cb') ?? call('virtqueue_enable_cb_prepare');
  const notes: string[] = [];
  if (note && !irqsOffNote) notes.push(note);
  if (irqsOffNote) notes.push(irqsOffNote);
  if (!drain) notes.push('no virtqueue_get_buf() drain found under the lock; the model assumes one');
  return {
    handler: fn.name,
    file,
    line: op.span.line + 1,
    lock: kind,
    lockText: op.text,
    lockExpr: op.lock,
    drain: shape.shape,
    drainSingle: shape.single,
    drainWhy: shape.why,
    wq: 'local',
    wqWhy: ASSUMED_WQ,
    callbackLocks: false,
    sourceMap: {
      lock: loc(op.span.line),
      ...(unlock ? { unlock: loc(unlock.span.line) } : {}),
      ...(drain ? { drain: { file: drainFile, line: drain.span.line + 1 } } : {}),
      ...(disable ? { disableCb: loc(disable.span.line) } : {}),
      ...(enable ? { enableCb: loc(enable.span.line) } : {}),
      ...(shape.dropUnlock ? { dropUnlock: { file: shape.dropUnlock.file, line: shape.dropUnlock.span.line + 1 } } : {}),
      ...(shape.relock ? { relock: { file: shape.relock.file, line: shape.relock.span.line + 1 } } : {}),
    },
    notes,
  };
}

/**
 * The model's configuration: the code's settings, then the user's overrides; what neither sets
 * is resolveConfig's default (DEFAULT_CONFIG), except N and the notification mode. Throws
 * SimOptionError for a combination the model refuses.
 */
export function configFor(model: CodeModel, o: SimulateOptions = {}): SimConfig {
  const wq = o.wq ?? model.wq;
  const target = o.irq ?? 'same';
  if (target === 'other' && wq === 'local') {
    const from = o.wq ? '' : model.wqWhy === ASSUMED_WQ ? ` (${model.wqWhy})` : ` (read from the code: ${model.wqWhy})`;
    throw new SimOptionError(
      `--irq other needs --wq pinned: with the work queued on the CPU that took the interrupt${from}, ` +
        'the work follows the IRQ and "other" is the same as "same"',
    );
  }
  const napi = o.napi ?? model.napi ?? false;
  if (napi) {
    if (o.lock || o.drain || o.callbackLocks)
      throw new SimOptionError(
        '--napi models a NAPI poll, which takes no lock and has one drain shape: drop --lock, --drain and --callback-locks',
      );
    if (wq === 'pinned') throw new SimOptionError('--napi: a NAPI poll runs on the CPU that scheduled it, so --wq pinned does not apply');
  }
  return resolveConfig({
    lock: napi ? 'none' : (o.lock ?? model.lock),
    target,
    wqLocal: napi || wq === 'local',
    stale: o.device,
    eventIdx: (o.notify ?? 'event-idx') === 'event-idx',
    lat: o.latency,
    cbLock: napi ? false : (o.callbackLocks ?? model.callbackLocks),
    // C and CX need N >= 4 to tell the lock kinds apart (SIM-MODEL.md §6); DEFAULT_CONFIG has 3.
    n: o.buffers ?? 4,
    maxStates: o.maxStates,
    drain: napi ? 'plain' : (o.drain ?? model.drain),
    napi,
  });
}

/** The §6.1 bound for a simulation: whether it applies, with which R, and why. */
export interface RingBound {
  applies: boolean;
  ring: number;
  why: string;
}

export function ringBoundFor(model: CodeModel, o: SimulateOptions, config: SimConfig): RingBound {
  const ring = o.ring ?? DEFAULT_RING;
  if (config.napi) return { applies: false, ring, why: 'a NAPI poll is not serialised with submissions by a lock' };
  if (o.drain && o.drain !== model.drain) {
    return { applies: false, ring, why: `the conditions were read for the code's drain shape, not for --drain ${o.drain}` };
  }
  const r = model.ring;
  if (!r) return { applies: false, ring, why: 'the submissions to the drained queue were not read from the code' };
  return { applies: r.cond1 && r.cond2, ring, why: r.why };
}

export interface CodeSimulation {
  model: CodeModel;
  config: SimConfig;
  /** Every setting used, under the CLI's flag names. */
  settings: SimulationSettings;
  ringBound: RingBound;
  comparison: Comparison;
  timed?: TimedComparison;
  /**
   * NAPI (VRL002): the same exploration with the other kind of device (a compliant one against
   * one that caches the suppression state), for the sentence that says which verdicts need which.
   */
  deviceContrast?: { device: Stale; result: ExploreResult };
}

/** The settings of a simulation under the `simulate` flag names (for --json and the view). */
export interface SimulationSettings {
  lock: LockKind;
  irq: Target;
  wq: WqLocality;
  drain: DrainShape;
  notify: Notify;
  device: Stale;
  latency: boolean;
  callbackLocks: boolean;
  napi: boolean;
  buffers: number;
  ring: number;
  timed: boolean;
  completions?: number;
}

function settingsOf(c: SimConfig, ring: number, o: SimulateOptions): SimulationSettings {
  return {
    lock: c.lock,
    irq: c.target,
    wq: c.wqLocal ? 'local' : 'pinned',
    drain: c.drain,
    notify: c.eventIdx ? 'event-idx' : 'flags',
    device: c.stale,
    latency: c.lat,
    callbackLocks: c.cbLock,
    napi: c.napi,
    buffers: c.n,
    ring,
    timed: !!o.timed,
    ...(o.timed ? { completions: o.completions ?? 100_000 } : {}),
  };
}

export function simulateCode(model: CodeModel, o: SimulateOptions = {}): CodeSimulation {
  const config = configFor(model, o);
  const ringBound = ringBoundFor(model, o, config);
  const settings = settingsOf(config, ringBound.ring, o);
  // VRL002's mutex: the irqsave fix does not apply (a mutex may sleep), so only the code as written is explored.
  const comparison =
    model.noFix && config.lock === model.lock && !o.lock
      ? (() => {
          const before = explore(config);
          return { before, after: before, fixApplies: false };
        })()
      : compareBeforeAfter(config);
  // The RFC's claim for NAPI is about the device: explore it with the other kind as well.
  const deviceContrast = config.napi
    ? (() => {
        const device: Stale = config.stale === 'cached' ? 'prompt' : 'cached';
        return { device, result: compareBeforeAfter({ ...config, stale: device }).before };
      })()
    : undefined;
  if (o.timed && (config.napi || config.lock === 'none')) {
    throw new SimOptionError(
      `--timed does not model ${config.napi ? 'a NAPI poll' : 'a drain under no lock'} yet; the exploration without --timed does`,
    );
  }
  const timed = o.timed
    ? simulateTimed({
        lock: config.lock,
        // Every environment setting goes through; the timed mode refuses what it cannot honour.
        target: config.target,
        wq: config.wqLocal ? 'local' : 'pinned',
        device: config.stale,
        latency: config.lat,
        cbLock: config.cbLock,
        notify: config.eventIdx ? 'event-idx' : 'flags',
        drain: config.drain,
        ring: ringBound.ring,
        // §6.1 condition 1 from the code: a consumed buffer is replaced only when the lock is free.
        ringCond1: !!model.ring?.cond1 && !config.napi,
        ...(o.completions ? { completions: o.completions } : {}),
      })
    : undefined;
  return { model, config, settings, ringBound, comparison, timed, ...(deviceContrast ? { deviceContrast } : {}) };
}

// --- the names in the model's step descriptions ----------------------------------------------

/** The simulator describes virtio-fs; say the driver's own names instead. */
function rename(text: string, m: CodeModel): string {
  return text
    .replace(/&fsvq->lock/g, `&${m.lockExpr}`)
    .replace(/fsvq->lock/g, m.lockExpr)
    .replace(/virtio_fs_requests_done_work/g, m.handler)
    .replace(/&fsvq->done_work/g, 'the work item')
    .replace(/virtio_fs_vq_done/g, m.callback ?? 'the vring callback');
}

function renamedResult(r: ExploreResult, m: CodeModel): ExploreResult {
  const properties = { ...r.properties };
  for (const id of PROPERTY_IDS) {
    const p = r.properties[id];
    properties[id] = { ...p, trace: p.trace ? p.trace.map(s => ({ ...s, description: rename(s.description, m) })) : p.trace };
  }
  return { ...r, properties };
}

/** Both results in the driver's names, each renamed once. */
export function renamed(sim: CodeSimulation): Comparison {
  const { before, after } = sim.comparison;
  const b = renamedResult(before, sim.model);
  return { before: b, after: after === before ? b : renamedResult(after, sim.model), fixApplies: sim.comparison.fixApplies };
}

// --- output shapes ------------------------------------------------------------------------------

/**
 * The lockdep-style report: verdicts, counterexamples with file:line, what the fix does here.
 * `relFile` says how to write a file name (the CLI: relative to the working directory).
 */
export function renderSimulationText(sim: CodeSimulation, relFile: (f: string) => string = f => f): string {
  return renderText(sim, renamed(sim), relFile);
}

export function renderText(sim: CodeSimulation, cmp: Comparison, relFile: (f: string) => string): string {
  const m = sim.model;
  const map = relativeMap(m.sourceMap, relFile);
  const { before, after } = cmp;
  const lines = [
    `Simulation of ${m.handler}() at ${relFile(m.file)}:${m.line}: ${m.lockText}`,
    `Model: ${describeConfig(sim.config)}${m.callback ? `; callback ${m.callback}()` : ''}`,
    `Settings: ${settingsLine(sim)}`,
    ...modelNotes(sim).map(n => `Note: ${n}`),
    '',
    'Verdicts',
    renderVerdictTable(cmp),
    '',
    ...(sim.deviceContrast
      ? ['Verdicts by device (the RFC: "hardware devices might cache the value")', renderDeviceTable(cmp.before, sim.deviceContrast), '']
      : []),
    'What the fix does and does not do here',
    renderSummary(cmp, summaryContext(sim)),
    '',
    `Possible scenarios as written (${sim.config.lock})`,
    renderScenarios(before, map),
  ];
  // Code that already takes the lock with irqsave: the fix is the code, its scenarios are above.
  if (sim.comparison.after !== sim.comparison.before && PROPERTY_IDS.some(id => after.properties[id].trace)) {
    lines.push('', 'Possible scenarios with spin_lock_irqsave', renderScenarios(after, map));
  }
  if (sim.timed) lines.push('', renderTimed(sim.timed, sim.ringBound));
  return lines.join('\n') + '\n';
}

/** Every setting used, as `simulate` flags, each with where it came from when the code decided it. */
function settingsLine(sim: CodeSimulation): string {
  const st = sim.settings;
  const fromCode = (v: string, code: string) => (v === code ? ' (from the code)' : '');
  const parts = [
    `--lock ${st.lock}${fromCode(st.lock, sim.model.lock)}`,
    `--irq ${st.irq}`,
    `--wq ${st.wq}${fromCode(st.wq, sim.model.wq)}`,
    `--drain ${st.drain}${fromCode(st.drain, sim.model.drain)}`,
    `--notify ${st.notify}`,
    `--device ${st.device}`,
    `--buffers ${st.buffers}`,
    `--ring ${st.ring}`,
  ];
  if (st.latency) parts.push('--latency');
  if (st.callbackLocks) parts.push(`--callback-locks${sim.model.callbackLocks ? ' (from the code)' : ''}`);
  if (st.napi) parts.push('--napi');
  return parts.join(' ');
}

/** The code model's notes, plus what the settings chosen imply (over-approximations, placement). */
function modelNotes(sim: CodeSimulation): string[] {
  const m = sim.model;
  const notes = [...m.notes];
  if (m.drainWhy && sim.config.drain === m.drain && !sim.config.napi) notes.push(`drain shape ${m.drain}: ${m.drainWhy}`);
  if (m.drainSingle && sim.config.drain === 'plain' && !sim.config.napi) {
    notes.push('the code takes a single buffer; the model lets the work take buffers in a loop (DRAIN 1), an over-approximation');
  }
  if (sim.config.wqLocal === (m.wq === 'local') && !sim.config.napi) notes.push(`work placement ${m.wq}: ${m.wqWhy}`);
  const st = sim.settings;
  const assumed = [
    `IRQ routing (--irq ${st.irq}${st.irq === 'any' ? ': the affinity can move while the work runs' : ', a stable affinity'})`,
    `the device (--device ${st.device}${st.device === 'prompt' ? ', compliant' : st.device === 'lax' ? ', compliant, notifies although suppressed' : ', caches the suppression state, which the VIRTIO spec does not allow'})`,
    `the notification mode (--notify ${st.notify}${st.notify === 'event-idx' ? ', what QEMU and virtiofsd negotiate' : ''})`,
    `MSI latency (${st.latency ? '--latency: MSIs in flight for an arbitrary time' : 'MSIs latch when sent'})`,
    `N = ${st.buffers} buffers in the exploration`,
  ];
  notes.push(`assumed, not read from the code: ${assumed.join('; ')}; the flags change them`);
  return notes;
}

export function summaryContext(sim: CodeSimulation): SummaryContext {
  return {
    ringBound: sim.ringBound,
    ringFromUser: sim.settings.ring !== DEFAULT_RING,
    ...(sim.deviceContrast ? { deviceContrast: sim.deviceContrast } : {}),
  };
}

/** One element of `simulate --json`: handler, file, line, model, before, after. */
export function simulationJson(sim: CodeSimulation, relFile: (f: string) => string): object {
  const m = sim.model;
  const map = relativeMap(m.sourceMap, relFile);
  const cmp = renamed(sim);
  return {
    handler: m.handler,
    file: relFile(m.file),
    line: m.line,
    model: {
      ...sim.config,
      ...sim.settings,
      lockCall: m.lockText,
      callback: m.callback ?? null,
      notes: modelNotes(sim),
      ringBound: sim.ringBound,
    },
    before: resultToJson(cmp.before, map),
    after: resultToJson(cmp.after, map),
    ...(sim.timed
      ? {
          timed: {
            params: sim.timed.params,
            asIs: timedRunJson(sim.timed.asIs),
            irqsave: timedRunJson(sim.timed.irqsave),
            summary: timedSentences(sim.timed, sim.ringBound),
          },
        }
      : {}),
    ...(sim.deviceContrast ? { deviceContrast: deviceContrastJson(sim) } : {}),
    summary: summarySentences(cmp, summaryContext(sim)),
  };
}

/** NAPI: the properties violated with each kind of device (SIM-MODEL §12). */
function deviceContrastJson(sim: CodeSimulation): object {
  const runs = [
    { device: sim.config.stale, result: sim.comparison.before },
    { device: sim.deviceContrast!.device, result: sim.deviceContrast!.result },
  ];
  return Object.fromEntries(
    runs.map(r => [r.device, PROPERTY_IDS.filter(id => r.result.properties[id].checked && r.result.properties[id].violated)]),
  );
}

function relativeMap(map: SourceMap, rel: (f: string) => string): SourceMap {
  const out: SourceMap = {};
  for (const [k, v] of Object.entries(map)) if (v) (out as Record<string, unknown>)[k] = { file: rel(v.file), line: v.line };
  return out;
}

function timedRunJson(r: TimedRun): object {
  const { series, ...rest } = r;
  return { ...rest, seriesPoints: series.length };
}
