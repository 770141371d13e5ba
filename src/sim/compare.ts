// Before/after: the configuration as the code is written, and the same configuration with the
// RFC's fix (the work function takes fsvq->lock with spin_lock_irqsave).

import { ExploreOptions, ExploreResult, explore } from './explore';
import { SimConfig, resolveConfig, withIrqsaveFix } from './model';

export interface Comparison {
  /** The code as written (`config.lock`). */
  before: ExploreResult;
  /** Same environment with lock = 'spin_lock_irqsave'. */
  after: ExploreResult;
}

/** When the code already uses spin_lock_irqsave, `after` is `before` (explored once). */
export function compareBeforeAfter(config: Partial<SimConfig> = {}, opts: ExploreOptions = {}): Comparison {
  const cfg = resolveConfig(config);
  const fixed = withIrqsaveFix(cfg);
  const before = explore(cfg, opts);
  return { before, after: fixed.lock === cfg.lock ? before : explore(fixed, opts) };
}
