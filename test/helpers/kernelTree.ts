// A fake kernel tree in a temporary git repository, for the kernel tools' tests: MAINTAINERS,
// Kbuild, and scripts/checkpatch.pl and scripts/get_maintainer.pl as tiny perl scripts written
// here (they check a few things the real ones check, and log how they were started), plus a
// driver whose lock line has its own commit, so `git blame` has something to find.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './cli';

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
}

export function haveTools(): boolean {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    execFileSync('perl', ['-v'], { stdio: 'ignore' });
    return process.platform !== 'win32';
  } catch {
    return false;
  }
}

/** Appends one line per run to `$base/calls.log` (the tree is `$base/linux`): the script, its arguments, some of its environment. */
const LOG = `
my $log = $0; $log =~ s{/[^/]+/scripts/[^/]+$}{/calls.log};
open(my $lf, '>>', $log) or die "$log: $!\\n";
my $name = $0; $name =~ s{.*/}{};
print $lf "$name ARGS=@ARGV PERL5OPT=" . ($ENV{PERL5OPT} // '') . " GIT_CONFIG_COUNT=" . ($ENV{GIT_CONFIG_COUNT} // '') . " CWD=" . (-f 'MAINTAINERS' ? 'root' : 'elsewhere') . "\\n";
close $lf;
`;

/**
 * checkpatch.pl, in small: --strict is required; the commit log (between the headers and `---`)
 * must have lines of 75 columns at most (Fixes: lines excepted), a Fixes: line in the kernel's
 * form, and a Signed-off-by:; added lines must not end in blanks. Lines after `---` and before
 * the diff (the notes, the diffstat) are not checked, as in the real one.
 */
const CHECKPATCH = `#!/usr/bin/perl
use strict; use warnings;
${LOG}
grep { $_ eq '--strict' } @ARGV or die "fake checkpatch: run me with --strict\\n";
my $file = $ARGV[-1];
open(my $p, '<', $file) or die "$file: $!\\n";
my ($hdr, $log, $n, $e, $w, $c, $signed, $lines) = (1, 0, 0, 0, 0, 0, 0, 0);
my @msgs;
while (my $l = <$p>) {
  chomp $l; $n++;
  if ($hdr) { if ($l eq '') { $hdr = 0; $log = 1; } next; }
  if ($log) {
    if ($l eq '---') { $log = 0; next; }
    $signed = 1 if $l =~ /^Signed-off-by: /;
    if ($l =~ /^Fixes:/) {
      if ($l !~ /^Fixes: [0-9a-f]{12} \\("[^"].*"\\)$/) { push @msgs, "ERROR: GIT_COMMIT_ID: Please use correct Fixes: style\\n#$n: \\n$l"; $e++; }
      next;
    }
    if (length($l) > 75) { push @msgs, "WARNING: COMMIT_LOG_LONG_LINE: Prefer a maximum 75 chars per line\\n#$n: \\n$l"; $w++; }
    next;
  }
  next unless $l =~ /^[-+ ]/ && $l !~ /^(?:\\+\\+\\+|---) /;
  $lines++;
  if ($l =~ /^\\+.*[ \\t]$/) { push @msgs, "ERROR: TRAILING_WHITESPACE: trailing whitespace\\n#$n: FILE: drivers/demo/demo_drv.c\\n$l"; $e++; }
}
unless ($signed) { push @msgs, "ERROR: MISSING_SIGN_OFF: Missing Signed-off-by: line(s)"; $e++; }
print "$_\\n\\n" for @msgs;
print "total: $e errors, $w warnings, $c checks, $lines lines checked\\n";
exit(($e || $w) ? 1 : 0);
`;

/**
 * get_maintainer.pl, in small: the options must keep it off the git history; the files come from
 * the patch's diff --git lines; MAINTAINERS sections (M:, R:, L:, F: prefix) give the roles.
 */
const GET_MAINTAINER = `#!/usr/bin/perl
use strict; use warnings;
${LOG}
my %ok = map { $_ => 1 } qw(--no-rolestats --roles --no-git --no-git-fallback --no-fixes);
my @files;
for my $a (@ARGV) { if ($a =~ /^-/) { die "Unknown option: " . substr($a, 2) . "\\n" unless $ok{$a}; } else { push @files, $a; } }
grep { $_ eq '--no-git' } @ARGV or die "fake get_maintainer: would read the git history\\n";
my @paths;
open(my $p, '<', $files[0]) or die "$files[0]: $!\\n";
while (<$p>) { push @paths, $1 if m{^diff --git a/(\\S+) }; }
open(my $m, '<', 'MAINTAINERS') or die "MAINTAINERS: $!\\n";
my (@secs, $cur, %seen);
while (<$m>) {
  chomp;
  if (/^([A-Z][A-Z ].*)$/) { $cur = { name => $1, ent => [], files => [] }; push @secs, $cur; }
  elsif (/^([MRL]):\\s*(.*)$/) { push @{$cur->{ent}}, [$1, $2]; }
  elsif (/^F:\\s*(.*)$/) { push @{$cur->{files}}, $1; }
}
for my $s (@secs) {
  my $hit = 0;
  for my $f (@{$s->{files}}) { $hit = 1 if $f eq '*' || grep { index($_, $f) == 0 } @paths; }
  next unless $hit;
  for my $e (@{$s->{ent}}) {
    my $role = $e->[0] eq 'M' ? 'maintainer' : $e->[0] eq 'R' ? 'reviewer' : 'open list';
    print "$e->[1] ($role:$s->{name})\\n" unless $seen{$e->[1]}++;
  }
}
`;

