import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ripgrep } from '../../src/analysis/scan';
import { runCli, tempDir, copyDir } from '../helpers/cli';
import { expectationsIn, FIXTURES, fixtureDirs } from '../helpers/fixtures';

const GPU = path.join(FIXTURES, 'vrl001', 'gpu-helper-binding');

describe('virtio-race-lint check', () => {
  it('prints compiler-style text with paths relative to the current directory, and exits 1', async () => {
    const r = await runCli(['check', 'gpu-helper-binding'], path.join(FIXTURES, 'vrl001'));
    assert.equal(r.code, 1);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^gpu-helper-binding\/demo_vq\.c:36:2: warning: demo_dequeue_ctrl_func\(\) drains .* \[VRL001\]$/);
    assert.match(lines[1], /^gpu-helper-binding\/demo_vq\.c:55:2: warning: /);
    assert.equal(r.stderr, '');
  });

  it('prints gcc-style notes for the related locations with --related', async () => {
    const r = await runCli(['check', '--related', 'demo_vq.c', 'demo_kms.c', 'demo_drv.h'], GPU);
    assert.equal(r.code, 1);
    // The message's explanation follows the warning as a note at the same place.
    assert.match(
      r.stdout,
      /^demo_vq\.c:36:2: warning: demo_dequeue_ctrl_func\(\) drains under .* \[VRL001\]\ndemo_vq\.c:36:2: note: Unless IRQs are force-threaded .*IRQ_NONE stays possible, as the ring can be empty by then\.\n/,
    );
    assert.match(r.stdout, /^demo_kms\.c:\d+:\d+: note: registered as a virtqueue callback/m);
    assert.match(r.stdout, /^demo_vq\.c:\d+:\d+: note: reclaim_bufs|^demo_vq\.c:\d+:\d+: note: virtqueue_get_buf\(\) drains/m);
  });

  it('emits the JSON contract', async () => {
    const r = await runCli(['check', '--format', 'json', '.'], GPU);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ['findings']);
    const f = out.findings[0];
    for (const k of ['rule', 'file', 'line', 'column', 'handler', 'callback', 'lock', 'message']) assert.ok(k in f, k);
    assert.deepEqual(
      [f.rule, f.file, f.line, f.column, f.handler, f.callback, f.lock],
      ['VRL001', 'demo_vq.c', 36, 2, 'demo_dequeue_ctrl_func', 'demo_ctrl_ack', 'spin_lock(&dev->ctrlq.qlock)'],
    );
  });

  it('emits SARIF 2.1.0 with the fields GitHub code scanning requires', async () => {
    const r = await runCli(['check', '--format=sarif', '.'], GPU);
    const s = JSON.parse(r.stdout);
    assert.equal(s.version, '2.1.0');
    assert.match(s.$schema, /sarif-2\.1\.0/);
    const run = s.runs[0];
    assert.equal(run.tool.driver.name, 'virtio-race-lint');
    assert.equal(run.tool.driver.rules[0].id, 'VRL001');
    assert.match(run.tool.driver.rules[0].helpUri, /^https:\/\//);
    assert.equal(run.results.length, 2);
    for (const res of run.results) {
      assert.equal(res.ruleId, 'VRL001');
      assert.equal(res.ruleIndex, 0);
      assert.equal(typeof res.message.text, 'string');
      const pl = res.locations[0].physicalLocation;
      assert.equal(pl.artifactLocation.uri, 'demo_vq.c');
      assert.equal(pl.artifactLocation.uriBaseId, '%SRCROOT%');
      assert.ok(pl.region.startLine >= 1 && pl.region.startColumn >= 1);
      assert.ok(res.relatedLocations.length >= 5);
      assert.match(res.partialFingerprints['virtioRaceLint/v1'], /^[0-9a-f]{32}$/);
    }
  });

  it('exits 0 with no output when there is nothing to report', async () => {
    // (released_handler() drains with no lock after dropping it: VRL002's, turned off here.)
    const r = await runCli(['check', '--rule', 'VRL002=off', '.'], path.join(FIXTURES, 'vrl001', 'negatives'));
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
  });

  it('exits 2 with one clear line for a missing path or a bad option', async () => {
    const r = await runCli(['check', 'no/such/dir'], GPU);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'virtio-race-lint: no/such/dir: No such file or directory\n');
    const bad = await runCli(['check', '--format', 'xml', '.'], GPU);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^virtio-race-lint: invalid value 'xml' for --format \(expected text, json, sarif\)\n$/);
    assert.equal((await runCli(['check'], GPU)).code, 2);
    assert.equal((await runCli(['frobnicate'], GPU)).code, 2);
  });

  it('fix and patch name a missing path as given, as check does', async () => {
    for (const cmd of ['check', 'fix', 'patch']) {
      const r = await runCli([cmd, '.', 'no/such/file.c'], GPU);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', 'virtio-race-lint: no/such/file.c: No such file or directory\n'], cmd);
    }
    for (const cmd of ['fix', 'patch'])
      assert.deepEqual(await runCli([cmd], GPU), { code: 2, stdout: '', stderr: 'virtio-race-lint: no PATH given\n' });
  });

  it('refuses an empty PATH (an unset "$DIR") rather than checking the current directory', async () => {
    for (const cmd of ['check', 'fix', 'patch']) {
      const r = await runCli([cmd, ''], GPU);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', "virtio-race-lint: '': No such file or directory\n"], cmd);
    }
    const sim = await runCli(['simulate', ':12'], GPU);
    assert.deepEqual([sim.code, sim.stderr], [2, "virtio-race-lint: '': No such file or directory\n"]);
    const dir = await runCli(['simulate', '.'], GPU);
    assert.deepEqual([dir.code, dir.stderr], [2, 'virtio-race-lint: .: Is a directory (simulate takes FILE or FILE:LINE)\n']);
    const missing = await runCli(['simulate', 'no/such.c:3'], GPU);
    assert.deepEqual([missing.code, missing.stderr], [2, 'virtio-race-lint: no/such.c: No such file or directory\n']);
  });

  it('exits 2 for an unreadable file', async function () {
    if (process.getuid?.() === 0) this.skip(); // root reads anything
    const dir = tempDir();
    const f = path.join(dir, 'x.c');
    fs.writeFileSync(f, 'int x;\n');
    fs.chmodSync(f, 0);
    const r = await runCli(['check', 'x.c'], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /x\.c: Permission denied/);
  });

  it('exits 2 for a path that is not a regular file (a FIFO would block the read)', async () => {
    const dir = tempDir();
    execFileSync('mkfifo', [path.join(dir, 'pipe.c')]);
    const r = await runCli(['check', 'pipe.c'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'virtio-race-lint: pipe.c: Not a regular file\n');
    // Inside a walked directory it is simply not a C source file.
    assert.equal((await runCli(['check', '.'], dir)).code, 0);
  });

  it('skips binary and huge files with a warning, and reads Latin-1 with a note, never crashing', async () => {
    const dir = tempDir();
    copyDir(GPU, dir);
    fs.writeFileSync(path.join(dir, 'blob.c'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 3]));
    fs.writeFileSync(path.join(dir, 'huge.c'), Buffer.alloc(5 * 1024 * 1024, 0x20));
    // A Latin-1 comment in the driver itself: still analysed.
    const vq = path.join(dir, 'demo_vq.c');
    fs.writeFileSync(vq, Buffer.concat([Buffer.from('/* Copyright J\xfcrgen */\n', 'latin1'), fs.readFileSync(vq)]));
    const r = await runCli(['check', 'blob.c', 'huge.c', 'demo_vq.c', 'demo_kms.c', 'demo_drv.h'], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /warning: blob\.c: skipped: binary file/);
    assert.match(r.stderr, /warning: huge\.c: skipped: too large to analyse/);
    assert.match(r.stderr, /warning: demo_vq\.c: not valid UTF-8; read as Latin-1/);
    assert.equal(r.stdout.trimEnd().split('\n').length, 2);
    assert.match(r.stdout, /^demo_vq\.c:37:2: warning:/m);
  });

  it('finds the same with the ripgrep prefilter as with the built-in one', async function () {
    if (!ripgrep()) this.skip(); // rg is not installed here
    const dir = path.join(FIXTURES, 'vrl001');
    const [rg, builtin] = await Promise.all(
      ['ripgrep', 'builtin'].map(p => runCli(['check', '--format', 'json', '--rule', 'VRL002=off', '--prefilter', p, '.'], dir)),
    );
    assert.equal(rg.code, 1);
    const findings = JSON.parse(rg.stdout).findings;
    // Every `// ruleid: VRL001` annotation of the fixtures, and nothing else.
    const wanted = fixtureDirs('vrl001')
      .flatMap(d => expectationsIn(d))
      .filter(e => e.kind === 'ruleid')
      .map(e => `${path.relative(dir, e.file)}:${e.line + 1}`)
      .sort();
    assert.deepEqual(findings.map((f: { file: string; line: number }) => `${f.file}:${f.line}`).sort(), wanted);
    assert.deepEqual(findings, JSON.parse(builtin.stdout).findings);
    assert.equal(rg.stderr, builtin.stderr);
  });

  it('without ripgrep: --prefilter ripgrep exits 2 with one line, and the default falls back to the built-in scan', () => {
    const cli = path.join(__dirname, '../../../dist/cli.js');
    const env = { ...process.env, VRL_RG: path.join(tempDir(), 'no-rg') };
    const run = (args: string[]) => spawnSync(process.execPath, [cli, 'check', ...args, '.'], { cwd: GPU, env, encoding: 'utf8' });
    const required = run(['--prefilter', 'ripgrep']);
    assert.equal(required.status, 2);
    assert.equal(
      required.stderr,
      'virtio-race-lint: --prefilter ripgrep: ripgrep (rg) is not installed (install it, or use --prefilter builtin)\n',
    );
    const auto = run([]);
    assert.equal(auto.status, 1);
    assert.equal(auto.stdout.trimEnd().split('\n').length, 2);
  });

  it('handles an empty directory and an empty file', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'empty.c'), '');
    assert.equal((await runCli(['check', '.'], dir)).code, 0);
    assert.equal((await runCli(['check', 'empty.c'], dir)).code, 0);
  });
  it('analyses a file reached under two names once: a linked directory, a link to a file', async () => {
    const dir = tempDir();
    copyDir(path.join(FIXTURES, 'vrl001', 'single-vq-delayed'), path.join(dir, 'real'));
    fs.symlinkSync('real', path.join(dir, 'link'));
    fs.symlinkSync('real/demo_single.c', path.join(dir, 'alias.c'));
    const where = (r: { stdout: string }) =>
      r.stdout
        .trimEnd()
        .split('\n')
        .map(l => l.split(':')[0]);
    // The first name given wins; among walked files, the first in path order.
    assert.deepEqual(where(await runCli(['check', 'real', 'link'], dir)), ['link/demo_single.c']);
    assert.deepEqual(where(await runCli(['check', 'real/demo_single.c', 'alias.c', 'link/demo_single.c'], dir)), ['real/demo_single.c']);
    assert.deepEqual(where(await runCli(['check', 'alias.c', 'real'], dir)), ['alias.c']);
    const patch = await runCli(['patch', '--signoff', 'A <a@example.org>', '--date', '0', 'real', 'link', 'alias.c'], dir);
    assert.equal(patch.code, 0, patch.stderr);
    assert.equal(patch.stdout.match(/^Subject: /gm)?.length, 1);
    const fix = await runCli(['fix', 'real', 'link', 'alias.c'], dir);
    assert.equal(fix.code, 0, fix.stderr);
    assert.equal(fix.stderr, 'virtio-race-lint: fixed 1 finding in 1 file\n');
    assert.equal(fs.readFileSync(path.join(dir, 'real', 'demo_single.c'), 'utf8').match(/spin_lock_irqsave\(/g)?.length, 1);
    assert.ok(fs.lstatSync(path.join(dir, 'alias.c')).isSymbolicLink());
  });
  it('warns of a file too large to analyse only if it names a virtqueue, with either prefilter', async () => {
    const dir = tempDir();
    const size = 4 * 1024 * 1024 + 12;
    // A generated register header over the limit that names no virtqueue: not a candidate.
    fs.writeFileSync(path.join(dir, 'regs.h'), '#define R 0\n'.repeat(size / 12 + 1).slice(0, size));
    // "virtqueue" across the boundary of the 1 MiB pieces the built-in scan reads.
    const huge = Buffer.alloc(size, 0x20);
    huge.write('virtqueue', (1 << 20) - 4);
    fs.writeFileSync(path.join(dir, 'huge.c'), huge);
    const want = `virtio-race-lint: warning: huge.c: skipped: too large to analyse (${size} bytes, limit 4194304)\n`;
    for (const prefilter of ['builtin', ...(ripgrep() ? ['ripgrep'] : [])]) {
      const r = await runCli(['check', '--prefilter', prefilter, '.'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, want, prefilter);
    }
    // Named, a file is analysed whatever it contains: too large is said of it.
    // (Its neighbour huge.c is read as context, and is a candidate.)
    const named = await runCli(['check', 'regs.h'], dir);
    assert.equal(named.stderr, `${want}virtio-race-lint: warning: regs.h: skipped: too large to analyse (${size} bytes, limit 4194304)\n`);
  });
});
