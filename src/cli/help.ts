import { VERSION } from '../version';

export { VERSION };

export const HELP = `virtio-race-lint ${VERSION}: find the vring-callback / work / spin_lock drain IRQ race
in Linux virtio drivers, apply the spin_lock_irqsave() fix, and simulate what it changes.

Usage:
  virtio-race-lint check [--format text|json|sarif] [--related] [--prefilter auto|ripgrep|builtin]
      [--cache] [--cache-location DIR] PATH...
      Report VRL001 findings. Directories are searched for .c and .h files (with ripgrep
      when it is installed, else by a built-in scan). --cache keeps each file's facts in
      ~/.cache/virtio-race-lint (or DIR), keyed by the file's content, and reuses them.
      Exit 0: no findings; 1: findings; 2: usage or I/O error.
  virtio-race-lint fix [--dry-run] PATH...
      Apply the spin_lock_irqsave() fix in place (--dry-run prints the unified diff).
  virtio-race-lint patch [-o FILE] [--signoff "Name <mail>"] [--date DATE]
      [--checkpatch] [--to-maintainers] [--fixes] PATH...
      Write one git format-patch mail per changed file (to stdout or FILE).
      These run the kernel tree's own code (scripts from the tree, git in its repository):
      --checkpatch      run scripts/checkpatch.pl --strict on each mail; its report goes
                        to stderr; exit 1 if it reports an error, warning or check.
      --to-maintainers  To: the people (maintainers, reviewers, ...), Cc: the lists, from
                        scripts/get_maintainer.pl --no-rolestats --roles --no-git
                        --no-git-fallback --no-fixes run on the mail.
      --fixes           a Fixes: line naming the commit that last changed each lock line
                        (git blame): check it is the one that introduced the race. Outside
                        a git repository there is nothing to blame: one line says so.
      A tree is a kernel tree when scripts/checkpatch.pl and MAINTAINERS are at its root;
      elsewhere one line says the scripts were not run. Exit 2 if a tool asked for fails.
  virtio-race-lint simulate FILE[:LINE] [--lock KIND] [--irq same|other|any]
      [--wq local|pinned] [--drain recheck|plain|relock] [--notify event-idx|flags]
      [--device prompt|lax|cached] [--latency] [--callback-locks] [--napi]
      [--buffers N] [--ring R] [--timed [--completions N]] [--json]
      Explore the race for the finding(s) in FILE with the bundled model checker.
      The lock, drain shape, work placement and callback locking come from the code;
      the flags override them. --event-idx is --notify event-idx (the default).
  virtio-race-lint lsp --stdio
      Run the language server on stdin/stdout.

Options:
  -h, --help       this text
  -V, --version    print the version
`;
