// The language server: protocol handlers and conversion over the session (src/api/session.ts),
// which holds the open documents, the workspace index, the expansion and the findings, and
// computes fixes, patch inputs and simulation targets. Here: the LSP lifecycle, settings and
// files.exclude, progress, diagnostics (published when they change), code actions, hover,
// commands and the log.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CodeActionKind,
  type CodeAction,
  type CodeActionParams,
  type Connection,
  type Diagnostic,
  type DidChangeTextDocumentParams,
  type DidChangeWatchedFilesParams,
  type Hover,
  type HoverParams,
  type DidCloseTextDocumentParams,
  type DidOpenTextDocumentParams,
  type ExecuteCommandParams,
  FileChangeType,
  type InitializeParams,
  type InitializeResult,
  TextDocumentSyncKind,
  type WorkspaceFolder,
  type WorkspaceFoldersChangeEvent,
} from 'vscode-languageserver/node';
import { ruleDocsAnchor, ruleOffers, type Finding } from '../api/rules';
import { Session, type DocumentFixes, type PatchInput, type RangeEdit } from '../api/session';
import { baseSimulateOptions, type CodeModel, type SimulateOptions } from '../api/simulate';
import {
  Commands,
  DEFAULT_SETTINGS,
  RULE_ANCHORS,
  FIX_ALL_KIND,
  FIX_ALL_TITLE,
  ServerCommands,
  type SuppressArgs,
  StatusNotification,
  TrustNotification,
  type FindingSummary,
  type Settings,
  type SimulateArgs,
  type StatusParams,
  type TrustParams,
  type ApplyPatchArgs,
  type ApplyPatchResult,
  type CreatePatchResult,
  type CommandResult,
  type FixAllResult,
} from '../shared/protocol';
import { findingToDiagnostic, invalidSuppressionDiagnostic, quickFix, unusedSuppressionDiagnostic, type DiagnosticData } from './convert';
import { validateSettings } from './settings';
import { isFileKey, keyToUri, uriToKey } from './paths';

export interface ServerOptions {
  /** Scan workers for the workspace index (0: in-process, as tests do). */
  workers?: number;
  /** Runs a simulation; the default uses a worker thread (see services.ts). */
  simulate?: (req: SimulateRequest, token: { isCancellationRequested: boolean }) => Promise<CommandResult<typeof ServerCommands.simulate>>;
  /**
   * Builds a patch mail for a file; injected so the server stays thin. `trusted` false (an
   * untrusted workspace): start no process (no git).
   */
  createPatch?: (
    file: string,
    text: string,
    findings: Finding[],
    facts: PatchInput['facts'],
    settings: Settings,
    env: { trusted: boolean; folders: string[] },
  ) => Promise<CreatePatchResult | { error: string }>;
  /**
   * `git am` of a created patch (see services.ts); called only in a trusted workspace.
   * `unsaved(file)`: an open buffer of that file differs from the disk.
   */
  applyPatch?: (patch: string, source: string | undefined, unsaved: (file: string) => boolean) => Promise<ApplyPatchResult>;
  /** For tests of crash isolation: called before a file's facts are extracted. */
  beforeExtract?: (key: string) => void;
}

export interface SimulateRequest {
  model: CodeModel;
  options: SimulateOptions;
  timeoutMs: number;
}

export class VirtioRaceServer {
  /** The project: documents, index, findings (src/api/session.ts). */
  private session: Session;
  private uris = new Map<string, string>();
  private published = new Map<string, string>();
  private publishedVersion = new Map<string, number>();
  private settingsNow: Settings = DEFAULT_SETTINGS;
  private filesExclude: Record<string, unknown> = {};
  private canConfigure = false;
  private canFolders = false;
  private settingsProblems = '';
  /** Where the facts cache of the index lives (initializationOptions.cacheDir); none: no cache. */
  private cacheDir?: string;
  /** Workspace trust, as the client says (initializationOptions.trusted, TrustNotification). */
  private trusted = true;
  private canProgress = false;
  /**
   * What the current index was built from (folders and files.exclude; undefined: no index, or the
   * linter was turned off since). Settings that leave it unchanged do not index again.
   */
  private indexedWith?: string;
  /** initialized() has read the settings and started the first index. */
  private started = false;
  /** Settings reads and the index decisions that follow them, one at a time, in arrival order. */
  private configQueue: Promise<void> = Promise.resolve();
  private pending?: NodeJS.Immediate;
  private docQueue: Promise<void>;
  /** Resolves when the initial workspace index is built (tests and the benchmark wait on it). */
  indexed: Promise<void>;
  private resolveIndexed!: () => void;

