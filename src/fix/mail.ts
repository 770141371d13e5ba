// Kernel patch mails in the form `git format-patch` writes them (git 2.39): the mbox `From `
// line, From/Date/Subject headers, the commit message, `---`, the diffstat, the diffs and the
// signature block. Also the commit-message helpers that go with them: paragraph wrapping at
// checkpatch's 75 columns, and the subsystem prefix of the subject line.
//
// The signature block: git ends each mail with `-- \n<git version>\n\n` (its format.signature
// default). These mails are not made by git, so the default names this tool instead; pass
// `signature: '2.39.5'` for output identical to git's, or `signature: false` for none
// (`--no-signature`). `git am` drops everything after `-- ` either way.
import { countDiffLines, diffstat, FuncnameRule, unifiedDiff } from './diff';
import { VERSION } from '../version';

export interface Ident {
  name: string;
  email: string;
}

export interface FileChange {
  /** Repository-relative path, e.g. `fs/fuse/virtio_fs.c`. */
  path: string;
  oldText: string;
  newText: string;
  /** File mode on the `index` line; `100644` by default. */
  mode?: string;
  /** Full blob ids to print instead of hashing the texts. */
  oldBlob?: string;
  newBlob?: string;
}

/** Settings shared by every mail of a series. */
export interface MailCommon {
  /** Author, shown in `From:`; also the default `Signed-off-by:`. */
  from: Ident;
  /** Author date. */
  date: Date;
  /** The author's UTC offset in minutes (east positive: 60 is `+0100`); 0 by default. */
  tzOffsetMinutes?: number;
  /** Sign-offs after the trailers; `[from]` by default, `[]` for none. */
  signedOffBy?: Ident[];
  /** `PATCH` by default (git's --subject-prefix), e.g. `RFC PATCH`. */
  subjectTag?: string;
  /** Re-roll count: 2 gives `[PATCH v2]` (git's -v). */
  version?: number;
  /** Hex digits of the blob ids on `index` lines; 7 by default (git in a small repository; kernel trees usually print 12). */
  abbrev?: number;
  /** Signature under `-- `; `virtio-race-lint <version>` by default, false for none. */
  signature?: string | false;
  /** Re-wrap the body with wrapParagraphs(); true by default. */
  wrapBody?: boolean;
  /** Lines of diff context; 3 by default. */
  context?: number;
  /**
   * Hunk-header rule; `default` (git without attributes) by default. Pass `cpp` to print what
   * `git format-patch` prints in a Linux checkout, whose .gitattributes sets `diff=cpp` for `*.[ch]`.
   */
  funcname?: FuncnameRule;
}

/** One mail = one commit. */
export interface PatchOptions extends MailCommon {
  /** The commit subject without `[PATCH]`, prefix included: `virtiofs: take the lock with irqsave`. */
  subject: string;
  /** The commit message body (without sign-offs). */
  body?: string;
  /** Trailer lines placed before the sign-offs, e.g. `Fixes: 123456789abc ("...")`, `Cc: stable@vger.kernel.org`. */
  trailers?: string[];
  /** Mail recipients (`Name <mail>` or `mail`), printed as git's --to and --cc print them. */
  to?: string[];
  cc?: string[];
  /**
   * Notes for the reader of the mail, printed after `---` as `git format-patch --notes` prints a
   * commit's notes: `git am` and checkpatch.pl ignore them, they are not part of the commit.
   */
  notes?: string;
  files: FileChange[];
  /** The commit id for the mbox `From ` line; forty zeros by default. */
  commit?: string;
  /** Position in a series; numbers are shown only when total > 1. */
  number?: { index: number; total: number };
}

/** One fixed file and the message for it. */
export interface FilePatch extends FileChange {
  /** Subsystem prefix; subjectPrefixForPath(path) when undefined, none when ''. */
  prefix?: string;
  /** Subject text after the prefix: `take the lock with irqsave in the done work`. */
  summary: string;
  body?: string;
  trailers?: string[];
  to?: string[];
  cc?: string[];
  notes?: string;
  commit?: string;
}

export interface PatchMailOptions extends MailCommon {
  patches: FilePatch[];
}

