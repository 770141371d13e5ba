// What a kernel tree's own tools add to a generated patch, and applying it: the tree's
// scripts/checkpatch.pl --strict on the mail, To:/Cc: from its scripts/get_maintainer.pl, a
// Fixes: line from `git blame` of the lock line, and `git am`. These run code from the tree
// (the scripts; git reads the repository's config), so the editor runs them only in a trusted
// workspace (`trusted: false` runs nothing and the patch's notes say what was skipped); the CLI
// trusts the tree its user points it at. Every process is started by gitInfo.ts's runProgram():
// no shell, a fixed environment, every program-naming git config key pinned, a timeout.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readIdent, runProgram, type RunResult } from './gitInfo';
import { wrapParagraphs, type PatchMail } from './mail';
import { patchMails, type MailOptions, type PatchResult } from './patch';

export const CHECKPATCH = 'scripts/checkpatch.pl';
export const GET_MAINTAINER = 'scripts/get_maintainer.pl';
/** How long one kernel script or `git am` may run (checkpatch on a large patch takes seconds). */
export const TOOL_TIMEOUT_MS = 60_000;

/** A kernel tree, for these tools: scripts/checkpatch.pl and MAINTAINERS at its root. */
export function isKernelTree(root: string): boolean {
  return isFile(path.join(root, CHECKPATCH)) && isFile(path.join(root, 'MAINTAINERS'));
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The first non-empty line of what a failed program said (or why it did not run). */
function failure(what: string, r: RunResult): string {
  const said = (r.stderr || r.stdout)
    .split('\n')
    .map(l => l.trim())
    .find(Boolean);
  return `${what} failed${r.error ? `: ${r.error}` : said ? `: ${said}` : r.code !== null ? ` (exit status ${r.code})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// checkpatch.pl

export interface CheckpatchResult {
  errors: number;
  warnings: number;
  /** CHECK messages (only counted with --strict). */
  checks: number;
  /** checkpatch's own `total: ...` line. */
  total: string;
  /** Each ERROR/WARNING/CHECK message with the lines that follow it (where, the line quoted). */
  messages: string[];
  /** No error, warning or check. */
  clean: boolean;
}

/** Reads checkpatch.pl's report: its `total:` line and its messages; undefined without a total. */
export function parseCheckpatch(out: string): CheckpatchResult | undefined {
  const m = /^total: (\d+) errors?, (\d+) warnings?, (?:(\d+) checks?, )?\d+ lines? checked$/m.exec(out);
  if (!m) return undefined;
  const messages: string[] = [];
  let cur: string[] | undefined;
  for (const line of out.split('\n')) {
    if (/^(?:ERROR|WARNING|CHECK):/.test(line)) {
      cur = [line];
      messages.push('');
    } else if (cur && line.trim() !== '' && !line.startsWith('total: ')) {
      cur.push(line);
    } else {
      cur = undefined;
    }
    if (cur) messages[messages.length - 1] = cur.join('\n');
  }
  const [errors, warnings, checks] = [m[1], m[2], m[3] ?? '0'].map(Number);
  return { errors, warnings, checks, total: m[0], messages, clean: errors + warnings + checks === 0 };
}

/** `perl scripts/checkpatch.pl --strict FILE` in the tree `root`. */
export async function runCheckpatch(root: string, patchFile: string): Promise<CheckpatchResult | { error: string }> {
  const r = await runProgram('perl', [path.join(root, CHECKPATCH), '--strict', patchFile], { cwd: root, timeoutMs: TOOL_TIMEOUT_MS });
  // checkpatch exits 1 when it reports an error or a warning: the report is what counts.
  const parsed = r.error ? undefined : parseCheckpatch(r.stdout);
  return parsed ?? { error: failure(CHECKPATCH, r) };
}

// ---------------------------------------------------------------------------------------------
// get_maintainer.pl

export interface Recipients {
  to: string[];
  cc: string[];
}

/**
 * Options for get_maintainer.pl: roles without the git statistics, and nothing that reads the
 * history (`--no-git --no-git-fallback`; `--no-fixes`: no lookup of the commits a Fixes: line
 * names), so it reads MAINTAINERS only and stays fast.
 */
export const GET_MAINTAINER_ARGS = ['--no-rolestats', '--roles', '--no-git', '--no-git-fallback', '--no-fixes'];

/**
 * Splits get_maintainer.pl's lines (`Name <mail> (role:SECTION)`): people (maintainer, reviewer,
 * supporter, odd fixer, …) go to To, mailing lists (`open list`, `moderated list`, …) to Cc. A
 * line without a role is a list when it is a bare address, a person when it has a name.
 */
export function parseMaintainers(out: string): Recipients {
  const to: string[] = [];
  const cc: string[] = [];
  for (const raw of out.split('\n')) {
    const line = raw.trim();
    if (!line.includes('@')) continue;
    // The address: a name and <mail>, or a bare mail; the role, in parentheses after it, may hold
    // parentheses itself (`(supporter:Real-time Linux (PREEMPT_RT):Keyword:PREEMPT_RT)`).
    const m = /^(.*?<[^<>\s]+>|[^\s<>()]+@[^\s<>()]+)(?:\s+\((.*)\))?$/.exec(line);
    if (!m) continue;
    const addr = m[1];
    const isList = m[2] !== undefined ? /^[^:]*\blist\b/i.test(m[2]) : !addr.includes('<');
    const into = isList ? cc : to;
    if (!to.includes(addr) && !cc.includes(addr)) into.push(addr);
  }
  return { to, cc };
}

/** `perl scripts/get_maintainer.pl GET_MAINTAINER_ARGS FILE` in the tree `root`. */
export async function runGetMaintainer(root: string, patchFile: string): Promise<Recipients | { error: string }> {
  const script = path.join(root, GET_MAINTAINER);
  if (!isFile(script)) return { error: `${GET_MAINTAINER} is not in ${root}` };
  let r = await runProgram('perl', [script, ...GET_MAINTAINER_ARGS, patchFile], { cwd: root, timeoutMs: TOOL_TIMEOUT_MS });
  // Trees older than get_maintainer.pl's --fixes option refuse it: they do not look fixes up either.
  if (r.code !== 0 && /Unknown option: (?:no-?)?fixes\b/i.test(r.stderr)) {
    r = await runProgram('perl', [script, ...GET_MAINTAINER_ARGS.filter(a => a !== '--no-fixes'), patchFile], {
      cwd: root,
      timeoutMs: TOOL_TIMEOUT_MS,
    });
  }
  if (r.code !== 0) return { error: failure(GET_MAINTAINER, r) };
  return parseMaintainers(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// Fixes: from git blame

export interface FixesTag {
  /** The full commit id. */
  sha: string;
  /** Its subject, as `git log --format=%s` (and checkpatch.pl) prints it. */
  subject: string;
  /** `Fixes: <12 hex digits> ("<subject>")`. */
  trailer: string;
  /** The 0-based line of the lock it was blamed for. */
  line: number;
  /** The repository's first commit (blame stops there: the line may be older than the history). */
  boundary: boolean;
}

/** The kernel's Fixes: form (Documentation/process/submitting-patches.rst). */
export function fixesTrailer(sha: string, subject: string): string {
  return `Fixes: ${sha.slice(0, 12)} ("${subject}")`;
}

/**
 * The commit that last changed each lock line, by `git blame --porcelain -L n,+1 --contents -`
 * of `text` (the text the patch was made from, so the line numbers are its own) for the file
 * `rel` of the repository `top`. One tag per commit; `problems` says, one line each, why a line
 * has none (not committed yet, git failed).
 */
export async function blameFixes(
  top: string,
  rel: string,
  text: string,
  lines: number[],
): Promise<{ tags: FixesTag[]; problems: string[] }> {
  const tags: FixesTag[] = [];
  const problems: string[] = [];
  for (const line of lines) {
    // A long history (a kernel checkout) can take blame several seconds.
    const r = await runProgram('git', ['blame', '--porcelain', '--no-textconv', '-L', `${line + 1},+1`, '--contents', '-', '--', rel], {
      cwd: top,
      input: text,
      timeoutMs: TOOL_TIMEOUT_MS,
    });
    const head = /^([0-9a-f]{40,64}) \d+ \d+/.exec(r.stdout);
    if (r.code !== 0 || !head) {
      problems.push(`${rel}:${line + 1}: ${failure('git blame', r)}`);
      continue;
    }
    const sha = head[1];
    if (/^0+$/.test(sha)) {
      problems.push(`${rel}:${line + 1}: the lock line is not committed yet: no commit to name in Fixes:`);
      continue;
    }
    if (tags.some(t => t.sha === sha)) continue;
    const log = await runProgram('git', ['log', '-n', '1', '--no-show-signature', '--no-color', '--format=%s', sha, '--'], { cwd: top });
    const subject = log.code === 0 ? log.stdout.replace(/\n+$/, '') : '';
    if (!subject) {
      problems.push(`${rel}:${line + 1}: ${failure(`git log ${sha.slice(0, 12)}`, log)}`);
      continue;
    }
    // The porcelain headers end at the line's content (a tab first); `boundary` marks a first commit.
    const boundary = /^boundary$/m.test(r.stdout.split('\n\t')[0]);
    tags.push({ sha, subject, trailer: fixesTrailer(sha, subject), line, boundary });
  }
  return { tags, problems };
}

// ---------------------------------------------------------------------------------------------
// The tools on a series of prepared patches

/** Where one prepared patch's file lives: the directory its paths are relative to, and whether git holds it. */
export interface PatchTree {
  root: string;
  /** `root` is a git repository's top level (blame and git am can run). */
  git: boolean;
}

export interface KernelToolsOptions {
  /** false (an untrusted workspace): nothing runs; the patch's notes say what was skipped. */
  trusted: boolean;
  checkpatch?: boolean;
  maintainers?: boolean;
  fixes?: boolean;
}

export interface ToolsOutcome {
  /** The mails, with the trailers, recipients and notes added. */
  mails: PatchMail[];
  /** checkpatch.pl's report on each mail as it is returned (undefined: not run). */
  checkpatch: (CheckpatchResult | { error: string } | undefined)[];
  /** What ran, what it gave and what was skipped and why, one line each (no newline), for the output. */
  log: string[];
  /** The Fixes: tags of each mail. */
  fixes: FixesTag[][];
  /** A tool that was asked for and could not run (also in `log`): the command line exits 2. */
  failed: string[];
}

/**
 * Adds to each prepared patch (in place) what the kernel tools give, as asked, and returns the
 * final mails: Fixes: trailers first (they are part of the message get_maintainer.pl reads),
 * then To:/Cc:, then checkpatch.pl's report on the mail as it will be written. The scripts read
 * the mail from a temporary file, removed afterwards.
 */
export async function applyKernelTools(
  prepared: (PatchResult & { ok: true })[],
  trees: PatchTree[],
  mailOpts: MailOptions,
  o: KernelToolsOptions,
): Promise<ToolsOutcome> {
  const log: string[] = [];
  const failed: string[] = [];
  const fixes: FixesTag[][] = prepared.map(() => []);
  const checkpatch: ToolsOutcome['checkpatch'] = prepared.map(() => undefined);
  if (!o.trusted) {
    const skipped = [
      o.checkpatch ? `${CHECKPATCH} (the patch is not checked)` : '',
      o.maintainers ? `${GET_MAINTAINER} (no To:/Cc: headers)` : '',
      o.fixes ? 'git blame (no Fixes: line)' : '',
    ].filter(Boolean);
    if (skipped.length) {
      const note =
        `virtio-race-lint ran nothing from the workspace, which is not trusted: not ${listOf(skipped, 'or')}. ` +
        'Trust the workspace and create the patch again, or run them yourself.';
      for (const p of prepared) p.notes = joinNotes(p.notes, note);
      log.push(`not run (untrusted workspace): ${skipped.join(', ')}`);
    }
    return { mails: patchMails(prepared, mailOpts), checkpatch, log, fixes, failed };
  }

  if (o.fixes) {
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i];
      const t = trees[i];
      if (!t.git) {
        log.push(`${p.path}: no Fixes: line: the file is not in a git repository (nothing to blame)`);
        continue;
      }
      const { tags, problems } = await blameFixes(t.root, p.path, p.oldText, p.lockLines);
      for (const pr of problems) {
        log.push(`no Fixes: line for ${pr}`);
        if (!/not committed yet/.test(pr)) failed.push(pr);
      }
      fixes[i] = tags;
      if (!tags.length) continue;
      p.trailers = [...(p.trailers ?? []), ...tags.map(x => x.trailer)];
      const lines = tags.map(x => `${p.path}:${x.line + 1}`);
      const one = tags.length === 1;
      const note =
        (one
          ? 'The Fixes: line names the commit that last changed the lock line'
          : 'The Fixes: lines name the commits that last changed the lock lines') +
        ` (git blame of ${lines.join(', ')}), ` +
        `which ${one ? 'is' : 'are'} not necessarily the one${one ? '' : 's'} that introduced the race: check before sending.` +
        (!tags.some(x => x.boundary)
          ? ''
          : one
            ? ' It is the first commit of this repository: the line may be older than the history.'
            : ' One of them is the first commit of this repository: its line may be older than the history.');
      p.notes = joinNotes(p.notes, note);
      for (const x of tags) {
        log.push(
          `${p.path}:${x.line + 1}: ${x.trailer} (the commit that last changed the lock line; check it` +
            `${x.boundary ? "; it is the repository's first commit, the line may be older" : ''})`,
        );
      }
    }
  }

  let mails = patchMails(prepared, mailOpts);
  const kernel = trees.map(t => isKernelTree(t.root));
  if ((o.checkpatch || o.maintainers) && kernel.some(k => !k)) {
    for (const root of new Set(trees.filter((_, i) => !kernel[i]).map(t => t.root))) {
      log.push(
        `${root} is not a kernel tree (no ${CHECKPATCH} and MAINTAINERS there): ` +
          `${[o.checkpatch ? 'checkpatch.pl' : '', o.maintainers ? 'get_maintainer.pl' : ''].filter(Boolean).join(' and ')} not run`,
      );
    }
  }
  if (!(o.checkpatch || o.maintainers) || !kernel.some(Boolean)) return { mails, checkpatch, log, fixes, failed };

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-patch-'));
  try {
    const write = (i: number) => {
      const f = path.join(tmp, mails[i].fileName);
      fs.writeFileSync(f, mails[i].text);
      return f;
    };
    if (o.maintainers) {
      let changed = false;
      for (let i = 0; i < mails.length; i++) {
        if (!kernel[i]) continue;
        const r = await runGetMaintainer(trees[i].root, write(i));
        if ('error' in r) {
          log.push(`${prepared[i].path}: no To:/Cc: headers: ${r.error}`);
          failed.push(r.error);
          continue;
        }
        prepared[i].to = r.to;
        prepared[i].cc = r.cc;
        changed = true;
        log.push(`${prepared[i].path}: ${GET_MAINTAINER}: To: ${r.to.join(', ') || '(none)'}; Cc: ${r.cc.join(', ') || '(none)'}`);
      }
      if (changed) mails = patchMails(prepared, mailOpts);
    }
    if (o.checkpatch) {
      for (let i = 0; i < mails.length; i++) {
        if (!kernel[i]) continue;
        const r = await runCheckpatch(trees[i].root, write(i));
        checkpatch[i] = r;
        if ('error' in r) {
          log.push(`${prepared[i].path}: ${r.error}`);
          failed.push(r.error);
        } else
          log.push(`${prepared[i].path}: checkpatch.pl --strict: ${r.total}`, ...r.messages.flatMap(m => m.split('\n').map(l => `  ${l}`)));
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { mails, checkpatch, log, fixes, failed };
}

function joinNotes(a: string | undefined, b: string): string {
  const w = wrapParagraphs(b, 72);
  return a ? `${a}\n\n${w}` : w;
}

function listOf(xs: string[], conj: string): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} ${conj} ${xs[xs.length - 1]}`;
}

// ---------------------------------------------------------------------------------------------
// Writing the patch file

/**
 * Writes `text` to `dir/name`, never over an existing file: `0001-x.patch` exists, so
 * `0001-x-2.patch`, `0001-x-3.patch`, … (created exclusively, so a file that appears meanwhile is
 * not overwritten either). Returns the path written.
 */
export function writeNewFile(dir: string, name: string, text: string): string {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 1; n < 1000; n++) {
    const p = path.join(dir, n === 1 ? name : `${stem}-${n}${ext}`);
    try {
      fs.writeFileSync(p, text, { flag: 'wx' });
      return p;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`${path.join(dir, name)} and 998 numbered variants exist already`);
}

// ---------------------------------------------------------------------------------------------
// git am

export type AmResult = { ok: true; message: string } | { ok: false; reason: string };

/**
 * `git am PATCH` in the repository `top`, after checking what would make it fail or mix with
 * the user's work: an am or rebase in progress, uncommitted changes to a file the patch changes
 * (`files`, relative to `top`), no committer identity. A failed am is aborted, so the tree is as
 * it was. The committer is user.name/user.email as git config gives them (the user's global
 * config is read for them, and only for them).
 */
export async function gitAm(top: string, patchFile: string, files: string[]): Promise<AmResult> {
  const rp = await runProgram('git', ['rev-parse', '--show-toplevel', '--git-path', 'rebase-apply', '--git-path', 'rebase-merge'], {
    cwd: top,
  });
  if (rp.code !== 0) return { ok: false, reason: `${top} is not a git repository (${failure('git rev-parse', rp)})` };
  const [, ...busy] = rp.stdout.trim().split('\n');
  if (busy.some(p => fs.existsSync(path.resolve(top, p)))) {
    return { ok: false, reason: 'a git am or rebase is in progress in this repository: finish it or abort it first' };
  }
  const st = await runProgram('git', ['status', '--porcelain=v1', '--untracked-files=no', '--', ...files], { cwd: top });
  if (st.code !== 0) return { ok: false, reason: failure('git status', st) };
  const dirty = st.stdout
    .split('\n')
    .filter(Boolean)
    .map(l => l.slice(3));
  if (dirty.length) {
    return {
      ok: false,
      reason: `${dirty.join(', ')} ${dirty.length === 1 ? 'has' : 'have'} uncommitted changes: commit or stash them first (git am applies the patch to the committed file)`,
    };
  }
  const ident = readIdent(top);
  if (!ident) return { ok: false, reason: 'no committer identity: set git config user.name and user.email' };
  const env = { GIT_COMMITTER_NAME: ident.name, GIT_COMMITTER_EMAIL: ident.email };
  const am = await runProgram('git', ['am', '--', patchFile], { cwd: top, env, timeoutMs: TOOL_TIMEOUT_MS });
  if (am.code !== 0) {
    const abort = await runProgram('git', ['am', '--abort'], { cwd: top, env });
    const why =
      (am.stderr || am.stdout)
        .split('\n')
        .map(l => l.trim())
        .filter(l => l && !/^hint:/.test(l))
        .slice(0, 3)
        .join(' ') ||
      am.error ||
      'failed';
    return {
      ok: false,
      reason: `git am failed: ${why}${abort.code === 0 ? ' (aborted: the tree is as it was)' : `; ${failure('git am --abort', abort)}`}`,
    };
  }
  const head = await runProgram(
    'git',
    ['log', '-n', '1', '--no-show-signature', '--no-color', '--format=%h ("%s")', '--abbrev=12', 'HEAD', '--'],
    { cwd: top },
  );
  return { ok: true, message: `applied as ${head.code === 0 ? head.stdout.trim() : 'HEAD'}` };
}

/** The files a patch changes, from its `diff --git a/X b/Y` lines (Y), each once. */
export function patchedPaths(mail: string): string[] {
  const out: string[] = [];
  for (const m of mail.matchAll(/^diff --git a\/\S+ b\/(\S+)$/gm)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}
