// Renderers for exploration and timed results: a before/after verdict table, lockdep-style
// counterexample scenarios, JSON, and a summary whose every sentence is derived from results.
// Wording follows SIM-MODEL.md §10 and claims no more than it.

import { Comparison } from './compare';
import { ExploreResult, PropertyResult } from './explore';
import { PROPERTY_IDS, PROPERTY_TITLES, PropertyId, SimConfig, Stale, describeConfig, masksHardIrqs } from './model';
import { TraceStep } from './trace';

export interface Loc {
  file: string;
  line: number;
}

/** Where the modelled code lives in the driver (1-based lines). */
export interface SourceMap {
  callback?: Loc;
  schedule?: Loc;
  lock?: Loc;
  drain?: Loc;
  unlock?: Loc;
  /** DRAIN 2: the unlock inside the drain loop (W8) and the re-lock (W9). */
  dropUnlock?: Loc;
  relock?: Loc;
  enableCb?: Loc;
  disableCb?: Loc;
  handler?: Loc;
}

/** The source location a step stands for, if the map has one. */
export function stepLoc(step: TraceStep, map: SourceMap | undefined): Loc | undefined {
  if (!map) return undefined;
  switch (step.cmd) {
    // I1 and I1e are vring_interrupt() (drivers/virtio/virtio_ring.c), which the text names: not
    // in the driver, so no line of the driver stands for them.
    case 'I2a':
      return map.callback;
    case 'I2':
    case 'I2b':
    case 'I2n':
      return map.schedule ?? map.callback;
    case 'W0':
    case 'P0':
      return map.handler;
    case 'W1':
      return map.lock;
    case 'W2':
      return map.disableCb;
    case 'W3':
    case 'P1':
      return map.drain;
    case 'W4':
    case 'W5':
    case 'P2':
    case 'P4':
      return map.enableCb;
    case 'W6':
      return map.unlock;
    case 'W8':
      return map.dropUnlock;
    case 'W9':
      return map.relock;
    default:
      return undefined;
  }
}

const formatLoc = (l: Loc): string => `${l.file}:${l.line}`;

// ---------------------------------------------------------------- (a) verdict table

function cell(p: PropertyResult): string {
  if (!p.checked) return 'not checked';
  if (p.violated) return `V (${p.trace!.length} steps)`;
  return p.conclusive ? '-' : '? (capped)';
}

function pad(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c, widths[i]))
      .join('  ')
      .trimEnd();
  const sep = widths.map(w => '-'.repeat(w)).join('  ');
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join('\n');
}

/**
 * A property's question for this configuration: B and B2 ask about the drain's critical section,
 * which is "while the drain holds the lock" only where it takes one (a NAPI poll and a drain with
 * no lock have none: the question is the drain itself).
 */
export function propertyTitle(id: PropertyId, config: SimConfig): string {
  if (!(config.napi || config.lock === 'none')) return PROPERTY_TITLES[id];
  const cpu = config.napi ? "the poll's CPU" : "the work's CPU";
  if (id === 'B') return `IRQ_NONE on ${cpu} while it drains`;
  if (id === 'B2') return 'IRQ_NONE on any CPU while the drain runs';
  return PROPERTY_TITLES[id];
}

/** Plain-text table: one row per property, the code as written vs the irqsave fix. */
export function renderVerdictTable(cmp: Comparison): string {
  const { before, after } = cmp;
  const rows: string[][] = [['property', 'question', `as written (${before.config.lock})`, `with ${after.config.lock}`]];
  for (const id of PROPERTY_IDS) rows.push([id, propertyTitle(id, before.config), cell(before.properties[id]), cell(after.properties[id])]);
  rows.push(['', 'states / transitions', `${before.states} / ${before.transitions}`, `${after.states} / ${after.transitions}`]);
  const head = `Environment: ${describeConfig(before.config).replace(`${before.config.lock}, `, '')}`;
  const notes: string[] = ['V = violation reachable (shortest counterexample length), - = holds in the explored model.'];
  for (const r of [before, after]) {
    if (r.capped) notes.push(`${r.config.lock}: ${r.message}`);
    if (r.illegal) notes.push(`${r.config.lock}: illegal: ${r.illegal}.`);
  }
  return `${head}\n\n${table(rows)}\n\n${notes.join('\n')}\n`;
}

