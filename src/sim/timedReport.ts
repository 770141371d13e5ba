// Text and JSON for a timed comparison (SIM-MODEL.md §7, version 2). Every sentence is derived
// from the run, or restates §6.1 (the ring bound) or §10, and claims no more: a statement about
// note_interrupt() is a statement about this run and its settings.

import { masksHardIrqs } from './model';
import type { Arrival, TimedComparison, TimedParams, TimedRun } from './timed';

/** The §6.1 ring bound as the caller decided it from the code (conditions 1 and 2). */
export interface RingBound {
  applies: boolean;
  /** R, the ring size the bound is stated for. */
  ring: number;
  /** Why the bound does not apply (shown when `applies` is false). */
  why: string;
}

/** "nobody cared" needs more than 99,900 of 100,000 unhandled: at most 99 handled, so 99,901 <= 100 R (§6.1). */
const BOUND_MIN_RING = 1000;

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

function buffers(n: number): string {
  return n === 1 ? '1 buffer was' : `${n} buffers were`;
}

function arrivalText(a: Arrival): string {
  return a.kind === 'poisson'
    ? `Poisson, mean gap ${a.meanGapUs} us`
    : a.kind === 'periodic'
      ? `periodic, gap ${a.gapUs} us`
      : `bursts of ${a.burstSize} completions ${a.intraGapUs} us apart, ${a.interGapUs} us before each burst`;
}

/** Every setting the run used, as (name, value) lines for the header. */
export function timedSettings(p: TimedParams): [string, string][] {
  const target =
    p.target === 'same'
      ? 'same: every MSI goes to CPU 0'
      : p.target === 'other'
        ? 'other: every MSI goes to CPU 1'
        : `any: the vector's affinity starts on CPU 0 and moves to the other CPU at random instants (exponential, mean ${p.affinityMeanUs} us)`;
  const wq =
    p.wq === 'local'
      ? 'local: an idle work item is queued on the CPU that took the interrupt; while it runs it stays on its CPU (__queue_work)'
      : 'pinned: the work item always runs on CPU 0';
  const device =
    p.device === 'prompt'
      ? "prompt: reads the driver's current suppression state"
      : p.device === 'lax'
        ? 'lax: notifies for every used buffer, even when suppressed (allowed: suppression is a SHOULD NOT)'
        : `cached: reads a private copy of the suppression state, refreshed at random instants (exponential, mean ${p.cacheRefreshUs} us); violates the VIRTIO spec`;
  const notify = p.notify === 'event-idx' ? 'EVENT_IDX (used_event, vring_need_event)' : 'flags (VRING_AVAIL_F_NO_INTERRUPT)';
  const fixed = `${p.msiLatencyUs} us${p.msiJitterUs > 0 ? ` + uniform [0, ${p.msiJitterUs}) us` : ''}`;
  const latency = p.latency
    ? `on (LAT=1): each MSI is in flight ${fixed} + exponential (mean ${p.msiLateMeanUs} us) after the decision, and latches separately; the device does not wait for it`
    : `off (LAT=0): each MSI latches ${fixed} after the decision; the device publishes nothing before it has latched`;
  const drain =
    p.drain === 'recheck'
      ? 'recheck: lock; do { disable_cb; while (get_buf) ...; } while (!enable_cb); unlock'
      : p.drain === 'plain'
        ? 'plain: lock; while (get_buf) ...; unlock (callbacks never disabled)'
        : 'relock: lock; while (get_buf) { unlock; handle; lock; } unlock (the lock is dropped after each buffer)';
  const ring =
    `${p.ring} requests outstanding at most; ` +
    (p.ringCond1
      ? "a consumed buffer's replacement is submitted at the next unlock of the drain's lock (§6.1 condition 1)"
      : "a consumed buffer's replacement is submitted at once");
  return [
    ['lock as written', `${p.lock} (compared with spin_lock_irqsave)`],
    ['IRQ target', target],
    ['work locality', wq],
    ['device', device],
    ['notification', notify],
    ['MSI latency', latency],
    ['drain shape', drain],
    [
      'callback',
      p.cbLock
        ? "takes the drain's lock around schedule_work (spin_lock in hard-IRQ context)"
        : "does not take the drain's lock (schedule_work only)",
    ],
    ['ring R', ring],
    ['completions', String(p.completions)],
    ['seed', String(p.seed)],
    ['arrival', arrivalText(p.arrival)],
    ['HZ', String(p.hz)],
    [
      'costs (us)',
      `decision ${p.decisionDelayUs}, handler ${p.handlerUs} (callback at ${p.callbackAtUs}), wake ${p.wakeUs}, re-run ${p.rerunUs}, ` +
        `disable_cb ${p.disableCbUs}, get_buf ${p.getBufUs}, NULL get_buf ${p.nullGetBufUs}, enable_cb window ${p.enableCbWindowUs}, ` +
        `completion ${p.completeUs} per request`,
    ],
  ];
}

