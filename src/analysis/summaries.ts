// Lock summaries of a file's own lock wrappers: functions and function-like macros whose net
// effect is to leave a lock acquired or released, or hard IRQs off, for their caller:
//
//   static void vp_lock(struct vp *vp) { spin_lock(&vp->lock); }
//   static void vp_unlock(struct vp *vp) { spin_unlock(&vp->lock); }
//   static void vp_irq_off(unsigned long *f) { local_irq_save(*f); }
//   #define vp_lock(vp) spin_lock(&(vp)->lock)
//
// The lock dataflow (extract.ts) applies a summary at each call of the wrapper, with the
// wrapper's parameters replaced by the call's arguments in the lock expression. A summary is
// made only for straight-line bodies (no branch, loop or goto; a final `return` is allowed), so
// its effect holds on every path; anything else keeps today's behaviour (the lock stays inside
// the function that takes it). Read from the text alone, in one linear pass, so the same table
// decides which bodies the sparse parse may blank (sparse.ts).
import { LOCK_APIS } from './apis';
import { maskNonCode, maskPreprocessor, matchBrace, matchParen, normaliseLockExpr, previousNonSpace, splitArgs } from './text';

export interface SummaryEffect {
  /** The underlying lock API (`spin_lock`, `spin_unlock_irqrestore`, `local_irq_save`). */
  api: string;
  /** Its arguments as written in the definition (parameters not yet substituted). */
  args: string[];
  /** Offsets of the underlying call in the file: its name and its argument list (with parentheses). */
  nameStart: number;
  nameEnd: number;
  argsStart: number;
  argsEnd: number;
}

export interface LockSummary {
  name: string;
  kind: 'function' | 'macro';
  /** Parameter names, in order. */
  params: string[];
  /** A static function, or a macro (private to the file that defines it). */
  isStatic: boolean;
  /** The effects left for the caller, in order (lock/unlock pairs inside the wrapper cancelled). */
  effects: SummaryEffect[];
}

export interface FileSummaries {
  byName: Map<string, LockSummary>;
  /** `\b(?:name|...)\s*\(`: a body calls one of the wrappers. */
  callRe?: RegExp;
  /** Identity of the table, for caches keyed by item text. */
  sig: string;
}