  constructor(
    private connection: Connection,
    private opts: ServerOptions = {},
  ) {
    this.indexed = new Promise(r => {
      this.resolveIndexed = r;
    });
    this.session = new Session({
      workers: opts.workers,
      beforeExtract: opts.beforeExtract,
      log: (message, level) => this.log(message, level),
      changed: () => this.schedule(),
    });
    this.docQueue = this.session.ready.then(
      () => undefined,
      () => undefined,
    );
    connection.onInitialize(p => this.initialize(p));
    connection.onInitialized(() => {
      void this.initialized();
    });
    // Document events are handled in order, after the parser has loaded (a client may open a
    // document before `initialized`).
    connection.onDidOpenTextDocument(p => this.inOrder('didOpen', () => this.didOpen(p)));
    connection.onDidChangeTextDocument(p => this.inOrder('didChange', () => this.didChange(p)));
    connection.onDidCloseTextDocument(p => this.inOrder('didClose', () => this.didClose(p)));
    connection.onDidSaveTextDocument(p => this.inOrder('didSave', () => this.didSave(p.textDocument.uri)));
    connection.onDidChangeWatchedFiles(p => this.inOrder('watchedFiles', () => this.watchedFiles(p)));
    connection.onDidChangeConfiguration(() => {
      void this.settingsChanged();
    });
    // Only an explicit boolean changes trust: a malformed notification does not grant it.
    connection.onNotification(TrustNotification, (p: TrustParams) => {
      if (typeof p?.trusted === 'boolean') this.trusted = p.trusted;
    });
    connection.onCodeAction(async p => {
      await this.docQueue;
      return this.guardValue('codeAction', () => this.codeActions(p), []);
    });
    connection.onHover(async p => {
      await this.docQueue;
      return this.guardValue('hover', () => this.hover(p), null);
    });
    connection.onExecuteCommand(p => this.executeCommand(p));
    connection.onShutdown(async () => {
      await this.session.dispose();
    });
  }

  // --- lifecycle ------------------------------------------------------------------------------

