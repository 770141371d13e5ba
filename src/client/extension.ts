// The VS Code extension: starts the language server and adds what only an editor can do
// (commands, the simulation view, the trace output channel, the status bar item). Everything
// else is the server's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, State, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import {
  Commands,
  RULE_ANCHORS,
  ServerCommands,
  StatusNotification,
  TrustNotification,
  type ApplyPatchArgs,
  type CommandArgs,
  type CommandResult,
  type ServerCommand,
  type FindingSummary,
  type SimulateArgs,
  type StatusParams,
  type SuppressArgs,
  type TrustParams,
} from '../shared/protocol';
import { SimulationPanel, type SimulationResult } from './simulationView';
import { statusText } from './statusText';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let traceChannel: vscode.OutputChannel;
let status: vscode.StatusBarItem;
/** One watcher for the extension's life: a restarted client reuses it. */
let watcher: vscode.FileSystemWatcher;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('Virtio Race Lint');
  traceChannel = vscode.window.createOutputChannel('Virtio Race Trace', 'virtio-race-trace');
  status = vscode.window.createStatusBarItem('virtioRaceLint.status', vscode.StatusBarAlignment.Left, 0);
  status.name = 'Virtio Race Lint';
  status.command = Commands.menu;
  watcher = vscode.workspace.createFileSystemWatcher('**/*.{c,h}');
  context.subscriptions.push(output, traceChannel, status, watcher);

  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.simulate, (arg?: SimulateArgs) => simulate(context, arg)),
    vscode.commands.registerCommand(Commands.createPatch, (arg?: { uri?: string }) => createPatch(arg)),
    vscode.commands.registerCommand(Commands.applyPatch, (arg?: ApplyPatchArgs) => applyPatch(arg)),
    vscode.commands.registerCommand(Commands.fixAll, () => fixAllInFile()),
    vscode.commands.registerCommand(Commands.showOutput, () => output.show(true)),
    vscode.commands.registerCommand(Commands.menu, () => statusMenu(context)),
    vscode.commands.registerCommand(Commands.reindex, () => reindex()),
    vscode.commands.registerCommand(Commands.showDocs, (arg?: { rule?: string; anchor?: string }) =>
      showDocs(context, arg?.rule, arg?.anchor),
    ),
    vscode.commands.registerCommand(Commands.insertSuppression, (arg: SuppressArgs) => insertSuppression(arg)),
    vscode.commands.registerCommand(Commands.restart, async () => {
      await client?.stop();
      await startClient(context);
    }),
  );
  if (process.env.VIRTIO_RACE_LINT_E2E) {
    // Test-only: lets the end-to-end suite read state without scraping the DOM.
    context.subscriptions.push(
      vscode.commands.registerCommand('virtioRaceLint.e2e.diagnostics', () =>
        vscode.languages
          .getDiagnostics()
          .map(([uri, diags]) => ({
            uri: uri.toString(),
            diagnostics: diags.map(d => ({
              line: d.range.start.line,
              code: String(typeof d.code === 'object' ? d.code.value : d.code),
              message: d.message,
            })),
          })),
      ),
    );
  }
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void client?.sendNotification(TrustNotification, { trusted: true } satisfies TrustParams);
    }),
  );
  await startClient(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath(path.join('dist', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.stdio },
    debug: { module, transport: TransportKind.stdio, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'c' },
      { scheme: 'file', language: 'cpp', pattern: '**/*.h' },
      { scheme: 'untitled', language: 'c' },
    ],
    synchronize: { configurationSection: ['virtioRaceLint', 'files'], fileEvents: watcher },
    // trusted: in an untrusted workspace the server starts no process (no git for patches).
    // cacheDir: where the server keeps the facts cache of the workspace index (virtioRaceLint.index.cache).
    initializationOptions: {
      settings: vscode.workspace.getConfiguration('virtioRaceLint'),
      ripgrep: bundledRipgrep(),
      trusted: vscode.workspace.isTrusted,
      cacheDir: context.globalStorageUri.fsPath,
    },
    outputChannel: output,
    // The hover's command links (docs, simulate, patch) run only these commands.
    markdown: { isTrusted: { enabledCommands: [Commands.showDocs, Commands.simulate, Commands.createPatch] } },
    middleware: {
      // The rule's docs link: the README shipped in the extension, opened in the markdown
      // preview at the rule's section (works offline), instead of the web page.
      handleDiagnostics: (uri, diagnostics, next) => {
        for (const d of diagnostics) {
          if (typeof d.code === 'object' && d.code && RULE_ANCHORS[String(d.code.value)])
            d.code = { value: d.code.value, target: docsCommandUri(String(d.code.value)) };
        }
        next(uri, diagnostics);
      },
    },
    diagnosticCollectionName: 'virtio-race-lint',
  };
  client = new LanguageClient('virtioRaceLint', 'Virtio Race Lint', serverOptions, clientOptions);
  client.onDidChangeState(e => {
    if (e.newState === State.Stopped) setStatus({ findings: 0, files: 0, indexing: false, message: 'server stopped' });
  });
  await client.start();
  client.onNotification(StatusNotification, (p: StatusParams) => setStatus(p));
}

