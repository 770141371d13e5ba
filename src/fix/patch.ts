// A kernel patch for the VRL001 findings of a file: the fix applied, a commit message that
// explains the race for this driver (as the 2021 RFC's cover letter did) and claims no more
// than docs/model.md#what-irqsave-guarantees, in `git format-patch` form. Git, when present,
// supplies the subject prefix (the file's own history), the identity and the repository root;
// nothing here runs git itself: a GitInfo is passed in (see gitInfo.ts), which keeps this
// module pure.
import type { FileFacts } from '../analysis/facts';
import type { Finding } from '../analysis/rules/rule';
import { applyEdits, fixAll, lockFunctionOf } from './irqsave';
import { formatPatchMail, subjectPrefixForPath, subjectPrefixFromLog, type Ident, type PatchMail } from './mail';

export interface RepoInfo {
  /** Directory the patch paths are relative to (`-p1`): the git top level or the kernel tree root. */
  root: string;
  /** The file's path relative to `root`, with `/` separators: what the patch's `a/` and `b/` paths name. */
  path: string;
  /** `root` is the top level of the git repository holding the file. */
  git?: boolean;
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

/** What the kernel tools add to a prepared patch (kernelTools.ts): trailers, recipients, notes. */
export interface PatchExtras {
  /** `Fixes: ...` lines, placed before Signed-off-by. */
  trailers?: string[];
  to?: string[];
  cc?: string[];
  /** Notes after `---` (not part of the commit). */
  notes?: string;
}

export type PatchResult =
  | ({
      ok: true;
      path: string;
      oldText: string;
      newText: string;
      prefix: string;
      summary: string;
      body: string;
      refused: string[];
      /** The 0-based lines of `oldText` holding the locks the patch changes (what `git blame` is asked about). */
      lockLines: number[];
    } & PatchExtras)
  | { ok: false; reason: string };

/** The fixed text and the message for one file. */
export function preparePatch(input: FilePatchInput): PatchResult {
  const { text, findings, facts, repo } = input;
  const res = fixAll(findings, facts, text);
  if (res.edits.length === 0) {
    return {
      ok: false,
      reason: res.refused.length ? res.refused.map(r => `${r.finding.handler}(): ${r.reason}`).join('; ') : 'nothing to fix',
    };
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
    body: commitMessage(res.fixed, {
      disablesCb: res.fixed.some(f => disablesCallbacks(f, facts)),
      dropsLock: res.fixed.filter(f => dropsLockInLoop(f, facts)).map(f => f.handler),
    }),
    refused: res.refused.map(r => `${r.finding.handler}(): ${r.reason}`),
    lockLines: [...new Set(res.fixed.map(f => f.span.line))].sort((a, b) => a - b),
  };
}

/**
 * The commit message: the race as numbered steps for this driver's callback, work item, handler
 * and drain; then what taking the lock with irqsave does and does not change. Each sentence
 * claims no more than docs/model.md#what-irqsave-guarantees supports.
 */
export function commitMessage(fixed: Finding[], shape: { disablesCb?: boolean; dropsLock?: string[] } = {}): string {
  const { disablesCb = true, dropsLock = [] } = shape;
  const f = fixed[0];
  // fixAll() fixes VRL001 findings only, and every one of those has a drain.
  const drain = f.drain!;
  const handlers = unique(fixed.map(x => `${x.handler}()`));
  const callbacks = unique(fixed.map(x => `${x.callback}()`));
  const locks = unique(fixed.map(x => x.lock));
  const viaHelper = drain.function !== f.lockFunction ? ` in ${drain.function}()` : '';
  const schedules = unique(
    fixed.flatMap(x => {
      const m = x.related.find(r => r.role === 'schedule')?.message.replace(/ from the callback$| in .*$/, '');
      return m ? [m] : [];
    }),
  );
  const plural = (n: number, one: string, many: string) => (n > 1 ? many : one);
  const paras: string[] = [];
  paras.push(
    `${list(callbacks)} ${plural(callbacks.length, 'runs', 'run')} from vring_interrupt() in hard irq context and ` +
      `${plural(callbacks.length, 'defers', 'defer')} the completions to ${plural(schedules.length, 'a work item', 'work items')}` +
      `${schedules.length ? ` with ${list(schedules)}` : ''}. ` +
      `${list(handlers)} then ${plural(handlers.length, 'drains the virtqueue', 'drain their virtqueues')} with ${drain.api}()${viaHelper} ` +
      `under ${list(locks)}, which ${plural(locks.length, 'leaves', 'leave')} hard irqs enabled on the CPU running the work.`,
  );
  paras.push(
    'The device can mark further buffers used while the drain runs, and ' +
      (disablesCb
        ? 'disabling callbacks with virtqueue_disable_cb() is only a hint to it, so it can still send their interrupts. '
        : 'callbacks stay enabled during the drain, so it can send their interrupts. ') +
      'When such an interrupt is taken on the CPU running the work:',
  );
  paras.push(
    [
      `1. ${f.handler}() holds the lock and drains the virtqueue.`,
      '2. The device marks another buffer used.',
      `3. The drain takes that buffer with ${drain.api}().`,
      '4. The interrupt for that buffer arrives and preempts the drain;',
      '   vring_interrupt() finds no used buffer and returns IRQ_NONE.',
    ].join('\n'),
  );
  const lockers = unique(fixed.filter(x => x.callbackTakesLock).map(x => `${x.callback}()`));
  if (lockers.length) {
    paras.push(
      `If the interrupt finds a used buffer instead, ${list(lockers)} ${plural(lockers.length, 'takes', 'take')} the same ` +
        'lock in hard irq context while the work it interrupted holds it on the same CPU: an AA deadlock.',
    );
  }
  paras.push(
    `Take the lock with spin_lock_irqsave() in ${list(handlers)}. Hard irqs then stay disabled on the CPU ` +
      'running the work while it holds the lock. The vring interrupt can no longer run there during that ' +
      'time and find the ring already drained' +
      (lockers.length ? `, and ${list(lockers)} can no longer deadlock against the work.` : '.') +
      (dropsLock.length
        ? ` ${list(unique(dropsLock).map(h => `${h}()`))} ${plural(unique(dropsLock).length, 'drops', 'drop')} the lock ` +
          'for each buffer, and irqs are enabled again until it is re-taken, so there the interrupt can still ' +
          'run between two buffers.'
        : ''),
  );
  paras.push(
    'This does not make IRQ_NONE impossible: an interrupt that arrives while the lock is held is deferred to ' +
      'the unlock, and the ring can be empty by then. An interrupt routed to another CPU is not masked. ' +
      'With threadirqs or PREEMPT_RT, vring_interrupt() runs in a thread, and the change makes no ' +
      'difference to this race. The cost: local irqs are disabled for as long as the lock is held.',
  );
  paras.push('Found with virtio-race-lint (VRL001).');
  return paras.join('\n\n');
}

/**
 * The lock is taken before the drain loop and released inside a loop (the shape of
 * virtio_console's control_work_handler()): irqs are on again between two buffers.
 */
function dropsLockInLoop(f: Finding, facts: FileFacts): boolean {
  const fn = lockFunctionOf(f, facts);
  const op = fn?.lockOps[f.lockOp];
  if (!fn || !op || op.inLoop) return false;
  return fn.lockOps.some(o => o.action === 'unlock' && o.inLoop && o.lock === op.lock);
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
      trailers: p.trailers,
      to: p.to,
      cc: p.cc,
      notes: p.notes,
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