  private initialize(p: InitializeParams): InitializeResult {
    const folders: WorkspaceFolder[] = p.workspaceFolders ?? (p.rootUri ? [{ uri: p.rootUri, name: 'root' }] : []);
    this.session.folders = folders.map(f => uriToKey(f.uri)).filter(isFileKey);
    this.canConfigure = !!p.capabilities.workspace?.configuration;
    this.canFolders = !!p.capabilities.workspace?.workspaceFolders;
    this.canProgress = !!p.capabilities.window?.workDoneProgress;
    const init = p.initializationOptions as
      { settings?: Partial<Settings>; ripgrep?: string; trusted?: boolean; cacheDir?: string } | undefined;
    this.trusted = init?.trusted !== false;
    // The facts cache holds facts this server computed, keyed by each file's content hash: reading
    // it runs nothing, so it is used in untrusted workspaces too (README, Safety).
    if (typeof init?.cacheDir === 'string' && path.isAbsolute(init.cacheDir)) this.cacheDir = init.cacheDir;
    if (init?.settings) this.settings = this.checkedSettings(init.settings);
    // VS Code ships ripgrep; the client says where, for the scan's prefilter (scan.ts).
    if (init?.ripgrep && !process.env.VRL_RG && fs.existsSync(init.ripgrep)) process.env.VRL_RG = init.ripgrep;
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, FIX_ALL_KIND, CodeActionKind.Empty] },
        executeCommandProvider: { commands: Object.values(ServerCommands) },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'virtio-race-lint' },
    };
  }

  private async initialized(): Promise<void> {
    if (this.canFolders)
      this.connection.workspace.onDidChangeWorkspaceFolders(e => {
        void this.foldersChanged(e);
      });
    await this.session.ready;
    let first: Promise<void> | undefined;
    await this.serially(async () => {
      await this.loadSettings();
      this.started = true;
      first = this.indexWorkspace();
    });
    await first;
  }

  /**
   * Runs settings work after the settings work before it. The client sends
   * workspace/didChangeConfiguration right after `initialized` (vscode-languageclient's
   * synchronize.configurationSection does): it must see the settings the first index was started
   * with, not the defaults from before they were read.
   */
  private serially(f: () => Promise<void>): Promise<void> {
    const run = this.configQueue.then(f);
    this.configQueue = run.catch(e => this.log(`settings failed: ${(e as Error).stack ?? e}`));
    return run;
  }

  private indexKey(): string {
    return JSON.stringify([this.session.folders, this.filesExclude]);
  }

  private async loadSettings(): Promise<void> {
    if (!this.canConfigure) return;
    try {
      const [mine, files] = await this.connection.workspace.getConfiguration([{ section: 'virtioRaceLint' }, { section: 'files' }]);
      if (mine) this.settings = this.checkedSettings(mine);
      this.filesExclude = (files as { exclude?: Record<string, unknown> } | null)?.exclude ?? {};
    } catch (e) {
      this.log(`could not read settings: ${(e as Error).message}`);
    }
    if (typeof this.filesExclude !== 'object' || this.filesExclude === null || Array.isArray(this.filesExclude)) {
      this.log(`files.exclude: expected an object of globs, not ${JSON.stringify(this.filesExclude)}; ignored`);
      this.filesExclude = {};
    }
    for (const g of this.session.setExclude(this.filesExclude))
      this.log(`files.exclude: ${JSON.stringify(g)} expands to too many alternatives; ignored`);
  }

  /** Settings with wrong types or values out of range replaced by defaults, each problem said once. */
  private checkedSettings(raw: unknown): Settings {
    const { settings, problems } = validateSettings(raw);
    const said = problems.join('\n');
    if (said && said !== this.settingsProblems) {
      for (const p of problems) this.log(p, 'warn');
      this.connection.window.showWarningMessage(`virtio-race-lint: invalid settings: ${problems.join('; ')}`);
    }
    this.settingsProblems = said;
    return settings;
  }

  /** Folders added or removed at run time: the workspace is indexed again with the new set. */
  private async foldersChanged(e: WorkspaceFoldersChangeEvent): Promise<void> {
    let run: Promise<void> | undefined;
    await this.serially(async () => {
      const removed = new Set(e.removed.map(f => uriToKey(f.uri)));
      const added = e.added.map(f => uriToKey(f.uri)).filter(isFileKey);
      this.session.folders = [...new Set([...this.session.folders.filter(f => !removed.has(f)), ...added])];
      this.log(`workspace folders: ${this.session.folders.join(', ') || '(none)'}`);
      await this.docQueue;
      await this.loadSettings();
      if (!this.started) return;
      run = this.reindex();
    });
    await run;
  }

  /**
   * New settings: turning the linter on, or a files.exclude that differs from the one the index
   * was built with, indexes the workspace again (cancelling an index in progress); anything else
   * only re-runs the analysis.
   */
  private async settingsChanged(): Promise<void> {
    let run: Promise<void> | undefined;
    await this.serially(async () => {
      await this.loadSettings();
      this.session.invalidate();
      // Before initialized() has started the first index: it will, with the settings read now.
      if (!this.started) return;
      if (!this.settings.enable) this.indexedWith = undefined;
      if (!this.settings.enable || this.indexedWith === this.indexKey()) {
        this.schedule();
        return;
      }
      await this.docQueue;
      run = this.reindex();
    });
    await run;
  }

  /** A new project, indexed from scratch; an index in progress is cancelled. */
  private reindex(): Promise<void> {
    this.session.reset();
    return this.indexWorkspace();
  }

  /**
   * Indexes the workspace folders in the background (the session's index: the open documents'
   * directories first), with the client's cancellable progress ("N of M files").
   */
  private async indexWorkspace(): Promise<void> {
    this.indexedWith = this.settings.enable ? this.indexKey() : undefined;
    if (this.session.folders.length === 0 || !this.settings.enable) {
      this.session.stopIndexing();
      this.resolveIndexed();
      this.schedule();
      return;
    }
    try {
      await this.session.index({
        cacheDir: this.settings.index.cache ? this.cacheDir : undefined,
        started: async () => {
          this.sendStatus();
          const progress = this.canProgress ? await this.connection.window.createWorkDoneProgress().catch(() => undefined) : undefined;
          if (!progress) return undefined;
          let cancelled = false;
          progress.begin('virtio-race-lint: indexing', 0, 'listing files', true);
          progress.token.onCancellationRequested(() => {
            cancelled = true;
          });
          return {
            report: (percentage, message) => progress.report(percentage, message),
            cancelled: () => cancelled,
            done: () => progress.done(),
          };
        },
      });
    } finally {
      this.resolveIndexed();
      this.schedule();
    }
  }

  // --- documents ------------------------------------------------------------------------------

  private didOpen(p: DidOpenTextDocumentParams): void {
    const { uri, version, text, languageId } = p.textDocument;
    if (languageId !== 'c' && languageId !== 'cpp' && !/\.[ch]$/.test(uri)) return;
    const key = uriToKey(uri);
    // Not analysed (too large, binary): the log says why.
    if (!this.session.open(key, version, text)) return;
    this.uris.set(key, uri);
    this.schedule();
  }

  private didChange(p: DidChangeTextDocumentParams): void {
    const res = this.session.change(uriToKey(p.textDocument.uri), p.textDocument.version, p.contentChanges);
    if (res === 'dropped' || (res === 'changed' && this.settings.run === 'onType')) this.schedule();
  }

  private didSave(uri: string): void {
    if (this.session.save(uriToKey(uri))) this.schedule();
  }

  private didClose(p: DidCloseTextDocumentParams): void {
    if (this.session.close(uriToKey(p.textDocument.uri))) this.schedule();
  }

  private watchedFiles(p: DidChangeWatchedFilesParams): void {
    this.session.filesChanged(p.changes.map(ch => ({ key: uriToKey(ch.uri), deleted: ch.type === FileChangeType.Deleted })));
  }

  // --- analysis and diagnostics ---------------------------------------------------------------

  /** Re-analyses on the next turn of the event loop; changes arriving meanwhile coalesce. */
  private schedule(): void {
    this.session.invalidate();
    if (this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.guard('analyse', () => this.analyseAndPublish());
    });
  }

  /** Runs the analysis now and publishes (the benchmark and tests call it directly). */
  analyseAndPublish(): void {
    // With run: onSave, edited buffers wait for didSave (or a command) to be analysed.
    this.session.invalidate();
    const analysis = this.session.freshen(this.settings.run === 'onType');
    const byUri = new Map<string, Diagnostic[]>();
    const add = (uri: string, d: Diagnostic) => {
      const l = byUri.get(uri);
      if (l) l.push(d);
      else byUri.set(uri, [d]);
    };
    for (const f of analysis.findings) add(keyToUri(f.file, this.uris), findingToDiagnostic(f, this.uris));
    for (const u of analysis.unusedSuppressions) add(keyToUri(u.file, this.uris), unusedSuppressionDiagnostic(u));
    for (const u of analysis.invalidSuppressions ?? []) add(keyToUri(u.file, this.uris), invalidSuppressionDiagnostic(u));
    // Open documents always get a publication, so a fixed file is cleared.
    const docs = this.session.documents();
    const openByUri = new Map(docs.map(d => [keyToUri(d.key, this.uris), d]));
    for (const uri of openByUri.keys()) if (!byUri.has(uri)) byUri.set(uri, []);
    for (const [uri, diags] of byUri) {
      const json = JSON.stringify(diags);
      const open = openByUri.get(uri);
      // A buffer with edits not analysed yet (run: onSave) keeps what it shows: these findings
      // are from an older version, and their ranges would be read against the new one.
      if (open?.stale) continue;
      // An edited buffer is answered for its new version even when nothing changed, so a client
      // knows the diagnostics it shows are current; other files only when they changed.
      const edited = open !== undefined && this.publishedVersion.get(uri) !== open.version;
      if (this.published.get(uri) === json && !edited) continue;
      this.published.set(uri, json);
      if (open) this.publishedVersion.set(uri, open.version);
      void this.connection.sendDiagnostics({ uri, diagnostics: diags, ...(open ? { version: open.version } : {}) });
    }
    for (const uri of [...this.published.keys()]) {
      if (byUri.has(uri)) continue;
      this.published.delete(uri);
      this.publishedVersion.delete(uri);
      void this.connection.sendDiagnostics({ uri, diagnostics: [] });
    }
    this.sendStatus();
  }

  private sendStatus(): void {
    // The status item counts VRL001 findings (work functions draining under an IRQ-unsafe lock).
    const vrl001 = this.session.analysis.findings.filter(isVrl001);
    const files = new Set(vrl001.map(f => f.file)).size;
    void this.connection.sendNotification(StatusNotification, {
      findings: vrl001.length,
      files,
      indexing: this.session.indexing,
    } satisfies StatusParams);
  }

  // --- code actions ---------------------------------------------------------------------------

  private findingFor(key: string, diag: Diagnostic): Finding | undefined {
    const data = diag.data as DiagnosticData | undefined;
    const inFile = this.session.analysis.findings.filter(f => f.file === key && (!data?.rule || f.rule === data.rule));
    return (
      inFile.find(f => data && f.lockFunction === data.lockFunction && f.handler === data.handler && f.span.start === data.lockStart) ??
      inFile.find(f => data && f.lockFunction === data.lockFunction && f.handler === data.handler) ??
      inFile.find(f => f.span.line === diag.range.start.line)
    );
  }

  private codeActions(p: CodeActionParams): CodeAction[] {
    const key = uriToKey(p.textDocument.uri);
    const d = this.session.fixes(key);
    if (!d) return [];
    const uri = keyToUri(key, this.uris);
    const only = p.context.only;
    // An action is offered if `only` asks for its kind (or a parent of it); kind-less ones
    // (Empty: docs, simulate, patch) only when nothing is asked for, so they are never quick fixes.
    const wants = (kind: string) => !only || only.some(k => k === kind || (k !== '' && kind.startsWith(k + '.')));
    // A file the server cannot write (permissions) gets the actions that do not edit it.
    const editable = !isFileKey(key) || isWritable(key);
    const fileEdit = (edits: RangeEdit[]) => ({ documentChanges: [{ textDocument: { uri, version: d.version }, edits }] });
    const actions: CodeAction[] = [];
    // Fix-all applies the fixes of the rules whose fixes make the patch (VRL001's irqsave fix).
    const patchInFile = this.session.analysis.findings.filter(f => f.file === key && ruleOffers(f).patch);
    const fixAllEdits = () => d.fixAll();
    if (editable && wants(FIX_ALL_KIND) && (only?.length ?? 0) > 0) {
      const edits = fixAllEdits();
      if (edits) actions.push({ title: FIX_ALL_TITLE, kind: FIX_ALL_KIND, edit: fileEdit(edits) });
      if (only!.every(k => k !== '' && !CodeActionKind.QuickFix.startsWith(k) && !k.startsWith(CodeActionKind.QuickFix))) return actions;
    }
    const docsOffered = new Set<string>();
    let fixAllOffered = false;
    for (const diag of p.context.diagnostics) {
      if (diag.source !== 'virtio-race-lint') continue;
      if (diag.code === 'unused-suppression' || diag.code === 'invalid-suppression') {
        if (editable && wants(CodeActionKind.QuickFix) && diag.code === 'unused-suppression') {
          actions.push({
            title: 'Remove the unused suppression comment',
            kind: CodeActionKind.QuickFix,
            diagnostics: [diag],
            edit: fileEdit([{ range: diag.range, newText: '' }]),
          });
        }
        continue;
      }
      const finding = this.findingFor(key, diag);
      if (!finding) continue;
      // What the finding's rule offers (rule.ts): its quick fix, fix-all and the patch, its model.
      const rule = ruleOffers(finding);
      if (editable && wants(CodeActionKind.QuickFix)) {
        const fix = rule.fix ? d.quickFix(finding) : undefined;
        if (fix?.ok) actions.push(quickFix(fix.title, uri, d.version, fix.edits, diag, true));
        else if (fix)
          actions.push({ title: fix.title, kind: CodeActionKind.QuickFix, diagnostics: [diag], disabled: { reason: fix.reason } });
        if (rule.patch && !fixAllOffered && patchInFile.length > 1) {
          fixAllOffered = true;
          const edits = fixAllEdits();
          if (edits) actions.push({ title: FIX_ALL_TITLE, kind: CodeActionKind.QuickFix, diagnostics: [diag], edit: fileEdit(edits) });
        }
        const sup = this.suppressAction(finding, d, uri, diag);
        if (sup) actions.push(sup);
      }
      if (wants(CodeActionKind.Empty)) {
        if (rule.simulate) {
          actions.push({
            title: `Simulate this race (${finding.handler})`,
            kind: CodeActionKind.Empty,
            diagnostics: [diag],
            command: {
              title: 'Simulate race',
              command: Commands.simulate,
              arguments: [{ uri, line: finding.span.line } satisfies SimulateArgs],
            },
          });
        }
        if (rule.patch) {
          actions.push({
            title: 'Create kernel patch for this file',
            kind: CodeActionKind.Empty,
            diagnostics: [diag],
            command: { title: 'Create kernel patch', command: Commands.createPatch, arguments: [{ uri }] },
          });
        }
      }
      if (wants(CodeActionKind.Empty) && !docsOffered.has(finding.rule)) {
        docsOffered.add(finding.rule);
        actions.push({
          title: `Show documentation for ${finding.rule}`,
          kind: CodeActionKind.Empty,
          diagnostics: [diag],
          command: {
            title: `Show documentation for ${finding.rule}`,
            command: Commands.showDocs,
            arguments: [{ rule: finding.rule, ...docsAnchor(finding.rule) }],
          },
        });
      }
    }
    return actions;
  }

  /**
   * The explanation of the findings under the cursor, in markdown: the message, the related
   * locations as links (callback, registration, schedule site, binding, drain), and command
   * links for the docs, Simulate and Create patch (which also serve a read-only editor, where
   * VS Code shows no light bulb).
   */
  private hover(p: HoverParams): Hover | null {
    const key = uriToKey(p.textDocument.uri);
    if (!this.session.document(key)) return null;
    const analysis = this.session.freshen();
    const at = p.position;
    const inside = (f: Finding) => {
      const s = f.span;
      const after = at.line > s.line || (at.line === s.line && at.character >= s.column);
      const before = at.line < s.endLine || (at.line === s.endLine && at.character <= s.endColumn);
      return after && before;
    };
    const hits = analysis.findings.filter(f => f.file === key && inside(f));
    if (hits.length === 0) return null;
    const parts = hits.map(f => findingHover(f, keyToUri(key, this.uris), this.uris));
    const first = hits[0];
    return {
      contents: { kind: 'markdown', value: parts.join('\n\n---\n\n') },
      range: {
        start: { line: first.span.line, character: first.span.column },
        end: { line: first.span.endLine, character: first.span.endColumn },
      },
    };
  }

  /**
   * The suppression comment before the lock's function, written by the client as a snippet with
   * the reason selected (an LSP edit cannot select text); the reason is required (an empty or
   * placeholder reason is reported as an invalid suppression and not honoured).
   */
  private suppressAction(finding: Finding, d: DocumentFixes, uri: string, diag: Diagnostic): CodeAction | undefined {
    const at = d.suppression(finding);
    if (!at) return undefined;
    const args: SuppressArgs = { uri, version: d.version, line: at.line, indent: at.indent, rule: finding.rule, function: at.function };
    return {
      title: `Suppress ${finding.rule} for ${at.function}()`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [diag],
      command: { title: `Suppress ${finding.rule}`, command: Commands.insertSuppression, arguments: [args] },
    };
  }

  // --- commands -------------------------------------------------------------------------------

  private async executeCommand(p: ExecuteCommandParams): Promise<unknown> {
    await this.docQueue;
    try {
      const arg = (p.arguments?.[0] ?? {}) as SimulateArgs;
      // Editor command names are accepted too (see ServerCommands).
      const command = p.command.replace(/^virtioRaceLint\.(?!server\.)/, 'virtioRaceLint.server.');
      switch (command) {
        case ServerCommands.reindex:
          void this.reindex();
          return { started: true } satisfies CommandResult<typeof ServerCommands.reindex>;
        case ServerCommands.listFindings:
          return this.session.analysis.findings
            .filter(isVrl001)
            .map(
              f =>
                ({
                  uri: keyToUri(f.file, this.uris),
                  line: f.span.line,
                  character: f.span.column,
                  handler: f.handler,
                  callback: f.callback,
                  lock: f.lock,
                  message: f.message,
                }) satisfies FindingSummary,
            ) satisfies CommandResult<typeof ServerCommands.listFindings>;
        case ServerCommands.fixAll: {
          const key = uriToKey(arg.uri);
          // Edits go only to an open document, against its version: for a file on disk the
          // client would apply them to whatever the disk holds by then.
          if (!this.session.document(key)) {
            return {
              applied: false,
              message: `${path.basename(key)} is not open: open it to fix it (edits are sent only for open documents, with their version)`,
            } satisfies FixAllResult;
          }
          const res = this.session.fixAll(key);
          if (!res) return { applied: false, message: 'nothing to fix' } satisfies FixAllResult;
          if (res.edits.length === 0) {
            return { applied: false, message: res.refused.length ? res.refused.join('; ') : 'nothing to fix' } satisfies FixAllResult;
          }
          const applied = await this.connection.workspace.applyEdit({
            label: 'virtio-race-lint: fix all',
            edit: { documentChanges: [{ textDocument: { uri: arg.uri, version: res.version }, edits: res.edits }] },
          });
          return { applied: applied.applied, fixed: res.fixed, refused: res.refused } satisfies FixAllResult;
        }
        case ServerCommands.createPatch: {
          const input = this.session.patchInput(uriToKey(arg.uri));
          if ('error' in input) return { error: input.error };
          if (!this.opts.createPatch) return { error: 'patch generation is not available in this server' };
          if (input.notUtf8) {
            return { error: `the file is not plain UTF-8 (${input.notUtf8}), so a patch would not apply; use the quick fix instead` };
          }
          const made = await this.withProgress('Creating kernel patch', () =>
            this.opts.createPatch!(input.file, input.text, input.findings, input.facts, this.settings, {
              trusted: this.trusted,
              folders: this.session.folders,
            }),
          );
          if ('log' in made) for (const l of made.log) this.log(`patch: ${l}`);
          return made satisfies CommandResult<typeof ServerCommands.createPatch>;
        }
        case ServerCommands.applyPatch: {
          const a = (p.arguments?.[0] ?? {}) as ApplyPatchArgs;
          if (!this.trusted)
            return { ok: false, reason: 'the workspace is not trusted: git am is not run in it' } satisfies ApplyPatchResult;
          if (!this.opts.applyPatch) return { ok: false, reason: 'git am is not available in this server' } satisfies ApplyPatchResult;
          if (typeof a.patch !== 'string' || !path.isAbsolute(a.patch))
            return { ok: false, reason: 'no patch file given' } satisfies ApplyPatchResult;
          const source = a.uri ? uriToKey(a.uri) : undefined;
          // An open buffer whose text is not the disk's: git am would apply to the disk's.
          const unsaved = (file: string) => this.session.unsaved(file);
          const res = await this.opts.applyPatch(a.patch, source && isFileKey(source) ? source : undefined, unsaved);
          this.log(`git am ${a.patch}: ${res.ok ? res.message : res.reason}`);
          return res satisfies CommandResult<typeof ServerCommands.applyPatch>;
        }
        case ServerCommands.simulate: {
          // Without a line: the file's first finding that has a model.
          const targets = this.session.simulationTargets(uriToKey(arg.uri), arg.line, { first: true });
          if ('error' in targets) return { error: targets.error };
          const model = targets.models[0];
          if (!this.opts.simulate) return { error: 'the simulator is not available in this server' };
          const options: SimulateOptions = {
            ...baseSimulateOptions(model, { buffers: this.settings.simulator.buffers, maxStates: this.settings.simulator.maxStates }),
            ...(arg.options as SimulateOptions | undefined),
          };
          const result: CommandResult<typeof ServerCommands.simulate> = await this.withProgress(`Simulating ${model.handler}()`, token =>
            this.opts.simulate!({ model, options, timeoutMs: this.settings.simulator.timeoutMs }, token),
          );
          return result;
        }
        default:
          return { error: `unknown command ${p.command}` };
      }
    } catch (e) {
      this.log(`${p.command} failed: ${(e as Error).stack ?? e}`);
      return { error: (e as Error).message };
    }
  }

  private async withProgress<T>(title: string, run: (token: { isCancellationRequested: boolean }) => Promise<T>): Promise<T> {
    const token = { isCancellationRequested: false };
    const progress = this.canProgress ? await this.connection.window.createWorkDoneProgress().catch(() => undefined) : undefined;
    progress?.begin(title, undefined, undefined, true);
    progress?.token.onCancellationRequested(() => {
      token.isCancellationRequested = true;
    });
    try {
      return await run(token);
    } finally {
      progress?.done();
    }
  }

  // --- plumbing -------------------------------------------------------------------------------

  /** One line in the client's "Virtio Race Lint" channel: time and level first. */
  private log(
    message: string,
    level: 'info' | 'warn' | 'error' = /failed|invalid|not indexed|skipped/.test(message) ? 'warn' : 'info',
  ): void {
    this.connection.console.log(`${new Date().toISOString()} [${level}] ${message}`);
  }

  /** Runs a document event after those before it (and after the parser is ready). */
  private inOrder(what: string, f: () => void): void {
    this.docQueue = this.docQueue.then(() => this.guard(what, f));
  }

  private guard(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.log(`${what} failed: ${(e as Error).stack ?? e}`);
    }
  }

  private guardValue<T>(what: string, f: () => T, fallback: T): T {
    try {
      return f();
    } catch (e) {
      this.log(`${what} failed: ${(e as Error).stack ?? e}`);
      return fallback;
    }
  }

  /** Test and benchmark access to the current findings. */
  get findings(): Finding[] {
    return this.session.analysis.findings;
  }
  /** Test access: the open buffers (the session's). */
  get docs() {
    return this.session.buffers;
  }
  /** Test access: how many files the index holds. */
  get indexedFileCount(): number {
    return this.session.indexedFileCount;
  }

  /** The settings in use; setting them tells the session whether to analyse and the rule levels. */
  private get settings(): Settings {
    return this.settingsNow;
  }
  private set settings(s: Settings) {
    this.settingsNow = s;
    this.session.enabled = s.enable;
    this.session.rules = s.rules ?? {};
  }
}