export interface PatchMail {
  /** The source file the mail changes. */
  path: string;
  subject: string;
  /** The name `git format-patch` would give the file, e.g. `0001-virtiofs-take-the-lock-with-irqsave.patch`. */
  fileName: string;
  text: string;
}

// ---------------------------------------------------------------------------------------------
// Mails

/** One mail per changed file, numbered `[PATCH n/m]` when there are several. */
export function formatPatchMail(opts: PatchMailOptions): PatchMail[] {
  const { patches, ...common } = opts;
  return patches.map((p, i) => {
    const prefix = p.prefix ?? subjectPrefixForPath(p.path);
    const subject = prefix ? `${prefix}: ${p.summary}` : p.summary;
    const { path, oldText, newText, mode, oldBlob, newBlob } = p;
    const text = formatPatch({
      ...common,
      subject,
      body: p.body,
      trailers: p.trailers,
      to: p.to,
      cc: p.cc,
      notes: p.notes,
      commit: p.commit,
      files: [{ path, oldText, newText, mode, oldBlob, newBlob }],
      number: { index: i + 1, total: patches.length },
    });
    return { path, subject, fileName: patchFileName(i + 1, subject, opts.version), text };
  });
}

/** Concatenates mails into one mbox, as `git format-patch --stdout` prints a series. */
export function toMbox(mails: (PatchMail | string)[]): string {
  return mails.map(m => (typeof m === 'string' ? m : m.text)).join('');
}

