// The model's properties (docs/model.md#properties): their ids and what each asks.

export type PropertyId = 'A' | 'B' | 'B2' | 'C' | 'CX' | 'D' | 'E';

export const PROPERTY_IDS: readonly PropertyId[] = ['A', 'B', 'B2', 'C', 'CX', 'D', 'E'];

/**
 * What each property asks (docs/model.md#properties); "violated" means the bad thing is reachable. The
 * view (src/shared/simulation.ts) re-exports this table, so the view and the reports agree.
 */
export const PROPERTY_TITLES: Readonly<Record<PropertyId, string>> = {
  A: 'IRQ_NONE reachable',
  B: "IRQ_NONE on the work's CPU while the drain holds the lock",
  B2: 'IRQ_NONE on any CPU while the drain holds the lock',
  C: 'unhandled fraction above 2/3 after an IRQ_NONE (necessary for "nobody cared")',
  CX: 'extreme ratio: 1 IRQ_HANDLED and at least N-1 IRQ_NONE',
  D: 'deadlock: the callback spins on the lock held by the task it interrupted (AA)',
  E: 'lost completion: used buffers nobody will ever consume',
};
