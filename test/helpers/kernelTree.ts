// A fake kernel tree in a temporary git repository, for the kernel tools' tests: MAINTAINERS,
// Kbuild, and scripts/checkpatch.pl and scripts/get_maintainer.pl as tiny perl scripts written
// here (they check a few things the real ones check, and log how they were started), plus a
// driver whose lock line has its own commit, so `git blame` has something to find.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './cli';
import { FIXTURES } from './fixtures';

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
  });
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

/**
 * The fake tree's tools and MAINTAINERS: test/fixtures/fake-kernel/ (also used by the e2e
 * suite). scripts/checkpatch.pl and scripts/get_maintainer.pl are tiny perl scripts written for
 * these tests: checkpatch.pl checks a few things the real one checks (--strict required; commit
 * log lines of 75 columns at most, Fixes: lines excepted; a Fixes: line in the kernel's form; a
 * Signed-off-by:; no trailing blanks on added lines); get_maintainer.pl must be kept off the git
 * history and reads MAINTAINERS' M:, R:, L:, F: lines. Both append one line per run to
 * `$base/calls.log` (the tree is `$base/linux`): the script, its arguments, some of its
 * environment.
 */
const FAKE = path.join(FIXTURES, 'fake-kernel');

/** The driver (written for these tests): a work item drains its virtqueue under fsvq->lock. */
export function driverText(lockLine = '\tspin_lock(&fsvq->lock);'): string {
  return `// SPDX-License-Identifier: MIT
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
  for (const f of ['MAINTAINERS', 'Kbuild']) fs.copyFileSync(path.join(FAKE, f), path.join(root, f));
  for (const f of ['checkpatch.pl', 'get_maintainer.pl']) {
    fs.copyFileSync(path.join(FAKE, 'scripts', f), path.join(root, 'scripts', f));
    fs.chmodSync(path.join(root, 'scripts', f), 0o755);
  }
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
