import * as assert from 'node:assert/strict';
import { ExploreResult, SimConfig, TraceStep, explore, resolveConfig } from '../../src/sim';
import { FIELD_COUNT, HANDLED, Layout, MASKED, NONES, viewState } from '../../src/sim/state';
import { KIND_IDS, Transitions, codeKind } from '../../src/sim/transitions';

/**
 * An independent, deliberately naive explorer over the same guarded commands: string keys,
 * a Map, explicit canonical projection. It checks the packing, the hash set, the canonical
 * counting and the BFS of `explore()`.
 */
function reference(config: Partial<SimConfig>): { states: number; transitions: number; shortestNone: number } {
  const cfg = resolveConfig(config);
  const tr = new Transitions(cfg);
  const key = (s: Int32Array) => Array.from(s).join(',');
  const canonKey = (s: Int32Array) =>
    Array.from(s)
      .filter((_, i) => i !== NONES && i !== HANDLED)
      .join(',');
  const seen = new Map<string, number>([[key(tr.initial()), 0]]);
  const canon = new Set<string>();
  let queue: Int32Array[] = [tr.initial()];
  let transitions = 0,
    depth = 0,
    shortestNone = -1;
  while (queue.length) {
    const next: Int32Array[] = [];
    for (const s of queue) {
      const succ: [number, Int32Array, number][] = [];
      tr.expand(s, (code, t, ev) => succ.push([code, Int32Array.from(t), ev]));
      if (!canon.has(canonKey(s))) {
        canon.add(canonKey(s));
        transitions += succ.length;
      }
      for (const [, t, ev] of succ) {
        if (ev & 1 && shortestNone < 0) shortestNone = depth + 1;
        if (!seen.has(key(t))) {
          seen.set(key(t), depth + 1);
          next.push(t);
        }
      }
    }
    queue = next;
    depth++;
  }
  return { states: canon.size, transitions: transitions + 1, shortestNone };
}

/** Replays a trace through the guarded commands from the initial state. */
function replay(config: SimConfig, trace: TraceStep[]): void {
  const tr = new Transitions(config);
  const layout = new Layout(config);
  let s = tr.initial();
  for (const step of trace) {
    const options: Int32Array[] = [];
    tr.expand(s, (code, t) => {
      if (KIND_IDS[codeKind(code)] === step.cmd) options.push(Int32Array.from(t));
    });
    assert.ok(options.length > 0, `step ${step.step} ${step.cmd} is not enabled`);
    const match = options.find(t => JSON.stringify(viewState(layout, t)) === JSON.stringify(step.stateAfter));
    assert.ok(match, `step ${step.step} ${step.cmd}: no successor has the recorded state`);
    s = match;
  }
}

const counts = (r: ExploreResult) => [r.states, r.transitions];