const MAINTAINERS = `DEMO VIRTIO DRIVER
M:	Ada Maintainer <ada@example.org>
R:	Zoë Reviewer <zoe@example.org>
L:	demo-list@example.org
F:	drivers/demo/

THE REST
M:	Linus Root <root@example.org>
L:	linux-kernel@example.org
F:	*
`;

/** The driver (written for these tests): a work item drains its virtqueue under fsvq->lock. */
export function driverText(lockLine = '\tspin_lock(&fsvq->lock);'): string {
  return `// SPDX-License-Identifier: GPL-2.0
struct demo_vq {
	spinlock_t lock;
	struct virtqueue *vq;
	struct work_struct done_work;
};

static void demo_done_work(struct work_struct *work)
{
	struct demo_vq *fsvq = container_of(work, struct demo_vq, done_work);
	struct virtqueue *vq = fsvq->vq;
	void *req;
	unsigned int len;

${lockLine}
	while ((req = virtqueue_get_buf(vq, &len)) != NULL)
		demo_complete(req);
	spin_unlock(&fsvq->lock);
}

static void demo_vq_done(struct virtqueue *vq)
{
	struct demo_vq *fsvq = vq->priv;

	schedule_work(&fsvq->done_work);
}

static void demo_init(struct demo_vq *fsvq, struct virtio_device *vdev)
{
	INIT_WORK(&fsvq->done_work, demo_done_work);
	fsvq->vq = virtio_find_single_vq(vdev, demo_vq_done, "requests");
}
`;
}

export interface FakeTree {
  base: string;
  /** The tree (a git repository's top level). */
  root: string;
  rel: string;
  file: string;
  /** The log the fake scripts append to. */
  calls: string;
  /** The commits: the driver added without the lock, the lock added, an unrelated change. */
  commits: { add: string; lock: string; later: string };
}

/** 0-based line of the lock in driverText(). */
export const LOCK_LINE = 14;

/**
 * The fake tree: commit 1 adds the driver with the drain unlocked (`mutex_lock` on the lock's
 * line), commit 2 makes it `spin_lock` (what the Fixes: line must name), commit 3 changes
 * another line. `lockLine` is what commit 2 writes on that line.
 */
export function fakeKernelTree(opts: { git?: boolean; lockLine?: string } = {}): FakeTree {
  const base = tempDir('vrl-ktree-');
  const root = path.join(base, 'linux');
  const rel = 'drivers/demo/demo_drv.c';
  const file = path.join(root, rel);
  fs.mkdirSync(path.join(root, 'scripts'), { recursive: true });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(path.join(root, 'MAINTAINERS'), MAINTAINERS);
  fs.writeFileSync(path.join(root, 'Kbuild'), '# fake\n');
  fs.writeFileSync(path.join(root, 'scripts/checkpatch.pl'), CHECKPATCH, { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'scripts/get_maintainer.pl'), GET_MAINTAINER, { mode: 0o755 });
  const commits = { add: '', lock: '', later: '' };
  const locked = driverText(opts.lockLine);
  if (opts.git === false) {
    fs.writeFileSync(file, locked);
  } else {
    git(root, 'init', '-q');
    git(root, 'config', 'user.name', 'Ada Hacker');
    git(root, 'config', 'user.email', 'ada@example.org');
    fs.writeFileSync(file, driverText('\tmutex_lock(&fsvq->mutex);').replace('spin_unlock(&fsvq->lock)', 'mutex_unlock(&fsvq->mutex)'));
    git(root, 'add', '.');
    git(root, 'commit', '-qm', 'demo: add the driver');
    commits.add = git(root, 'rev-parse', 'HEAD').trim();
    fs.writeFileSync(file, locked);
    git(root, 'commit', '-qam', 'demo: take the queue lock in the done work');
    commits.lock = git(root, 'rev-parse', 'HEAD').trim();
    fs.writeFileSync(file, locked.replace('void *req;', 'void *req; /* a request */'));
    git(root, 'commit', '-qam', 'demo: say what req is');
    commits.later = git(root, 'rev-parse', 'HEAD').trim();
  }
  return { base, root, rel, file, calls: path.join(base, 'calls.log'), commits };
}

export function calls(t: FakeTree): string[] {
  return fs.existsSync(t.calls) ? fs.readFileSync(t.calls, 'utf8').split('\n').filter(Boolean) : [];
}
