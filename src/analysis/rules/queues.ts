// Queue identity, shared by the rules about drains (VRL001, VRL002): which callback serves the
// queue a drain acts on, from the queues' setups (FunctionFacts.vqSetups) resolved as shape.ts
// resolves queues.
import type { CallFact, DrainFact } from '../facts';
import { keysMatch, resolveKeys } from '../shape';
import { callbacksAt } from '../vqTables';
import type { FnRef, Tables, WorkKey } from '../workspace';

export function dirOf(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i < 0 ? '' : file.slice(0, i);
}

/** Queues set up in the index, with the callback each got (null: none). */
const setupMemo = new WeakMap<Tables, { key: WorkKey; file: string; callback: string | null }[]>();
function queueSetups(t: Tables): { key: WorkKey; file: string; callback: string | null }[] {
  let out = setupMemo.get(t);
  if (out) return out;
  out = [];
  for (const file of t.files.values()) {
    for (const fn of file.functions) {
      for (const s of fn.vqSetups ?? []) {
        // A file-scope table's element (vqTables.ts); unknown when the table is not in this file.
        const table = s.table && file.vqTables?.find(x => x.name === s.table!.name);
        const cbs = s.table ? (table ? (callbacksAt(table.entries, s.table.sub) ?? []) : []) : [s.callback ?? null];
        for (const r of resolveKeys(t, s.target, { file: file.file, fn }, 0))
          for (const callback of cbs) out.push({ key: r.key, file: r.file, callback });
      }
    }
  }
  setupMemo.set(t, out);
  return out;
}

/**
 * The callbacks of the queue a drain acts on (null for a queue set up without one), or undefined
 * when the queue, or where it was set up, is not known. `chain`: the calls from the function the
 * search started in down to `drainFn`, so a queue passed as an argument resolves.
 */
export function drainQueueCallbacks(t: Tables, chain: FnRef[], drainFn: FnRef, drain: DrainFact): Set<string | null> | undefined {
  let out: Set<string | null> | undefined;
  const setups = queueSetups(t);
  if (setups.length) {
    for (const q of drainQueueKeys(t, chain, drainFn, drain)) {
      // Only the driver's own setups (same directory), and only keys whose container type is known:
      // a bare member name such as `vq` would match every driver's queue.
      if (!q.key.global && q.key.root === undefined) continue;
      for (const s of setups) {
        if (dirOf(s.file) !== dirOf(q.file) || (!s.key.global && s.key.root === undefined)) continue;
        if (keysMatch(t, q.key, q.file, s.key, s.file)) (out ??= new Set()).add(s.callback);
      }
    }
  }
  return out;
}

/** The keys of the queue a drain acts on, resolved along the calls of `chain` (see drainQueueCallbacks). */
export function drainQueueKeys(t: Tables, chain: FnRef[], drainFn: FnRef, drain: DrainFact): { key: WorkKey; file: string }[] {
  // The calls from the first function of the chain down to the drain, so a queue passed as an argument resolves.
  const ctx: { caller: FnRef; call: CallFact }[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const call = chain[i].fn.calls.find(c => c.callee === chain[i + 1].fn.name);
    if (!call) {
      ctx.length = 0;
      break;
    }
    ctx.push({ caller: chain[i], call });
  }
  return resolveKeys(t, drain.vq, drainFn, 0, ctx.length ? ctx : undefined);
}