/** NAPI (VRL002): the code as written under both kinds of device, side by side. */
export function renderDeviceTable(before: ExploreResult, contrast: { device: Stale; result: ExploreResult }): string {
  const runs = [before, contrast.result];
  const name = (r: ExploreResult) =>
    r.config.stale === 'cached' ? 'cached (caches the suppression state)' : `${r.config.stale} (compliant)`;
  const rows: string[][] = [['property', 'question', ...runs.map(name)]];
  for (const id of PROPERTY_IDS) rows.push([id, propertyTitle(id, before.config), ...runs.map(r => cell(r.properties[id]))]);
  rows.push(['', 'states / transitions', ...runs.map(r => `${r.states} / ${r.transitions}`)]);
  return `${table(rows)}\n`;
}

// ---------------------------------------------------------------- (b) lockdep-style scenario

const MAX_COL = 64;

/**
 * A counterexample in the layout lockdep uses for "possible unsafe locking scenario": one
 * column per CPU plus one for the device, steps numbered in order.
 */
export function renderScenario(result: ExploreResult, id: PropertyId, map?: SourceMap): string {
  const p = result.properties[id];
  const title = `${id}: ${propertyTitle(id, result.config)}`;
  if (!p.trace) {
    const why = !p.checked ? 'not checked' : p.conclusive ? 'holds in the explored model' : 'no violation found before the state cap';
    return `${title}: ${why} (${describeConfig(result.config)}).\n`;
  }
  const cells: [string, string, string][] = p.trace.map(s => {
    const loc = stepLoc(s, map);
    let text = (s.actor === 'irq' ? '<IRQ> ' : '') + s.description + (loc ? `  [${formatLoc(loc)}]` : '');
    if (s.actor === 'fabric') text = `MSI latches on CPU ${s.cpu}`;
    const col: [string, string, string] = ['', '', ''];
    if (s.actor === 'device' || s.actor === 'fabric') col[2] = text;
    else col[s.cpu ?? 0] = text;
    return col;
  });
  const w0 = Math.min(MAX_COL, Math.max(4, ...cells.map(c => c[0].length)));
  const w1 = Math.min(MAX_COL, Math.max(4, ...cells.map(c => c[1].length)));
  const num = String(cells.length).length + 1;
  const row = (a: string, b: string, c: string, n = '') => `${pad(n, num + 1)} ${pad(a, w0)}   ${pad(b, w1)}   ${c}`.trimEnd();
  const out = [
    `${title}`,
    `Configuration: ${describeConfig(result.config)}`,
    `Shortest counterexample (breadth-first): ${p.trace.length} steps`,
    '',
    row('CPU0', 'CPU1', 'device'),
    row('----', '----', '------'),
    ...cells.map((c, i) => row(c[0], c[1], c[2], `${i + 1}.`)),
    '',
    `*** step ${p.trace.length} ${violationText(id)} ***`,
  ];
  return out.join('\n') + '\n';
}

function violationText(id: PropertyId): string {
  switch (id) {
    case 'A':
      return 'returns IRQ_NONE';
    case 'B':
      return "returns IRQ_NONE on the work's CPU while the work holds the lock";
    case 'B2':
      return 'returns IRQ_NONE while the work holds the lock';
    case 'C':
      return 'returns IRQ_NONE: now more than 2/3 of the handler returns were IRQ_NONE';
    case 'CX':
      return 'returns IRQ_NONE: 1 IRQ_HANDLED against N-1 or more IRQ_NONE';
    case 'D':
      return 'leaves the callback spinning on a lock its own CPU holds: deadlock';
    case 'E':
      return 'ends the run with used buffers that nothing will consume';
  }
}

