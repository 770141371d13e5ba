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
// the function that takes it). A wrapper may call another wrapper (`vp_lock_all()` calling
// `vp_lock()`, a macro expanding to a wrapper's call): its effects are the inner wrapper's,
// substituted, up to NEST_DEPTH levels. Read from the text alone, in one linear pass per level,
// so the same table decides which bodies the sparse parse may blank (sparse.ts).
import { LOCK_APIS } from './apis';
import {
  compareCodeUnits,
  isIdentChar,
  maskNonCode,
  maskPreprocessor,
  matchBrace,
  matchParen,
  normaliseLockExpr,
  previousNonSpace,
  splitArgs,
} from './text';

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
  /** The inner wrappers the effect comes through, outermost first (empty: the wrapper's own call). */
  through: string[];
  /** The underlying call is in another file of the driver (the offsets are then -1). */
  file?: string;
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
  /** Defined in another file of the driver (a header, or a non-static function of another .c file). */
  file?: string;
}

/**
 * A wrapper other files of the driver may call, as FileFacts carry it: every wrapper of a header,
 * and the non-static functions of a .c file (no offsets: they are the defining file's).
 */
export interface ExportedWrapper {
  name: string;
  kind: LockSummary['kind'];
  params: string[];
  isStatic: boolean;
  effects: { api: string; args: string[] }[];
}

/** Wrappers of other files of the driver, with the file that defines each, for extraction. */
export type DriverWrappers = { file: string; w: ExportedWrapper }[];

/** The wrappers of `sums` that other files of the driver may call. */
export function exportedWrappers(sums: FileSummaries, file: string): ExportedWrapper[] | undefined {
  const header = /\.h$/i.test(file);
  const out: ExportedWrapper[] = [];
  for (const s of sums.byName.values()) {
    if (s.file !== undefined || (!header && (s.isStatic || s.kind === 'macro'))) continue;
    out.push({
      name: s.name,
      kind: s.kind,
      params: s.params,
      isStatic: s.isStatic,
      effects: s.effects.map(e => ({ api: e.api, args: e.args })),
    });
  }
  return out.length ? out.sort((a, b) => compareCodeUnits(a.name, b.name)) : undefined;
}