/** A finding as hover markdown (see VirtioRaceServer.hover). */
export function findingHover(f: Finding, uri: string, uris: Map<string, string>): string {
  const esc = (t: string) => t.replace(/[\\`*_[\]<>]/g, m => '\\' + m);
  const [head, ...rest] = f.message.split('\n');
  const cmd = (command: string, args: unknown) => `command:${command}?${encodeURIComponent(JSON.stringify([args]))}`;
  const lines = [`**${f.rule}** ${esc(head)}`];
  const body = rest.join('\n').trim();
  if (body) lines.push('', esc(body));
  if (f.related.length) {
    lines.push('', '**Where**', '');
    for (const r of f.related) {
      // A parenthesis in the path (`/src/linux (copy)/`) would end the Markdown link early: %-encode it.
      const target = `${keyToUri(r.file, uris).replace(/[()]/g, c => (c === '(' ? '%28' : '%29'))}#L${r.span.line + 1},${r.span.column + 1}`;
      lines.push(`- [${esc(path.basename(r.file))}:${r.span.line + 1}](${target}) ${esc(r.message)}`);
    }
  }
  const links = [`[Documentation](${cmd(Commands.showDocs, { rule: f.rule, ...docsAnchor(f.rule) })})`];
  const rule = ruleOffers(f);
  if (rule.simulate) links.push(`[Simulate](${cmd(Commands.simulate, { uri, line: f.span.line } satisfies SimulateArgs)})`);
  if (rule.patch) links.push(`[Create patch](${cmd(Commands.createPatch, { uri })})`);
  lines.push('', links.join(' · '));
  return lines.join('\n');
}

/** Whether this process may write the file (a read-only file gets no editing actions). */
function isWritable(file: string): boolean {
  // The mode bits, not access(2): root may write anything, but a file marked read-only is not to be edited.
  try {
    return (fs.statSync(file).mode & 0o222) !== 0;
  } catch {
    return true;
  }
}

/** The status item, the findings list and Simulate without a line count VRL001 findings (the client's status text names it). */
function isVrl001(f: Finding): boolean {
  return f.rule === 'VRL001';
}

/**
 * The README anchor of a rule's section, from the registry, for the client's docs command: sent
 * only for a rule the client's own table (RULE_ANCHORS) does not know.
 */
function docsAnchor(rule: string): { anchor?: string } {
  const anchor = ruleDocsAnchor(rule);
  return anchor !== undefined && RULE_ANCHORS[rule] !== anchor ? { anchor } : {};
}
