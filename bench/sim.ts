// Simulator benchmark: reachable states / transitions (SIM-MODEL.md §4 counting) for N=2..5
// over the §9 main table and its extra variants, the §9.1 version-2 configurations (drain shape
// x lock x environment x notification x device, N=3 and 4, and NAPI), then timings of the default model (N=3),
// N=5 and the timed mode at 1,000,000 completions.
//
//   node scripts/build.mjs && node out/bench/sim.js [--quick]
//
// Counts are deterministic; timings are medians of a few runs on this machine.

import { DRAIN_SHAPES, LockKind, SimConfig, Stale, Target, explore, runTimed, simulateTimed } from '../src/sim';

interface Row {
  lock: LockKind;
  target: Target;
  stale: Stale;
  cbLock: boolean;
}

// §9 main table; spin_lock stands for spin_lock, _bh and mutex (identical state spaces).
const ROWS: Row[] = [];
for (const lock of ['spin_lock', 'spin_lock_irqsave'] as LockKind[]) {
  for (const target of ['same', 'other'] as Target[]) {
    for (const stale of ['prompt', 'cached'] as Stale[]) {
      for (const cbLock of [false, true]) ROWS.push({ lock, target, stale, cbLock });
    }
  }
}

const VARIANTS: { name: string; apply: (r: Row) => Partial<SimConfig> | null }[] = [
  { name: 'main', apply: r => r },
  { name: 'LAT=1', apply: r => ({ ...r, lat: true }) },
  { name: 'STALE=lax', apply: r => (r.stale === 'prompt' ? { ...r, stale: 'lax' } : null) },
  { name: 'EVIDX=1', apply: r => ({ ...r, eventIdx: true }) },
  { name: 'WQLOCAL other', apply: r => (r.target === 'other' ? { ...r, wqLocal: true } : null) },
  { name: 'WQLOCAL any', apply: r => (r.target === 'other' ? { ...r, wqLocal: true, target: 'any' } : null) },
];

const NS = [2, 3, 4, 5];

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time and median CPU time (user + system) of `runs` calls, in ms. */
function time(f: () => void, runs: number): string {
  const wall: number[] = [],
    cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return `${median(wall).toFixed(1)} ms wall, ${median(cpu).toFixed(1)} ms CPU`;
}

function counts(): void {
  console.log('Reachable states / transitions (SIM-MODEL.md §4 counting). spin_lock rows stand for spin_lock,');
  console.log('spin_lock_bh, mutex and no lock, whose state spaces are identical (test/sim/verdicts.test.ts checks it).\n');
  console.log('Version 1 table (§9): WQLOCAL=0, flags mode unless the variant says otherwise.');
  const head = ['variant', 'lock', 'irq', 'device', 'cb', ...NS.map(n => `N=${n} states/transitions`)];
  const widths = [14, 18, 6, 7, 4, ...NS.map(() => 24)];
  console.log(head.map((h, i) => pad(h, widths[i], i >= 5)).join(' '));
  for (const v of VARIANTS) {
    for (const r of ROWS) {
      const c = v.apply(r);
      if (!c) continue;
      const cells = NS.map(n => cellFor({ wqLocal: false, ...c, n }));
      const row = [v.name, r.lock, c.target ?? r.target, c.stale ?? r.stale, r.cbLock ? 'yes' : 'no', ...cells];
      console.log(row.map((x, i) => pad(x, widths[i], i >= 5)).join(' '));
    }
  }
  countsV2();
}

function cellFor(c: Partial<SimConfig>): string {
  const res = explore(c, { traceStates: false });
  return res.capped ? 'capped' : `${res.states}/${res.transitions}`;
}

// §9.1 (version 2): CBLOCK 0, LAT 0. "same local" = TARGET same, WQLOCAL=1; "any local" = TARGET
// any, WQLOCAL=1; "other pinned" = TARGET other, WQLOCAL=0.
const ENVS: [string, Partial<SimConfig>][] = [
  ['same local', { target: 'same', wqLocal: true }],
  ['any local', { target: 'any', wqLocal: true }],
  ['other pinned', { target: 'other', wqLocal: false }],
];
const NS_V2 = [3, 4];

function countsV2(): void {
  console.log('\nVersion 2 (§9.1): CBLOCK=0, LAT=0; simulate flag names.');
  const head = ['drain', 'lock', 'environment', 'notify', 'device', ...NS_V2.map(n => `N=${n} states/transitions`)];
  const widths = [8, 18, 13, 10, 7, ...NS_V2.map(() => 24)];
  const line = (r: string[]) => console.log(r.map((x, i) => pad(x, widths[i], i >= 5)).join(' '));
  line(head);
  for (const drain of DRAIN_SHAPES) {
    for (const lock of ['spin_lock', 'spin_lock_irqsave'] as LockKind[]) {
      for (const [env, e] of ENVS) {
        for (const eventIdx of [false, true]) {
          for (const stale of ['prompt', 'lax'] as Stale[]) {
            line([
              drain,
              lock,
              env,
              eventIdx ? 'event-idx' : 'flags',
              stale,
              ...NS_V2.map(n => cellFor({ ...e, drain, lock, eventIdx, stale, n })),
            ]);
          }
        }
      }
    }
  }
  for (const [env, e] of ENVS.slice(0, 2)) {
    for (const eventIdx of [false, true]) {
      for (const stale of ['prompt', 'cached', 'lax'] as Stale[]) {
        line([
          'napi',
          'none',
          env,
          eventIdx ? 'event-idx' : 'flags',
          stale,
          ...NS_V2.map(n => cellFor({ ...e, napi: true, lock: 'none', eventIdx, stale, n })),
        ]);
      }
    }
  }
}

function timings(quick: boolean): void {
  const runs = quick ? 1 : 5;
  console.log('');
  console.log(
    `default model (spin_lock, same CPU, work local, prompt, flags), N=3, all properties: ${time(() => explore({ n: 3 }), runs)}`,
  );
  console.log(`default model, N=5, all properties: ${time(() => explore({ n: 5 }), runs)}`);
  const big: Partial<SimConfig> = { n: 5, target: 'any', wqLocal: true, lat: true, stale: 'cached', cbLock: true, eventIdx: true };
  const r = explore(big, { traceStates: false });
  console.log(
    `largest variant (any, WQLOCAL, LAT, cached, cb-lock, EVIDX), N=5: ${r.states} states, ` +
      `${r.storedStates} stored with observers: ${time(() => explore(big), runs)}`,
  );
  const tRuns = quick ? 1 : 3;
  let last = simulateTimed({ completions: 1 });
  console.log(
    `timed mode, 1,000,000 completions, one run: ${time(() => {
      runTimed({ completions: 1_000_000 });
    }, tRuns)}`,
  );
  for (const notify of ['event-idx', 'flags'] as const) {
    const both = time(() => {
      last = simulateTimed({ completions: 1_000_000, notify });
    }, tRuns);
    console.log(
      `timed mode (${notify}, R=${last.params.ring}), 1,000,000 completions, as written + irqsave (two runs): ${both} ` +
        `(unhandled ${(100 * last.asIs.unhandledFraction).toFixed(2)}% / ${(100 * last.irqsave.unhandledFraction).toFixed(2)}%)`,
    );
  }
}

const quick = process.argv.includes('--quick');
counts();
timings(quick);
