// Public API of the race simulator (SIM-MODEL.md). Pure TypeScript: no vscode, no LSP.

export {
  DEFAULT_CONFIG,
  DRAIN_SHAPES,
  LOCKS,
  MAX_N,
  NOTIFY_MODES,
  PROPERTY_IDS,
  PROPERTY_TITLES,
  STALES,
  TARGETS,
  cpuCount,
  describeConfig,
  masksHardIrqs,
  resolveConfig,
  WQ_LOCALITIES,
  withIrqsaveFix,
} from './model';
export type { DrainShape, LockKind, Notify, PropertyId, SimConfig, Stale, Target, WqLocality } from './model';
export { explore } from './explore';
export type { ExploreOptions, ExploreResult, PropertyResult } from './explore';
export type { Actor, TraceStep } from './trace';
export type { CommandId } from './transitions';
export type { StateView } from './state';
export { compareBeforeAfter } from './compare';
export type { Comparison } from './compare';
export { TimedOptionError, defaultTimedParams, runTimed, simulateTimed } from './timed';
export { renderTimed, timedJson, timedSentences, timedSettings } from './timedReport';
export type { Arrival, NobodyCaredEvent, TimedComparison, TimedParams, TimedRun, TimedSeriesPoint } from './timed';
export { NOTE_WINDOW, NoteInterrupt, nobodyCaredMessage } from './noteInterrupt';
export type { IrqReturn, NobodyCared } from './noteInterrupt';
export { Mulberry32 } from './prng';
export {
  comparisonToJson,
  renderScenario,
  renderScenarios,
  renderSummary,
  renderVerdictTable,
  resultToJson,
  ringBoundSentence,
  stepLoc,
  summarySentences,
} from './report';
export type { Loc, SourceMap } from './report';