describe('sim: explorer', () => {
  const configs: Partial<SimConfig>[] = [
    { n: 3 },
    { n: 4, lock: 'spin_lock_irqsave' },
    { n: 3, target: 'other', stale: 'cached', cbLock: true },
    { n: 3, target: 'any', wqLocal: true, lat: true, cbLock: true },
    { n: 3, eventIdx: true, stale: 'cached' },
    { n: 3, stale: 'lax', drain: 'plain', eventIdx: true },
  ];
  for (const c of configs) {
    it(`agrees with a naive reference explorer: ${JSON.stringify(c)}`, () => {
      const r = explore(c, { traceStates: false });
      const ref = reference(c);
      assert.deepEqual(counts(r), [ref.states, ref.transitions]);
      assert.equal(r.properties.A.trace!.length, ref.shortestNone);
    });
  }

  it('gives the 20-step shortest A trace under irqsave/same/prompt (§9)', () => {
    for (const n of [2, 3, 4, 5]) {
      const r = explore({ lock: 'spin_lock_irqsave', n });
      const t = r.properties.A.trace!;
      assert.equal(t.length, 20, `N=${n}`);
      replay(r.config, t);
      // The story of §9: a HANDLED interrupt starts the work, the work drains under the lock with
      // IRQs off, and the deferred interrupt finds the ring empty after the unlock.
      const ids = t.map(s => s.cmd);
      assert.deepEqual(ids.slice(-2), ['I0', 'I1']);
      assert.ok(ids.indexOf('I2') < ids.indexOf('W1'));
      assert.ok(ids.lastIndexOf('W6') < t.length - 2);
      assert.equal(t.filter(s => s.cmd === 'D1').length, 2);
      assert.equal(t[t.length - 1].stateAfter!.lock, 'FREE');
      assert.match(t[t.length - 1].description, /IRQ_NONE/);
    }
  });

  it('records traces that replay through the guarded commands, for every violated property', () => {
    for (const c of [
      { n: 4 },
      { n: 4, stale: 'cached', cbLock: true },
      { n: 3, target: 'any', wqLocal: true, cbLock: true, stale: 'cached' },
    ] as Partial<SimConfig>[]) {
      const r = explore(c);
      for (const p of Object.values(r.properties)) if (p.trace) replay(r.config, p.trace);
    }
  });

  it('is deterministic: counts and traces are identical across runs', () => {
    const a = explore({ n: 4, target: 'any', wqLocal: true, stale: 'cached' });
    const b = explore({ n: 4, target: 'any', wqLocal: true, stale: 'cached' });
    assert.deepEqual(counts(a), counts(b));
    assert.deepEqual(a.properties, b.properties);
  });

  it('counts canonical states: the observers of C/CX do not change states or transitions', () => {
    for (const c of [
      { n: 4 },
      { n: 4, lock: 'spin_lock_irqsave', lat: true },
      { n: 3, target: 'any', wqLocal: true },
    ] as Partial<SimConfig>[]) {
      const all = explore(c, { traceStates: false });
      const noObs = explore({ ...c, properties: ['A', 'B', 'B2', 'D', 'E'] }, { traceStates: false });
      assert.deepEqual(counts(noObs), counts(all));
      assert.ok(all.storedStates > all.states, 'the product with observers is larger');
      assert.equal(noObs.storedStates, noObs.states);
      assert.equal(noObs.properties.C.checked, false);
      assert.equal(noObs.properties.A.trace!.length, all.properties.A.trace!.length);
    }
  });

  it('stops at the state cap with a clear message', () => {
    const r = explore({ n: 5, maxStates: 100 });
    assert.equal(r.capped, true);
    assert.match(r.message!, /state cap reached: more than 100 states stored \(maxStates=100\)/);
    assert.ok(r.storedStates <= 100 + 16);
    for (const p of Object.values(r.properties)) assert.equal(p.conclusive, p.violated);
    assert.equal(explore({ n: 5 }).capped, false);
  });

  it('rejects configurations the model cannot represent', () => {
    assert.throws(() => explore({ n: 0 }), RangeError);
    assert.throws(() => explore({ n: 15 }), RangeError);
    assert.throws(() => explore({ lock: 'rwlock' as never }), RangeError);
    assert.throws(() => explore({ maxStates: 0 }), RangeError);
  });

  it('models a plain get_buf drain without disable/enable_cb (DRAIN 1)', () => {
    const r = explore({ n: 3, drain: 'plain' });
    const cmds = new Set(
      Object.values(r.properties)
        .flatMap(p => p.trace ?? [])
        .map(s => s.cmd),
    );
    for (const w of ['W2', 'W4', 'W5']) assert.equal(cmds.has(w as never), false, w);
    // Callbacks stay enabled, so nothing is lost with a prompt device; IRQ_NONE stays reachable.
    assert.equal(r.properties.E.violated, false);
    assert.equal(r.properties.A.violated, true);
    // With EVENT_IDX each get_buf publishes used_event itself (shadow flag clear).
    const ev = explore({ n: 2, drain: 'plain', eventIdx: true });
    const g = ev.properties.A.trace!.find(s => s.cmd === 'W3' && /buffer/.test(s.description))!;
    assert.equal(g.stateAfter!.used_event, g.stateAfter!.last_used);
  });

  it('is fast: default model N=3 well under 0.5 s, N=5 under 5 s', () => {
    let t = performance.now();
    explore({ n: 3 });
    assert.ok(performance.now() - t < 500);
    t = performance.now();
    explore({ n: 5, target: 'any', wqLocal: true, lat: true, stale: 'cached', cbLock: true });
    assert.ok(performance.now() - t < 5000);
  });

  it('TARGET=any: an IRQ on the other CPU during the handler masks the vector; the PBA bit is replayed to either CPU', () => {
    const tr = new Transitions(resolveConfig({ n: 3, target: 'any' }));
    const seen = new Set<string>();
    let frontier = [tr.initial()];
    const replayTargets = new Set<number>();
    let maskedI0 = 0;
    while (frontier.length) {
      const next: Int32Array[] = [];
      for (const s of frontier) {
        tr.expand(s, (code, t) => {
          if (code >> 6) replayTargets.add((code >> 6) - 1);
          if (KIND_IDS[codeKind(code)] === 'I0' && t[MASKED] === 1 && s[MASKED] === 0) maskedI0++;
          const k = t.join();
          if (!seen.has(k)) {
            seen.add(k);
            next.push(Int32Array.from(t));
          }
        });
      }
      frontier = next;
    }
    assert.ok(maskedI0 > 0);
    assert.deepEqual([...replayTargets].sort(), [0, 1]);
  });

  it('keeps the state vector within 64 bits for the largest N', () => {
    const cfg = resolveConfig({ n: 14, target: 'any', wqLocal: true, lat: true, stale: 'cached', eventIdx: true });
    const layout = new Layout(cfg);
    const s = new Int32Array(FIELD_COUNT);
    s[0] = 14;
    s[1] = 13;
    s[NONES] = 9;
    s[HANDLED] = 5;
    const lo = layout.pack(s),
      hi = layout.hi;
    const back = new Int32Array(FIELD_COUNT);
    layout.unpack(hi, lo, back);
    assert.deepEqual(Array.from(back), Array.from(s));
    // The observers live only in the high word, outside the canonical mask.
    const o = new Int32Array(FIELD_COUNT);
    o[NONES] = 14;
    o[HANDLED] = 14;
    assert.equal(layout.pack(o), 0);
    assert.notEqual(layout.hi, 0);
    assert.equal(layout.hi & layout.canonHiMask, 0);
  });
});