function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - s.length));
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

function runLine(r: TimedRun): string[] {
  return [
    r.lock,
    String(r.completions),
    String(r.interrupts),
    String(r.handled),
    String(r.unhandled),
    pct(r.unhandledFraction),
    String(r.maxUnhandledAtCheck),
    String(r.maxConsumedPerHold),
    String(r.maxConsumedPerRun),
    r.longestLockHoldUs.toFixed(1),
    r.nobodyCared
      ? `yes: t=${(r.nobodyCared.timeUs / 1e6).toFixed(6)} s, jiffies=${r.nobodyCared.jiffies}, return #${r.nobodyCared.interruptIndex}`
      : r.deadlock
        ? `no (AA deadlock at t=${(r.deadlock.timeUs / 1e6).toFixed(6)} s)`
        : 'no',
  ];
}

/** The §6.1 line printed next to the measured fractions. */
function boundLine(bound: RingBound): string {
  if (!bound.applies) return `The ring bound (docs/model.md#the-ring-bound) does not apply: ${bound.why}`;
  const r = bound.ring;
  return (
    `Ring bound (docs/model.md#the-ring-bound): unhandled fraction ≤ R/(R+1) = ${r}/${r + 1} = ${pct(r / (r + 1))}; ` +
    `'nobody cared' needs R ≥ ${BOUND_MIN_RING} (ring R = ${r} here).`
  );
}

/** The summary's sentences, each derived from the two runs (or §6.1/§7/§10), for this run only. */
export function timedSentences(t: TimedComparison, bound?: RingBound): string[] {
  const p = t.params,
    s: string[] = [];
  const runs = t.asIs === t.irqsave ? [t.asIs] : [t.asIs, t.irqsave];
  for (const r of runs) {
    if (r.deadlock) {
      s.push(
        `With ${r.lock}, at t=${(r.deadlock.timeUs / 1e6).toFixed(6)} s the callback on CPU ${r.deadlock.cpu} spun on the lock held by the work ` +
          `it had interrupted on the same CPU: an AA deadlock (property D). Nothing can release the lock, so this run stops there, ` +
          `after ${r.interrupts} handler returns.`,
      );
    } else if (r.nobodyCared) {
      const nc = r.nobodyCared;
      s.push(
        `With ${r.lock}, note_interrupt() printed "${nc.message}" in this run at t=${(nc.timeUs / 1e6).toFixed(6)} s ` +
          `(handler return #${nc.interruptIndex}, ${nc.unhandledInWindow} of the 100,000 returns of that window unhandled) and disabled the line.`,
      );
    } else if (r.windowChecks === 0) {
      s.push(
        `With ${r.lock}, "nobody cared" did not fire in this run: ${pct(r.unhandledFraction)} of ${r.interrupts} handler returns were IRQ_NONE, ` +
          'and no 100,000-return window of note_interrupt() completed, so the rule was never checked.',
      );
    } else {
      s.push(
        `With ${r.lock}, "nobody cared" did not fire in this run: ${pct(r.unhandledFraction)} of ${r.interrupts} handler returns were IRQ_NONE, ` +
          `and at most ${r.maxUnhandledAtCheck} of a 100,000-return window were unhandled at a check (the rule needs more than 99,900).`,
      );
    }
  }
  if (runs.length === 1) {
    s.push('The code already takes the lock with spin_lock_irqsave, so there is no second run.');
  } else {
    const a = t.asIs,
      b = t.irqsave;
    const same = a.handled === b.handled && a.unhandled === b.unhandled && a.consumed === b.consumed;
    if (masksHardIrqs(a.lock)) {
      s.push(`${a.lock} already masks local IRQs like spin_lock_irqsave; the two runs differ only in the lock's name.`);
    } else if (same) {
      s.push("Both runs gave the same counts: masking local IRQs on the work's CPU changed nothing in this run.");
    } else {
      const d = b.unhandledFraction - a.unhandledFraction;
      s.push(
        `In this run the unhandled fraction was ${pct(a.unhandledFraction)} with ${a.lock} and ${pct(b.unhandledFraction)} with spin_lock_irqsave` +
          (d > 0 ? ' (higher with irqsave).' : d < 0 ? ' (lower with irqsave).' : '.'),
      );
    }
  }
  const holds = runs.map(r => r.maxConsumedPerHold);
  s.push(
    runs.length === 2 && holds[0] !== holds[1]
      ? `At most ${holds[0]} (${t.asIs.lock}) and ${holds[1]} (spin_lock_irqsave) buffers were consumed in one lock hold (ring R = ${p.ring}).`
      : `At most ${buffers(holds[0])} consumed in one lock hold (ring R = ${p.ring}).`,
  );
  if (p.drain === 'relock') {
    const perRun = Math.max(...runs.map(r => r.maxConsumedPerRun));
    s.push(
      `The relock drain takes the lock once per buffer, so one work run is not one hold: one run consumed up to ${perRun} ${perRun === 1 ? 'buffer' : 'buffers'} here` +
        (perRun > p.ring ? `, more than R = ${p.ring}.` : '.'),
    );
  }
  if (bound) {
    s.push(boundLine(bound));
    if (bound.applies && bound.ring !== p.ring) s.push(`This run simulated R = ${p.ring}, not the R = ${bound.ring} of the bound.`);
    if (bound.applies && !p.ringCond1)
      s.push("This run did not simulate §6.1 condition 1 (replacements were submitted at once, not under the drain's lock).");
    if (bound.applies && p.drain === 'relock') {
      s.push(
        '§6.1 counts one lock hold per work run; with the lock dropped per buffer that premise does not hold, so the bound is not established for this drain.',
      );
    }
    if (bound.applies && bound.ring < BOUND_MIN_RING && runs.some(r => r.nobodyCared)) {
      // Cannot happen when the premises hold; say so rather than hide it.
      s.push(
        `This run fired although §6.1 excludes it for R < ${BOUND_MIN_RING}: the simulated settings do not meet one of its premises ` +
          '(for example MSIs that stay in flight and latch separately instead of coalescing).',
      );
    }
  }
  for (const r of runs) {
    if (r.longestCallbackSpinUs > 0) {
      s.push(
        `With ${r.lock}, a callback spun up to ${r.longestCallbackSpinUs.toFixed(2)} us on the lock while the work held it on the other CPU.`,
      );
    }
  }
  const lost = runs.filter(r => r.lostCompletions > 0);
  for (const r of lost) {
    s.push(
      `With ${r.lock}, ${r.lostCompletions} published ${r.lostCompletions === 1 ? 'buffer was' : 'buffers were'} never consumed and nothing more could happen: ` +
        (p.device === 'cached'
          ? 'the cached device withheld a notification the driver had asked for, so the queue stopped (a lost completion, E; docs/model.md#what-irqsave-guarantees: the lock kind has no effect on it).'
          : 'the queue stopped (a lost completion, E).'),
    );
  }
  if (runs.some(r => r.nobodyCared)) {
    s.push(
      'After "nobody cared" the line stays disabled: poll_spurious_irqs() polls only IRQF_SHARED actions, and virtio-pci requests ' +
        'its per-queue MSI-X vectors without IRQF_SHARED, so this virtqueue completes nothing more until the device is reset ' +
        '(for virtio-fs, the file system hangs). Booting with "irqpoll", as the message suggests, does not help for the same reason.',
    );
  }
  s.push('These numbers hold for the timing assumptions above; other timings give other fractions.');
  return s;
}

