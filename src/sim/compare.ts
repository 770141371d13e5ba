// Before/after: the configuration as the code is written, and the same configuration with the
// RFC's fix (the work function takes fsvq->lock with spin_lock_irqsave).

import { ExploreOptions, ExploreResult, explore } from './explore';
import { SimConfig, resolveConfig, withIrqsaveFix } from './model';

export interface Comparison {
  /** The code as written (`config.lock`). */
  before: ExploreResult;
  /** Same environment with lock = 'spin_lock_irqsave'; `before` itself where the fix does not apply. */
  after: ExploreResult;
  /** false for shapes the irqsave fix does not apply to (NAPI, no lock: SIM-MODEL §12). */
  fixApplies: boolean;
}

/**
 * When the code already uses spin_lock_irqsave, or the fix does not apply, `after` is `before`
 * (explored once).
 */
export function compareBeforeAfter(config: Partial<SimConfig> = {}, opts: ExploreOptions = {}): Comparison {
  const cfg = resolveConfig(config);
  const fixed = withIrqsaveFix(cfg);
  const before = explore(cfg, opts);
  if (!fixed) return { before, after: before, fixApplies: false };
  return { before, after: fixed.lock === cfg.lock ? before : explore(fixed, opts), fixApplies: true };
}
