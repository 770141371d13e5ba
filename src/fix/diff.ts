// Unified diffs and diffstats in the form git prints them (`diff --git` headers, `index` lines,
// hunks with the function line after `@@`, 3 lines of context, core.quotePath). Pure text in,
// text out: no git, no file system. The edit script is a textbook Myers search written for this
// project; where a change has several shortest scripts git may place a hunk differently, which
// changes nothing for `git am`. Tests compare the output with real git output for changes whose
// shortest script is unique (test/fixtures/fix-mail/cases.json).
import { createHash } from 'node:crypto';

export interface UnifiedDiffOptions {
  /** Repository-relative path of the old file, without the `a/` prefix. */
  oldPath: string;
  /** Repository-relative path of the new file, without the `b/` prefix. */
  newPath: string;
  /** Lines of context around each change (git's `-U`); 3 by default. */
  context?: number;
  /** git's `--inter-hunk-context`; 0 by default. */
  interHunkContext?: number;
  /** Hex digits of the blob hashes on the `index` line; 7 (git's minimum, used in small repositories) by default. */
  abbrev?: number;
  /** File mode for the `index` line; `100644` by default. */
  mode?: string;
  /** Old mode when the mode changes (git then prints `old mode`/`new mode` lines). */
  oldMode?: string;
  /** Full blob hashes to print instead of hashing the texts (e.g. when git stores other bytes). */
  oldBlob?: string;
  newBlob?: string;
  /** Which hunk-header rule to use; see FuncnameRule. */
  funcname?: FuncnameRule;
}

/**
 * How git picks the text after a hunk's `@@`: `default` is its built-in rule (the last line above
 * the hunk starting with a letter, `_` or `$`); `cpp` is its `diff=cpp` driver, which the Linux
 * tree's .gitattributes selects for `*.[ch]`: it also skips labels such as `out:` and does not
 * take `$` lines.
 */
export type FuncnameRule = 'default' | 'cpp';

export interface HunkOptions {
  context?: number;
  interHunkContext?: number;
  funcname?: FuncnameRule;
}

/** A change in git's edit-script form: `del` lines at old index `i1` replaced by `ins` lines at new index `i2` (0-based). */
export interface Change {
  i1: number;
  del: number;
  i2: number;
  ins: number;
}

export interface LineCounts {
  added: number;
  removed: number;
}

export interface DiffstatFile {
  path: string;
  added: number;
  removed: number;
}

export interface DiffstatOptions {
  /** Total width (git's `--stat=<width>`); 72 by default, what `git format-patch` uses. */
  width?: number;
}

// ---------------------------------------------------------------------------------------------
// Lines and hashes

/** Splits text into lines that keep their terminator; a last line without `\n` is kept as is. */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
    lines.push(text.slice(start, i + 1));
    start = i + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