/**
 * Every counterexample of a result, one scenario after another, each once: a property whose
 * shortest trace is another's is said so in one line.
 */
export function renderScenarios(result: ExploreResult, map?: SourceMap): string {
  const shown = new Map<string, PropertyId>();
  const out: string[] = [];
  for (const id of PROPERTY_IDS) {
    const t = result.properties[id].trace;
    if (!t) continue;
    const key = t.map(s => `${s.cmd}/${s.cpu ?? ''}/${s.description}`).join('|');
    const same = shown.get(key);
    if (same) {
      out.push(`${id}: ${propertyTitle(id, result.config)}: the counterexample of ${same} shows this too (step ${t.length}).\n`);
      continue;
    }
    shown.set(key, id);
    out.push(renderScenario(result, id, map));
  }
  return out.join('\n');
}

// ---------------------------------------------------------------- (c) JSON

interface JsonStep extends TraceStep {
  loc?: Loc;
}

export function resultToJson(r: ExploreResult, map?: SourceMap): object {
  const properties: Record<string, object> = {};
  for (const id of PROPERTY_IDS) {
    const p = r.properties[id];
    properties[id] = {
      title: p.title,
      checked: p.checked,
      violated: p.violated,
      conclusive: p.conclusive,
      trace: p.trace
        ? p.trace.map((s): JsonStep => {
            const loc = stepLoc(s, map);
            return loc ? { ...s, loc } : s;
          })
        : null,
    };
  }
  return {
    config: r.config,
    states: r.states,
    transitions: r.transitions,
    storedStates: r.storedStates,
    terminalStates: r.terminalStates,
    depth: r.depth,
    capped: r.capped,
    ...(r.message ? { message: r.message } : {}),
    ...(r.illegal ? { illegal: r.illegal } : {}),
    properties,
  };
}

export function comparisonToJson(cmp: Comparison, map?: SourceMap): object {
  return { before: resultToJson(cmp.before, map), after: resultToJson(cmp.after, map), summary: renderSummary(cmp) };
}

// ---------------------------------------------------------------- (d) summary

const SHORT: Readonly<Record<PropertyId, string>> = {
  A: 'IRQ_NONE',
  B: "IRQ_NONE on the work's CPU during the drain",
  B2: 'IRQ_NONE on any CPU during the drain',
  C: 'unhandled fraction above 2/3',
  CX: '1 handled against N-1 unhandled',
  D: 'AA deadlock with the callback',
  E: 'lost completion',
};

function list(ids: PropertyId[]): string {
  return ids.map(id => `${id} (${SHORT[id]})`).join(', ');
}

function violated(r: ExploreResult): PropertyId[] {
  return PROPERTY_IDS.filter(id => r.properties[id].checked && r.properties[id].violated);
}

function holds(r: ExploreResult, id: PropertyId): boolean {
  const p = r.properties[id];
  return p.checked && !p.violated && p.conclusive;
}

/** Why the unhandled ratio can be unbounded under irqsave, from the configuration. */
function irqsaveGaps(c: SimConfig): string[] {
  const why: string[] = [];
  if (c.target === 'other') why.push('the interrupt goes to another CPU, and irqsave masks only the local one');
  if (c.target === 'any') why.push('the interrupt can move to another CPU while the work runs on the old one');
  if (c.lat) why.push('MSIs in flight at the unlock land separately on an empty ring');
  if (c.drain === 'relock') why.push('the lock is dropped after each buffer, so local IRQs come back on between buffers');
  return why;
}

/** What the summary needs beyond the two results: the §6.1 bound as read from the code. */
export interface SummaryContext {
  ringBound?: { applies: boolean; ring: number; why: string };
  /** The ring size came from the user (--ring), not the default. */
  ringFromUser?: boolean;
  /** The same exploration with the other kind of device (NAPI): which verdicts need which device. */
  deviceContrast?: { device: Stale; result: ExploreResult };
}