/** One `git format-patch` mail for a commit changing `files`. */
export function formatPatch(opts: PatchOptions): string {
  const files = [...opts.files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const message = cleanupMessage(buildMessage(opts));
  const { title, rest } = splitMessage(message);

  let out = `From ${opts.commit ?? '0'.repeat(40)} Mon Sep 17 00:00:00 2001\n`;
  out += fromHeader(opts.from);
  out += `Date: ${rfc2822Date(opts.date, opts.tzOffsetMinutes ?? 0)}\n`;
  const subjectStart = `Subject: ${subjectBrackets(opts)}`;
  out += subjectStart + encodeSubject(title, subjectStart.length) + '\n';
  if (hasNonAscii(message)) {
    out += 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n';
  }
  out += recipientsHeader('To', opts.to) + recipientsHeader('Cc', opts.cc);
  out += '\n';
  if (rest) out += rest + '\n';

  const diffs: string[] = [];
  const stats: { path: string; added: number; removed: number }[] = [];
  for (const f of files) {
    const d = unifiedDiff(f.oldText, f.newText, {
      oldPath: f.path,
      newPath: f.path,
      context: opts.context,
      abbrev: opts.abbrev ?? 7,
      mode: f.mode,
      oldBlob: f.oldBlob,
      newBlob: f.newBlob,
      funcname: opts.funcname,
    });
    if (!d) continue;
    diffs.push(d);
    // Counted from the diff's hunks rather than by diffing the texts again.
    stats.push({ path: f.path, ...countDiffLines(d) });
  }
  out += '---\n';
  const notes = (opts.notes ?? '').replace(/\r\n/g, '\n').replace(/\s+$/, '');
  // git indents every line of a note, blank ones too.
  if (notes)
    out +=
      '\nNotes:\n' +
      notes
        .split('\n')
        .map(l => `    ${l}`)
        .join('\n') +
      '\n\n';
  if (stats.length) out += diffstat(stats) + '\n' + diffs.join('');
  else out += '\n';
  const signature = opts.signature === undefined ? `virtio-race-lint ${VERSION}` : opts.signature;
  if (signature) out += `-- \n${signature}${signature.endsWith('\n') ? '' : '\n'}\n`;
  return out;
}

/** `To: a,\n    b\n` as git format-patch prints --to (and --cc): one address a line, unencoded. */
function recipientsHeader(name: string, addrs: string[] | undefined): string {
  const list = (addrs ?? []).map(a => a.replace(/[\r\n]+/g, ' ').trim()).filter(Boolean);
  if (!list.length) return '';
  return `${name}: ` + list.map((a, i) => (i ? '    ' : '') + a + (i + 1 < list.length ? ',' : '') + '\n').join('');
}

function subjectBrackets(opts: PatchOptions): string {
  let tag = opts.subjectTag ?? 'PATCH';
  if (opts.version && opts.version > 1) tag += ` v${opts.version}`;
  const n = opts.number;
  if (n && n.total > 1) {
    const w = String(n.total).length;
    tag += ` ${String(n.index).padStart(w, '0')}/${n.total}`;
  }
  return tag ? `[${tag}] ` : '';
}

/**
 * The file name `git format-patch` gives patch `n`: `[v<version>-]0001-` and the subject reduced
 * to runs of `[A-Za-z0-9._]` joined by `-`, cut so that the name with `.patch` has 64 characters
 * at most.
 */
export function patchFileName(n: number, subject: string, version?: number): string {
  let name = version && version > 1 ? `v${version}-` : '';
  name += `${String(n).padStart(4, '0')}-${sanitizedSubject(subject)}`;
  return name.slice(0, 64 - '.patch'.length - 1) + '.patch';
}

function sanitizedSubject(subject: string): string {
  let s = '';
  let space = 2;
  for (let i = 0; i < subject.length; i++) {
    const c = subject[i];
    if (/[A-Za-z0-9._]/.test(c)) {
      if (space === 1) s += '-';
      space = 0;
      s += c;
      if (c === '.') while (subject[i + 1] === '.') i++;
    } else {
      space |= 1;
    }
  }
  return s.replace(/[.-]+$/, '');
}

// ---------------------------------------------------------------------------------------------
// The commit message

function buildMessage(opts: PatchOptions): string {
  const wrap = opts.wrapBody ?? true;
  let body = (opts.body ?? '').replace(/\r\n/g, '\n').trim();
  if (wrap && body) body = wrapParagraphs(body);
  const signers = opts.signedOffBy ?? [opts.from];
  const tags = [...(opts.trailers ?? [])];
  for (const s of signers) {
    const line = `Signed-off-by: ${s.name} <${s.email}>`;
    if (!tags.includes(line) && !body.split('\n').includes(line)) tags.push(line);
  }
  let msg = opts.subject.trim() + '\n';
  const bodyLines = body ? body.split('\n') : [];
  const lastPara = bodyLines.slice(bodyLines.lastIndexOf('') + 1);
  if (body) msg += '\n' + body + '\n';
  if (tags.length) {
    // Trailers join an existing trailer block at the end of the body, as `git commit -s` does.
    const joinBlock = lastPara.length > 0 && lastPara.every(l => TRAILER.test(l));
    msg += (body && joinBlock ? '' : '\n') + tags.join('\n') + '\n';
  }
  return msg;
}

const TRAILER = /^[A-Za-z0-9][A-Za-z0-9-]*: \S/;

/** git commit's whitespace cleanup: trailing blanks off, blank runs collapsed, blank ends removed. */
function cleanupMessage(msg: string): string {
  const out: string[] = [];
  let pendingBlank = false;
  for (const raw of msg.split('\n')) {
    const line = raw.replace(/[ \t\r\n\v\f]+$/, '');
    if (!line) {
      pendingBlank = out.length > 0;
      continue;
    }
    if (pendingBlank) out.push('');
    pendingBlank = false;
    out.push(line);
  }
  return out.join('\n');
}

/** The title is the first paragraph joined with spaces; the rest is the body. */
function splitMessage(msg: string): { title: string; rest: string } {
  const lines = msg.split('\n');
  let i = 0;
  const title: string[] = [];
  while (i < lines.length && lines[i] !== '') title.push(lines[i++]);
  while (i < lines.length && lines[i] === '') i++;
  return { title: title.join(' '), rest: lines.slice(i).join('\n') };
}

// ---------------------------------------------------------------------------------------------
// Headers

function hasNonAscii(s: string): boolean {
  // git also treats ESC as non-ASCII (ISO-2022).
  // eslint-disable-next-line no-control-regex -- ASCII starts at NUL; ESC is the point
  return /[^\x00-\x7f]|\x1b/.test(s);
}

/** The RFC 2822 date git prints: `Tue, 5 Mar 2024 14:07:09 +0100` (day not zero-padded). */
export function rfc2822Date(date: Date, tzOffsetMinutes = 0): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const local = new Date(Math.floor(date.getTime() / 1000) * 1000 + tzOffsetMinutes * 60000);
  const two = (n: number) => String(n).padStart(2, '0');
  const off = Math.abs(tzOffsetMinutes);
  const tz = `${tzOffsetMinutes < 0 ? '-' : '+'}${two(Math.floor(off / 60))}${two(off % 60)}`;
  return (
    `${days[local.getUTCDay()]}, ${local.getUTCDate()} ${months[local.getUTCMonth()]} ${local.getUTCFullYear()} ` +
    `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())} ${tz}`
  );
}