function toBytes(content: string | Uint8Array): Uint8Array {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

/** git's blob object id: SHA-1 of `blob <byte length>\0<content>`; strings are hashed as UTF-8. */
export function gitBlobSha1(content: string | Uint8Array): string {
  const bytes = toBytes(content);
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// The edit script

/** Beyond this many differences the search stops and the rest is one replacement (still a valid diff). */
const MAX_D = 4000;

/**
 * A shortest edit script between two line arrays (lines keep their `\n`): the common head and
 * tail are set aside, then the greedy O((N+M)D) search of E. W. Myers, "An O(ND) Difference
 * Algorithm and Its Variations" (1986), keeping each round's furthest-reaching paths to walk
 * back. Where several shortest scripts exist, each run of insertions or deletions is slid as far
 * down as it can go, the usual normal form (git's own choice can differ in such cases; any of
 * them applies the same way).
 */
export function diffLines(oldLines: string[], newLines: string[]): Change[] {
  const n = oldLines.length;
  const m = newLines.length;
  let head = 0;
  while (head < n && head < m && oldLines[head] === newLines[head]) head++;
  let tail = 0;
  while (tail < n - head && tail < m - head && oldLines[n - 1 - tail] === newLines[m - 1 - tail]) tail++;
  const a = oldLines.slice(head, n - tail);
  const b = newLines.slice(head, m - tail);
  const ops = myers(a, b);
  // ops: one entry per line of the middle, '=' (both), '-' (old only), '+' (new only).
  const changedA = new Uint8Array(n);
  const changedB = new Uint8Array(m);
  let i = head;
  let j = head;
  for (const op of ops) {
    if (op === '=') {
      i++;
      j++;
    } else if (op === '-') changedA[i++] = 1;
    else changedB[j++] = 1;
  }
  slideDown(oldLines, changedA);
  slideDown(newLines, changedB);
  return script(changedA, changedB);
}

function myers(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  if (n === 0) return Array<string>(m).fill('+');
  if (m === 0) return Array<string>(n).fill('-');
  const max = Math.min(n + m, MAX_D);
  const off = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    // Each round writes only `next`, so `v` can be kept as it is.
    trace.push(v);
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[off + k] = x;
      if (x >= n && y >= m) return walkBack(trace, d, k, off, a, b);
    }
    v = next;
  }
  // Too different: replace the whole middle.
  return [...Array<string>(n).fill('-'), ...Array<string>(m).fill('+')];
}

/** Rebuilds the operations from the saved rounds, from the end back to the start. */
function walkBack(trace: Int32Array[], dEnd: number, kEnd: number, off: number, a: string[], b: string[]): string[] {
  const ops: string[] = [];
  let x = a.length;
  let y = b.length;
  let k = kEnd;
  for (let d = dEnd; d > 0; d--) {
    const v = trace[d];
    const down = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]);
    const prevK = down ? k + 1 : k - 1;
    const prevX = v[off + prevK];
    const prevY = prevX - prevK;
    while (x > prevX + (down ? 0 : 1) && y > prevY + (down ? 1 : 0)) {
      ops.push('=');
      x--;
      y--;
    }
    if (down) {
      ops.push('+');
      y--;
    } else {
      ops.push('-');
      x--;
    }
    k = prevK;
  }
  while (x > 0 && y > 0) {
    ops.push('=');
    x--;
    y--;
  }
  return ops.reverse();
}

/**
 * Moves each run of changed lines down while the line after it equals its first line (the
 * result describes the same change): `a b [b]` rather than `a [b] b`.
 */
function slideDown(lines: string[], changed: Uint8Array): void {
  let i = 0;
  while (i < lines.length) {
    if (!changed[i]) {
      i++;
      continue;
    }
    let start = i;
    let end = i;
    while (end < lines.length && changed[end]) end++;
    while (end < lines.length && !changed[end] && lines[start] === lines[end]) {
      changed[start] = 0;
      changed[end] = 1;
      start++;
      end++;
      while (end < lines.length && changed[end]) end++;
    }
    i = end;
  }
}

