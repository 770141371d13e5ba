// Throwaway extension for the e2e harness self-test (test/e2e/smoke.test.mjs). Not shipped.
// - Publishes one warning per `spin_lock(` call in every open C document.
// - Offers a quick fix on each of them: replace spin_lock with spin_lock_irqsave.
// - `vrlE2E.ping` shows an information message and writes .vrl-e2e/ping.json into the first
//   workspace folder with every diagnostic VS Code knows of: the "dump diagnostics to a file"
//   test command that STYLE.md suggests instead of scraping the DOM.
'use strict';
const vscode = require('vscode');

const SOURCE = 'vrl-e2e';

function lint(collection, doc) {
  if (doc.languageId !== 'c') return;
  const diagnostics = [];
  const re = /\bspin_lock\s*\(/g;
  const text = doc.getText();
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = doc.positionAt(m.index);
    const range = new vscode.Range(start, start.translate(0, 'spin_lock'.length));
    const d = new vscode.Diagnostic(range, 'vrlE2E: spin_lock in a fixture file', vscode.DiagnosticSeverity.Warning);
    d.source = SOURCE;
    d.code = 'E2E001';
    diagnostics.push(d);
  }
  collection.set(doc.uri, diagnostics);
}

function activate(context) {
  const collection = vscode.languages.createDiagnosticCollection(SOURCE);
  context.subscriptions.push(
    collection,
    vscode.workspace.onDidOpenTextDocument((doc) => lint(collection, doc)),
    vscode.workspace.onDidChangeTextDocument((e) => lint(collection, e.document)),
    vscode.workspace.onDidCloseTextDocument((doc) => collection.delete(doc.uri)),
    vscode.languages.registerCodeActionsProvider(
      { language: 'c' },
      {
        provideCodeActions(doc, _range, ctx) {
          return ctx.diagnostics
            .filter((d) => d.source === SOURCE)
            .map((d) => {
              const fix = new vscode.CodeAction('vrlE2E: use spin_lock_irqsave', vscode.CodeActionKind.QuickFix);
              fix.diagnostics = [d];
              fix.isPreferred = true;
              fix.edit = new vscode.WorkspaceEdit();
              fix.edit.replace(doc.uri, d.range, 'spin_lock_irqsave');
              return fix;
            });
        },
      },
      { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
    ),
    vscode.commands.registerCommand('vrlE2E.ping', async () => {
      const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
      const all = vscode.languages.getDiagnostics().map(([uri, ds]) => ({
        uri: uri.toString(),
        diagnostics: ds.map((d) => ({
          message: d.message,
          source: d.source,
          code: d.code,
          severity: d.severity,
          line: d.range.start.line + 1,
          column: d.range.start.character + 1,
        })),
      }));
      if (folder) {
        const dir = vscode.Uri.joinPath(folder.uri, '.vrl-e2e');
        await vscode.workspace.fs.createDirectory(dir);
        // env: proves that variables given to code-server reach the extension host, which is how
        // a real extension would gate its test-only commands.
        const env = process.env.VRL_E2E ?? null;
        const body = JSON.stringify({ pong: true, env, at: new Date().toISOString(), diagnostics: all }, null, 2);
        await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(dir, 'ping.json'), Buffer.from(body + '\n'));
      }
      vscode.window.showInformationMessage(`vrlE2E: pong (${all.length} file(s) with diagnostics)`);
    }),
  );
  vscode.workspace.textDocuments.forEach((doc) => lint(collection, doc));
}

function deactivate() {}

module.exports = { activate, deactivate };
