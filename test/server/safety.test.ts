// The language server runs nothing from an untrusted workspace, edits only text it computed the
// edits for, and cannot be wedged by what it reads (issue 9).
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { findingHover } from '../../src/server/server';
import { defaultServerOptions } from '../../src/server/services';
import { copyDir, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';
import { startServer, type TestClient } from '../helpers/lsp';

const GPU = path.join(FIXTURES, 'vrl001', 'gpu-helper-binding');
const uriOf = (dir: string, name: string) => `file://${path.join(dir, name)}`;
const vrl = (d: Diagnostic[] | undefined) => (d ?? []).filter(x => x.code === 'VRL001');

function workspace(): string {
  const dir = tempDir('vrl-safe-');
  copyDir(GPU, dir);
  return dir;
}

function haveGit(): boolean {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A `git` first on PATH that only leaves a marker: any git the server starts is seen. */
function gitShim(): { bin: string; marker: string } {
  const base = tempDir('vrl-shim-');
  const bin = path.join(base, 'bin');
  fs.mkdirSync(bin);
  const marker = path.join(base, 'marker');
  fs.writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "git $*" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
  return { bin, marker };
}

describe('language server safety', function () {
  this.timeout(20000);
  let c: TestClient | undefined;
  const savedPath = process.env.PATH;
  afterEach(() => {
    c?.close();
    c = undefined;
    process.env.PATH = savedPath;
  });

  describe('workspace trust', () => {
    before(function () {
      if (process.platform === 'win32') this.skip();
    });

    it('starts no git for a patch in an untrusted workspace, and says so; runs it once trusted', async function () {
      if (!haveGit()) this.skip();
      const dir = workspace();
      const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
      const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, env, stdio: 'ignore' });
      git('init', '-q');
      git('add', '.');
      git('-c', 'user.name=Ada Hacker', '-c', 'user.email=ada@example.org', 'commit', '-qm', 'drm/demo: add the driver');
      const shim = gitShim();
      c = await startServer(dir, { ...defaultServerOptions() }, { patch: { signoff: 'Ada Hacker <ada@example.org>' } }, undefined, {
        trusted: false,
      });
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      process.env.PATH = `${shim.bin}:${savedPath}`;
      const patch = (await c.client.sendRequest('workspace/executeCommand', {
        command: 'virtioRaceLint.server.createPatch',
        arguments: [{ uri: vq }],
      })) as { text: string; note?: string };
      assert.ok(!fs.existsSync(shim.marker), `git ran: ${fs.existsSync(shim.marker) ? fs.readFileSync(shim.marker, 'utf8') : ''}`);
      assert.match(patch.text, /^From: Ada Hacker <ada@example.org>$/m);
      assert.match(patch.note ?? '', /git was not run \(untrusted workspace\)/);
      // Trust granted: git runs (the shim sees it).
      await c.client.sendNotification('virtioRaceLint/didChangeTrust', { trusted: true });
      const trusted = (await c.client.sendRequest('workspace/executeCommand', {
        command: 'virtioRaceLint.server.createPatch',
        arguments: [{ uri: vq }],
      })) as { text: string; note?: string };
      assert.ok(fs.existsSync(shim.marker), 'a trusted workspace asks git');
      assert.equal(trusted.note, undefined);
      // And with the real git, the file's history gives the prefix.
      process.env.PATH = savedPath;
      const real = (await c.client.sendRequest('workspace/executeCommand', {
        command: 'virtioRaceLint.server.createPatch',
        arguments: [{ uri: vq }],
      })) as { text: string };
      assert.match(real.text, /^Subject: \[PATCH\] drm\/demo: /m);
    });

    it("a parenthesis in a path does not end the hover's link (nor start another one)", () => {
      const file = '/src/linux (copy)/x)[y](command:virtioRaceLint.createPatch)/demo.c';
      const span = { start: 0, end: 1, line: 2, column: 3, endLine: 2, endColumn: 4 };
      const f = { rule: 'VRL001', file, span, message: 'first\nsecond', related: [{ role: 'drain', file, span, message: 'drain' }] };
      const md = findingHover(f as unknown as Parameters<typeof findingHover>[0], 'file:///src/demo.c', new Map());
      const where = md.split('\n').find(l => l.startsWith('- '))!;
      const m = /^- \[[^\]]*\]\(([^()\s]*)\) drain$/.exec(where);
      assert.ok(m, where);
      assert.equal(decodeURIComponent(new URL(m[1]).pathname), file);
    });

    it('a trust notification without a boolean does not make the workspace trusted', async () => {
      const dir = workspace();
      c = await startServer(dir, { ...defaultServerOptions() }, {}, undefined, { trusted: false });
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      const am = () =>
        c!.client.sendRequest('workspace/executeCommand', {
          command: 'virtioRaceLint.server.applyPatch',
          arguments: [{ patch: path.join(dir, 'x.patch'), uri: vq }],
        }) as Promise<{ ok: boolean; reason?: string }>;
      for (const p of [{}, null, { trusted: 'yes' }]) {
        await c.client.sendNotification('virtioRaceLint/didChangeTrust', p);
        assert.deepEqual(await am(), { ok: false, reason: 'the workspace is not trusted: git am is not run in it' }, JSON.stringify(p));
      }
      await c.client.sendNotification('virtioRaceLint/didChangeTrust', { trusted: true });
      assert.notDeepEqual(await am(), { ok: false, reason: 'the workspace is not trusted: git am is not run in it' });
    });

    it('an untrusted workspace without a signoff gets a clear error, not git identity', async () => {
      const dir = workspace();
      const shim = gitShim();
      c = await startServer(dir, { ...defaultServerOptions() }, {}, undefined, { trusted: false });
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      process.env.PATH = `${shim.bin}:${savedPath}`;
      const res = (await c.client.sendRequest('workspace/executeCommand', {
        command: 'virtioRaceLint.server.createPatch',
        arguments: [{ uri: vq }],
      })) as { error?: string };
      assert.match(res.error ?? '', /no author for the patch: .*user settings \(git is not run in an untrusted workspace\)/);
      assert.ok(!fs.existsSync(shim.marker), 'git ran');
    });

    it('package.json restricts the identity and patch folder settings in untrusted workspaces', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as {
        capabilities: { untrustedWorkspaces: { supported: unknown; restrictedConfigurations?: string[]; description: string } };
      };
      const u = pkg.capabilities.untrustedWorkspaces;
      assert.equal(u.supported, 'limited');
      assert.deepEqual(u.restrictedConfigurations, ['virtioRaceLint.patch.signoff', 'virtioRaceLint.patch.directory']);
      assert.doesNotMatch(u.description, /executes nothing/);
    });
  });

  describe('edits and reads', () => {
    /** Answers within `ms`, or rejects: a server whose thread is blocked never answers. */
    const answers = <T>(p: Promise<T>, ms = 5000) =>
      Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('the server did not answer')), ms))]);

    it('fix-all on a closed file sends no edit; a patch for it is made from the disk as it is now', async () => {
      const dir = workspace();
      c = await startServer(dir, { ...defaultServerOptions() }, { patch: { signoff: 'Ada Hacker <ada@example.org>' } });
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      // Saved by another program after indexing; no watched-files event yet.
      const file = path.join(dir, 'demo_vq.c');
      const header = '/* three lines\n * added on disk\n */\n';
      fs.writeFileSync(file, header + fs.readFileSync(file, 'utf8'));
      const res = (await c.client.sendRequest('workspace/executeCommand', {
        command: 'virtioRaceLint.server.fixAll',
        arguments: [{ uri: vq }],
      })) as { applied: boolean; message: string };
      assert.equal(res.applied, false);
      assert.match(res.message, /is not open/);
      assert.equal(c.applyEdits.length, 0);
      const patch = (await c.client.sendRequest('workspace/executeCommand', {
        command: 'virtioRaceLint.server.createPatch',
        arguments: [{ uri: vq }],
      })) as { text: string };
      const diff = patch.text.slice(patch.text.indexOf('\ndiff --git'), patch.text.lastIndexOf('\n-- \n'));
      const lines = diff.split('\n');
      assert.deepEqual(
        lines.filter(l => /^-(?!--)/.test(l)),
        [
          '-\tspin_lock(&dev->ctrlq.qlock);',
          '-\tspin_unlock(&dev->ctrlq.qlock);',
          '-\tspin_lock(&dev->cursorq.qlock);',
          '-\tspin_unlock(&dev->cursorq.qlock);',
        ],
      );
      for (const l of lines.filter(x => /^\+(?!\+\+)/.test(x))) {
        assert.match(
          l,
          /^\+(\tunsigned long flags;|\tspin_lock_irqsave\(&dev->(ctrl|cursor)q\.qlock, flags\);|\tspin_unlock_irqrestore\(&dev->(ctrl|cursor)q\.qlock, flags\);|)$/,
        );
      }
      // The lock is on line 36 of the fixture; the three lines added on disk put it on 39.
      assert.match(
        diff,
        /^@@ -3\d,\d+ \+3\d,\d+ @@ void demo_dequeue_ctrl_func\(struct work_struct \*work\)\n(?:[ +-].*\n)*?-\tspin_lock\(&dev->ctrlq\.qlock\);/m,
      );
      const hunkStart = Number(/^@@ -(\d+),/m.exec(diff)![1]);
      const firstRemoved = lines
        .slice(lines.findIndex(l => l.startsWith('@@')) + 1)
        .filter(l => !l.startsWith('+'))
        .findIndex(l => l.startsWith('-'));
      assert.equal(hunkStart + firstRemoved, 39);
    });

    it('does not read a FIFO named *.c reported by the file watcher, and says why it skipped it', async function () {
      if (process.platform === 'win32') this.skip();
      const dir = workspace();
      c = await startServer(dir);
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      const fifo = path.join(dir, 'pipe_virtqueue.c');
      execFileSync('mkfifo', [fifo]);
      // A writer, so that a server that does read the FIFO gets an end of file rather than
      // blocking (which would hang this test instead of failing it).
      const writer = spawn('sh', ['-c', `printf 'void f(void) { virtqueue_get_buf(0, 0); }\\n' > '${fifo}'`], { stdio: 'ignore' });
      try {
        await c.client.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: `file://${fifo}`, type: 1 }] });
        const list = await answers(
          c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.listFindings', arguments: [] }) as Promise<
            unknown[]
          >,
        );
        assert.equal(list.length, 2);
        assert.ok(
          c.logs.some(l => l.includes('pipe_virtqueue.c: skipped: not a regular file')),
          c.logs.join('\n'),
        );
      } finally {
        writer.kill('SIGKILL');
      }
    });

    // Without the fix this one reads /dev/zero until the process runs out of memory.
    it('does not read a device named *.c reported by the file watcher', async function () {
      if (process.platform === 'win32') this.skip();
      const dir = workspace();
      c = await startServer(dir);
      await c.waitFor(d => vrl(d.get(uriOf(dir, 'demo_vq.c'))).length === 2);
      fs.symlinkSync('/dev/zero', path.join(dir, 'zero.c'));
      await c.client.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: uriOf(dir, 'zero.c'), type: 1 }] });
      await answers(c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.listFindings', arguments: [] }));
      assert.ok(
        c.logs.some(l => l.includes('zero.c: skipped: not a regular file')),
        c.logs.join('\n'),
      );
    });

    it('does not read a file over 4 MiB reported by the file watcher', async () => {
      const dir = workspace();
      c = await startServer(dir);
      await c.waitFor(d => vrl(d.get(uriOf(dir, 'demo_vq.c'))).length === 2);
      const big = path.join(dir, 'big.c');
      fs.writeFileSync(big, Buffer.alloc(5 * 1024 * 1024, 0x20));
      await c.client.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: `file://${big}`, type: 1 }] });
      await answers(c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.listFindings', arguments: [] }));
      assert.ok(
        c.logs.some(l => /big\.c: skipped: too large to analyse \(5242880 bytes, limit 4194304\)/.test(l)),
        c.logs.join('\n'),
      );
    });

    it('does not analyse a binary document, and drops a document edited past 4 MiB', async () => {
      const dir = workspace();
      c = await startServer(dir);
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      const bin = uriOf(dir, 'blob.c');
      await c.client.sendNotification('textDocument/didOpen', {
        textDocument: { uri: bin, languageId: 'c', version: 1, text: 'int x;\0\0\0' },
      });
      const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
      await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
      await c.client.sendNotification('textDocument/didChange', {
        textDocument: { uri: vq, version: 2 },
        contentChanges: [
          { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: `/*${' '.repeat(4 * 1024 * 1024)}*/\n` },
        ],
      });
      await c.waitFor(d => vrl(d.get(vq)).length === 0);
      assert.ok(
        c.logs.some(l => l.includes('blob.c: not analysed: binary file')),
        c.logs.join('\n'),
      );
      assert.ok(
        c.logs.some(l => /demo_vq\.c: no longer analysed: too large/.test(l)),
        c.logs.join('\n'),
      );
    });

    it('rejects an edit range outside the document instead of applying it somewhere', async () => {
      const dir = workspace();
      c = await startServer(dir);
      const vq = uriOf(dir, 'demo_vq.c');
      const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
      await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      await c.client.sendNotification('textDocument/didChange', {
        textDocument: { uri: vq, version: 2 },
        contentChanges: [{ range: { start: { line: 5000, character: 0 }, end: { line: 5000, character: 3 } }, text: 'spin_lock(&x);' }],
      });
      await c.waitFor(d => vrl(d.get(vq)).length === 0);
      assert.ok(
        c.logs.some(l => /demo_vq\.c: invalid edit range .* out of sync/.test(l)),
        c.logs.join('\n'),
      );
      // Fix-all no longer edits it: it is not an open document the server can vouch for.
      const res = (await c.client.sendRequest('workspace/executeCommand', {
        command: 'virtioRaceLint.server.fixAll',
        arguments: [{ uri: vq }],
      })) as { applied: boolean };
      assert.equal(res.applied, false);
      assert.equal(c.applyEdits.length, 0);
    });

    it('frees the tree of a document opened again without a close', async () => {
      const dir = workspace();
      c = await startServer(dir);
      const vq = uriOf(dir, 'demo_vq.c');
      const text = fs.readFileSync(path.join(dir, 'demo_vq.c'), 'utf8');
      await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      const docs = (c.server as unknown as { docs: Map<string, { doc: { dispose(): void } }> }).docs;
      const first = docs.get(path.join(dir, 'demo_vq.c'))!.doc;
      let disposed = 0;
      const orig = first.dispose.bind(first);
      first.dispose = () => {
        disposed++;
        orig();
      };
      await c.client.sendNotification('textDocument/didOpen', { textDocument: { uri: vq, languageId: 'c', version: 1, text } });
      await answers(c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.listFindings', arguments: [] }));
      assert.equal(disposed, 1);
      assert.notEqual(docs.get(path.join(dir, 'demo_vq.c'))!.doc, first);
    });
  });

  describe('settings', () => {
    it('replaces settings of the wrong type or out of range by their defaults, and says which', async () => {
      const dir = workspace();
      c = await startServer(
        dir,
        {},
        {
          run: 'sometimes',
          enable: 'yes',
          simulator: { timeoutMs: 'x', buffers: 99, maxStates: 5000 },
          patch: { signoff: 'not an identity', directory: 7 },
          index: { cache: 'off' },
        },
      );
      const settings = (c.server as unknown as { settings: unknown }).settings;
      assert.deepEqual(settings, {
        enable: true,
        run: 'onType',
        simulator: { buffers: 4, maxStates: 5000, timeoutMs: 30000 },
        patch: { signoff: '', directory: '' },
        index: { cache: true },
      });
      const warned = c.logs.join('\n');
      assert.match(warned, /virtioRaceLint\.simulator\.timeoutMs: expected a whole number from 1000 to 3600000, not "x"; using 30000/);
      assert.match(warned, /virtioRaceLint\.simulator\.buffers: expected a whole number from 1 to 14, not 99; using 4/);
      assert.match(warned, /virtioRaceLint\.run: expected "onType" or "onSave", not "sometimes"/);
      assert.match(warned, /virtioRaceLint\.enable: expected true or false, not "yes"/);
      assert.match(warned, /virtioRaceLint\.patch\.directory: expected a folder path, not 7; using the tree's root/);
      assert.match(warned, /virtioRaceLint\.index\.cache: expected true or false, not "off"; using true/);
      assert.match(warned, /virtioRaceLint\.patch\.signoff: expected "Name <mail@example\.org>", not "not an identity"; ignored/);
    });
  });

  describe('files.exclude', () => {
    it('starts and indexes with globs a regular expression could not take, and honours the valid ones', async () => {
      const dir = workspace();
      copyDir(GPU, path.join(dir, 'build'));
      c = await startServer(dir, {}, undefined, undefined, undefined, {
        exclude: { '{a,b': true, '[z-a]': true, '{build,out}': true, [`${'{a,b}'.repeat(20)}`]: true },
      });
      await c.waitFor(d => vrl(d.get(uriOf(dir, 'demo_vq.c'))).length === 2);
      assert.equal(c.server.findings.length, 2, 'build/ is excluded');
      assert.ok(
        c.logs.some(l => /files\.exclude: ".*" expands to too many alternatives; ignored/.test(l)),
        c.logs.join('\n'),
      );
    });
  });

  describe('workspace folders', () => {
    it('indexes a folder added at run time, and forgets one removed', async () => {
      const first = workspace();
      const second = workspace();
      c = await startServer(first);
      await c.waitFor(d => vrl(d.get(uriOf(first, 'demo_vq.c'))).length === 2);
      await c.client.sendNotification('workspace/didChangeWorkspaceFolders', {
        event: { added: [{ uri: `file://${second}`, name: 'second' }], removed: [] },
      });
      await c.waitFor(d => vrl(d.get(uriOf(second, 'demo_vq.c'))).length === 2);
      assert.equal(c.server.findings.length, 4);
      await c.client.sendNotification('workspace/didChangeWorkspaceFolders', {
        event: { added: [], removed: [{ uri: `file://${first}`, name: 'ws' }] },
      });
      await c.waitFor(d => vrl(d.get(uriOf(first, 'demo_vq.c'))).length === 0);
      assert.equal(c.server.findings.length, 2);
    });
  });
});
