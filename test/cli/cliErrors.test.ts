// CLI errors are one line on stderr with exit 2, never a stack trace, and no output replaces a
// source file (issue 9).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

const BEFORE = fs.readFileSync(path.join(FIXTURES, 'fix/basic/before.c'), 'utf8');
const CLI = path.join(__dirname, '../../../dist/cli.js');

function race(): string {
  const dir = tempDir('vrl-clierr-');
  fs.writeFileSync(path.join(dir, 'race.c'), BEFORE);
  return dir;
}

describe('CLI errors and outputs', function () {
  this.timeout(30000);

  it('patch -o does not overwrite a source file it patches (also through another spelling or a link)', async () => {
    const dir = race();
    fs.symlinkSync('race.c', path.join(dir, 'alias.c'));
    for (const out of ['race.c', './race.c', 'alias.c']) {
      const r = await runCli(['patch', '--signoff', 'A <a@example.org>', '-o', out, 'race.c'], dir);
      assert.equal(r.code, 2, out);
      assert.equal(r.stderr, `virtio-race-lint: --output ${out}: is a source file being patched; refusing to overwrite it\n`);
      assert.equal(fs.readFileSync(path.join(dir, 'race.c'), 'utf8'), BEFORE);
    }
    const ok = await runCli(['patch', '--signoff', 'A <a@example.org>', '-o', 'race.patch', 'race.c'], dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(fs.readFileSync(path.join(dir, 'race.patch'), 'utf8'), /^Subject: \[PATCH\]/m);
  });

  it('patch -o - writes the mails to standard output, not to a file named "-"', async () => {
    const dir = race();
    const r = await runCli(['patch', '--signoff', 'A <a@example.org>', '--date', '0', '-o', '-', 'race.c'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Subject: \[PATCH\]/m);
    assert.equal(r.stderr, '');
    assert.ok(!fs.existsSync(path.join(dir, '-')));
  });

  it('patch -o into a directory that does not exist is one line, exit 2', async () => {
    const dir = race();
    const r = await runCli(['patch', '--signoff', 'A <a@example.org>', '-o', 'no/such/dir/x.patch', 'race.c'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'virtio-race-lint: --output no/such/dir/x.patch: No such file or directory\n');
  });

  for (const bad of ['-1', '+5', '0x10', '1e9', 'yesterday', '99999999999999', '-0001-01-01']) {
    it(`--date ${bad} is refused with one line`, async () => {
      const dir = race();
      const r = await runCli(['patch', '--signoff', 'A <a@example.org>', `--date=${bad}`, 'race.c'], dir);
      assert.equal(r.code, 2, r.stdout);
      assert.match(
        r.stderr,
        /^virtio-race-lint: --date: cannot read '.*' as a date \(seconds since 1970, or a date such as 2026-01-02T03:04:05Z or Fri, 2 Jan 2026 03:04:05 \+0000\)\n$/,
      );
    });
  }

  it('--date takes epoch seconds and ISO dates', async () => {
    const dir = race();
    for (const [d, line] of [
      ['0', 'Date: Thu, 1 Jan 1970 00:00:00 +0000'],
      ['2026-01-02T03:04:05Z', 'Date: Fri, 2 Jan 2026 03:04:05 +0000'],
      ['Fri, 2 Jan 2026 03:04:05 +0000', 'Date: Fri, 2 Jan 2026 03:04:05 +0000'],
    ]) {
      const r = await runCli(['patch', '--signoff', 'A <a@example.org>', '--date', d, 'race.c'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes(`\n${line}\n`), r.stdout.slice(0, 300));
    }
  });

  for (const bad of ['0x3', '', ' 2', '2.0', '1e1', '-1', '65']) {
    it(`--workers '${bad}' is refused with one line`, async () => {
      const r = await runCli(['check', `--workers=${bad}`, 'race.c'], race());
      assert.equal(r.code, 2);
      assert.equal(r.stderr, `virtio-race-lint: --workers takes a whole number from 0 to 64, not '${bad}'\n`);
    });
  }

  it('a reader that goes away (EPIPE) gives no stack trace', function () {
    if (process.platform === 'win32' || !fs.existsSync(CLI)) this.skip();
    const dir = race();
    // `true` exits at once, long before the CLI has analysed the file and writes the mail.
    const r = spawnSync('sh', ['-c', `'${process.execPath}' '${CLI}' patch --signoff 'A <a@example.org>' race.c 2>err.txt | true`], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0);
    const err = fs.readFileSync(path.join(dir, 'err.txt'), 'utf8');
    assert.doesNotMatch(err, /\n\s+at |Error:/, err);
  });

  it('an unreadable file in a directory is one line and exit 2, after the other files are checked', function () {
    // Root reads everything: run the built CLI as nobody.
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find(p => fs.existsSync(p));
    if (process.platform === 'win32' || !fs.existsSync(CLI) || !setpriv || process.getuid?.() !== 0) this.skip();
    const dir = race();
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'race.c'), 0o644);
    fs.writeFileSync(path.join(dir, 'secret.c'), '/* virtqueue_get_buf */\n', { mode: 0o000 });
    fs.chmodSync(path.join(dir, 'secret.c'), 0o000);
    fs.mkdirSync(path.join(dir, 'locked'), { mode: 0o000 });
    fs.chmodSync(path.join(dir, 'locked'), 0o000);
    for (const prefilter of ['builtin', 'ripgrep']) {
      const r: { status: number | null; stdout: string; stderr: string } = spawnSync(
        setpriv as string,
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'check', '--prefilter', prefilter, '.'],
        { cwd: dir, encoding: 'utf8', env: { ...process.env, HOME: '/nonexistent' } },
      );
      if (prefilter === 'ripgrep' && /ripgrep \(rg\) is not installed/.test(r.stderr)) continue;
      assert.equal(r.status, 2, `${prefilter}: ${r.stderr}`);
      assert.match(
        r.stdout,
        /^race\.c:\d+:\d+: warning: .*\[VRL001\]$/m,
        `the readable file is still checked (${prefilter}): ${r.stdout} ${r.stderr}`,
      );
      if (prefilter === 'builtin') {
        assert.match(r.stderr, /^virtio-race-lint: secret\.c: Permission denied$/m);
        assert.match(r.stderr, /^virtio-race-lint: locked: Permission denied$/m);
      }
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  it('a file whose analysis fails (20,000 nested #if) is one line and exit 2, not a silent exit 0', async () => {
    const dir = tempDir('vrl-clierr-');
    const n = 20000;
    fs.writeFileSync(path.join(dir, 'deep.c'), '#if A\n'.repeat(n) + 'int x;\n' + '#endif\n'.repeat(n) + BEFORE);
    for (const args of [['deep.c'], ['--prefilter', 'builtin', '.']]) {
      const r = await runCli(['check', ...args], dir);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^virtio-race-lint: deep\.c: not analysed: analysis failed: .+$/m);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
  it('a file or directory whose name is not valid UTF-8 is one line and exit 2, not "No such file" or a silent exit 0', async function () {
    if (process.platform !== 'linux') this.skip();
    const dir = race();
    // "caf\xe9.c" and "d\xe9/x.c" in Latin-1: Node decodes both names with U+FFFD.
    const raw = (...parts: number[][]) => Buffer.concat([Buffer.from(dir + '/'), ...parts.map(p => Buffer.from(p))]);
    const cafe = [0x63, 0x61, 0x66, 0xe9, 0x2e, 0x63];
    const de = [0x64, 0xe9];
    fs.writeFileSync(raw(cafe), BEFORE);
    fs.mkdirSync(raw(de));
    fs.writeFileSync(raw(de, [0x2f, 0x78, 0x2e, 0x63]), BEFORE);
    // A name that really holds U+FFFD (valid UTF-8) is an ordinary file, and gone it is "not found".
    fs.writeFileSync(path.join(dir, 'real\uFFFD.c'), BEFORE);
    const why = 'cannot be analysed: the path is not valid UTF-8';
    for (const prefilter of ['ripgrep', 'builtin']) {
      const r = await runCli(['check', '--prefilter', prefilter, '.'], dir);
      if (prefilter === 'ripgrep' && /ripgrep \(rg\) is not installed/.test(r.stderr)) continue;
      assert.equal(r.code, 2, `${prefilter}: ${r.stderr}`);
      assert.match(r.stderr, /^virtio-race-lint: caf\uFFFD\.c: cannot be analysed: the path is not valid UTF-8$/m, prefilter);
      // rg lists the file inside; the built-in walk cannot list the directory itself.
      const inner = prefilter === 'ripgrep' ? 'd\uFFFD/x.c' : 'd\uFFFD';
      assert.ok(r.stderr.split('\n').includes(`virtio-race-lint: ${inner}: ${why}`), `${prefilter}: ${r.stderr}`);
      assert.match(r.stdout, /^race\.c:\d+:\d+: warning: .*\[VRL001\]$/m, prefilter);
      assert.match(r.stdout, /^real\uFFFD\.c:\d+:\d+: warning: .*\[VRL001\]$/m, prefilter);
    }
    const named = await runCli(['check', 'caf\uFFFD.c'], dir);
    assert.equal(named.code, 2);
    assert.equal(named.stderr, `virtio-race-lint: caf\uFFFD.c: ${why}\n`);
    const gone = await runCli(['check', 'gone\uFFFD.c'], dir);
    assert.equal(gone.code, 2);
    assert.equal(gone.stderr, 'virtio-race-lint: gone\uFFFD.c: No such file or directory\n');
  });
});
