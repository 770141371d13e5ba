// The language server runs nothing from an untrusted workspace, edits only text it computed the
// edits for, and cannot be wedged by what it reads (issue 9).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
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
  try { execFileSync('git', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
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
  afterEach(() => { c?.close(); c = undefined; process.env.PATH = savedPath; });

  describe('workspace trust', () => {
    before(function () { if (process.platform === 'win32') this.skip(); });

    it('starts no git for a patch in an untrusted workspace, and says so; runs it once trusted', async function () {
      if (!haveGit()) this.skip();
      const dir = workspace();
      const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
      const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, env, stdio: 'ignore' });
      git('init', '-q');
      git('add', '.');
      git('-c', 'user.name=Ada Hacker', '-c', 'user.email=ada@example.org', 'commit', '-qm', 'drm/demo: add the driver');
      const shim = gitShim();
      c = await startServer(dir, { ...defaultServerOptions() }, { patch: { signoff: 'Ada Hacker <ada@example.org>' } }, undefined, { trusted: false });
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      process.env.PATH = `${shim.bin}:${savedPath}`;
      const patch = await c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.createPatch', arguments: [{ uri: vq }] }) as { text: string; note?: string };
      assert.ok(!fs.existsSync(shim.marker), `git ran: ${fs.existsSync(shim.marker) ? fs.readFileSync(shim.marker, 'utf8') : ''}`);
      assert.match(patch.text, /^From: Ada Hacker <ada@example.org>$/m);
      assert.match(patch.note ?? '', /git was not run \(untrusted workspace\)/);
      // Trust granted: git runs (the shim sees it).
      await c.client.sendNotification('virtioRaceLint/didChangeTrust', { trusted: true });
      const trusted = await c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.createPatch', arguments: [{ uri: vq }] }) as { text: string; note?: string };
      assert.ok(fs.existsSync(shim.marker), 'a trusted workspace asks git');
      assert.equal(trusted.note, undefined);
      // And with the real git, the file's history gives the prefix.
      process.env.PATH = savedPath;
      const real = await c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.createPatch', arguments: [{ uri: vq }] }) as { text: string };
      assert.match(real.text, /^Subject: \[PATCH\] drm\/demo: /m);
    });

    it('an untrusted workspace without a signoff gets a clear error, not git identity', async () => {
      const dir = workspace();
      const shim = gitShim();
      c = await startServer(dir, { ...defaultServerOptions() }, {}, undefined, { trusted: false });
      const vq = uriOf(dir, 'demo_vq.c');
      await c.waitFor(d => vrl(d.get(vq)).length === 2);
      process.env.PATH = `${shim.bin}:${savedPath}`;
      const res = await c.client.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.createPatch', arguments: [{ uri: vq }] }) as { error?: string };
      assert.match(res.error ?? '', /no author for the patch: .*user settings \(git is not run in an untrusted workspace\)/);
      assert.ok(!fs.existsSync(shim.marker), 'git ran');
    });

    it('package.json restricts the identity setting in untrusted workspaces', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as {
        capabilities: { untrustedWorkspaces: { supported: unknown; restrictedConfigurations?: string[]; description: string } };
      };
      const u = pkg.capabilities.untrustedWorkspaces;
      assert.equal(u.supported, 'limited');
      assert.deepEqual(u.restrictedConfigurations, ['virtioRaceLint.patch.signoff']);
      assert.doesNotMatch(u.description, /executes nothing/);
    });
  });
});