/** Identity of a set of driver wrappers. */
export function driverWrappersSig(extra: DriverWrappers): string {
  return extra
    .map(({ file, w }) => `${file}:${w.name}(${w.params.join(',')})=${w.effects.map(e => `${e.api}(${e.args.join(',')})`).join(';')}`)
    .sort()
    .join('|');
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
let memoExtra: DriverWrappers | undefined;
let memo: FileSummaries = EMPTY;

/**
 * The file's lock wrappers, memoised for the last text (sparse.ts and extract.ts ask in turn).
 * `extra`: wrappers of the driver's other files the file calls; they apply at its calls too
 * (after the file's own, which win), and its own wrappers may call them.
 */
export function fileLockSummaries(text: string, maskedText?: string, extra?: DriverWrappers): FileSummaries {
  if (text === memoText && extra === memoExtra) return memo;
  memoText = text;
  memoExtra = extra;
  memo = compute(text, maskedText, extra?.length ? extra : undefined);
  return memo;
}

const NO_WRAPPERS = new Map<string, LockSummary>();

/** How many wrappers deep a wrapper's call of another wrapper is followed. */
const NEST_DEPTH = 3;

/** A straight-line candidate body: a function-like macro or a top-level function. */
interface Candidate {
  name: string;
  kind: LockSummary['kind'];
  params: string[];
  isStatic: boolean;
  start: number;
  end: number;
  masked: string;
}

/** `maskedText`: maskNonCode(text), when the caller has it already. */
function compute(text: string, maskedText?: string, extra?: DriverWrappers): FileSummaries {
  if (!extra && !LOCK_CALL.test(text)) return EMPTY;
  const foreign = new Map<string, LockSummary>();
  for (const { file, w } of extra ?? []) {
    foreign.set(w.name, {
      name: w.name,
      kind: w.kind,
      params: w.params,
      isStatic: w.isStatic,
      file,
      effects: w.effects.map(e => ({
        api: e.api,
        args: e.args,
        nameStart: -1,
        nameEnd: -1,
        argsStart: -1,
        argsEnd: -1,
        through: [],
        file,
      })),
    });
  }
  const masked = maskedText ?? maskNonCode(text);
  // Straight-line candidate bodies; a wrapper is one whose summary has an effect.
  const cands: Candidate[] = [];
  const consider = (c: Candidate) => {
    if (cands.length < 8192) cands.push(c);
  };
  // Macros: `#define name(a, b) body`, continuation lines included.
  if (masked.includes('define')) {
    const re = /^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)((?:[^\n\\]|\\[^\n]|\\\n)*)/gm;
    for (let m; (m = re.exec(masked));) {
      const body = m[3];
      if (!body.includes('(')) continue;
      const bodyStart = m.index + m[0].length - body.length;
      // `do { ... } while (0)` is the usual macro statement form; any other control flow is not straight-line.
      const inner = body.replace(/\bdo\s*\{/, '{').replace(/\}\s*while\s*\(\s*0\s*\)/, '}');
      if (/\b(?:if|else|for|switch|goto|while)\b|\?/.test(inner)) continue;
      consider({
        name: m[1],
        kind: 'macro',
        params: splitParams(m[2]),
        isStatic: true,
        start: bodyStart,
        end: bodyStart + body.length,
        masked,
      });
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
        const head = pm.slice(itemStart, i);
        const hm = /([A-Za-z_]\w*)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$/.exec(head);
        if (hm && !/^(?:if|while|for|switch)$/.test(hm[1])) {
          const isStatic = /\bstatic\b/.test(head.slice(0, hm.index));
          consider({ name: hm[1], kind: 'function', params: splitParams(hm[2]), isStatic, start: i + 1, end: close, masked: pm });
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
  // First the bodies that call a lock API, on their own; then, level by level, the bodies that
  // call a wrapper found so far, against the previous level's summaries (a body that both locks
  // and calls a wrapper is summarised again once the wrapper is known), until nothing changes.
  let byName = new Map<string, LockSummary>();
  const direct = cands.filter(c => LOCK_CALL.test(c.masked.slice(c.start, c.end)));
  for (const c of direct) {
    const s = summarise(c, text, NO_WRAPPERS);
    if (s) byName.set(s.name, s);
  }
  if (byName.size === 0 && foreign.size === 0) return EMPTY;
  let sig = sigOf(byName);
  // The driver's other wrappers are known from the start; the file's own win over them.
  const known = () => (foreign.size ? new Map([...foreign, ...byName]) : byName);
  for (let level = 0; level < NEST_DEPTH; level++) {
    const all = known();
    const re = callReOf([...all.keys()]);
    const next = new Map(byName);
    for (const c of cands) {
      if (!re.test(c.masked.slice(c.start, c.end))) continue;
      const s = summarise(c, text, all);
      if (s) next.set(s.name, s);
      else next.delete(c.name);
    }
    const nextSig = sigOf(next);
    byName = next;
    if (nextSig === sig) break;
    sig = nextSig;
  }
  if (foreign.size) {
    // Which of the driver's wrappers this file calls decides its facts: part of the identity.
    sig = `${sig}\0${driverWrappersSig(extra!)}`;
    byName = known();
  }
  if (byName.size === 0) return EMPTY;
  return { byName, callRe: callReOf([...byName.keys()].sort()), sig };
}

function sigOf(byName: Map<string, LockSummary>): string {
  return [...byName.keys()]
    .sort()
    .map(n => {
      const s = byName.get(n)!;
      return `${n}(${s.params.join(',')})=${s.effects.map(e => `${e.api}(${e.args.join(',')})`).join(';')}`;
    })
    .join('|');
}

function callReOf(names: string[]): RegExp {
  return new RegExp(`\\b(?:${names.join('|')})\\s*\\(`);
}

/** Parameter names of `struct vp *vp, unsigned long *flags` or of a macro's `vp, f`. */
function splitParams(list: string): string[] {
  const t = list.trim();
  if (!t || t === 'void') return [];
  return t.split(',').map(paramName);
}

/**
 * The name a parameter declares: its last identifier, before one `[...]` (`u8 buf[16]`); '' when
 * it ends otherwise. Read backwards in one pass (the pattern this replaces backtracked
 * quadratically over a long run of blanks or of identifier characters).
 */
export function paramName(param: string): string {
  let s = param.trimEnd();
  if (s.endsWith(']')) {
    const open = s.lastIndexOf('[');
    if (open < 0 || s.slice(open + 1, -1).includes(']')) return '';
    s = s.slice(0, open).trimEnd();
  }
  let i = s.length;
  while (i > 0 && isIdentChar(s.charCodeAt(i - 1))) i--;
  // An identifier starts with a letter or '_': leading digits are not part of it.
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  return s.slice(i);
}

/**
 * The net lock effect of a straight-line body, or undefined when it has none, or branches, loops
 * or returns early around its lock calls. Calls of the wrappers in `known` count as their effects.
 */
function summarise(c: Candidate, text: string, known: Map<string, LockSummary>): LockSummary | undefined {
  const { start, end, masked } = c;
  const body = masked.slice(start, end);
  if (CONTROL.test(body)) return undefined;
  const effects: (SummaryEffect & { key: string; action: 'lock' | 'unlock' })[] = [];
  const re = /(?<![\w$])([A-Za-z_]\w*)\s*\(/g;
  let lastLock = -1;
  const add = (e: SummaryEffect, action: 'lock' | 'unlock', key: string) => {
    if (action === 'unlock') {
      // An unlock of a lock this body took cancels it; otherwise it releases the caller's.
      let j = effects.length - 1;
      while (j >= 0 && !(effects[j].action === 'lock' && effects[j].key === key)) j--;
      if (j >= 0) {
        effects.splice(j, 1);
        return;
      }
    }
    effects.push({ ...e, key, action });
  };
  const keyOf = (api: string, args: string[]) => {
    const a = LOCK_APIS.get(api)!;
    const lockArg = a.lockArg >= 0 ? args[a.lockArg] : undefined;
    return `${a.family}:${lockArg ? normaliseLockExpr(lockArg) : ''}`;
  };
  for (let m; (m = re.exec(body));) {
    const api = LOCK_APIS.get(m[1]);
    const inner = api || m[1] === c.name ? undefined : known.get(m[1]);
    if (!api && !inner) continue;
    const open = start + m.index + m[0].length - 1;
    const close = matchParen(masked, open);
    if (close < 0 || close >= end) return undefined;
    const args = splitArgs(text.slice(open, close + 1)).map(a => a.text);
    lastLock = m.index;
    if (api) {
      add(
        {
          api: m[1],
          args,
          nameStart: start + m.index,
          nameEnd: start + m.index + m[1].length,
          argsStart: open,
          argsEnd: close + 1,
          through: [],
        },
        api.action,
        keyOf(m[1], args),
      );
      continue;
    }
    // A call of another wrapper: its effects, its parameters replaced by this call's arguments.
    for (const e of inner!.effects) {
      const sub = e.args.map(a => substituteArgs(a, inner!.params, args));
      add({ ...e, args: sub, through: [inner!.name, ...e.through] }, LOCK_APIS.get(e.api)!.action, keyOf(e.api, sub));
    }
  }
  if (!effects.length) return undefined;
  const ret = /\breturn\b/.exec(body);
  if (ret && ret.index < lastLock) return undefined;
  return { name: c.name, kind: c.kind, params: c.params, isStatic: c.isStatic, effects: effects.map(({ key: _k, action: _a, ...e }) => e) };
}

/**
 * An argument of the underlying call with the wrapper's parameters replaced by the call's
 * arguments: `&(vp)->lock` with vp := `d->vp` is `&(d->vp)->lock`, normalised later.
 */
export function substituteArgs(arg: string, params: string[], actual: string[]): string {
  if (!params.length) return arg;
  return arg
    .replace(/(?<![\w$.]|->)([A-Za-z_]\w*)\b/g, (w: string) => {
      const i = params.indexOf(w);
      if (i < 0 || actual[i] === undefined) return w;
      const a = actual[i].trim();
      return /^(?:[A-Za-z_][\w]*(?:(?:->|\.)[A-Za-z_]\w*|\[[^\]]*\])*|\d\w*)$/.test(a) ? a : `(${a})`;
    })
    .replace(/\(\s*([A-Za-z_]\w*(?:(?:->|\.)[A-Za-z_]\w*)*)\s*\)(?=\s*(?:->|\.))/g, '$1');
}