/** The ripgrep VS Code ships (its search uses it), for the server's whole-workspace scan. */
function bundledRipgrep(): string | undefined {
  const bin = process.platform === 'win32' ? 'rg.exe' : 'rg';
  for (const mod of ['node_modules', 'node_modules.asar.unpacked']) {
    const p = path.join(vscode.env.appRoot, mod, '@vscode', 'ripgrep', 'bin', bin);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function setStatus(p: StatusParams): void {
  const { text, tooltip } = statusText(p);
  status.text = text;
  status.tooltip = tooltip;
  status.show();
}

/**
 * Runs a server command with its arguments and result typed by the shared protocol
 * (ServerCommandTypes): the one place the client trusts the server's JSON to have that shape.
 */
async function serverCommand<K extends ServerCommand>(c: LanguageClient, command: K, ...args: CommandArgs<K>): Promise<CommandResult<K>> {
  return c.sendRequest('workspace/executeCommand', { command, arguments: args }) as Promise<CommandResult<K>>;
}

async function findingsList(): Promise<FindingSummary[]> {
  if (!client) return [];
  return serverCommand(client, ServerCommands.listFindings);
}

/** The finding at the cursor, else a quick pick of every finding in the workspace. */
async function pickFinding(arg?: SimulateArgs): Promise<SimulateArgs | undefined> {
  if (arg?.uri) return arg;
  const all = await findingsList();
  const editor = vscode.window.activeTextEditor;
  if (editor) {
    const uri = editor.document.uri.toString();
    const line = editor.selection.active.line;
    const here =
      all.find(f => f.uri === uri && f.line === line) ??
      (vscode.languages
        .getDiagnostics(editor.document.uri)
        .some(d => d.source === 'virtio-race-lint' && d.range.contains(editor.selection.active))
        ? all.find(f => f.uri === uri)
        : undefined);
    if (here) return { uri: here.uri, line: here.line };
  }
  if (all.length === 0) {
    void vscode.window.showInformationMessage('Virtio Race: no VRL001 finding in the workspace to simulate.');
    return undefined;
  }
  const choice = await vscode.window.showQuickPick(
    all.map(f => ({
      label: `${f.handler}()`,
      description: `${vscode.workspace.asRelativePath(vscode.Uri.parse(f.uri))}:${f.line + 1}`,
      detail: `${f.lock}, scheduled from ${f.callback}()`,
      finding: f,
    })),
    { placeHolder: 'Simulate which race?', matchOnDescription: true },
  );
  return choice ? { uri: choice.finding.uri, line: choice.finding.line } : undefined;
}

async function simulate(context: vscode.ExtensionContext, arg?: SimulateArgs): Promise<void> {
  const target = await pickFinding(arg);
  if (!target || !client) return;
  const result = await runSimulation(target);
  if ('error' in result) {
    void vscode.window.showErrorMessage(`Virtio Race: ${result.error}`);
    return;
  }
  SimulationPanel.show(context, result, target, runSimulation);
}

/** The server's simulate command for a position and options; the trace channel gets the report. */
async function runSimulation(args: SimulateArgs): Promise<SimulationResult | { error: string }> {
  if (!client) return { error: 'the language server is not running' };
  const result = await serverCommand(client, ServerCommands.simulate, args);
  if (!result) return { error: 'the simulation was cancelled' };
  if (!('error' in result)) {
    traceChannel.clear();
    traceChannel.append(result.text);
  }
  return result;
}

/** The last patch created for each source file, for the Apply command run from the palette. */
const lastPatch = new Map<string, string>();

async function createPatch(arg?: { uri?: string }): Promise<void> {
  const uri = arg?.uri ?? vscode.window.activeTextEditor?.document.uri.toString();
  if (!uri || !client) return;
  const res = await serverCommand(client, ServerCommands.createPatch, { uri });
  if ('error' in res) {
    void vscode.window.showErrorMessage(`Virtio Race: ${res.error}`);
    return;
  }
  // The server has written res.log to the same output channel.
  if (res.note) log(`patch: ${res.note}`, 'warn');
  if (res.path) {
    lastPatch.set(uri, res.path);
    // A normal file: saved already, nothing asks to be saved on close.
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(res.path));
    await vscode.window.showTextDocument(doc, { preview: false });
  } else {
    const doc = await vscode.workspace.openTextDocument({ language: 'diff', content: res.text });
    await vscode.window.showTextDocument(doc, { preview: false });
  }
  const where = res.path ? vscode.workspace.asRelativePath(res.path) : res.fileName;
  const check =
    res.checkpatch === undefined
      ? ''
      : 'error' in res.checkpatch
        ? ` checkpatch.pl did not run: ${res.checkpatch.error}.`
        : ` checkpatch.pl --strict: ${res.checkpatch.total.replace(/^total: /, '').replace(/, \d+ lines? checked$/, '')}` +
          (res.checkpatch.clean ? '.' : ' (see the output).');
  const head = res.path ? `Kernel patch written: ${where}.` : `Kernel patch opened unsaved (${where}).`;
  const text = `${head}${check}${res.note ? ` Note: ${res.note}.` : ''}`;
  const actions = [...(res.canApply && res.path ? ['Apply with git am'] : []), 'Show output'];
  const bad = res.checkpatch !== undefined && ('error' in res.checkpatch || !res.checkpatch.clean);
  const choice = await (bad ? vscode.window.showWarningMessage(text, ...actions) : vscode.window.showInformationMessage(text, ...actions));
  if (choice === 'Show output') output.show(true);
  else if (choice === 'Apply with git am' && res.path) await applyPatch({ patch: res.path, uri });
}

/**
 * `git am` of a created patch (the notification's button), or from the palette of the .patch
 * file in the active editor, or of the last patch created for the active source file. Not in an
 * untrusted workspace; not while a file it changes has unsaved edits.
 */
async function applyPatch(arg?: ApplyPatchArgs): Promise<void> {
  if (!client) return;
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(
      "Virtio Race: git am is not run in an untrusted workspace (it runs git with the repository's configuration).",
    );
    return;
  }
  let target = arg;
  const doc = vscode.window.activeTextEditor?.document;
  if (!target?.patch && doc) {
    if (doc.uri.scheme === 'file' && /\.(?:patch|diff|mbox)$/.test(doc.uri.fsPath)) target = { patch: doc.uri.fsPath };
    else if (lastPatch.has(doc.uri.toString())) target = { patch: lastPatch.get(doc.uri.toString())!, uri: doc.uri.toString() };
  }
  if (!target?.patch) {
    void vscode.window.showInformationMessage('Virtio Race: open the .patch file to apply (or create a patch first).');
    return;
  }
  // The editor knows about unsaved edits first; the server checks again (other clients).
  const dirty = vscode.workspace.textDocuments.filter(
    d => d.isDirty && (d.uri.toString() === target!.uri || (target!.patch && d.uri.fsPath === target!.patch)),
  );
  if (dirty.length) {
    void vscode.window.showWarningMessage(
      `Virtio Race: not applied: ${dirty.map(d => vscode.workspace.asRelativePath(d.uri)).join(', ')} has unsaved edits; save first.`,
    );
    return;
  }
  // The server logs the outcome in the output channel.
  const res = await serverCommand(client, ServerCommands.applyPatch, target);
  if (res.ok) void vscode.window.showInformationMessage(`Virtio Race: git am: ${res.message}.`);
  else void vscode.window.showErrorMessage(`Virtio Race: not applied: ${res.reason}.`);
}

