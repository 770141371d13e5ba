// files.exclude globs (VS Code's syntax: **, *, ?, {a,b}, [...]) matched in linear time: the
// glob is compiled to a token list (braces expanded, with a cap) and run as an NFA over the
// path, one pass, a set of states per character. No regular expression is built, so no glob
// can make matching backtrack, and no glob can fail to compile: every input has a meaning
// (an unclosed `[` or `{` is a literal character).

type Tok =
  | { k: 'lit'; c: string }
  | { k: 'one' } // ?
  | { k: 'star' } // * (within a segment)
  | { k: 'globstar' } // **/ : nothing, or anything ending with '/'
  | { k: 'all' } // a trailing ** : anything
  | { k: 'class'; neg: boolean; items: [string, string][] };

/** Alternatives more than this after brace expansion make the glob invalid (it is ignored). */
export const MAX_ALTERNATIVES = 256;

export interface CompiledGlob {
  alternatives: Tok[][];
}

/** `{a,b}` expanded (nested too); undefined when the expansion exceeds MAX_ALTERNATIVES. */
function expandBraces(glob: string): string[] | undefined {
  let out = [''];
  let i = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === '[') {
      // A class is copied whole: its braces and commas are characters.
      const j = classEnd(glob, i);
      const piece = j < 0 ? '[' : glob.slice(i, j + 1);
      out = out.map(o => o + piece);
      i = j < 0 ? i + 1 : j + 1;
      continue;
    }
    if (c === '{') {
      const close = matchingBrace(glob, i);
      if (close >= 0) {
        const options: string[] = [];
        for (const part of splitTop(glob.slice(i + 1, close))) {
          const e = expandBraces(part);
          if (!e) return undefined;
          options.push(...e);
        }
        if (out.length * options.length > MAX_ALTERNATIVES) return undefined;
        out = out.flatMap(o => options.map(p => o + p));
        i = close + 1;
        continue;
      }
    }
    out = out.map(o => o + c);
    i++;
  }
  return out;
}

function classEnd(glob: string, open: number): number {
  let j = open + 1;
  if (glob[j] === '!' || glob[j] === '^') j++;
  if (glob[j] === ']') j++;
  for (; j < glob.length; j++) if (glob[j] === ']') return j;
  return -1;
}

function matchingBrace(glob: string, open: number): number {
  let depth = 0;
  for (let j = open; j < glob.length; j++) {
    if (glob[j] === '[') {
      const e = classEnd(glob, j);
      if (e >= 0) {
        j = e;
        continue;
      }
    }
    if (glob[j] === '{') depth++;
    else if (glob[j] === '}' && --depth === 0) return j;
  }
  return -1;
}

function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] === '[') {
      const e = classEnd(s, j);
      if (e >= 0) {
        j = e;
        continue;
      }
    }
    if (s[j] === '{') depth++;
    else if (s[j] === '}') depth--;
    else if (s[j] === ',' && depth === 0) {
      parts.push(s.slice(start, j));
      start = j + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

function tokenize(glob: string): Tok[] {
  const toks: Tok[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      let j = i;
      while (glob[j + 1] === '*') j++;
      if (j > i) {
        // `**`: followed by '/', zero or more directories; at the end, everything.
        if (glob[j + 1] === '/') {
          if (toks[toks.length - 1]?.k !== 'globstar') toks.push({ k: 'globstar' });
          i = j + 1;
          continue;
        }
        if (j + 1 === glob.length) {
          toks.push({ k: 'all' });
          i = j;
          continue;
        }
      }
      if (toks[toks.length - 1]?.k !== 'star') toks.push({ k: 'star' });
      i = j;
    } else if (c === '?') {
      toks.push({ k: 'one' });
    } else if (c === '[' && classEnd(glob, i) >= 0) {
      const end = classEnd(glob, i);
      let j = i + 1;
      const neg = glob[j] === '!' || glob[j] === '^';
      if (neg) j++;
      const items: [string, string][] = [];
      for (; j < end; j++) {
        if (glob[j + 1] === '-' && j + 2 < end) {
          items.push([glob[j], glob[j + 2]]);
          j += 2;
        } else items.push([glob[j], glob[j]]);
      }
      toks.push({ k: 'class', neg, items });
      i = end;
    } else {
      toks.push({ k: 'lit', c });
    }
  }
  return toks;
}

export function compileGlob(glob: string): CompiledGlob | undefined {
  const alts = expandBraces(glob);
  return alts ? { alternatives: alts.map(tokenize) } : undefined;
}

/**
 * Whether `path` (relative, '/'-separated) matches the glob, or lies under a directory it
 * matches (the glob matches a prefix that ends just before a '/').
 */
export function globMatches(g: CompiledGlob, path: string): boolean {
  return g.alternatives.some(t => run(t, path));
}

function run(toks: Tok[], s: string): boolean {
  const n = toks.length;
  let cur = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  const add = (set: Uint8Array, i: number) => {
    while (i <= n && !set[i]) {
      set[i] = 1;
      const k = toks[i]?.k;
      if (k === 'star' || k === 'all' || k === 'globstar') i++;
      else break;
    }
  };
  add(cur, 0);
  for (let p = 0; p < s.length; p++) {
    const c = s[p];
    if (c === '/' && cur[n]) return true;
    next.fill(0);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!cur[i]) continue;
      const t = toks[i];
      switch (t.k) {
        case 'lit':
          if (t.c === c) {
            add(next, i + 1);
            any = true;
          }
          break;
        case 'one':
          if (c !== '/') {
            add(next, i + 1);
            any = true;
          }
          break;
        case 'class':
          if (c !== '/' && t.items.some(([a, b]) => c >= a && c <= b) !== t.neg) {
            add(next, i + 1);
            any = true;
          }
          break;
        case 'star':
          if (c !== '/') {
            add(next, i);
            any = true;
          }
          break;
        case 'all':
          add(next, i);
          any = true;
          break;
        case 'globstar':
          add(next, i);
          if (c === '/') add(next, i + 1);
          any = true;
          break;
      }
    }
    if (!any) return false;
    [cur, next] = [next, cur];
  }
  return cur[n] === 1;
}

/** A files.exclude glob of one workspace folder. */
export interface ExcludeRule {
  root: string;
  glob: string;
}

/**
 * The rules of a files.exclude object for `root`, and the globs that were ignored (braces that
 * expand too far). Entries set to an object (`{ "when": ... }`) are sibling conditions and are
 * not applied.
 */
export function excludeRules(root: string, exclude: Record<string, unknown> | undefined): { rules: ExcludeRule[]; invalid: string[] } {
  const base = root.replace(/\/+$/, '');
  const rules: ExcludeRule[] = [];
  const invalid: string[] = [];
  for (const [glob, on] of Object.entries(exclude ?? {})) {
    if (on !== true) continue;
    const g = glob.replace(/^\.\//, '').replace(/\/+$/, '').replace(/^\//, '');
    if (compileGlob(g)) rules.push({ root: base, glob: g });
    else invalid.push(glob);
  }
  return { rules, invalid };
}

/** A predicate over absolute paths (directories end in '/') for a list of rules. */
export function excludeMatcher(rules: ExcludeRule[]): (absPath: string) => boolean {
  const compiled = rules.flatMap(r => {
    const g = compileGlob(r.glob);
    return g ? [{ prefix: r.root + '/', g }] : [];
  });
  if (compiled.length === 0) return () => false;
  return p => compiled.some(c => p.startsWith(c.prefix) && globMatches(c.g, p.slice(c.prefix.length)));
}