/** The model document shipped with the extension; reports cite it. */
export const MODEL_DOC = 'docs/model.md';

function fractionText(r: number): string {
  return `${r}/${r + 1} = ${((100 * r) / (r + 1)).toFixed(r >= 1000 ? 3 : 2)}%`;
}

/** The §6.1 sentence: the bound with R, or why it does not apply. */
export function ringBoundSentence(b: NonNullable<SummaryContext['ringBound']>, fromUser = false): string {
  if (!b.applies) {
    return (
      `The ring bound (${MODEL_DOC}#the-ring-bound) does not apply here: ${b.why}; ` +
      'beyond the explored ratios, whether "nobody cared" can fire depends on timing (simulate --timed).'
    );
  }
  const rText = fromUser ? `R = ${b.ring}, from --ring` : `R = ${b.ring} assumed, QEMU's common queue size; --ring sets it`;
  return (
    `Ring bound (${MODEL_DOC}#the-ring-bound): ${b.why}, so one hold consumes at most R buffers and, with either lock, ` +
    `the unhandled fraction is at most R/(R+1), here ${fractionText(b.ring)} (${rText}); "nobody cared" needs R >= 1000, ` +
    'assuming the device sends at most one MSI per used buffer and that MSIs of one vector still in flight coalesce in the interrupt controller' +
    (b.ring < 1000 ? `, so at R = ${b.ring} this race alone cannot make note_interrupt() disable the line.` : '.')
  );
}

