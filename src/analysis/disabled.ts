// Code under `#if 0` is not compiled: findings there would be reported and "fixed" in dead
// code. The facts of items that start inside such a region are dropped (whole functions,
// structs, globals, bindings, callback registrations, and inside a live function its drains,
// calls and schedule sites); the parse itself is left alone, so the
// offsets and the incremental parse of open documents are unchanged.
import type { FileFacts } from './facts';
import { maskNonCode } from './text';

/** [start, end) offsets of the text under `#if 0` (up to its `#else`, `#elif` or `#endif`). */
export function disabledRegions(text: string): [number, number][] {
  if (!/#[ \t]*if[ \t]*\(?[ \t]*0\b/.test(text)) return [];
  const code = maskNonCode(text);
  const out: [number, number][] = [];
  const re = /^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b([^\r\n]*)/gm;
  // Open conditionals, innermost last; `start` is set while a region is open at that level.
  const stack: { start?: number }[] = [];
  for (let m = re.exec(code); m; m = re.exec(code)) {
    const [, kw, rest] = m;
    if (kw === 'if' || kw === 'ifdef' || kw === 'ifndef') {
      const zero = kw === 'if' && /^[ \t]*\(?[ \t]*0[ \t]*\)?[ \t]*$/.test(rest);
      const inside = stack.some(f => f.start !== undefined);
      stack.push(zero && !inside ? { start: m.index + m[0].length } : {});
    } else if (stack.length) {
      const top = stack[stack.length - 1];
      if (top.start !== undefined) {
        out.push([top.start, m.index]);
        top.start = undefined;
      }
      if (kw === 'endif') stack.pop();
    }
  }
  // An `#if 0` never closed runs to the end of the file.
  for (const f of stack) if (f.start !== undefined) out.push([f.start, text.length]);
  return out.sort((a, b) => a[0] - b[0]);
}

/** `facts` without the items that start in a disabled region; the same object when there is none. */
export function withoutDisabledCode(facts: FileFacts, text: string): FileFacts {
  const regions = disabledRegions(text);
  if (regions.length === 0) return facts;
  const live = (x: { span: { start: number } }) => !regions.some(([a, b]) => x.span.start >= a && x.span.start < b);
  // Inside a live function, the drains, calls and schedule sites under `#if 0` are dropped too
  // (lock operations stay: their indices tie unlocks to locks, and a dead branch's lock is one
  // alternative of the dataflow's `#if`, which the live code does not depend on).
  const inner = (fn: FileFacts['functions'][number]) => {
    const inside = regions.some(([a, b]) => a < fn.span.end && fn.span.start < b);
    if (!inside) return fn;
    return { ...fn, drains: fn.drains.filter(live), calls: fn.calls.filter(live), schedules: fn.schedules.filter(live) };
  };
  return {
    ...facts,
    functions: facts.functions.filter(live).map(inner),
    structs: facts.structs.filter(live),
    globals: facts.globals.filter(live),
    bindings: facts.bindings.filter(live),
    callbackRegs: facts.callbackRegs.filter(live),
  };
}
