// What "simulate" means for a file and an optional line, for both front ends (the CLI's
// `simulate FILE[:LINE]` and the server's simulate command): which models to explore, and the
// options every front end starts from.
import type { Finding } from '../analysis/rules/rule';
import { simulationModel } from '../analysis/rules';
import type { WorkspaceIndex } from '../analysis/workspace';
import { modelAt, simulateCode, type CodeModel, type SimulateOptions } from '../sim/fromCode';
import type { SimulationResult } from '../shared/simulation';
import { simulationView } from './simulationView';

export { DRAIN_SHAPES, LOCKS, MAX_N, NOTIFY_MODES, STALES, TARGETS, WQ_LOCALITIES } from '../sim/model';
export { renderSimulationText, simulateCode, simulationJson, type CodeSimulation } from '../sim/fromCode';
export type { CodeModel, SimulateOptions };

export type SimulationTargets = { models: CodeModel[]; skipped: string[] } | { error: string };

/**
 * The models for `file`: at `line` (0-based), the finding there, the one whose locking or work
 * function contains it, or any function there that holds a lock around a drain; without a line,
 * every finding in the file whose rule has a model, in order (`first`: only the first such). A shape a rule does not model yet
 * (a waiter, a tasklet) is an error at a line, and skipped with its reason without one.
 */
export function simulationTargets(
  findings: readonly Finding[],
  index: WorkspaceIndex,
  file: string,
  line?: number,
  { first = false }: { first?: boolean } = {},
): SimulationTargets {
  if (line !== undefined) {
    try {
      const m = modelAt(findings, index, file, line, f => simulationModel(f, index));
      return m
        ? { models: [m], skipped: [] }
        : { error: 'no finding, and no lock held around a virtqueue drain, in a function at this line' };
    } catch (e) {
      if (e instanceof RangeError) return { error: e.message };
      throw e;
    }
  }
  const models: CodeModel[] = [];
  const skipped: string[] = [];
  for (const f of findings.filter(x => x.file === file)) {
    try {
      const m = simulationModel(f, index);
      if (m) models.push(m);
      if (m && first) break;
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      skipped.push(`${f.handler}(): ${e.message}`);
    }
  }
  if (models.length) return { models, skipped };
  return {
    error: skipped.length ? skipped.join('; ') : 'no finding to simulate in this file (give a line to simulate a particular function)',
  };
}

/**
 * The options a simulation starts from before the user's: the timed mode is on where it models
 * the shape (it does not model a NAPI poll or a drain under no lock: VRL002's shapes).
 */
export function baseSimulateOptions(model: CodeModel, defaults: SimulateOptions = {}): SimulateOptions {
  return { ...defaults, timed: !(model.napi || model.lock === 'none') };
}

/** One simulation, as the editor's view shows it (src/shared/simulation.ts). */
export function simulateForView(model: CodeModel, options: SimulateOptions): SimulationResult {
  return simulationView(simulateCode(model, options));
}