async function fixAllInFile(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !client) return;
  const res = await serverCommand(client, ServerCommands.fixAll, { uri: editor.document.uri.toString() });
  if ('error' in res) void vscode.window.showErrorMessage(`Virtio Race: fix all failed: ${res.error}`);
  else if (!res.applied) void vscode.window.showInformationMessage(`Virtio Race: ${res.message ?? 'nothing fixed'}`);
  else if (res.refused?.length) void vscode.window.showWarningMessage(`Virtio Race: some locks were left alone: ${res.refused.join('; ')}`);
}

/** A `command:` URI that opens the bundled README at a rule's section. */
export function docsCommandUri(rule: string): vscode.Uri {
  return vscode.Uri.parse(`command:${Commands.showDocs}?${encodeURIComponent(JSON.stringify([{ rule }]))}`);
}

/** The README shipped in the extension, in the markdown preview, at the rule's section. */
async function showDocs(context: vscode.ExtensionContext, rule = 'VRL001', anchor?: string): Promise<void> {
  // vsce stores the README as readme.md in the package; a development folder has README.md.
  const name = ['README.md', 'readme.md'].find(n => fs.existsSync(context.asAbsolutePath(n))) ?? 'README.md';
  const readme = vscode.Uri.joinPath(context.extensionUri, name).with({ fragment: anchor ?? RULE_ANCHORS[rule] ?? '' });
  log(`showing the bundled documentation for ${rule}: ${readme.toString()}`);
  await vscode.commands.executeCommand('markdown.showPreview', readme);
}