/** The summary's sentences, each generated from the two results; they claim no more than they show. */
export function summarySentences(cmp: Comparison, ctx: SummaryContext = {}): string[] {
  const { before, after } = cmp;
  const c = before.config;
  const s: string[] = [];
  const lockName = c.napi ? 'the NAPI poll' : c.lock === 'none' ? 'no lock' : c.lock;
  const env = describeConfig(c).replace(`${c.lock}, `, '');
  const b = before.properties.B;
  const whose = c.napi ? "the poll's CPU" : "the work's CPU";

  // The bottom line first.
  if (b.violated) {
    s.push(
      `Confirmed as written (${lockName}): an interrupt can land on ${whose} mid-drain and return IRQ_NONE (B, ${b.trace!.length} steps).`,
    );
  } else if (before.properties.A.violated) {
    s.push(
      `As written (${lockName}) IRQ_NONE is reachable (A, ${before.properties.A.trace!.length} steps)` +
        (holds(before, 'B') ? `, but never on ${whose} mid-drain (B holds) in this environment.` : '.'),
    );
  }
  const capped = before.capped || after.capped;
  s.push(
    `${capped ? 'Partial exploration, stopped at the state cap' : 'Exhaustive exploration'} (${env}): ` +
      (after === before
        ? `${before.states} states / ${before.transitions} transitions.`
        : `${before.states} states / ${before.transitions} transitions with ${c.lock}, ${after.states} / ${after.transitions} with ${after.config.lock}.`),
  );
  if (capped) s.push('The exploration hit its state cap, so properties reported as holding are unproven.');

  const vb = violated(before),
    va = violated(after);
  s.push(
    vb.length
      ? `As written (${lockName}) these are reachable: ${list(vb)}.`
      : `As written (${lockName}) none of the checked properties is violated.`,
  );
  if (before.illegal)
    s.push('As written the callback takes a mutex in hard-IRQ context, which is illegal (might_sleep() in kernel/locking/mutex.c).');

  if (!cmp.fixApplies) {
    s.push(
      c.napi
        ? 'The irqsave fix does not apply: a NAPI poll runs in softirq and takes no lock to change.'
        : c.lock === 'mutex'
          ? 'The irqsave fix does not apply: the drain holds a mutex, which may sleep and so cannot be held with hard IRQs off.'
          : 'The irqsave fix does not apply: the drain holds no lock to change.',
    );
    if (c.napi && ctx.deviceContrast) s.push(...deviceSentences(before, ctx.deviceContrast));
  } else if (masksHardIrqs(c.lock)) {
    s.push('The code already masks local IRQs while it holds the lock, so the fix changes nothing here.');
  } else {
    const a = after.properties.A;
    if (a.violated) {
      // Where the IRQ_NONE lands under irqsave follows from B2: if it holds, never during the drain.
      s.push(
        holds(after, 'B2')
          ? `With spin_lock_irqsave IRQ_NONE stays reachable (A, ${a.trace!.length} steps): the interrupt is only deferred to the unlock, and the ring is empty by then.`
          : `With spin_lock_irqsave IRQ_NONE stays reachable (A, ${a.trace!.length} steps), even during the drain (B2).`,
      );
    } else if (holds(after, 'A')) {
      s.push('With spin_lock_irqsave IRQ_NONE is not reachable in this configuration.');
    }
    const closed = vb.filter(id => holds(after, id));
    const kept = vb.filter(id => id !== 'A' && after.properties[id].violated);
    const added = va.filter(id => !before.properties[id].violated);
    if (closed.length) s.push(`Under the explored environment the fix closes ${list(closed)}.`);
    if (kept.length) s.push(`It does not close ${list(kept)}.`);
    if (added.length) s.push(`It makes reachable what was not before: ${list(added)}.`);
    if (c.drain === 'relock' && !after.properties.C.violated) {
      s.push(
        "Here the lock is dropped after each buffer and re-taken before the next, so irqsave masks local IRQs only within each hold; between buffers interrupts land on the work's CPU as before.",
      );
    }
  }

  if (cmp.fixApplies && !masksHardIrqs(c.lock) && after.properties.C.checked) {
    if (holds(after, 'C') && holds(before, 'C')) {
      s.push(`C holds with both locks at N=${c.n}, so this N is too small to tell them apart on the unhandled ratio.`);
    } else if (holds(after, 'C')) {
      s.push(
        `With irqsave no run here has more than 2 IRQ_NONE per IRQ_HANDLED (C holds at N=${c.n}): in this environment the unhandled fraction stays at most 2/3.`,
      );
    } else if (after.properties.C.violated) {
      const why = irqsaveGaps(c);
      s.push(
        `With irqsave more than 2 IRQ_NONE per IRQ_HANDLED are still reachable (C)${why.length ? `, because ${why.join(' and ')}` : ''}.`,
      );
    }
    if (after.properties.CX.violated && holds(after, 'C')) {
      s.push(
        `CX is still reachable with irqsave at N=${c.n} (1 IRQ_HANDLED against ${c.n - 1} IRQ_NONE), within the 2/3 bound that C checks.`,
      );
    }
  }
  if (ctx.ringBound) s.push(ringBoundSentence(ctx.ringBound, ctx.ringFromUser));
  if (before.properties.E.violated || after.properties.E.violated) {
    if (!c.napi) {
      s.push(
        `Lost completions (E) are reachable ${before.properties.E.violated && after.properties.E.violated ? 'with both locks' : 'in one variant'}` +
          (c.stale === 'cached'
            ? ': they need a device that caches the suppression state, which violates the VIRTIO spec; the lock kind has no effect on them.'
            : '.'),
      );
    }
  }
  if (cmp.fixApplies && !masksHardIrqs(c.lock) && c.drain === 'relock') {
    s.push(
      "What the fix costs: with irqsave local IRQs are off on the work's CPU while each buffer is taken, from the lock to the unlock after it.",
    );
  } else if (cmp.fixApplies && !masksHardIrqs(c.lock)) {
    s.push(
      ctx.ringBound?.applies
        ? `What the fix costs: with irqsave local IRQs are off on the work's CPU for up to R = ${ctx.ringBound.ring} get_buf iterations per hold.`
        : "What the fix costs: the drain loop has no budget, so with irqsave local IRQs stay off on the work's CPU for as long as it keeps finding buffers.",
    );
  }
  // The caveats of the model (docs/model.md, "What the model leaves out").
  if (c.cbLock && !masksHardIrqs(c.lock) && holds(before, 'D')) {
    s.push(
      `Deadlock (D) is not reachable in this environment, but lockdep still reports the lock as taken in hard IRQ by the callback and with IRQs on by the work (${MODEL_DOC}#lockdep).`,
    );
  }
  if (b.violated && (c.lock === 'spin_lock' || c.lock === 'spin_lock_bh')) {
    s.push(
      'With threadirqs on a kernel without PREEMPT_RT, vring_interrupt() runs in a thread that cannot preempt the spin_lock() holder, so B is not reachable there even as written; ' +
        `on PREEMPT_RT spin_lock_irqsave() does not disable IRQs, so the fix changes nothing there (${MODEL_DOC}#threaded-interrupts).`,
    );
  }
  if (b.violated && c.napi) {
    // A softirq (or a threaded NAPI poll) runs with bottom halves off, so preemption is off too.
    s.push(
      'With threadirqs on a kernel without PREEMPT_RT, vring_interrupt() runs in a thread that cannot preempt the poll (it runs with bottom halves, and so preemption, off), ' +
        `so B is not reachable there even as written (${MODEL_DOC}#threaded-interrupts).`,
    );
  }
  s.push(
    "The race needs vring_interrupt() to be the queue's own MSI-X vector handler: where vp_find_vqs() falls back to shared vectors (vp_vring_interrupt()), " +
      `an interrupt returns IRQ_NONE only if every queue on its vector is empty (${MODEL_DOC}#shared-vectors).`,
  );
  s.push(`These verdicts hold for the model in ${MODEL_DOC} (sequential consistency, split ring, no PREEMPT_RT).`);
  return s;
}

