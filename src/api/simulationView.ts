// The simulate command's result in the view's shape (src/shared/simulation.ts): plain JSON for
// the language server to send and the extension's view to draw. The simulator (src/sim) knows
// nothing of the view; this module converts its results.
import type { ExploreResult } from '../sim/explore';
import { renamed, renderText, summaryContext, type CodeSimulation } from '../sim/fromCode';
import { PROPERTY_IDS } from '../sim/properties';
import { stepLoc, summarySentences, type SourceMap } from '../sim/report';
import type { TimedRun } from '../sim/timed';
import { timedSentences } from '../sim/timedReport';
import type { TraceStep } from '../sim/trace';
import type { ExploreResult as ViewExplore, SimulationResult, TimedResult as ViewTimed, TraceStep as ViewStep } from '../shared/simulation';

/** The view's shape (src/shared/simulation.ts). */
export function simulationView(sim: CodeSimulation): SimulationResult {
  const m = sim.model;
  const cmp = renamed(sim);
  const view = (r: ExploreResult): ViewExplore => {
    const properties = {} as ViewExplore['properties'];
    for (const id of PROPERTY_IDS) {
      const p = r.properties[id];
      properties[id] = { violated: p.checked && p.violated, trace: (p.trace ?? []).map(s => viewStep(s, m.sourceMap)) };
    }
    return { states: r.states, transitions: r.transitions, capped: r.capped, ...(r.message ? { message: r.message } : {}), properties };
  };
  return {
    handler: m.handler,
    file: m.file,
    line: m.line,
    model: { ...sim.settings, ringBound: sim.ringBound.applies ? 'applies' : 'does not apply' },
    before: view(cmp.before),
    after: view(cmp.after),
    ...(sim.timed ? { timed: { before: viewTimed(sim.timed.asIs), after: viewTimed(sim.timed.irqsave) } } : {}),
    text: renderText(sim, cmp, f => f),
    summary: summarySentences(cmp, summaryContext(sim)),
    ...(sim.timed ? { timedSummary: timedSentences(sim.timed, sim.ringBound) } : {}),
  };
}

function viewStep(s: TraceStep, map: SourceMap): ViewStep {
  const lane = s.actor === 'device' || s.actor === 'fabric' ? 'device' : `CPU${s.cpu ?? 0}`;
  const loc = stepLoc(s, map);
  return {
    n: s.step,
    lane,
    command: s.cmd,
    text: s.actor === 'fabric' ? `MSI latches on CPU ${s.cpu}` : s.description,
    ...(s.actor === 'irq' ? { irq: true } : {}),
    ...(loc ? { loc } : {}),
  };
}

function viewTimed(r: TimedRun): ViewTimed {
  return {
    completions: r.completions,
    handled: r.handled,
    unhandled: r.unhandled,
    fraction: r.unhandledFraction,
    nobodyCared: !!r.nobodyCared,
    ...(r.nobodyCared ? { firedAt: { interrupt: r.nobodyCared.interruptIndex, seconds: r.nobodyCared.timeUs / 1e6 } } : {}),
    series: r.series,
  };
}