/** The suppression comment as a snippet, the reason selected for typing (an LSP edit cannot select). */
async function insertSuppression(arg: SuppressArgs): Promise<void> {
  const uri = vscode.Uri.parse(arg.uri);
  const doc = await vscode.workspace.openTextDocument(uri);
  if (doc.version !== arg.version) {
    void vscode.window.showWarningMessage('Virtio Race: the file changed since the action was offered; try again.');
    return;
  }
  const editor = await vscode.window.showTextDocument(doc);
  const snippet = new vscode.SnippetString(`${arg.indent}/* virtio-race-lint: ignore ${arg.rule} -- reviewed: `)
    .appendPlaceholder('reason')
    .appendText(' */\n');
  await editor.insertSnippet(snippet, new vscode.Position(arg.line, 0));
}

/** A line of the client's own in the "Virtio Race Lint" channel, as the server's: time and level first. */
function log(message: string, level: 'info' | 'warn' | 'error' = 'info'): void {
  output.appendLine(`${new Date().toISOString()} [${level}] ${message}`);
}

async function reindex(): Promise<void> {
  if (!client) return;
  log('re-indexing the workspace');
  await serverCommand(client, ServerCommands.reindex);
}

/** The status item's menu. */
async function statusMenu(context: vscode.ExtensionContext): Promise<void> {
  const items: (vscode.QuickPickItem & { run: () => unknown })[] = [
    { label: '$(refresh) Re-index the workspace', run: () => reindex() },
    {
      label: '$(list-flat) Show findings',
      description: 'Problems panel',
      run: () => vscode.commands.executeCommand('workbench.actions.view.problems'),
    },
    { label: '$(play) Simulate the current finding', run: () => simulate(context) },
    { label: '$(output) Show output', run: () => output.show(true) },
  ];
  const choice = await vscode.window.showQuickPick(items, { placeHolder: 'Virtio Race Lint' });
  await choice?.run();
}