const RFC822_SPECIALS = /[()<>[\]:;@,."\\]/;

function fromHeader(ident: Ident): string {
  // git stores identities without surrounding blanks.
  const from = { name: ident.name.trim(), email: ident.email.trim() };
  let line = 'From: ';
  let maxLength = 78;
  if (needsRfc2047(from.name)) {
    line += rfc2047(from.name, line.length, true);
    maxLength = 76;
  } else if (RFC822_SPECIALS.test(from.name)) {
    line += wrapHeaderText('"' + from.name.replace(/(["\\])/g, '\\$1') + '"', 6, maxLength);
  } else {
    line += wrapHeaderText(from.name, 6, maxLength);
  }
  const lastLen = line.length - (line.lastIndexOf('\n') + 1);
  if (maxLength < lastLen + 2 + from.email.length + 1) line += '\n';
  return `${line} <${from.email}>\n`;
}

function encodeSubject(title: string, used: number): string {
  if (needsRfc2047(title)) return rfc2047(title, used, false);
  return wrapHeaderText(title, used, 78);
}

function needsRfc2047(s: string): boolean {
  return hasNonAscii(s) || s.includes('\n') || s.includes('=?');
}

/** RFC 2047 Q-encoding as git writes it: `=?UTF-8?q?...?=`, folded before 76 columns, spaces as `=20`. */
function rfc2047(text: string, used: number, address: boolean): string {
  const open = '=?UTF-8?q?';
  let out = open;
  let lineLen = used + open.length;
  for (const ch of text) {
    const bytes = Buffer.from(ch, 'utf8');
    const special = bytes.length > 1 || isRfc2047Special(bytes[0], address);
    const enc = special ? [...bytes].map(b => '=' + b.toString(16).toUpperCase().padStart(2, '0')).join('') : ch;
    if (lineLen + enc.length + 2 > 76) {
      out += '?=\n ' + open;
      lineLen = open.length + 1;
    }
    out += enc;
    lineLen += enc.length;
  }
  return out + '?=';
}

function isRfc2047Special(c: number, address: boolean): boolean {
  if (c >= 0x80 || c === 0x1b || c < 0x20 || c === 0x7f) return true;
  const ch = String.fromCharCode(c);
  if (ch === ' ' || ch === '=' || ch === '?' || ch === '_') return true;
  if (!address) return false;
  return !/[A-Za-z0-9!*+\-/]/.test(ch);
}

/**
 * Folds a header value the way git does: greedy, with `used` columns already taken on the first
 * line; a word that would end past `width` goes to a new line indented by one blank (even the
 * first word), and a word wider than a line is not cut. Of a run of blanks before a moved word,
 * all but the last stay at the end of the previous line, as in git.
 */
function wrapHeaderText(text: string, used: number, width: number): string {
  const parts = text.split(/([ \t]+)/);
  let out = '';
  let col = used;
  for (let i = 0; i < parts.length; i += 2) {
    const gap = i > 0 ? parts[i - 1] : '';
    const word = parts[i];
    if (!word && i > 0) {
      out += gap;
      col += gap.length;
      continue;
    }
    if (col + gap.length + word.length <= width) {
      out += gap + word;
      col += gap.length + word.length;
    } else {
      out += gap.slice(0, -1) + '\n ' + word;
      col = 1 + word.length;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Paragraph wrapping

const LIST_ITEM = /^( {0,3})(\d+[.)]|[-*])( +)(?=\S)/;
const TRAILER_LINE = /^(?:[A-Za-z][A-Za-z0-9]*-)*[A-Za-z]+-by: |^(?:Fixes|Link|Closes|Cc|CC|Message-ID|Change-Id|BugLink): /;

/** Lines kept exactly as written: indented or quoted text, code, logs, trailers. */
function isVerbatim(line: string): boolean {
  if (/^[ \t]/.test(line)) return true;
  if (/^>/.test(line)) return true;
  if (TRAILER_LINE.test(line)) return true;
  // C: a statement, a declaration with an initialiser, a brace.
  if (/(?:\)|\b(?:break|continue|return))\s*;$|=[^;]*;$|[{}];?$/.test(line)) return true;
  if (/^(?:#\s*(?:include|define|if|ifdef|ifndef|else|endif)\b|\/\/|\/\*|\*\/)/.test(line)) return true;
  if (/^\[\s*\d+\.\d+\]/.test(line)) return true; // a kernel log line
  // Columns lined up with runs of blanks (two blanks after a sentence end are prose).
  if (/[^.?!:\s] {2,}\S/.test(line)) return true;
  return false;
}

/**
 * Re-flows prose paragraphs to at most `width` columns (checkpatch wants 75 in commit logs).
 * Kept as they are: blank lines, indented lines, code-like lines, quotes, log lines and trailers.
 * List items (`1. `, `2) `, `- `, `* `) are wrapped with a hanging indent under their text; their
 * continuation lines may be indented to that column. Breaks happen only at blanks, and not inside
 * a call such as `virtqueue_get_buf(vq, &len)` unless the call alone is wider than the line.
 */
export function wrapParagraphs(text: string, width = 75): string {
  const out: string[] = [];
  let prose: string[] = [];
  let first = '';
  let hang = '';
  let inItem = false;
  const flush = () => {
    if (prose.length) out.push(...fill(tokens(prose.join(' ')), first, hang, width));
    prose = [];
    first = hang = '';
    inItem = false;
  };
  for (const raw of text.replace(/\r\n/g, '\n').split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (!line) {
      flush();
      out.push('');
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      flush();
      first = item[0];
      hang = ' '.repeat(item[0].length);
      prose = [line.slice(item[0].length)];
      inItem = true;
      continue;
    }
    const rest = line.slice(hang.length);
    if (inItem && line.startsWith(hang) && !/^\s/.test(rest) && !isVerbatim(rest)) {
      prose.push(rest);
      continue;
    }
    if (isVerbatim(line)) {
      flush();
      out.push(line);
      continue;
    }
    // Prose: continues the current paragraph or list item.
    prose.push(line);
  }
  flush();
  while (out.length && out[out.length - 1] === '') out.pop();
  return out.join('\n');
}

interface Unit {
  text: string;
  /** Blanks before the next unit on the same line: 2 keeps a two-space sentence break. */
  gap: number;
}

/**
 * Splits prose at blanks, keeping `name(args with blanks)` together as one unit; a unit wider
 * than a line is split back into its words by fill().
 */
function tokens(s: string): Unit[] {
  const out: Unit[] = [];
  let cur = '';
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' && (depth > 0 || /[A-Za-z0-9_]$/.test(cur))) depth++;
    else if (c === ')' && depth > 0) depth--;
    if (c === ' ' && depth === 0) {
      let j = i;
      while (s[j + 1] === ' ') j++;
      if (cur) out.push({ text: cur, gap: j > i && /[.?!:]["')\]]*$/.test(cur) ? 2 : 1 });
      cur = '';
      i = j;
    } else {
      cur += c;
    }
  }
  if (cur) out.push({ text: cur, gap: 1 });
  return out;
}

function fill(units: Unit[], first: string, hang: string, width: number): string[] {
  const words: Unit[] = [];
  for (const u of units) {
    if (u.text.includes(' ') && u.text.length > width - hang.length) {
      const parts = u.text.split(/ +/).filter(Boolean);
      parts.forEach((p, i) => words.push({ text: p, gap: i === parts.length - 1 ? u.gap : 1 }));
    } else {
      words.push(u);
    }
  }
  const lines: string[] = [];
  let line = first;
  let gap = -1;
  for (const w of words) {
    if (gap < 0) line += w.text;
    else if (line.length + gap + w.text.length <= width) line += ' '.repeat(gap) + w.text;
    else {
      lines.push(line);
      line = hang + w.text;
    }
    gap = w.gap;
  }
  if (gap >= 0) lines.push(line);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Subject prefixes

// Subjects that say nothing about a file's own subsystem.
const GENERIC_PREFIXES = new Set([
  'treewide',
  'tree-wide',
  'tree wide',
  'all',
  'global',
  'cocci',
  'coccinelle',
  'trivial',
  'spelling',
  'typo',
  'kernel-doc',
  'docs',
  'documentation',
  'license',
  'spdx',
]);

/**
 * The subsystem prefix of one subject (`scsi: virtio_scsi: fix ...` gives `scsi: virtio_scsi`):
 * the leading `: `-separated parts that contain no blanks, leaving at least the summary.
 */
export function subjectPrefix(subject: string): string | undefined {
  const s = subject.trim().replace(/^(?:\[[^\]]*\]\s*)+/, '');
  if (/^(?:Revert|Reapply) "/.test(s) || /^Merge\b/.test(s)) return undefined;
  const parts = s.split(': ');
  const prefix: string[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i];
    if (!p || /\s/.test(p) || p.includes(':')) break;
    prefix.push(p);
  }
  if (!prefix.length) return undefined;
  return prefix.join(': ');
}

/**
 * The prefix used most often in a file's history, given `git log --format=%s -- FILE` (newest
 * first). Reverts, merges and tree-wide subjects are ignored; prefixes differing only in case
 * count together and the newest spelling is returned; ties go to the more recently used one.
 */
export function subjectPrefixFromLog(subjects: string[]): string | undefined {
  const tally = new Map<string, { count: number; newest: number; spelling: string }>();
  subjects.forEach((subject, i) => {
    const p = subjectPrefix(subject);
    if (!p || GENERIC_PREFIXES.has(p.toLowerCase())) return;
    const key = p.toLowerCase();
    const t = tally.get(key);
    if (t) t.count++;
    else tally.set(key, { count: 1, newest: i, spelling: p });
  });
  let best: { count: number; newest: number; spelling: string } | undefined;
  for (const t of tally.values()) {
    if (!best || t.count > best.count || (t.count === best.count && t.newest < best.newest)) best = t;
  }
  return best?.spelling;
}

// Prefixes used upstream for the virtio drivers and their neighbours; first match wins.
const PATH_PREFIXES: [RegExp, string | ((m: RegExpExecArray) => string)][] = [
  [/^fs\/fuse\/virtio_fs\.c$/, 'virtiofs'],
  [/^drivers\/gpu\/drm\/virtio\//, 'drm/virtio'],
  [/^drivers\/char\/virtio_console\.c$/, 'virtio_console'],
  [/^drivers\/net\/virtio_net\.c$/, 'virtio_net'],
  [/^drivers\/block\/virtio_blk\.c$/, 'virtio-blk'],
  [/^drivers\/scsi\/virtio_scsi\.c$/, 'scsi: virtio_scsi'],
  [/^drivers\/virtio\/virtio\.c$/, 'virtio'],
  [/^drivers\/virtio\/virtio_pci_\w+\.[ch]$/, 'virtio_pci'],
  [/^drivers\/virtio\/virtio_mem\.c$/, 'virtio-mem'],
  [/^drivers\/virtio\/virtio_mmio\.c$/, 'virtio-mmio'],
  [/^drivers\/virtio\/(virtio_[\w-]+)\.c$/, m => m[1]],
  [/^drivers\/virtio\//, 'virtio'],
  [/^sound\/virtio\//, 'ALSA: virtio'],
  [/^net\/vmw_vsock\/virtio/, 'vsock/virtio'],
  [/^net\/9p\/trans_virtio\.c$/, '9p/trans_virtio'],
  [/^drivers\/crypto\/virtio\//, 'crypto: virtio'],
  [/^drivers\/iommu\/virtio-iommu\.c$/, 'iommu/virtio'],
  [/^drivers\/bluetooth\/virtio_bt\.c$/, 'Bluetooth: virtio_bt'],
  [/^drivers\/char\/hw_random\/virtio-rng\.c$/, 'hwrng: virtio'],
  [/^drivers\/i2c\/busses\/i2c-virtio\.c$/, 'i2c: virtio'],
  [/^drivers\/gpio\/gpio-virtio\.c$/, 'gpio: virtio'],
  [/^drivers\/nvdimm\/(?:virtio_pmem|nd_virtio)\.c$/, 'virtio_pmem'],
  [/^drivers\/rpmsg\/virtio_rpmsg_bus\.c$/, 'rpmsg: virtio'],
  [/^drivers\/remoteproc\/remoteproc_virtio\.c$/, 'remoteproc: virtio'],
  [/^drivers\/firmware\/arm_scmi\//, 'firmware: arm_scmi'],
  [/^drivers\/net\/caif\/caif_virtio\.c$/, 'caif_virtio'],
  [/^drivers\/net\/wireless\/virtual\/mac80211_hwsim\.c$/, 'wifi: mac80211_hwsim'],
  [/^drivers\/platform\/mellanox\/(mlxbf-tmfifo)\.c$/, m => `platform/mellanox: ${m[1]}`],
  [/^drivers\/s390\/virtio\//, 's390/virtio_ccw'],
  [/^drivers\/vhost\/vsock\.c$/, 'vhost/vsock'],
  [/^drivers\/vhost\//, 'vhost'],
  [/^drivers\/vdpa\/([\w-]+)\//, m => `vdpa/${m[1]}`],
  [/^drivers\/vdpa\//, 'vdpa'],
  [/^drivers\/vfio\/pci\/virtio\//, 'vfio/virtio'],
  [/^include\/(?:uapi\/)?linux\/(?:virtio|vring)\w*\.h$/, 'virtio'],
  [/^tools\/virtio\//, 'tools/virtio'],
  [/^arch\/um\/drivers\/([\w-]+)\.c$/, m => `um: ${m[1]}`],
  [/^kernel\/irq\//, 'genirq'],
  // General shapes of kernel subjects.
  [/^drivers\/gpu\/drm\/([\w-]+)\//, m => `drm/${m[1]}`],
  [/^drivers\/net\/ethernet\/[\w-]+\/([\w-]+)\//, m => `net: ${m[1]}`],
  [/^drivers\/net\/wireless\/(?:[\w-]+\/)*?([\w-]+)\/[^/]+$/, m => `wifi: ${m[1]}`],
  [/^drivers\/net\/([\w-]+)\.c$/, m => `net: ${m[1]}`],
  [/^drivers\/([\w-]+)\/(?:busses\/)?\1-([\w-]+)\.c$/, m => `${m[1]}: ${m[2]}`],
  [/^drivers\/([\w-]+)\/([\w-]+)\//, m => `${m[1]}: ${m[2]}`],
  [/^drivers\/([\w-]+)\/([\w-]+)\.[ch]$/, m => `${m[1]}: ${m[2]}`],
  [/^fs\/([\w-]+)\//, m => m[1]],
  [/^net\/([\w-]+)\//, m => `net/${m[1]}`],
  [/^sound\/soc\/(?:[\w-]+\/)*?([\w-]+)\/[^/]+$/, m => `ASoC: ${m[1]}`],
  [/^sound\/([\w-]+)\//, m => `ALSA: ${m[1]}`],
  [/^arch\/x86\/([\w-]+)\//, m => `x86/${m[1]}`],
  [/^arch\/([\w-]+)\//, m => m[1]],
  [/^kernel\/([\w-]+)\//, m => m[1]],
  [/^(mm|block|crypto|security|lib|init|ipc)\//, m => m[1]],
  [/^include\/(?:uapi\/)?linux\/([\w-]+)\.h$/, m => m[1]],
];

/** A subject prefix for a kernel path when its git history is not available. */
export function subjectPrefixForPath(path: string): string {
  const p = path.replace(/\\/g, '/').replace(/^(?:\.\/|[ab]\/)/, '');
  for (const [re, prefix] of PATH_PREFIXES) {
    const m = re.exec(p);
    if (m) return typeof prefix === 'string' ? prefix : prefix(m);
  }
  const base = p.slice(p.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '');
  return base || p;
}
