// The kernel tree's tools on a generated patch (kernelTools.ts): checkpatch.pl, get_maintainer.pl,
// Fixes: from git blame, git am; on a fake kernel tree in a temporary git repository whose
// scripts are the tiny perl scripts of test/helpers/kernelTree.ts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  applyKernelTools,
  blameFixes,
  fixesTrailer,
  gitAm,
  parseCheckpatch,
  parseMaintainers,
  patchedPaths,
  runCheckpatch,
  writeNewFile,
} from '../../src/fix/kernelTools';
import { formatPatch } from '../../src/fix/mail';
import { runCli, tempDir } from '../helpers/cli';
import { calls, driverText, fakeKernelTree, git, haveTools, LOCK_LINE, type FakeTree } from '../helpers/kernelTree';
import { factsFromText } from '../../src/analysis/fileFacts';
import { Project } from '../../src/analysis/project';
import { initParser } from '../../src/analysis/parser';
import { preparePatch } from '../../src/fix/patch';

const DATE = '2026-01-02T03:04:05Z';

function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = new Map(Object.keys(vars).map(k => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return f().finally(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

/** `git`, `perl` and `sh` first on PATH that only leave a marker: any program started is seen. */
function shims(base: string): { bin: string; marker: string } {
  const bin = path.join(base, 'shim-bin');
  fs.mkdirSync(bin);
  const marker = path.join(base, 'shim-marker');
  for (const p of ['git', 'perl'])
    fs.writeFileSync(path.join(bin, p), `#!/bin/sh\necho "${p} $*" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
  return { bin, marker };
}

const headers = (mail: string) => mail.slice(0, mail.indexOf('\n\n'));
const message = (mail: string) => mail.slice(mail.indexOf('\n\n') + 2, mail.indexOf('\n---\n'));

describe('kernel tools: parsing', () => {
  it("reads checkpatch.pl's totals and messages (with and without --strict checks)", () => {
    const out =
      'WARNING: Possible unwrapped commit description (prefer a maximum 75 chars per line)\n#12: \nsome long line\n\n' +
      'CHECK: Alignment should match open parenthesis\n#40: FILE: drivers/x.c:10:\n+\tfoo(a,\n\n' +
      'total: 0 errors, 1 warnings, 1 checks, 30 lines checked\n\nNOTE: For some of the reported defects, checkpatch may be able to\n';
    const r = parseCheckpatch(out)!;
    assert.deepEqual([r.errors, r.warnings, r.checks, r.clean], [0, 1, 1, false]);
    assert.equal(r.total, 'total: 0 errors, 1 warnings, 1 checks, 30 lines checked');
    assert.deepEqual(r.messages, [
      'WARNING: Possible unwrapped commit description (prefer a maximum 75 chars per line)\n#12: \nsome long line',
      'CHECK: Alignment should match open parenthesis\n#40: FILE: drivers/x.c:10:\n+\tfoo(a,',
    ]);
    const plain = parseCheckpatch('total: 1 errors, 0 warnings, 7 lines checked\n')!;
    assert.deepEqual([plain.errors, plain.warnings, plain.checks, plain.clean], [1, 0, 0, false]);
    assert.equal(parseCheckpatch('total: 0 errors, 0 warnings, 0 checks, 9 lines checked\n')!.clean, true);
    assert.equal(parseCheckpatch('Must be run from the top-level dir. of a kernel tree\n'), undefined);
  });

  it("splits get_maintainer.pl's roles: people to To, lists to Cc (roles may hold parentheses)", () => {
    const out = [
      'David Airlie <airlied@redhat.com> (maintainer:VIRTIO GPU DRIVER)',
      'Gurchetan Singh <gurchetansingh@chromium.org> (reviewer:VIRTIO GPU DRIVER)',
      '"Eugenio Pérez" <eperezma@redhat.com> (reviewer:VIRTIO FILE SYSTEM)',
      'Steven Rostedt <rostedt@goodmis.org> (supporter:Real-time Linux (PREEMPT_RT):Keyword:PREEMPT_RT)',
      'dri-devel@lists.freedesktop.org (open list:VIRTIO GPU DRIVER)',
      'linux-rt-devel@lists.linux.dev (open list:Real-time Linux (PREEMPT_RT):Keyword:PREEMPT_RT)',
      'linux-arm-kernel@lists.infradead.org (moderated list:ARM PORT)',
      'linux-kernel@vger.kernel.org (open list)',
      'dri-devel@lists.freedesktop.org (open list:DRM DRIVERS)',
      'Bare Name <bare@example.org>',
      'bare-list@example.org',
    ].join('\n');
    assert.deepEqual(parseMaintainers(out), {
      to: [
        'David Airlie <airlied@redhat.com>',
        'Gurchetan Singh <gurchetansingh@chromium.org>',
        '"Eugenio Pérez" <eperezma@redhat.com>',
        'Steven Rostedt <rostedt@goodmis.org>',
        'Bare Name <bare@example.org>',
      ],
      cc: [
        'dri-devel@lists.freedesktop.org',
        'linux-rt-devel@lists.linux.dev',
        'linux-arm-kernel@lists.infradead.org',
        'linux-kernel@vger.kernel.org',
        'bare-list@example.org',
      ],
    });
  });

  it('the CLI help documents the three options and what they run', async () => {
    const r = await runCli(['--help'], process.cwd());
    assert.match(r.stdout, /patch \[-o\|--output FILE\] .*\n\s+\[--checkpatch\] \[--to-maintainers\] \[--fixes\] PATH\.\.\./);
    for (const re of [
      /--checkpatch +run scripts\/checkpatch\.pl --strict/,
      /--to-maintainers +To: .*scripts\/get_maintainer\.pl\s+--no-rolestats\s+--roles\s+--no-git/s,
      /--fixes +a Fixes: line/,
    ]) {
      assert.match(r.stdout, re);
    }
  });

  it('lists the files a patch changes', () => {
    assert.deepEqual(patchedPaths('x\ndiff --git a/a/b.c b/a/b.c\n--- a/a/b.c\ndiff --git a/c.h b/c.h\ndiff --git a/a/b.c b/a/b.c\n'), [
      'a/b.c',
      'c.h',
    ]);
    assert.deepEqual(patchedPaths('no diff here\n'), []);
  });

  it('writes a new file next to an existing one instead of over it', () => {
    const dir = tempDir('vrl-write-');
    const a = writeNewFile(dir, '0001-x.patch', 'one');
    const b = writeNewFile(dir, '0001-x.patch', 'two');
    const c = writeNewFile(dir, '0001-x.patch', 'three');
    assert.deepEqual(
      [a, b, c].map(p => path.basename(p)),
      ['0001-x.patch', '0001-x-2.patch', '0001-x-3.patch'],
    );
    assert.deepEqual(
      [a, b, c].map(p => fs.readFileSync(p, 'utf8')),
      ['one', 'two', 'three'],
    );
  });
});

describe('kernel tools on a fake kernel tree', function () {
  this.timeout(30000);
  before(async function () {
    if (!haveTools()) this.skip();
    await initParser();
  });

  it('prints To:, Cc: and notes as git format-patch --to --cc --notes does', () => {
    const dir = tempDir('vrl-fmt-');
    git(dir, 'init', '-q');
    fs.writeFileSync(path.join(dir, 'f.c'), 'a\n');
    git(dir, 'add', '.');
    git(dir, '-c', 'user.name=A U', '-c', 'user.email=a@example.org', 'commit', '-qm', 'x: first');
    fs.writeFileSync(path.join(dir, 'f.c'), 'a\nb\n');
    git(
      dir,
      '-c',
      'user.name=A U',
      '-c',
      'user.email=a@example.org',
      '-c',
      'user.useConfigOnly=true',
      'commit',
      '-qam',
      'x: second',
      '--date',
      '1700000000 +0000',
    );
    git(dir, '-c', 'user.name=A U', '-c', 'user.email=a@example.org', 'notes', 'add', '-m', 'one note line\n\nand a second paragraph');
    const theirs = git(
      dir,
      'format-patch',
      '--stdout',
      '--notes',
      '--no-signature',
      '--to',
      'T One <t1@example.org>',
      '--to',
      'Zoë Two <t2@example.org>',
      '--cc',
      'list@example.org',
      '-1',
    );
    const ours = formatPatch({
      from: { name: 'A U', email: 'a@example.org' },
      date: new Date(1700000000 * 1000),
      subject: 'x: second',
      signedOffBy: [],
      files: [{ path: 'f.c', oldText: 'a\n', newText: 'a\nb\n' }],
      to: ['T One <t1@example.org>', 'Zoë Two <t2@example.org>'],
      cc: ['list@example.org'],
      notes: 'one note line\n\nand a second paragraph',
      signature: false,
      commit: /^From (\S+)/.exec(theirs)![1],
    });
    assert.equal(ours, theirs);
  });

  it("blames the lock line: the commit that made it spin_lock(), as a Fixes: line in the kernel's form", async () => {
    const t = fakeKernelTree();
    const text = fs.readFileSync(t.file, 'utf8');
    const { tags, problems } = await blameFixes(t.root, t.rel, text, [LOCK_LINE]);
    assert.deepEqual(problems, []);
    assert.equal(tags.length, 1);
    assert.equal(tags[0].sha, t.commits.lock);
    assert.equal(tags[0].subject, 'demo: take the queue lock in the done work');
    assert.equal(tags[0].trailer, `Fixes: ${t.commits.lock.slice(0, 12)} ("demo: take the queue lock in the done work")`);
    assert.match(tags[0].trailer, /^Fixes: [0-9a-f]{12} \("[^"]+"\)$/);
    assert.equal(tags[0].boundary, false);
    // The text blamed is the one given (an unsaved buffer): a line it changed has no commit yet.
    const edited = text.replace('\tspin_lock(&fsvq->lock);', '\tspin_lock(&fsvq->lock); /* edited */');
    const r2 = await blameFixes(t.root, t.rel, edited, [LOCK_LINE]);
    assert.deepEqual(r2.tags, []);
    assert.match(r2.problems[0], /demo_drv\.c:15: the lock line is not committed yet/);
    // Lines moved by the buffer's edits are followed: two lines inserted above.
    const moved = text.replace('struct demo_vq {', '/* one */\n/* two */\nstruct demo_vq {');
    const r3 = await blameFixes(t.root, t.rel, moved, [LOCK_LINE + 2]);
    assert.equal(r3.tags[0]?.sha, t.commits.lock);
    assert.equal(fixesTrailer('0123456789abcdef', 'x: "quoted"'), 'Fixes: 0123456789ab ("x: "quoted"")');
    // One tag per commit: the unlock line came with the lock line; the first line is older.
    const several = await blameFixes(t.root, t.rel, text, [LOCK_LINE, LOCK_LINE + 3, 0]);
    assert.deepEqual(
      several.tags.map(x => [x.sha, x.line, x.boundary]),
      [
        [t.commits.lock, LOCK_LINE, false],
        [t.commits.add, 0, true],
      ],
    );
  });

  it("marks a lock line from the repository's first commit (the history may start later than the line)", async () => {
    const t = fakeKernelTree();
    const root = tempDir('vrl-one-');
    git(root, 'init', '-q');
    fs.mkdirSync(path.join(root, 'drivers/demo'), { recursive: true });
    fs.writeFileSync(path.join(root, t.rel), driverText());
    git(root, 'add', '.');
    git(root, '-c', 'user.name=B', '-c', 'user.email=b@example.org', 'commit', '-qm', 'import');
    const { tags } = await blameFixes(root, t.rel, driverText(), [LOCK_LINE]);
    assert.equal(tags[0].boundary, true);
    assert.equal(tags[0].subject, 'import');
  });

  it('patch --checkpatch --to-maintainers --fixes: recipients, the Fixes: line, a clean report; git am applies it', async () => {
    const t = fakeKernelTree();
    const out = path.join(t.base, 'out.mbox');
    // Inherited variables that would change how perl starts are not passed on.
    const r = await withEnv({ PERL5OPT: '-Mwarnings' }, () =>
      runCli(['patch', '--checkpatch', '--to-maintainers', '--fixes', '--date', DATE, '-o', out, t.rel], t.root),
    );
    assert.equal(r.code, 0, r.stderr);
    const mail = fs.readFileSync(out, 'utf8');
    const h = headers(mail);
    assert.match(
      h,
      /^To: Ada Maintainer <ada@example.org>,\n {4}Zoë Reviewer <zoe@example.org>,\n {4}Linus Root <root@example.org>\nCc: demo-list@example.org,\n {4}linux-kernel@example.org$/m,
    );
    const msg = message(mail).split('\n');
    const fixes = `Fixes: ${t.commits.lock.slice(0, 12)} ("demo: take the queue lock in the done work")`;
    // With the other trailers, just before the sign-off.
    assert.deepEqual(msg.slice(-3), ['', fixes, 'Signed-off-by: Ada Hacker <ada@example.org>']);
    // The caveat is a note after ---, which git am leaves out of the commit.
    assert.match(
      mail,
      /\n---\n\nNotes:\n {4}The Fixes: line names the commit that last changed the lock line \(git\n {4}blame of drivers\/demo\/demo_drv\.c:15\)/,
    );
    assert.match(r.stderr, /checkpatch\.pl --strict: total: 0 errors, 0 warnings, 0 checks, \d+ lines checked/);
    assert.match(
      r.stderr,
      /demo_drv\.c:15: Fixes: [0-9a-f]{12} \("demo: take the queue lock in the done work"\) \(the commit that last changed the lock line; check it\)/,
    );
    const ran = calls(t);
    assert.equal(ran.length, 2, ran.join('\n'));
    assert.match(
      ran[0],
      /^get_maintainer\.pl ARGS=--no-rolestats --roles --no-git --no-git-fallback --no-fixes \S+\.patch PERL5OPT= GIT_CONFIG_COUNT=\d+ CWD=root$/,
    );
    assert.match(ran[1], /^checkpatch\.pl ARGS=--strict \S+\.patch PERL5OPT= GIT_CONFIG_COUNT=\d+ CWD=root$/);
    // The mail applies; the commit message keeps the Fixes: line and not the notes.
    const am = await gitAm(t.root, out, [t.rel]);
    assert.deepEqual(am, {
      ok: true,
      message: `applied as ${git(t.root, 'rev-parse', '--short=12', 'HEAD').trim()} ("demo: disable local irqs while draining the virtqueue")`,
    });
    const body = git(t.root, 'log', '-1', '--format=%B');
    assert.ok(body.includes(fixes), body);
    assert.doesNotMatch(body, /Notes:|git\s+blame/);
    assert.match(fs.readFileSync(t.file, 'utf8'), /spin_lock_irqsave\(&fsvq->lock, flags\);/);
    const left = await runCli(['check', t.rel], t.root);
    assert.equal(left.code, 0, left.stdout);
  });

  it('reports what checkpatch.pl finds and exits 1', async () => {
    // A blank after the lock call: the fixed line keeps it, checkpatch sees trailing whitespace.
    const t = fakeKernelTree({ lockLine: '\tspin_lock(&fsvq->lock); ' });
    const r = await runCli(['patch', '--checkpatch', '--date', DATE, t.rel], t.root);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /checkpatch\.pl --strict: total: 1 errors, 0 warnings, 0 checks/);
    assert.match(
      r.stderr,
      /^virtio-race-lint: {3}ERROR: TRAILING_WHITESPACE: trailing whitespace\nvirtio-race-lint: {3}#\d+: FILE: drivers\/demo\/demo_drv\.c\nvirtio-race-lint: {3}\+\tspin_lock_irqsave\(&fsvq->lock, flags\); $/m,
    );
    assert.match(r.stdout, /^Subject: \[PATCH\] demo: /m, 'the mail is written anyway');
    assert.doesNotMatch(headers(r.stdout), /^To:/m, 'no --to-maintainers, no To:');
  });

  it('retries get_maintainer.pl without --no-fixes for a tree older than that option', async () => {
    const t = fakeKernelTree();
    const gm = path.join(t.root, 'scripts/get_maintainer.pl');
    fs.writeFileSync(gm, fs.readFileSync(gm, 'utf8').replace(' --no-fixes)', ')'));
    const r = await runCli(['patch', '--to-maintainers', '--date', DATE, t.rel], t.root);
    assert.equal(r.code, 0, r.stderr);
    assert.match(headers(r.stdout), /^To: Ada Maintainer <ada@example.org>,$/m);
    const ran = calls(t);
    assert.equal(ran.length, 2);
    assert.match(ran[0], /ARGS=--no-rolestats --roles --no-git --no-git-fallback --no-fixes /);
    assert.match(ran[1], /ARGS=--no-rolestats --roles --no-git --no-git-fallback \S+\.patch /);
  });

  it('a tool that fails: the mail is written without what it would give, one line says why, exit 2', async () => {
    const t = fakeKernelTree();
    fs.writeFileSync(path.join(t.root, 'scripts/get_maintainer.pl'), 'die "MAINTAINERS is unreadable here\\n";\n');
    const r = await runCli(['patch', '--to-maintainers', '--checkpatch', '--date', DATE, t.rel], t.root);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^virtio-race-lint: drivers\/demo\/demo_drv\.c: no To:\/Cc: headers: scripts\/get_maintainer\.pl failed: MAINTAINERS is unreadable here$/m,
    );
    assert.match(r.stderr, /checkpatch\.pl --strict: total: 0 errors/, 'the other tool still runs');
    assert.match(r.stdout, /^Subject: \[PATCH\] demo: /m);
    assert.doesNotMatch(headers(r.stdout), /^To:/m);
  });

  it('says in one line that there is nothing to blame outside a git repository, and goes on', async () => {
    const t = fakeKernelTree({ git: false });
    const r = await runCli(
      ['patch', '--fixes', '--to-maintainers', '--signoff', 'Ada Hacker <ada@example.org>', '--date', DATE, t.rel],
      t.root,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^virtio-race-lint: drivers\/demo\/demo_drv\.c: no Fixes: line: the file is not in a git repository \(nothing to blame\)$/m,
    );
    assert.doesNotMatch(r.stdout, /^Fixes:/m);
    assert.match(headers(r.stdout), /^To: Ada Maintainer/m, 'get_maintainer.pl needs no git');
  });

  it('says a tree without scripts/checkpatch.pl and MAINTAINERS is not a kernel tree, and runs nothing there', async () => {
    const t = fakeKernelTree();
    fs.rmSync(path.join(t.root, 'MAINTAINERS'));
    git(t.root, 'commit', '-qam', 'drop MAINTAINERS');
    const r = await runCli(['patch', '--checkpatch', '--to-maintainers', '--date', DATE, t.rel], t.root);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /is not a kernel tree \(no scripts\/checkpatch\.pl and MAINTAINERS there\): checkpatch\.pl and get_maintainer\.pl not run/,
    );
    assert.deepEqual(calls(t), []);
  });

  it('untrusted: starts no program, and the notes say what was skipped; the mail still applies and passes checkpatch', async () => {
    const t = fakeKernelTree();
    const text = fs.readFileSync(t.file, 'utf8');
    const project = new Project();
    project.setFacts(factsFromText(t.file, text));
    const findings = project.findings().filter(f => f.rule === 'VRL001');
    const p = preparePatch({ text, findings, facts: project.index.get(t.file)!, repo: { root: t.root, path: t.rel } });
    assert.ok(p.ok);
    assert.deepEqual(p.lockLines, [LOCK_LINE]);
    const s = shims(t.base);
    const res = await withEnv({ PATH: `${s.bin}:${process.env.PATH}` }, () =>
      applyKernelTools(
        [p],
        [{ root: t.root, git: true }],
        { from: { name: 'Ada Hacker', email: 'ada@example.org' }, date: new Date(DATE) },
        { trusted: false, checkpatch: true, maintainers: true, fixes: true },
      ),
    );
    assert.ok(!fs.existsSync(s.marker), `a program ran: ${fs.existsSync(s.marker) ? fs.readFileSync(s.marker, 'utf8') : ''}`);
    assert.deepEqual(calls(t), []);
    assert.deepEqual(res.checkpatch, [undefined]);
    const mail = res.mails[0].text;
    assert.doesNotMatch(mail, /^(?:To|Cc|Fixes):/m);
    const notes = mail.slice(mail.indexOf('\n---\n'), mail.indexOf('\ndiff --git'));
    assert.match(
      notes.replace(/\n {4}/g, ' '),
      /Notes: virtio-race-lint ran nothing from the workspace, which is not trusted: not scripts\/checkpatch\.pl \(the patch is not checked\), scripts\/get_maintainer\.pl \(no To:\/Cc: headers\) or git blame \(no Fixes: line\)\./,
    );
    assert.deepEqual(res.log, [
      'not run (untrusted workspace): scripts/checkpatch.pl (the patch is not checked), scripts/get_maintainer.pl (no To:/Cc: headers), git blame (no Fixes: line)',
    ]);
    // Afterwards, by hand: the tree's checkpatch finds nothing, and git am ignores the notes.
    const file = path.join(t.base, res.mails[0].fileName);
    fs.writeFileSync(file, mail);
    const check = await runCheckpatch(t.root, file);
    assert.ok(!('error' in check) && check.clean, JSON.stringify(check));
    const am = await gitAm(t.root, file, [t.rel]);
    assert.equal(am.ok, true, JSON.stringify(am));
    assert.doesNotMatch(git(t.root, 'log', '-1', '--format=%B'), /trusted|Notes/);
  });
});

describe('git am of a generated patch', function () {
  this.timeout(30000);
  before(function () {
    if (!haveTools()) this.skip();
  });

  async function made(t: FakeTree): Promise<string> {
    const out = path.join(t.base, 'fix.patch');
    const r = await runCli(['patch', '--date', DATE, '-o', out, t.rel], t.root);
    assert.equal(r.code, 0, r.stderr);
    return out;
  }
  const head = (t: FakeTree) => git(t.root, 'rev-parse', 'HEAD').trim();

  it('refuses while the file has uncommitted changes, and says why', async () => {
    const t = fakeKernelTree();
    const patch = await made(t);
    fs.appendFileSync(t.file, '/* local edit */\n');
    const before = head(t);
    const r = await gitAm(t.root, patch, [t.rel]);
    assert.deepEqual(r, {
      ok: false,
      reason:
        'drivers/demo/demo_drv.c has uncommitted changes: commit or stash them first (git am applies the patch to the committed file)',
    });
    assert.equal(head(t), before);
    assert.match(fs.readFileSync(t.file, 'utf8'), /local edit/);
  });

  it('refuses while an am is in progress', async () => {
    const t = fakeKernelTree();
    const patch = await made(t);
    fs.mkdirSync(path.join(t.root, '.git/rebase-apply'));
    const r = await gitAm(t.root, patch, [t.rel]);
    assert.deepEqual(r, { ok: false, reason: 'a git am or rebase is in progress in this repository: finish it or abort it first' });
  });

  it('aborts an am that fails, leaving the tree as it was', async () => {
    const t = fakeKernelTree();
    const patch = await made(t);
    // The lock line changes after the patch was made: the patch no longer applies.
    fs.writeFileSync(t.file, fs.readFileSync(t.file, 'utf8').replace('\tspin_lock(&fsvq->lock);', '\tspin_lock_bh(&fsvq->lock);'));
    git(t.root, 'commit', '-qam', 'demo: use the _bh lock');
    const before = head(t);
    const r = await gitAm(t.root, patch, [t.rel]);
    assert.equal(r.ok, false);
    assert.match(
      (r as { reason: string }).reason,
      /^git am failed: .*patch (?:does not apply|failed).*\(aborted: the tree is as it was\)$/,
    );
    assert.equal(head(t), before);
    assert.equal(git(t.root, 'status', '--porcelain'), '');
    assert.ok(!fs.existsSync(path.join(t.root, '.git/rebase-apply')));
  });

  it('starts no signing program the repository names (commit.gpgSign + gpg.program), which plain git am would', async () => {
    const t = fakeKernelTree();
    const patch = await made(t);
    const marker = path.join(t.base, 'gpg-ran');
    const prog = path.join(t.base, 'gpg.sh');
    fs.writeFileSync(prog, `#!/bin/sh\necho "$*" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
    git(t.root, 'config', 'commit.gpgSign', 'true');
    git(t.root, 'config', 'gpg.program', prog);
    // The trap is live: git am as a user would run it starts the program (and fails).
    try {
      git(t.root, 'am', patch);
    } catch {
      /* the signing program fails */
    }
    assert.ok(fs.existsSync(marker), 'plain git am starts gpg.program');
    try {
      git(t.root, 'am', '--abort');
    } catch {
      /* nothing to abort */
    }
    fs.rmSync(marker);
    const r = await gitAm(t.root, patch, [t.rel]);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(!fs.existsSync(marker), `a program ran: ${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : ''}`);
  });

  it('runs no hook of the repository', async () => {
    const t = fakeKernelTree();
    const patch = await made(t);
    const marker = path.join(t.base, 'hook-ran');
    for (const h of ['applypatch-msg', 'pre-applypatch', 'post-applypatch', 'post-commit', 'post-rewrite']) {
      fs.writeFileSync(path.join(t.root, '.git/hooks', h), `#!/bin/sh\necho ${h} >> '${marker}'\n`, { mode: 0o755 });
    }
    const r = await gitAm(t.root, patch, [t.rel]);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(!fs.existsSync(marker), 'a hook ran');
  });
});
