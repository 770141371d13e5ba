// Inside the extension host: the extension activates on a C file, publishes VRL001 with its
// related locations, offers the preferred quick fix, and registers its commands.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

async function until<T>(f: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise(r => setTimeout(r, 200));
  }
}

describe('virtio-race-lint in the extension host', () => {
  it('reports VRL001 and fixes it', async () => {
    const [folder] = vscode.workspace.workspaceFolders ?? [];
    assert.ok(folder, 'no workspace folder');
    const uri = vscode.Uri.joinPath(folder.uri, 'demo_vq.c');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const diags = await until(() => {
      const d = vscode.languages.getDiagnostics(uri).filter(x => x.source === 'virtio-race-lint');
      return d.length === 2 ? d : undefined;
    });
    assert.equal(String(typeof diags[0].code === 'object' ? diags[0].code.value : diags[0].code), 'VRL001');
    assert.ok((diags[0].relatedInformation ?? []).length >= 5);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, diags[0].range);
    const fix = actions.find(a => a.isPreferred);
    assert.ok(fix?.edit, 'no preferred quick fix');
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    assert.match(doc.getText(), /spin_lock_irqsave\(&dev->ctrlq\.qlock, flags\);/);
    const commands = await vscode.commands.getCommands(true);
    for (const c of [
      'virtioRaceLint.simulate',
      'virtioRaceLint.createPatch',
      'virtioRaceLint.applyPatch',
      'virtioRaceLint.fixAll',
      'virtioRaceLint.showOutput',
      'virtioRaceLint.restart',
    ]) {
      assert.ok(commands.includes(c), c);
    }
  });
});