function script(changedA: Uint8Array, changedB: Uint8Array): Change[] {
  const out: Change[] = [];
  let i = 0;
  let j = 0;
  const n = changedA.length;
  const m = changedB.length;
  while (i < n || j < m) {
    if ((i < n && changedA[i]) || (j < m && changedB[j])) {
      const i1 = i;
      const i2 = j;
      while (i < n && changedA[i]) i++;
      while (j < m && changedB[j]) j++;
      out.push({ i1, del: i - i1, i2, ins: j - i2 });
    } else {
      i++;
      j++;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hunks

// git keeps at most this many bytes of the function line (xdiff's buffer), minus trailing blanks.
const FUNCNAME_MAX = 80;

// git's diff=cpp funcname patterns: a label or access declaration is not a function line;
// anything else starting with a letter, `_` or `::` is.
const CPP_LABEL = /^[ \t]*[A-Za-z_][A-Za-z_0-9]*:[ \t\n\r\v\f]*(?:$|\/[/*])/;
const CPP_FUNC = /^(?:::[ \t\n\r\v\f]*)?[A-Za-z_]/;

/** The function-line text for a line, or undefined if the rule does not take it. */
function funcLine(line: string, rule: FuncnameRule): string | undefined {
  let s = line;
  if (rule === 'cpp') {
    // The driver's regexes see the line without its `\n` or `\r\n`; the whole line is the match.
    s = s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
    if (CPP_LABEL.test(s) || !CPP_FUNC.test(s)) return undefined;
  } else {
    const c = line.charCodeAt(0);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
    if (!ok) return undefined;
  }
  if (Buffer.byteLength(s, 'utf8') > FUNCNAME_MAX) s = truncateBytes(s, FUNCNAME_MAX);
  let end = s.length;
  while (end > 0 && isSpace(s[end - 1])) end--;
  return s.slice(0, end);
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

/** Keeps at most `max` UTF-8 bytes, never splitting a character (git would cut mid-character). */
function truncateBytes(s: string, max: number): string {
  let bytes = 0;
  let i = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) break;
    bytes += n;
    i += ch.length;
  }
  return s.slice(0, i);
}

function rangeHeader(start: number, count: number): string {
  // An empty range names the line before it; a single line drops the count.
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

function emitLine(out: string[], prefix: string, line: string): void {
  if (line.endsWith('\n')) out.push(prefix + line);
  else out.push(prefix + line + '\n\\ No newline at end of file\n');
}

/** The `@@` hunks git prints for the change, without any file header; '' when nothing changed. */
export function unifiedHunks(oldText: string, newText: string, opts: HunkOptions = {}): string {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  const script = diffLines(a, b);
  return formatHunks(a, b, script, opts.context ?? 3, opts.interHunkContext ?? 0, opts.funcname ?? 'default');
}

function formatHunks(a: string[], b: string[], script: Change[], ctx: number, interHunk: number, rule: FuncnameRule): string {
  const out: string[] = [];
  const maxCommon = 2 * ctx + interHunk;
  let func = '';
  let funcLinePrev = -1;
  for (let first = 0; first < script.length;) {
    let last = first;
    while (last + 1 < script.length && script[last + 1].i1 - (script[last].i1 + script[last].del) <= maxCommon) last++;
    const xch = script[first];
    const xche = script[last];
    const s1 = Math.max(xch.i1 - ctx, 0);
    const s2 = Math.max(xch.i2 - ctx, 0);
    let lctx = ctx;
    lctx = Math.min(lctx, a.length - (xche.i1 + xche.del));
    lctx = Math.min(lctx, b.length - (xche.i2 + xche.ins));
    const e1 = xche.i1 + xche.del + lctx;
    const e2 = xche.i2 + xche.ins + lctx;

    // Search upwards from just above the hunk, but not past the previous hunk's search start;
    // if nothing is found, the previous hunk's function line carries over.
    for (let l = s1 - 1; l !== funcLinePrev && l >= 0; l--) {
      const f = funcLine(a[l], rule);
      if (f !== undefined) {
        func = f;
        break;
      }
    }
    funcLinePrev = s1 - 1;

    out.push(`@@ -${rangeHeader(s1 + 1, e1 - s1)} +${rangeHeader(s2 + 1, e2 - s2)} @@${func ? ' ' + func : ''}\n`);
    let p2 = s2;
    for (; p2 < xch.i2; p2++) emitLine(out, ' ', b[p2]);
    for (let k = first; k <= last; k++) {
      const ch = script[k];
      if (k > first) {
        const prev = script[k - 1];
        for (let p = prev.i2 + prev.ins; p < ch.i2; p++) emitLine(out, ' ', b[p]);
      }
      for (let p = ch.i1; p < ch.i1 + ch.del; p++) emitLine(out, '-', a[p]);
      for (let p = ch.i2; p < ch.i2 + ch.ins; p++) emitLine(out, '+', b[p]);
    }
    for (let p = xche.i2 + xche.ins; p < e2; p++) emitLine(out, ' ', b[p]);
    first = last + 1;
  }
  return out.join('');
}

// ---------------------------------------------------------------------------------------------
// File headers

/** Whether git (core.quotePath on) prints the path in C-style quotes. */
function needsQuote(path: string): boolean {
  for (const byte of Buffer.from(path, 'utf8')) {
    if (byte < 0x20 || byte === 0x22 || byte === 0x5c || byte >= 0x7f) return true;
  }
  return false;
}

/** A path as git prints it in headers and the diffstat: as is, or C-quoted with octal escapes. */
export function quotePath(path: string): string {
  if (!needsQuote(path)) return path;
  const named: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 0x22: '"', 0x5c: '\\' };
  let out = '"';
  for (const byte of Buffer.from(path, 'utf8')) {
    if (named[byte] !== undefined) out += '\\' + named[byte];
    else if (byte < 0x20 || byte >= 0x7f) out += '\\' + byte.toString(8).padStart(3, '0');
    else out += String.fromCharCode(byte);
  }
  return out + '"';
}

function prefixed(prefix: string, path: string): string {
  return quotePath(prefix + path);
}

/**
 * The full `git diff` text for one modified file: `diff --git`, the `index` line with blob
 * hashes of the two texts, `---`/`+++` and the hunks. '' when the texts are equal (git prints
 * nothing). A different `newPath` is printed as given; git's rename headers are not produced.
 */
export function unifiedDiff(oldText: string, newText: string, opts: UnifiedDiffOptions): string {
  const hunks = unifiedHunks(oldText, newText, opts);
  const modeChanged = opts.oldMode !== undefined && opts.oldMode !== (opts.mode ?? '100644');
  if (!hunks && !modeChanged) return '';
  const abbrev = opts.abbrev ?? 7;
  const mode = opts.mode ?? '100644';
  const oldId = (opts.oldBlob ?? gitBlobSha1(oldText)).slice(0, abbrev);
  const newId = (opts.newBlob ?? gitBlobSha1(newText)).slice(0, abbrev);
  const a = prefixed('a/', opts.oldPath);
  const b = prefixed('b/', opts.newPath);
  let out = `diff --git ${a} ${b}\n`;
  if (modeChanged) out += `old mode ${opts.oldMode}\nnew mode ${mode}\n`;
  if (hunks) {
    out += modeChanged ? `index ${oldId}..${newId}\n` : `index ${oldId}..${newId} ${mode}\n`;
    // git ends a name containing a space with a tab, so that tools know where it stops.
    out += `--- ${a}${opts.oldPath.includes(' ') ? '\t' : ''}\n`;
    out += `+++ ${b}${opts.newPath.includes(' ') ? '\t' : ''}\n`;
    out += hunks;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Counting and the diffstat

/** Lines added and removed between two texts, as git's --stat/--numstat count them. */
export function countChangedLines(oldText: string, newText: string): LineCounts {
  const script = diffLines(splitLines(oldText), splitLines(newText));
  let added = 0;
  let removed = 0;
  for (const c of script) {
    added += c.ins;
    removed += c.del;
  }
  return { added, removed };
}

/** Lines added and removed in unified diff text (one or several files); headers are not counted. */
export function countDiffLines(diffText: string): LineCounts {
  let added = 0;
  let removed = 0;
  let oldLeft = 0;
  let newLeft = 0;
  for (const line of diffText.split('\n')) {
    const m = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (m) {
      oldLeft = m[1] === undefined ? 1 : Number(m[1]);
      newLeft = m[2] === undefined ? 1 : Number(m[2]);
      continue;
    }
    if (oldLeft === 0 && newLeft === 0) continue;
    if (line.startsWith('+')) {
      added++;
      newLeft--;
    } else if (line.startsWith('-')) {
      removed++;
      oldLeft--;
    } else if (line.startsWith(' ') || line === '') {
      oldLeft--;
      newLeft--;
    }
  }
  return { added, removed };
}

function decimalWidth(n: number): number {
  return String(n).length;
}

/** Scales a count to the graph width, keeping at least one column for any non-zero count. */
function scaleLinear(it: number, width: number, maxChange: number): number {
  if (!it) return 0;
  return 1 + Math.floor((it * (width - 1)) / maxChange);
}

/**
 * The stat block `git format-patch` prints after `---`: one ` path | N ++--` line per file in
 * path order, the graph scaled to fit the width, long names shortened from the left at a `/`
 * with `...`, then the ` N file(s) changed, ...` summary. Each line ends with `\n`.
 */
export function diffstat(files: DiffstatFile[], opts: DiffstatOptions = {}): string {
  const shown = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  if (shown.length === 0) return ' 0 files changed\n';
  const names = shown.map(f => quotePath(f.path));
  let maxChange = 0;
  let maxLen = 0;
  shown.forEach((f, i) => {
    maxLen = Math.max(maxLen, displayWidth(names[i]));
    maxChange = Math.max(maxChange, f.added + f.removed);
  });

  let width = opts.width ?? 72;
  const numberWidth = decimalWidth(maxChange);
  if (width < 16 + 6 + numberWidth) width = 16 + 6 + numberWidth;
  let graphWidth = maxChange;
  let nameWidth = maxLen;
  if (nameWidth + numberWidth + 6 + graphWidth > width) {
    if (graphWidth > Math.floor((width * 3) / 8) - numberWidth - 6) {
      graphWidth = Math.floor((width * 3) / 8) - numberWidth - 6;
      if (graphWidth < 6) graphWidth = 6;
    }
    if (nameWidth > width - numberWidth - 6 - graphWidth) nameWidth = width - numberWidth - 6 - graphWidth;
    else graphWidth = width - numberWidth - 6 - nameWidth;
  }

  let out = '';
  let adds = 0;
  let dels = 0;
  shown.forEach((f, i) => {
    let name = names[i];
    let prefix = '';
    let len = nameWidth;
    if (nameWidth < displayWidth(name)) {
      prefix = '...';
      len = Math.max(len - 3, 0);
      name = name.slice(name.length - len);
      const slash = name.indexOf('/');
      if (slash !== -1) name = name.slice(slash);
    }
    let add = f.added;
    let del = f.removed;
    if (graphWidth <= maxChange) {
      let total = scaleLinear(add + del, graphWidth, maxChange);
      if (total < 2 && add && del) total = 2;
      if (add < del) {
        add = scaleLinear(add, graphWidth, maxChange);
        del = total - add;
      } else {
        del = scaleLinear(del, graphWidth, maxChange);
        add = total - del;
      }
    }
    const count = f.added + f.removed;
    out +=
      ` ${prefix}${name.padEnd(len)} | ${String(count).padStart(numberWidth)}${count ? ' ' : ''}` +
      '+'.repeat(add) +
      '-'.repeat(del) +
      '\n';
    adds += f.added;
    dels += f.removed;
  });
  return out + diffstatSummary(shown.length, adds, dels);
}

/** git's summary line, e.g. ` 1 file changed, 2 insertions(+), 1 deletion(-)`. */
export function diffstatSummary(filesChanged: number, insertions: number, deletions: number): string {
  if (!filesChanged) return ' 0 files changed\n';
  let s = ` ${filesChanged} file${filesChanged === 1 ? '' : 's'} changed`;
  if (insertions || deletions === 0) s += `, ${insertions} insertion${insertions === 1 ? '' : 's'}(+)`;
  if (deletions || insertions === 0) s += `, ${deletions} deletion${deletions === 1 ? '' : 's'}(-)`;
  return s + '\n';
}

function displayWidth(s: string): number {
  // Paths are ASCII or quoted (and so ASCII) by quotePath.
  return s.length;
}
