// The result of the simulate command, as the server sends it and the views show it. Plain JSON.

export { PROPERTY_IDS, PROPERTY_TITLES, type PropertyId } from '../sim/properties';
import type { PropertyId } from '../sim/properties';

export interface TraceStep {
  /** 1-based step number. */
  n: number;
  /** The column it belongs in: 'device', 'CPU0', 'CPU1' (or 'fabric' for in-flight MSIs). */
  lane: string;
  /** The model command, e.g. D1, I1, W3. */
  command: string;
  text: string;
  /** The source line this step stands for, when it stands for one. */
  loc?: { file: string; line: number };
  /**
   * Optional: the step runs in hard-IRQ context (the trace's actor is 'irq'). Without it the view
   * recognises the handler's steps by their text.
   */
  irq?: boolean;
}

export interface PropertyResult {
  violated: boolean;
  trace: TraceStep[];
}

export interface ExploreResult {
  states: number;
  transitions: number;
  capped: boolean;
  message?: string;
  properties: Record<PropertyId, PropertyResult>;
}

export interface TimedSeriesPoint {
  /** Interrupts handled so far (x axis). */
  interrupts: number;
  /** Unhandled fraction of the current note_interrupt() window. */
  fraction: number;
}

export interface TimedResult {
  completions: number;
  handled: number;
  unhandled: number;
  fraction: number;
  nobodyCared: boolean;
  /** When "irq N: nobody cared" would be printed, if it would. */
  firedAt?: { interrupt: number; seconds: number };
  series: TimedSeriesPoint[];
}

export interface SimulationResult {
  handler: string;
  file: string;
  line: number;
  /**
   * Every setting used (read from the code, then overridden by options), under the CLI's flag
   * names: lock, irq, wq, drain, notify, device, latency, callbackLocks, napi, buffers, ring,
   * timed, completions, and ringBound ('applies' | 'does not apply').
   */
  model: Record<string, unknown>;
  before: ExploreResult;
  after: ExploreResult;
  timed?: { before: TimedResult; after: TimedResult };
  /** The lockdep-style report, for the trace output channel. */
  text: string;
  /** Plain statements of what the fix does and does not close here; the first is the bottom line. */
  summary: string[];
  /**
   * Optional: the timed mode's conclusions (src/sim/timedReport.ts timedSentences(), as in
   * `simulate --timed --json`'s timed.summary), when the timed mode ran. The view shows them under
   * the chart; without them it describes the counts itself.
   */
  timedSummary?: string[];
}