/**
 * The header (every setting used), the table of both runs, and the summary sentences; the §6.1
 * bound, when given, is printed next to the measured fractions.
 */
export function renderTimed(t: TimedComparison, bound?: RingBound): string {
  const settings = timedSettings(t.params);
  const w = Math.max(...settings.map(([k]) => k.length));
  const header = ['Timed mode (docs/model.md#timed-mode)', ...settings.map(([k, v]) => `  ${pad(k, w)}  ${v}`)].join('\n');
  const rows = [
    [
      'lock',
      'completions',
      'interrupts',
      'HANDLED',
      'NONE',
      'fraction',
      'max at check',
      'max per hold',
      'max per run',
      'longest hold us',
      'nobody cared',
    ],
    ...(t.asIs === t.irqsave ? [runLine(t.asIs)] : [runLine(t.asIs), runLine(t.irqsave)]),
  ];
  const parts = [header, '', table(rows)];
  if (bound) parts.push('', boundLine(bound));
  const sentences = timedSentences(t, bound).filter(x => !bound || x !== boundLine(bound));
  parts.push('', sentences.join(' '));
  return parts.join('\n') + '\n';
}

/** JSON: every setting, both runs (series as given), the bound and the summary sentences. */
export function timedJson(t: TimedComparison, bound?: RingBound): object {
  return {
    params: t.params,
    asIs: t.asIs,
    irqsave: t.irqsave,
    ...(bound
      ? { bound: { ...bound, ...(bound.applies ? { fraction: bound.ring / (bound.ring + 1), nobodyCaredNeedsRing: BOUND_MIN_RING } : {}) } }
      : {}),
    summary: timedSentences(t, bound),
  };
}
