// Text helpers that stand in for the syntax tree where kernel macros confuse it: call arguments
// split at top-level commas, member access paths parsed by hand, lock expressions normalised.
import type { ExprRef, Span, TypeRef } from './facts';

/** Maps UTF-16 offsets to 0-based line and column. */
export class LineIndex {
  private starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  get lineCount(): number {
    return this.starts.length;
  }
  lineStart(line: number): number {
    return this.starts[Math.min(line, this.starts.length - 1)];
  }
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, column: offset - this.starts[lo] };
  }
  span(start: number, end: number): Span {
    const a = this.position(start);
    const b = this.position(end);
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column, start, end };
  }
}

/**
 * Orders strings by UTF-16 code units, as Array.prototype.sort() does by default. Not
 * localeCompare(): its order follows the user's locale (in Estonian "z" sorts before "t", in
 * Swedish "å" after "z"), and the findings and facts must come out the same on every machine.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A character code that can start a C identifier: a letter or '_'. */
export function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** A character code that can continue a C identifier: a letter, a digit or '_'. */
export function isIdentChar(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

/** Removes C comments, keeping string literals intact. */
export function stripComments(text: string): string {
  if (!text.includes('/')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const j = skipQuoted(text, i);
      out += text.slice(i, j);
      i = j - 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const j = text.indexOf('*/', i + 2);
      i = j === -1 ? text.length : j + 1;
      out += ' ';
    } else if (c === '/' && text[i + 1] === '/') {
      const j = text.indexOf('\n', i);
      i = j === -1 ? text.length : j - 1;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * The same text with comments and the contents of string and character literals replaced by
 * spaces (newlines kept), so offsets stay valid and lexical scans see only code.
 */
export function maskNonCode(text: string): string {
  if (!/["'/]/.test(text)) return text;
  const out: string[] = [];
  let copied = 0;
  const blank = (a: number, b: number) => {
    out.push(text.slice(copied, a), blanked(text.slice(a, b)));
    copied = b;
  };
  const re = /["'/]/g;
  for (let m; (m = re.exec(text));) {
    const i = m.index;
    const c = text[i];
    if (c === '"' || c === "'") {
      const j = skipQuoted(text, i);
      blank(i + 1, Math.max(i + 1, j - 1));
      re.lastIndex = j;
    } else if (text[i + 1] === '*') {
      const j = text.indexOf('*/', i + 2);
      const e = j === -1 ? text.length : j + 2;
      blank(i, e);
      re.lastIndex = e;
    } else if (text[i + 1] === '/') {
      const j = text.indexOf('\n', i);
      const e = j === -1 ? text.length : j;
      blank(i, e);
      re.lastIndex = e;
    }
  }
  out.push(text.slice(copied));
  return out.join('');
}

/** `s` with every character but the newlines made a space (most pieces hold no newline). */
function blanked(s: string): string {
  return s.includes('\n') ? s.replace(/[^\n]/g, ' ') : ' '.repeat(s.length);
}

function skipQuoted(text: string, i: number): number {
  const q = text[i];
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === q || text[j] === '\n') return j + 1;
  }
  return text.length;
}

export interface ArgText {
  text: string;
  start: number;
  end: number;
}

/**
 * Splits the text of an argument list `( a, f(b, c), d )` at its top-level commas. Offsets are
 * relative to the start of `text` and exclude surrounding white space.
 */
export function splitArgs(text: string): ArgText[] {
  const open = text.indexOf('(');
  if (open === -1) return [];
  let close = text.lastIndexOf(')');
  if (close < open) close = text.length;
  const args: ArgText[] = [];
  let depth = 0;
  let start = open + 1;
  const push = (end: number) => {
    let s = start;
    let e = end;
    while (s < e && /\s/.test(text[s])) s++;
    while (e > s && /\s/.test(text[e - 1])) e--;
    args.push({ text: text.slice(s, e), start: s, end: e });
  };
  for (let i = open + 1; i < close; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i = skipQuoted(text, i) - 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const j = text.indexOf('*/', i + 2);
      i = j === -1 ? close : j + 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const j = text.indexOf('\n', i);
      i = j === -1 ? close : j;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      push(i);
      start = i + 1;
    }
  }
  push(close);
  if (args.length === 1 && args[0].text === '') return [];
  return args;
}

/** `&fsvq->lock` -> `fsvq->lock`: the lock's identity within one function. */
export function normaliseLockExpr(text: string): string {
  let t = stripComments(text).replace(/\s+/g, '');
  for (;;) {
    if (t.startsWith('&')) {
      t = t.slice(1);
      continue;
    }
    if (t.startsWith('(') && matchingParen(t, 0) === t.length - 1) {
      t = t.slice(1, -1);
      continue;
    }
    break;
  }
  return t;
}

function matchingParen(t: string, open: number): number {
  let depth = 0;
  for (let i = open; i < t.length; i++) {
    if (t[i] === '(') depth++;
    else if (t[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** A function or parameter named as a value: `fn`, `&fn`, `(work_func_t)fn`, `(fn)`. */
export function identArg(text: string): string | undefined {
  const m = /^&?\s*(?:\(\s*[A-Za-z_]\w*\s*\*?\s*\)\s*)?&?\s*\(?\s*([A-Za-z_]\w*)\s*\)?$/.exec(
    stripComments(text).trim().replace(/\s+/g, ' '),
  );
  return m ? m[1] : undefined;
}

type Tok = { kind: 'id' | 'op' | 'num' | 'str'; text: string };

function tokenize(text: string): Tok[] | undefined {
  const toks: Tok[] = [];
  const re = /\s*(?:([A-Za-z_]\w*)|(->|\.\.\.|[()[\].,*&+\-!~<>=/%|^?:])|(\d\w*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'))/y;
  let i = 0;
  const t = stripComments(text);
  while (i < t.length) {
    re.lastIndex = i;
    const m = re.exec(t);
    if (!m) {
      if (/^\s*$/.test(t.slice(i))) break;
      return undefined;
    }
    i = re.lastIndex;
    if (m[1]) toks.push({ kind: 'id', text: m[1] });
    else if (m[2]) toks.push({ kind: 'op', text: m[2] });
    else if (m[3]) toks.push({ kind: 'num', text: m[3] });
    else if (m[4]) toks.push({ kind: 'str', text: m[4] });
  }
  return toks;
}

const TYPE_WORDS = new Set(['struct', 'union', 'const', 'volatile', 'unsigned', 'signed', 'enum']);

/**
 * Parses an access path such as `&vgdev->ctrlq.dequeue_work`, `&vq_to_fsvq(vq)->done_work`,
 * `&((struct foo *)p)->w`, `&dev->vqs[i].work` or `work`. Anything else gives undefined.
 */
export function parseExprRef(text: string): ExprRef | undefined {
  const toks = tokenize(text);
  if (!toks || toks.length === 0) return undefined;
  let pos = 0;
  let addressOf = false;
  while (toks[pos]?.text === '&') {
    addressOf = true;
    pos++;
  }
  const parsed = parsePostfix();
  if (!parsed || pos !== toks.length) return undefined;
  return { text: stripComments(text).replace(/\s+/g, ' ').trim(), ...parsed, addressOf };

  function parsePrimary(): Pick<ExprRef, 'base' | 'chain'> | undefined {
    const t = toks![pos];
    if (!t) return undefined;
    if (t.text === '(') {
      // A cast `(struct foo *)expr` or a parenthesised expression.
      const close = findClose(pos);
      if (close < 0) return undefined;
      const inner = toks!.slice(pos + 1, close);
      if (looksLikeType(inner)) {
        pos = close + 1;
        // Postfix binds tighter than a cast: `(T *)p->w` casts the value of `p->w`.
        if (!parsePostfix()) return undefined;
        return { base: { kind: 'cast', type: typeFromTokens(inner) }, chain: [] };
      }
      pos++;
      const innerExpr = parseInner();
      if (!innerExpr || toks![pos]?.text !== ')') return undefined;
      pos++;
      return innerExpr;
    }
    if (t.kind !== 'id') return undefined;
    pos++;
    if (toks![pos]?.text === '(') {
      const close = findClose(pos);
      if (close < 0) return undefined;
      const argText = toks!
        .slice(pos + 1, close)
        .map(x => x.text)
        .join(' ');
      pos = close + 1;
      const argBase = parseExprRef(splitArgs(`(${argText})`)[0]?.text ?? '');
      return { base: { kind: 'call', callee: t.text, argBase }, chain: [] };
    }
    return { base: { kind: 'var', name: t.text }, chain: [] };
  }

  function parseInner(): Pick<ExprRef, 'base' | 'chain'> | undefined {
    // `(&x->y)`: the address-of inside the parentheses is the one that counts.
    while (toks![pos]?.text === '&') {
      pos++;
      addressOf = true;
    }
    return parsePostfix();
  }

  function parsePostfix(): Pick<ExprRef, 'base' | 'chain'> | undefined {
    const primary = parsePrimary();
    if (!primary) return undefined;
    const chain = [...primary.chain];
    for (;;) {
      const t = toks![pos];
      if (!t) break;
      if ((t.text === '->' || t.text === '.') && toks![pos + 1]?.kind === 'id') {
        chain.push({ op: t.text as '.' | '->', field: toks![pos + 1].text });
        pos += 2;
      } else if (t.text === '[') {
        const close = findClose(pos);
        if (close < 0) return undefined;
        pos = close + 1;
        if (chain.length > 0) chain[chain.length - 1] = { ...chain[chain.length - 1], field: chain[chain.length - 1].field + '[]' };
        else chain.push({ op: '.', field: '[]' });
      } else break;
    }
    return { base: primary.base, chain };
  }

  function findClose(open: number): number {
    const o = toks![open].text;
    const c = o === '(' ? ')' : ']';
    let depth = 0;
    for (let i = open; i < toks!.length; i++) {
      if (toks![i].text === o) depth++;
      else if (toks![i].text === c && --depth === 0) return i;
    }
    return -1;
  }
}

function looksLikeType(toks: Tok[]): boolean {
  if (toks.length === 0) return false;
  if (TYPE_WORDS.has(toks[0].text)) return true;
  const last = toks[toks.length - 1];
  return toks.every(t => t.kind === 'id' || t.text === '*') && last.text === '*';
}

function typeFromTokens(toks: Tok[]): TypeRef {
  const pointer = toks.filter(t => t.text === '*').length;
  const words = toks.filter(t => t.kind === 'id' && t.text !== 'const' && t.text !== 'volatile').map(t => t.text);
  const name = words[0] === 'struct' || words[0] === 'union' ? words[1] : words[words.length - 1];
  return {
    name,
    pointer,
    text: toks
      .map(t => t.text)
      .join(' ')
      .replace(/ \*/g, '*'),
  };
}

/** Parses a type written as text: `struct foo`, `struct foo *`, `typeof(*w)` is not handled here. */
export function parseTypeText(text: string): TypeRef | undefined {
  const toks = tokenize(text);
  if (!toks || toks.length === 0 || !toks.every(t => t.kind === 'id' || t.text === '*')) return undefined;
  return typeFromTokens(toks);
}

/** `a.b.c` or `a[0].b` -> ['a', 'b', 'c'] / ['a[]', 'b']; undefined if not a member designator. */
export function parseMemberPath(text: string): string[] | undefined {
  const t = stripComments(text).replace(/\s+/g, '');
  if (!/^[A-Za-z_]\w*(\[[^\]]*\])?(\.[A-Za-z_]\w*(\[[^\]]*\])?)*$/.test(t)) return undefined;
  return t.split('.').map(p => p.replace(/\[[^\]]*\]/, '[]'));
}

export function previousNonSpace(t: string, i: number): number {
  for (let j = i - 1; j >= 0; j--) {
    const c = t.charCodeAt(j);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return c;
  }
  return -1;
}

/** The index of the bracket that closes the one at `open` (masked text), or -1. */
function matchBracket(t: string, open: number, opening: number, closing: number): number {
  let depth = 0;
  for (let i = open; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === opening) depth++;
    else if (c === closing && --depth === 0) return i;
  }
  return -1;
}

/** The index of the `}` that closes the `{` at `open` (masked text), or -1. */
export const matchBrace = (t: string, open: number): number => matchBracket(t, open, 123, 125);

/** Preprocessor lines (with their continuations) as spaces: `#define X {` holds no real brace. */
export function maskPreprocessor(t: string): string {
  return t.replace(/^[ \t]*#(?:[^\n\\]|\\[^\n]|\\\n)*/gm, blanked);
}

/** The index of the `)` that closes the `(` at `open` (masked text), or -1. */
export const matchParen = (t: string, open: number): number => matchBracket(t, open, 40, 41);