/**
 * Which verdicts hold with a compliant device and which need one that caches the suppression
 * state (the RFC: "hardware devices might cache the value"), from the two explorations.
 */
export function deviceSentences(before: ExploreResult, contrast: { device: Stale; result: ExploreResult }): string[] {
  const c = before.config;
  const cachedRun = c.stale === 'cached' ? before : contrast.result;
  const compliantRun = c.stale === 'cached' ? contrast.result : before;
  const compliantName = c.stale === 'cached' ? contrast.device : c.stale;
  const vComp = violated(compliantRun);
  const vCache = violated(cachedRun);
  const onlyCached = vCache.filter(id => !compliantRun.properties[id].violated);
  const onlyCompliant = vComp.filter(id => !cachedRun.properties[id].violated);
  const s = [
    `With a compliant device (--device ${compliantName}) ${vComp.length ? `these are reachable: ${list(vComp)}` : 'none of the checked properties is violated'}; ` +
      `with a device that caches the suppression state (--device cached, which the VIRTIO spec does not allow) ${vCache.length ? list(vCache) : 'none'}.`,
  ];
  if (onlyCached.length) {
    s.push(
      `So ${list(onlyCached)} need${onlyCached.length === 1 ? 's' : ''} the caching device${vComp.length ? `; ${vComp.join(', ')} need${vComp.length === 1 ? 's' : ''} no misbehaving device` : ''}.`,
    );
  } else if (vComp.length) {
    s.push('So every violation here is reachable with a compliant device: the caching device adds none.');
  }
  if (onlyCompliant.length) s.push(`Reachable with the compliant device only: ${list(onlyCompliant)}.`);
  if (before.capped || contrast.result.capped) s.push('One of the two explorations hit its state cap, so the comparison is partial.');
  return s;
}

/** The summary as one paragraph. */
export function renderSummary(cmp: Comparison, ctx: SummaryContext = {}): string {
  return summarySentences(cmp, ctx).join(' ');
}
