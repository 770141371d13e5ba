// Exhaustive breadth-first exploration of the model (SIM-MODEL.md §4-§6).
//
// Counting (§4, SPIN's -DNOREDUCE convention): states = reachable valuations of the canonical
// state vector; transitions = (state, enabled command) pairs + 1. C and CX need the observers
// nones/handled, which are not part of the canonical state. We explore the product
// (canonical state x observers) and count each canonical projection once: the observers never
// appear in a guard and never influence another variable, so the projection of the product's
// reachable set is exactly the canonical reachable set, and the enabled commands of a product
// state are those of its projection. BFS over the product also gives shortest traces for every
// property, because each canonical path lifts to exactly one product path of the same length.

import { PROPERTY_IDS, PROPERTY_TITLES, PropertyId, SimConfig, needsObservers, resolveConfig } from './model';
import { PairSet } from './pairSet';
import { FIELD_COUNT, Layout } from './state';
import { TraceStep, makeStep } from './trace';
import { EV_B, EV_B2, EV_C, EV_CX, EV_ILLEGAL, EV_NONE, Transitions } from './transitions';

export interface PropertyResult {
  id: PropertyId;
  title: string;
  /** false when the property was not requested in `config.properties`. */
  checked: boolean;
  /** A violation was reached (always backed by `trace`). */
  violated: boolean;
  /** false when the exploration was capped and no violation was found: "holds" is unproven. */
  conclusive: boolean;
  /** Shortest counterexample (BFS), or null. */
  trace: TraceStep[] | null;
}

export interface ExploreResult {
  config: SimConfig;
  /** Reachable canonical states (observers projected away). */
  states: number;
  /** (canonical state, enabled command) pairs + 1. */
  transitions: number;
  /** Vertices actually stored: canonical states x observer values when C/CX are checked. */
  storedStates: number;
  /** Canonical states with no enabled command. */
  terminalStates: number;
  /** Length of the longest shortest path (BFS depth) in the explored graph. */
  depth: number;
  capped: boolean;
  message?: string;
  properties: Record<PropertyId, PropertyResult>;
  /** Set when the explored code does something illegal, e.g. a mutex in the hard-IRQ callback. */
  illegal?: string;
  elapsedMs: number;
}

/** Growable parent-pointer arrays, indexed like the PairSet. */
class Parents {
  parent = new Int32Array(1 << 14);
  via = new Int32Array(1 << 14);
  set(i: number, p: number, code: number): void {
    if (i >= this.parent.length) {
      const cap = Math.max(i + 1, this.parent.length * 2);
      const a = new Int32Array(cap),
        b = new Int32Array(cap);
      a.set(this.parent);
      b.set(this.via);
      this.parent = a;
      this.via = b;
    }
    this.parent[i] = p;
    this.via[i] = code;
  }
}

interface Found {
  from: number;
  code: number;
} // code < 0: state property at `from`

export interface ExploreOptions {
  /** Attach the state after each step to the traces (default true). */
  traceStates?: boolean;
}

