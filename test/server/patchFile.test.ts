// The editor's "Create kernel patch" and "Apply with git am" through the language server, on a
// fake kernel tree (test/helpers/kernelTree.ts): a .patch file written next to the tree's root
// (never over another), the tree's tools run only in a trusted workspace, git am refused while
// the file has unsaved or uncommitted edits.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import type { FileFacts } from '../../src/analysis/facts';
import { createPatch, defaultServerOptions } from '../../src/server/services';
import { DEFAULT_SETTINGS } from '../../src/shared/protocol';
import type { ApplyPatchResult, CreatePatchResult } from '../../src/shared/protocol';
import { calls, fakeKernelTree, git, haveTools, type FakeTree } from '../helpers/kernelTree';
import { startServer, type TestClient } from '../helpers/lsp';

const vrl = (d: Diagnostic[] | undefined) => (d ?? []).filter(x => x.code === 'VRL001');
const NAME = '0001-demo-disable-local-irqs-while-draining-the-virtqueue.patch';

describe('language server: kernel patch files', function () {
  this.timeout(30000);
  let c: TestClient | undefined;
  const savedPath = process.env.PATH;
  before(function () {
    if (!haveTools()) this.skip();
  });
  afterEach(() => {
    c?.close();
    c = undefined;
    process.env.PATH = savedPath;
  });

  async function serve(t: FakeTree, opts: { trusted?: boolean; settings?: Record<string, unknown> } = {}): Promise<string> {
    c = await startServer(t.root, { ...defaultServerOptions() }, opts.settings ?? {}, undefined, { trusted: opts.trusted ?? true });
    const uri = `file://${t.file}`;
    await c.waitFor(d => vrl(d.get(uri)).length === 1);
    return uri;
  }
  const create = (uri: string) =>
    c!.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.createPatch',
      arguments: [{ uri }],
    }) as Promise<CreatePatchResult>;
  const apply = (patch: string, uri?: string) =>
    c!.client.sendRequest('workspace/executeCommand', {
      command: 'virtioRaceLint.server.applyPatch',
      arguments: [{ patch, uri }],
    }) as Promise<ApplyPatchResult>;

  it('trusted kernel tree: writes the .patch at the tree root with To:/Cc:, Fixes: and a clean checkpatch; a second one beside it; git am applies', async () => {
    const t = fakeKernelTree();
    const uri = await serve(t);
    const res = await create(uri);
    assert.equal(res.path, path.join(t.root, NAME));
    assert.equal(res.fileName, NAME);
    assert.equal(fs.readFileSync(res.path!, 'utf8'), res.text);
    assert.match(res.text, /^From: Ada Hacker <ada@example.org>$/m);
    assert.match(res.text, /^To: Ada Maintainer <ada@example.org>,$/m);
    assert.match(res.text, /^Cc: demo-list@example.org,$/m);
    assert.match(
      res.text,
      new RegExp(
        `^Fixes: ${t.commits.lock.slice(0, 12)} \\("demo: take the queue lock in the done work"\\)\\nSigned-off-by: Ada Hacker <ada@example.org>$`,
        'm',
      ),
    );
    assert.match((res.checkpatch as { total: string }).total, /^total: 0 errors, 0 warnings, 0 checks, \d+ lines checked$/);
    assert.deepEqual({ ...res.checkpatch, total: '' }, { total: '', clean: true, messages: [] });
    assert.equal(res.canApply, true);
    assert.equal(res.note, undefined);
    assert.ok(
      res.log.some(l => /checkpatch\.pl --strict: total: 0 errors/.test(l)),
      res.log.join('\n'),
    );
    assert.ok(
      c!.logs.some(l => /patch: .*Fixes: [0-9a-f]{12} .*check it/.test(l)),
      'the output channel gets the log',
    );
    // Again: a new file beside the first, which is left as it is.
    fs.appendFileSync(res.path!, '# my edits\n');
    const again = await create(uri);
    assert.equal(again.path, path.join(t.root, NAME.replace(/\.patch$/, '-2.patch')));
    assert.match(fs.readFileSync(res.path!, 'utf8'), /# my edits\n$/);
    // Applied (the patch file is untracked: only the source file must be clean).
    const before = git(t.root, 'rev-parse', 'HEAD').trim();
    const am = await apply(again.path!, uri);
    assert.equal(am.ok, true, JSON.stringify(am));
    assert.notEqual(git(t.root, 'rev-parse', 'HEAD').trim(), before);
    assert.equal(git(t.root, 'log', '-1', '--format=%s').trim(), 'demo: disable local irqs while draining the virtqueue');
    assert.match(fs.readFileSync(t.file, 'utf8'), /spin_unlock_irqrestore\(&fsvq->lock, flags\);/);
  });

  it('refuses a buffer that is not a file on disk (nothing is written anywhere)', async () => {
    const res = await createPatch(
      'untitled:Untitled-1',
      'int x;\n',
      [],
      { file: 'untitled:Untitled-1' } as unknown as FileFacts,
      DEFAULT_SETTINGS,
      { trusted: true },
    );
    assert.deepEqual(res, { error: 'the file is not on disk (an unsaved buffer): save it in its tree first, then create the patch' });
  });

  it('writes to virtioRaceLint.patch.directory (relative to the tree root) when set', async () => {
    const t = fakeKernelTree();
    const uri = await serve(t, { settings: { patch: { directory: 'outgoing/v1' } } });
    const res = await create(uri);
    assert.equal(res.path, path.join(t.root, 'outgoing/v1', NAME));
    assert.ok(fs.existsSync(res.path!));
  });

  it('reads ~/ in virtioRaceLint.patch.directory as the home folder', async () => {
    const t = fakeKernelTree();
    const savedHome = process.env.HOME;
    process.env.HOME = t.base;
    try {
      const uri = await serve(t, { settings: { patch: { directory: '~/outgoing' } } });
      const res = await create(uri);
      assert.equal(res.path, path.join(t.base, 'outgoing', NAME));
    } finally {
      process.env.HOME = savedHome;
    }
  });

  it('trusted, in a git repository that is not a kernel tree: no tool runs, one line says why; git am is still offered', async () => {
    const t = fakeKernelTree();
    fs.rmSync(path.join(t.root, 'scripts'), { recursive: true });
    git(t.root, 'commit', '-qam', 'no scripts');
    const uri = await serve(t);
    const res = await create(uri);
    assert.equal(res.path, path.join(t.root, NAME));
    assert.doesNotMatch(res.text, /^(?:To|Cc|Fixes):|^Notes:/m);
    assert.equal(res.checkpatch, undefined);
    assert.ok(
      res.log.includes(
        `${t.root} is not a kernel tree (no scripts/checkpatch.pl and MAINTAINERS there): checkpatch.pl, get_maintainer.pl and git blame not run`,
      ),
      res.log.join('\n'),
    );
    assert.equal(res.canApply, true);
  });

  it("untrusted: runs nothing, the patch's notes say what was skipped, and git am is refused", async () => {
    const t = fakeKernelTree();
    const uri = await serve(t, { trusted: false, settings: { patch: { signoff: 'Ada Hacker <ada@example.org>' } } });
    const bin = path.join(t.base, 'shim-bin');
    const marker = path.join(t.base, 'shim-marker');
    fs.mkdirSync(bin);
    for (const p of ['git', 'perl'])
      fs.writeFileSync(path.join(bin, p), `#!/bin/sh\necho "${p} $*" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
    process.env.PATH = `${bin}:${savedPath}`;
    const res = await create(uri);
    assert.ok(!fs.existsSync(marker), `a program ran: ${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : ''}`);
    assert.deepEqual(calls(t), []);
    // git is not asked for the file's history: the prefix comes from the table.
    assert.equal(path.dirname(res.path!), t.root);
    assert.match(path.basename(res.path!), /^0001-demo-demo_drv-disable-local-irqs.*\.patch$/);
    assert.equal(res.canApply, false);
    assert.equal(res.checkpatch, undefined);
    assert.doesNotMatch(res.text, /^(?:To|Cc|Fixes):/m);
    const notes = res.text.slice(res.text.indexOf('\n---\n'), res.text.indexOf('\ndiff --git')).replace(/\n {4}/g, ' ');
    assert.match(
      notes,
      /Notes: virtio-race-lint ran nothing from the workspace, which is not trusted: not scripts\/checkpatch\.pl .*get_maintainer\.pl .* or git blame/,
    );
    assert.match(res.note ?? '', /git was not run \(untrusted workspace\)/);
    const am = await apply(res.path!, uri);
    assert.deepEqual(am, { ok: false, reason: 'the workspace is not trusted: git am is not run in it' });
    assert.ok(!fs.existsSync(marker), 'git am ran');
    // Trusted later: the same file applies (the notes are not part of the commit).
    process.env.PATH = savedPath;
    await c!.client.sendNotification('virtioRaceLint/didChangeTrust', { trusted: true });
    const later = await apply(res.path!, uri);
    assert.equal(later.ok, true, JSON.stringify(later));
    assert.doesNotMatch(git(t.root, 'log', '-1', '--format=%B'), /trusted/);
  });

  it('refuses git am while the file has unsaved edits, then while it has uncommitted ones, and says why', async () => {
    const t = fakeKernelTree();
    const uri = await serve(t);
    const res = await create(uri);
    const text = fs.readFileSync(t.file, 'utf8');
    await c!.client.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'c', version: 1, text: text + '/* typed, not saved */\n' },
    });
    const before = git(t.root, 'rev-parse', 'HEAD').trim();
    const unsaved = await apply(res.path!, uri);
    assert.deepEqual(unsaved, { ok: false, reason: 'drivers/demo/demo_drv.c has unsaved edits: save it (and commit) first' });
    // Saved, not committed.
    fs.writeFileSync(t.file, text + '/* typed, not saved */\n');
    await c!.client.sendNotification('textDocument/didSave', { textDocument: { uri } });
    const uncommitted = await apply(res.path!, uri);
    assert.equal(uncommitted.ok, false);
    assert.match(
      (uncommitted as { reason: string }).reason,
      /^drivers\/demo\/demo_drv\.c has uncommitted changes: commit or stash them first/,
    );
    assert.equal(git(t.root, 'rev-parse', 'HEAD').trim(), before);
  });
});