const EMPTY: FileSummaries = { byName: new Map(), sig: '' };
const LOCK_CALL = /\b(?:raw_spin_|spin_|read_|write_|mutex_)(?:un)?lock\w*\s*\(|\blocal_irq_(?:save|restore|disable|enable)\s*\(/;
const CONTROL = /\b(?:if|else|while|for|switch|goto|do|case|guard|scoped_guard)\b|\?/;

let memoText: string | undefined;
let memo: FileSummaries = EMPTY;

/** The file's lock wrappers, memoised for the last text (sparse.ts and extract.ts ask in turn). */
export function fileLockSummaries(text: string, maskedText?: string): FileSummaries {
  if (text === memoText) return memo;
  memoText = text;
  memo = compute(text, maskedText);
  return memo;
}

/** `maskedText`: maskNonCode(text), when the caller has it already. */
function compute(text: string, maskedText?: string): FileSummaries {
  if (!LOCK_CALL.test(text)) return EMPTY;
  const masked = maskedText ?? maskNonCode(text);
  const byName = new Map<string, LockSummary>();
  // Macros: `#define name(a, b) body`, continuation lines included.
  if (masked.includes('define')) {
    const re = /^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)((?:[^\n\\]|\\[^\n]|\\\n)*)/gm;
    for (let m; (m = re.exec(masked));) {
      const body = m[3];
      if (!LOCK_CALL.test(body)) continue;
      const bodyStart = m.index + m[0].length - body.length;
      // `do { ... } while (0)` is the usual macro statement form; any other control flow is not straight-line.
      const inner = body.replace(/\bdo\s*\{/, '{').replace(/\}\s*while\s*\(\s*0\s*\)/, '}');
      if (/\b(?:if|else|for|switch|goto|while)\b|\?/.test(inner)) continue;
      const s = summarise(m[1], 'macro', splitParams(m[2]), true, text, masked, bodyStart, bodyStart + body.length);
      if (s) byName.set(s.name, s);
    }
  }
  // Functions: top-level bodies, found by brace matching as sparse.ts does.
  const pm = maskPreprocessor(masked);
  let depth = 0;
  let itemStart = 0;
  for (let i = 0; i < pm.length; i++) {
    const c = pm.charCodeAt(i);
    if (c === 59 /* ; */ && depth === 0) itemStart = i + 1;
    else if (c === 123 /* { */) {
      if (depth === 0 && previousNonSpace(pm, i) === 41 /* ) */) {
        const close = matchBrace(pm, i);
        if (close < 0) break;
        const body = pm.slice(i, close + 1);
        if (LOCK_CALL.test(body)) {
          const head = pm.slice(itemStart, i);
          const hm = /([A-Za-z_]\w*)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$/.exec(head);
          if (hm && !/^(?:if|while|for|switch)$/.test(hm[1])) {
            const isStatic = /\bstatic\b/.test(head.slice(0, hm.index));
            const s = summarise(hm[1], 'function', splitParams(hm[2]), isStatic, text, pm, i + 1, close);
            if (s) byName.set(s.name, s);
          }
        }
        i = close;
        itemStart = close + 1;
        continue;
      }
      depth++;
    } else if (c === 125 /* } */) {
      depth--;
      if (depth === 0) itemStart = i + 1;
    }
  }
  if (byName.size === 0) return EMPTY;
  const names = [...byName.keys()].sort();
  const sig = names.map(n => {
    const s = byName.get(n)!;
    return `${n}(${s.params.join(',')})=${s.effects.map(e => `${e.api}(${e.args.join(',')})`).join(';')}`;
  }).join('|');
  return { byName, callRe: new RegExp(`\\b(?:${names.join('|')})\\s*\\(`), sig };
}

/** Parameter names of `struct vp *vp, unsigned long *flags` or of a macro's `vp, f`. */
function splitParams(list: string): string[] {
  const t = list.trim();
  if (!t || t === 'void') return [];
  return t.split(',').map(p => /([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*$/.exec(p.trim())?.[1] ?? '');
}

/**
 * The net lock effect of a straight-line body [start, end) of `masked`, or undefined when it
 * has none, or branches, loops or returns early around its lock calls.
 */
function summarise(name: string, kind: LockSummary['kind'], params: string[], isStatic: boolean,
  text: string, masked: string, start: number, end: number): LockSummary | undefined {
  const body = masked.slice(start, end);
  if (CONTROL.test(body)) return undefined;
  const effects: (SummaryEffect & { key: string; action: 'lock' | 'unlock' })[] = [];
  const re = /(?<![\w$])([A-Za-z_]\w*)\s*\(/g;
  let lastLock = -1;
  for (let m; (m = re.exec(body));) {
    const api = LOCK_APIS.get(m[1]);
    if (!api) continue;
    const open = start + m.index + m[0].length - 1;
    const close = matchParen(masked, open);
    if (close < 0 || close >= end) return undefined;
    const args = splitArgs(text.slice(open, close + 1)).map(a => a.text);
    const lockArg = api.lockArg >= 0 ? args[api.lockArg] : undefined;
    const key = `${api.family}:${lockArg ? normaliseLockExpr(lockArg) : ''}`;
    lastLock = m.index;
    if (api.action === 'unlock') {
      // An unlock of a lock this body took cancels it; otherwise it releases the caller's.
      let j = effects.length - 1;
      while (j >= 0 && !(effects[j].action === 'lock' && effects[j].key === key)) j--;
      if (j >= 0) { effects.splice(j, 1); continue; }
    }
    effects.push({
      api: m[1], args, key, action: api.action,
      nameStart: start + m.index, nameEnd: start + m.index + m[1].length, argsStart: open, argsEnd: close + 1,
    });
  }
  if (!effects.length) return undefined;
  const ret = /\breturn\b/.exec(body);
  if (ret && ret.index < lastLock) return undefined;
  return { name, kind, params, isStatic, effects: effects.map(({ key: _k, action: _a, ...e }) => e) };
}

/**
 * An argument of the underlying call with the wrapper's parameters replaced by the call's
 * arguments: `&(vp)->lock` with vp := `d->vp` is `&(d->vp)->lock`, normalised later.
 */
export function substituteArgs(arg: string, params: string[], actual: string[]): string {
  if (!params.length) return arg;
  return arg.replace(/(?<![\w$.]|->)([A-Za-z_]\w*)\b/g, (w: string) => {
    const i = params.indexOf(w);
    if (i < 0 || actual[i] === undefined) return w;
    const a = actual[i].trim();
    return /^[A-Za-z_][\w]*(?:(?:->|\.)[A-Za-z_]\w*|\[[^\]]*\])*$/.test(a) ? a : `(${a})`;
  }).replace(/\(\s*([A-Za-z_]\w*(?:(?:->|\.)[A-Za-z_]\w*)*)\s*\)(?=\s*(?:->|\.))/g, '$1');
}