export function explore(config: Partial<SimConfig> = {}, opts: ExploreOptions = {}): ExploreResult {
  const started = performance.now();
  const cfg = resolveConfig(config);
  const layout = new Layout(cfg);
  const tr = new Transitions(cfg);
  const want = new Set<PropertyId>(cfg.properties ?? PROPERTY_IDS);
  const observers = needsObservers(cfg);
  const cap = cfg.maxStates;

  const seen = new PairSet(1 << 14);
  const canon = observers ? new PairSet(1 << 14) : null;
  const canonMask = layout.canonHiMask;
  const par = new Parents();
  const found: Partial<Record<PropertyId, Found>> = {};
  // Event bit -> property, for transition properties checked at I1 (§6).
  const evProps: [number, PropertyId][] = (
    [
      [EV_NONE, 'A'],
      [EV_B, 'B'],
      [EV_B2, 'B2'],
      [EV_C, 'C'],
      [EV_CX, 'CX'],
    ] as [number, PropertyId][]
  ).filter(([, p]) => want.has(p));
  let pendingEv = 0;
  for (const [bit] of evProps) pendingEv |= bit;
  const checkD = want.has('D'),
    checkE = want.has('E');
  let illegal = false;

  let cur = 0;
  let transitions = 0,
    terminal = 0;
  const onEvent = (ev: number, code: number): void => {
    if (ev & EV_ILLEGAL) illegal = true;
    if ((ev & pendingEv) === 0) return;
    for (const [bit, p] of evProps) {
      if ((ev & bit) !== 0 && found[p] === undefined) {
        found[p] = { from: cur, code };
        pendingEv &= ~bit;
      }
    }
  };
  const emit = (code: number, t: Int32Array, ev: number): void => {
    if (ev !== 0) onEvent(ev, code);
    const lo = layout.pack(t);
    const idx = seen.insert(layout.hi, lo);
    if (idx >= 0) {
      par.set(idx, cur, code);
      if (checkD && found.D === undefined && tr.isDeadlock(t)) found.D = { from: idx, code: -1 };
    }
  };

  const init = tr.initial();
  const initLo = layout.pack(init);
  seen.insert(layout.hi, initLo);
  par.set(0, -1, -1);

  const s = new Int32Array(FIELD_COUNT);
  let capped = false;
  for (cur = 0; cur < seen.size; cur++) {
    if (seen.size > cap) {
      capped = true;
      break;
    }
    const hi = seen.hi[cur],
      lo = seen.lo[cur];
    layout.unpack(hi, lo, s);
    const k = tr.expand(s, emit);
    const fresh = canon === null || canon.insert(hi & canonMask, lo) >= 0;
    if (fresh) {
      transitions += k;
      if (k === 0) terminal++;
    }
    if (k === 0 && checkE && found.E === undefined && tr.isLostCompletion(s)) found.E = { from: cur, code: -1 };
  }

  // Depth of the last discovered vertex = BFS depth of the graph.
  let depth = 0;
  for (let i = seen.size - 1; i > 0; i = par.parent[i]) depth++;

  const traceStates = opts.traceStates ?? true;
  const properties = {} as Record<PropertyId, PropertyResult>;
  for (const id of PROPERTY_IDS) {
    const f = found[id];
    properties[id] = {
      id,
      title: PROPERTY_TITLES[id],
      checked: want.has(id),
      violated: f !== undefined,
      conclusive: f !== undefined || !capped,
      trace: f === undefined ? null : buildTrace(layout, tr, seen, par, f, traceStates),
    };
  }

  // Capped: count what was expanded (the discovered frontier has no transitions counted).
  const states = canon !== null ? canon.size : capped ? cur : seen.size;
  const result: ExploreResult = {
    config: cfg,
    states,
    transitions: transitions + 1,
    storedStates: seen.size,
    terminalStates: terminal,
    depth,
    capped,
    properties,
    elapsedMs: Math.round((performance.now() - started) * 10) / 10,
  };
  if (capped) {
    result.message =
      `state cap reached: more than ${cap} states stored (maxStates=${cap}) after expanding ${cur}; ` +
      'the counts are partial and properties reported as holding are unproven. Raise maxStates or lower N.';
  }
  if (illegal) result.illegal = 'mutex taken in hard-IRQ context';
  return result;
}

function buildTrace(layout: Layout, tr: Transitions, seen: PairSet, par: Parents, f: Found, withState: boolean): TraceStep[] {
  const path: number[] = [];
  for (let i = f.from; i >= 0; i = par.parent[i]) path.push(i);
  path.reverse();
  const steps: TraceStep[] = [];
  const pre = new Int32Array(FIELD_COUNT),
    post = new Int32Array(FIELD_COUNT);
  for (let j = 1; j < path.length; j++) {
    layout.unpack(seen.hi[path[j - 1]], seen.lo[path[j - 1]], pre);
    layout.unpack(seen.hi[path[j]], seen.lo[path[j]], post);
    steps.push(makeStep(layout, j, par.via[path[j]], pre, post, withState));
  }
  if (f.code >= 0) {
    // The violating step itself: re-run the command from its source state.
    layout.unpack(seen.hi[f.from], seen.lo[f.from], pre);
    let got = false;
    tr.expand(pre, (code, t) => {
      if (!got && code === f.code) {
        post.set(t);
        got = true;
      }
    });
    if (!got) throw new Error(`internal: command ${f.code} not enabled when rebuilding the trace`);
    steps.push(makeStep(layout, steps.length + 1, f.code, pre, post, withState));
  }
  return steps;
}
