// The command line's options, declared once: parseArgs() reads which options take a value from
// here, and the help text (help.ts) is generated from the same declarations, so an option cannot
// be accepted without being documented, or documented without being accepted.
import { LOCKS } from '../api/simulate';

export interface OptionDoc {
  /** Long name without the dashes. */
  name: string;
  /** The value's placeholder or its choices (`text|json|sarif`); absent for a flag. */
  value?: string;
  /** Short alias, e.g. `-o`. */
  alias?: string;
  /** Shown in the usage line only when set (the common options); the rest only under Options. */
  inUsage?: boolean;
  /** One or more lines of help. */
  help: string;
  /** May be given more than once; the values are joined with commas. */
  repeatable?: boolean;
}

export interface CommandSpec {
  name: string;
  /** What follows the options in the usage line. */
  operands: string;
  /** A paragraph: what the command does, its exit status. */
  about: string;
  options: OptionDoc[];
}

const opt = (name: string, help: string, value?: string, more: Partial<OptionDoc> = {}): OptionDoc => ({
  name,
  value,
  help,
  inUsage: true,
  ...more,
});

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'check',
    operands: 'PATH...',
    about: `Report VRL001, VRL002 and VRL003 findings. Directories are searched for .c and .h files
(with ripgrep when it is installed, else by a built-in scan); a file named on the command line
is analysed with the other files of its directory as context.
Exit 0: no findings reported as warning; 1: such findings; 2: usage or I/O error.`,
    options: [
      opt('format', 'output format (default text)', 'text|json|sarif'),
      opt('related', 'text: add gcc-style note: lines with the explanation and the related locations'),
      opt('prefilter', 'how directories are searched for candidate files (default auto: ripgrep when found)', 'auto|ripgrep|builtin'),
      opt('cache', "keep each file's facts in ~/.cache/virtio-race-lint, keyed by the file's content, and reuse them"),
      opt('cache-location', 'the folder --cache uses', 'DIR'),
      opt(
        'rule',
        'turn a rule off or set the severity of its findings, comma-separated or repeated\n(VRL002 is information by default: --rule VRL002=warning or VRL002=off)',
        'RULE=off|information|warning,...',
        { repeatable: true },
      ),
      opt('workers', 'scan worker threads, 0 to parse in the main thread (default: the CPUs, at most 4)', 'N', { inUsage: false }),
    ],
  },
  {
    name: 'fix',
    operands: 'PATH...',
    about: 'Apply the spin_lock_irqsave() fix in place; a file is replaced only if it has not changed\nsince it was read.',
    options: [opt('dry-run', 'print the unified diff instead of writing')],
  },
  {
    name: 'patch',
    operands: 'PATH...',
    about: `Write one git format-patch mail per changed file (to stdout or FILE).
--checkpatch, --to-maintainers and --fixes run the kernel tree's own code (scripts from the
tree, git in its repository). A tree is a kernel tree when scripts/checkpatch.pl and
MAINTAINERS are at its root; elsewhere one line says the scripts were not run.
Exit 2 if a tool asked for fails.`,
    options: [
      opt('output', 'write the mails to FILE (an mbox) instead of stdout (- is stdout)', 'FILE', { alias: '-o' }),
      opt('signoff', 'the Signed-off-by: and From: identity (default: git config user.name/user.email)', '"Name <mail>"', { alias: '-s' }),
      opt(
        'date',
        'the mail date: seconds since the epoch, or an ISO 8601 or RFC 2822 date\n(default: SOURCE_DATE_EPOCH, else now)',
        'DATE',
      ),
      opt(
        'checkpatch',
        'run scripts/checkpatch.pl --strict on each mail; its report goes to stderr;\nexit 1 if it reports an error, warning or check',
      ),
      opt(
        'to-maintainers',
        'To: the people (maintainers, reviewers, ...), Cc: the lists, from\nscripts/get_maintainer.pl --no-rolestats --roles --no-git --no-git-fallback --no-fixes run on the mail',
      ),
      opt(
        'fixes',
        'a Fixes: line naming the commit that last changed each lock line (git blame):\ncheck it is the one that introduced the race. Outside a git repository there is\nnothing to blame: one line says so',
      ),
    ],
  },
  {
    name: 'simulate',
    operands: 'FILE[:LINE]',
    about: `Explore the race for the finding(s) in FILE (or the one at LINE) with the bundled model
checker. The lock, drain shape, work placement and callback locking come from the code; the
options override them.`,
    options: [
      opt('lock', 'the lock the drain holds (default: as written)', LOCKS.join('|')),
      opt(
        'irq',
        "which CPU the queue's interrupt goes to (default same: the work's CPU,\na stable affinity); other needs --wq pinned",
        'same|other|any',
      ),
      opt(
        'wq',
        'where the work runs: local (schedule_work() on a per-CPU workqueue queues it on\nthe CPU that took the interrupt) or pinned (unbound workqueue, queue_work_on())',
        'local|pinned',
      ),
      opt(
        'drain',
        'the drain: the disable_cb/enable_cb re-check loop, a plain get_buf loop under\none hold, or the lock dropped and re-taken inside the loop',
        'recheck|plain|relock',
      ),
      opt('notify', 'notification suppression (default event-idx, what QEMU and virtiofsd negotiate)', 'event-idx|flags'),
      opt('event-idx', 'the old spelling of --notify event-idx', undefined, { inUsage: false }),
      opt(
        'device',
        'the device: prompt honours the suppression state, lax notifies even when suppressed\n(both compliant), cached decides on a stale copy of it (not compliant)',
        'prompt|lax|cached',
      ),
      opt('latency', 'MSIs in flight: an interrupt is delivered some time after the device sends it'),
      opt('callback-locks', "the callback takes the drain's lock (default: as written)"),
      opt('napi', 'the deferral is a NAPI poll (no lock; the irqsave fix does not apply)'),
      opt('buffers', 'buffers N in the exhaustive model (default 4; C and CX need N >= 4)', 'N'),
      opt('ring', 'ring size R for the ring bound and the timed mode (default 128)', 'R'),
      opt('max-states', 'stop the exhaustive exploration after this many states', 'N', { inUsage: false }),
      opt('timed', 'add a seeded timed run feeding every handler return to note_interrupt()'),
      opt('completions', 'completions in the timed run', 'N'),
      opt('json', 'print JSON: handler, file, line, model settings, before, after, summary'),
    ],
  },
  {
    name: 'lsp',
    operands: '',
    about: 'Run the language server on stdin/stdout.',
    options: [opt('stdio', 'talk LSP over stdin/stdout (the only transport)')],
  },
];

export function commandSpec(name: string): CommandSpec {
  const c = COMMANDS.find(x => x.name === name);
  if (!c) throw new Error(`no command ${name}`);
  return c;
}

/** What parseArgs needs: which options take a value, which are flags, the short aliases. */
export function parserSpec(name: string): { values: string[]; flags: string[]; aliases: Record<string, string>; lists: string[] } {
  const c = commandSpec(name);
  const aliases: Record<string, string> = {};
  for (const o of c.options) if (o.alias) aliases[o.alias] = `--${o.name}`;
  return {
    values: c.options.filter(o => o.value).map(o => o.name),
    flags: c.options.filter(o => !o.value).map(o => o.name),
    aliases,
    lists: c.options.filter(o => o.repeatable).map(o => o.name),
  };
}
