// A kernel patch for the VRL001 findings of a file: the fix applied, a commit message that
// explains the race for this driver (as the 2021 RFC's cover letter did) and claims no more
// than SIM-MODEL.md §10, in `git format-patch` form. Git, when present, supplies the subject
// prefix (the file's own history), the identity and the repository root; nothing here runs git
// itself: a GitInfo is passed in (see gitInfo.ts), which keeps this module pure.
import type { FileFacts } from '../analysis/facts';
import type { Finding } from '../analysis/rules/rule';
import { applyEdits, fixAll, lockFunctionOf } from './irqsave';
import { formatPatchMail, subjectPrefixForPath, subjectPrefixFromLog, type Ident, type PatchMail } from './mail';

export interface RepoInfo {
  /** Directory the patch paths are relative to (`-p1`): the git top level or the kernel tree root. */
  root: string;
  /** The file's path relative to `root`, with `/` separators: what the patch's `a/` and `b/` paths name. */
  path: string;
  /** `git log --format=%s -- <path>` of the file, newest first, when in a git repository. */
  subjects?: string[];
  /** git config user.name / user.email of the repository. */
  ident?: Ident;
}

/** One analysed file; the patch names it by `repo.path`. */
export interface FilePatchInput {
  text: string;
  findings: Finding[];
  facts: FileFacts;
  repo: RepoInfo;
}

export type PatchResult =
  | { ok: true; path: string; oldText: string; newText: string; prefix: string; summary: string; body: string; refused: string[] }
  | { ok: false; reason: string };

/** The fixed text and the message for one file. */
export function preparePatch(input: FilePatchInput): PatchResult {
  const { text, findings, facts, repo } = input;
  const res = fixAll(findings, facts, text);
  if (res.edits.length === 0) {
    return { ok: false, reason: res.refused.length ? res.refused.map(r => `${r.finding.handler}(): ${r.reason}`).join('; ') : 'nothing to fix' };
  }
  const path = repo.path;
  const prefix = (repo.subjects && subjectPrefixFromLog(repo.subjects)) || subjectPrefixForPath(path);
  return {
    ok: true,
    path,
    oldText: text,
    newText: applyEdits(text, res.edits),
    prefix,
    summary: 'disable local irqs while draining the virtqueue',
    body: commitMessage(res.fixed, res.fixed.some(f => disablesCallbacks(f, facts))),
    refused: res.refused.map(r => `${r.finding.handler}(): ${r.reason}`),
  };
}

/**
 * The commit message: the race as numbered steps for this driver's callback, work item, handler
 * and drain; then what taking the lock with irqsave does and does not change.
 */
export function commitMessage(fixed: Finding[], disablesCb = true): string {
  const f = fixed[0];
  const handlers = unique(fixed.map(x => `${x.handler}()`));
  const callbacks = unique(fixed.map(x => `${x.callback}()`));
  const locks = unique(fixed.map(x => x.lock));
  const viaHelper = f.drain.function !== f.lockFunction ? ` in ${f.drain.function}()` : '';
  const schedule = f.related.find(r => r.role === 'schedule')?.message.replace(/ from the callback$| in .*$/, '');
  const paras: string[] = [];
  paras.push(
    `${list(callbacks)} ${callbacks.length > 1 ? 'run' : 'runs'} from vring_interrupt() in hard irq context and ` +
    `${callbacks.length > 1 ? 'defer' : 'defers'} the completions to a work item${schedule ? ` with ${schedule}` : ''}. ` +
    `${list(handlers)} then ${handlers.length > 1 ? 'drain' : 'drains'} the virtqueue with ${f.drain.api}()${viaHelper} ` +
    `under ${list(locks)}, which leaves hard irqs enabled on the CPU running the work.`);
  paras.push(disablesCb
    ? 'Disabling callbacks with virtqueue_disable_cb() is only a hint to the device, so it can mark ' +
      'further buffers used and send the interrupt while the drain runs:'
    : 'Callbacks stay enabled during the drain, so the device can mark further buffers used and ' +
      'send the interrupt while the drain runs:');
  paras.push([
    `1. ${f.handler}() holds the lock and drains the virtqueue.`,
    '2. The device marks another buffer used and raises the virtqueue interrupt.',
    `3. The drain takes that buffer with ${f.drain.api}() before the interrupt is handled.`,
    '4. vring_interrupt() finds no used buffer and returns IRQ_NONE.',
  ].join('\n'));
  paras.push(
    'Each such interrupt counts as unhandled in note_interrupt(); if nearly all interrupts of a ' +
    '100,000-interrupt window are unhandled, the kernel prints "irq N: nobody cared" and disables the line.');
  const lockers = unique(fixed.filter(x => x.callbackTakesLock).map(x => `${x.callback}()`));
  const deadlock = lockers.length
    ? ` It also prevents the deadlock of ${list(lockers)}, which ${lockers.length > 1 ? 'take' : 'takes'} the same lock in hard irq context, against the work on the same CPU.`
    : '';
  paras.push(
    `Take the lock with spin_lock_irqsave() in ${list(handlers)}, so that no interrupt is taken on this CPU ` +
    `while the queue is drained.${deadlock} This does not make IRQ_NONE impossible: an interrupt raised ` +
    'during the drain is taken after the unlock and can still find the ring empty, and an interrupt ' +
    'routed to another CPU is not masked.');
  paras.push('Found with virtio-race-lint (VRL001).');
  return paras.join('\n\n');
}

/** The function taking the lock calls virtqueue_disable_cb() after it (the re-check loop). */
function disablesCallbacks(f: Finding, facts: FileFacts): boolean {
  return !!lockFunctionOf(f, facts)?.calls.some(c => c.callee === 'virtqueue_disable_cb' && c.span.start > f.span.start);
}

export interface MailOptions {
  from: Ident;
  date: Date;
  tzOffsetMinutes?: number;
}

/** One mail per prepared file, numbered as a series when there are several. */
export function patchMails(prepared: (PatchResult & { ok: true })[], o: MailOptions): PatchMail[] {
  return formatPatchMail({
    from: o.from,
    date: o.date,
    tzOffsetMinutes: o.tzOffsetMinutes ?? 0,
    // Kernel repositories abbreviate blob ids to 12 digits. The ids are git's own blob hashes of
    // the two texts, so in a git checkout `git am -3` can fall back to a 3-way merge.
    abbrev: 12,
    funcname: 'cpp',
    patches: prepared.map(p => ({
      path: p.path,
      oldText: p.oldText,
      newText: p.newText,
      prefix: p.prefix,
      summary: p.summary,
      body: p.body,
    })),
  });
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function list(xs: string[]): string {
  if (xs.length <= 1) return xs[0] ?? '';
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

