// The language server: a thin layer over the core. Open documents are re-parsed incrementally
// and their facts replace the disk version's; the workspace is indexed in the background by
// scan workers; every change re-links the index and publishes what changed.
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
import { AnalysedDocument } from '../analysis/document';
import type { FileFacts } from '../analysis/facts';
import { FactsCache } from '../analysis/factsCache';
import { factsFromBytes, factsFromText, isSeed } from '../analysis/fileFacts';
import { readRegularFile } from '../analysis/fileRead';
import { initParser } from '../analysis/parser';
import { Project, type Analysis, type ExpansionHost } from '../analysis/project';
import { ruleById } from '../analysis/rules';
import type { Finding } from '../analysis/rules/rule';
import { ScanPool, defaultWorkers, driverFilesWithRipgrep, isCSource, type ScanBatch, type ScanProgress } from '../analysis/scan';
import { decodeSource, MAX_PARSE_BYTES } from '../analysis/source';
import { LineIndex } from '../analysis/text';
import { fixAll, lockFunctionOf } from '../fix/irqsave';
import { type CodeModel, type SimulateOptions } from '../sim/fromCode';
import { baseSimulateOptions, simulationTargets } from '../api/simulate';
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
import {
  findingToDiagnostic,
  invalidSuppressionDiagnostic,
  quickFix,
  toLspEdits,
  unusedSuppressionDiagnostic,
  type DiagnosticData,
} from './convert';
import { excludeMatcher, excludeRules } from './glob';
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
    facts: FileFacts,
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

/**
 * While the workspace is indexed: the open documents and their directories, read before the rest
 * of the tree, with the expansion of those; the diagnostics come from its analysis until the
 * whole index is built (then the full project's, so the result is the same as without it).
 */
interface EarlyIndex {
  project: Project;
  /** Per folder still to scan: directories to read first (the scan takes them out; ScanOptions.first). */
  first: Map<string, string[]>;
  /** Directories asked for. */
  wanted: Set<string>;
  /** Directories read, with their C files (for the expansion). */
  listed: Map<string, string[]>;
  expanding: boolean;
  again: boolean;
}

interface OpenDoc {
  key: string;
  uri: string;
  version: number;
  doc: AnalysedDocument;
  /** Facts lag the text (run: onSave, before the save). */
  stale: boolean;
}

export class VirtioRaceServer {
  /** Replaced as a whole when the workspace is indexed again (settings changed). */
  private project = new Project();
  private docs = new Map<string, OpenDoc>();
  private uris = new Map<string, string>();
  private published = new Map<string, string>();
  private publishedVersion = new Map<string, number>();
  private settings: Settings = DEFAULT_SETTINGS;
  private folders: string[] = [];
  private filesByDir = new Map<string, Set<string>>();
  /** The index came from ripgrep's candidates: directories are not fully listed in filesByDir. */
  private usedRipgrep = false;
  private filesExclude: Record<string, unknown> = {};
  /** files.exclude of every folder, over absolute paths. */
  private excluded: (p: string) => boolean = () => false;
  private canConfigure = false;
  private canFolders = false;
  private settingsProblems = '';
  /** Where the facts cache of the index lives (initializationOptions.cacheDir); none: no cache. */
  private cacheDir?: string;
  /** Workspace trust, as the client says (initializationOptions.trusted, TrustNotification). */
  private trusted = true;
  private canProgress = false;
  private indexing = false;
  private indexGeneration = 0;
  /**
   * What the current index was built from (folders and files.exclude; undefined: no index, or the
   * linter was turned off since). Settings that leave it unchanged do not index again.
   */
  private indexedWith?: string;
  /** initialized() has read the settings and started the first index. */
  private started = false;
  /** Settings reads and the index decisions that follow them, one at a time, in arrival order. */
  private configQueue: Promise<void> = Promise.resolve();
  private analysis: Analysis = { findings: [], suppressed: [], unusedSuppressions: [] };
  /** Facts changed since `analysis` was computed. */
  private analysisStale = true;
  private pending?: NodeJS.Immediate;
  private parserReady = initParser();
  private docQueue: Promise<void> = this.parserReady.then(
    () => undefined,
    () => undefined,
  );
  private pool?: ScanPool;
  /** Files of the index in progress whose facts came from the facts cache (scan and expansion). */
  private cacheHits = 0;
  /** While the workspace is indexed (see EarlyIndex). */
  private early?: EarlyIndex;
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
      await this.pool?.close();
    });
  }

  // --- lifecycle ------------------------------------------------------------------------------

  private initialize(p: InitializeParams): InitializeResult {
    const folders: WorkspaceFolder[] = p.workspaceFolders ?? (p.rootUri ? [{ uri: p.rootUri, name: 'root' }] : []);
    this.folders = folders.map(f => uriToKey(f.uri)).filter(isFileKey);
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
    await this.parserReady;
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
    return JSON.stringify([this.folders, this.filesExclude]);
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
    const { invalid } = excludeRules('/', this.filesExclude);
    for (const g of invalid) this.log(`files.exclude: ${JSON.stringify(g)} expands to too many alternatives; ignored`);
    this.excluded = excludeMatcher(this.folders.flatMap(f => excludeRules(f, this.filesExclude).rules));
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
      this.folders = [...new Set([...this.folders.filter(f => !removed.has(f)), ...added])];
      this.log(`workspace folders: ${this.folders.join(', ') || '(none)'}`);
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
      this.analysisStale = true;
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
    this.project = new Project();
    this.filesByDir.clear();
    this.usedRipgrep = false;
    for (const d of this.docs.values()) this.refreshFacts(d);
    return this.indexWorkspace();
  }

  /**
   * Indexes the workspace folders in the background, with cancellable progress ("N of M files").
   * The directories of open documents are read first, into a project of their own (EarlyIndex)
   * that is expanded and analysed at once: an open file whose callback is registered in another
   * file of its driver gets its diagnostics without waiting for the rest of the tree.
   */
  private async indexWorkspace(): Promise<void> {
    const generation = ++this.indexGeneration;
    this.indexedWith = this.settings.enable ? this.indexKey() : undefined;
    if (this.folders.length === 0 || !this.settings.enable) {
      this.early = undefined;
      this.resolveIndexed();
      this.schedule();
      return;
    }
    this.indexing = true;
    const project = this.project;
    const early: EarlyIndex = {
      project: new Project(),
      first: new Map(this.folders.map(f => [f, []])),
      wanted: new Set(),
      listed: new Map(),
      expanding: false,
      again: false,
    };
    this.early = early;
    for (const d of this.docs.values()) {
      const facts = project.index.get(d.key);
      if (facts) early.project.setFacts(facts);
      this.prioritize(d.key);
    }
    this.analysisStale = true;
    this.sendStatus();
    let cancelled = false;
    const progress = this.canProgress ? await this.connection.window.createWorkDoneProgress().catch(() => undefined) : undefined;
    progress?.begin('virtio-race-lint: indexing', 0, 'listing files', true);
    progress?.token.onCancellationRequested(() => {
      cancelled = true;
    });
    const started = Date.now();
    try {
      this.pool ??= new ScanPool(this.opts.workers ?? defaultWorkers(), 'workers');
      // The workers look up each file they parse in the facts cache; this thread saves what they add.
      const cacheDir = this.settings.index.cache ? this.cacheDir : undefined;
      if (!cacheDir) this.pool.cache = undefined;
      else if (this.pool.cache?.file !== new FactsCache(cacheDir).file) this.pool.cache = new FactsCache(cacheDir);
      this.cacheHits = 0;
      let lastReport = 0;
      let lastText = '';
      for (const [i, folder] of this.folders.entries()) {
        const exclude = excludeRules(folder, this.filesExclude).rules;
        let last: ScanProgress | undefined;
        const res = await this.pool.scan([folder], [], {
          exclude,
          first: early.first.get(folder),
          isCancelled: () => cancelled || generation !== this.indexGeneration,
          onBatch: b => {
            if (project === this.project) this.absorbBatch(b, early);
          },
          onProgress: p => {
            last = p;
            const now = Date.now();
            if (now - lastReport < 200 || !progress) return;
            const r = progressReport(p, i, this.folders.length);
            if (r.message === lastText) return;
            lastReport = now;
            lastText = r.message;
            progress.report(r.percentage, r.message);
          },
        });
        early.first.delete(folder);
        // Indexing started again (settings changed): this run's results belong to an old project.
        if (project !== this.project) return;
        for (const f of res.files) this.addKnownFile(f);
        // Open buffers win over the disk.
        for (const f of res.facts) if (!this.docs.has(f.file)) project.setFacts(f);
        if (res.stats.prefilter === 'ripgrep') this.usedRipgrep = true;
        this.cacheHits += res.stats.cacheHits ?? 0;
        for (const w of res.warnings) this.log(w);
        for (const e of res.errors) this.log(`not indexed: ${e}`);
        // Where the folder's scan ended (the reports above are at most every 200 ms, and the
        // last may have come before ripgrep said it was done listing).
        if (last) {
          const r = progressReport({ ...last, listing: false }, i, this.folders.length);
          progress?.report(r.percentage, r.message);
        }
      }
      progress?.report(100, 'resolving names across files');
      this.log(`scanned in ${Date.now() - started} ms`);
      for (const w of await project.expand(this.expansionHost())) this.log(w);
      this.analysisStale = true;
      const fromCache = this.pool.cache ? `, ${this.cacheHits} of them from the facts cache` : '';
      this.log(
        `indexed ${this.folders.join(', ')} in ${Date.now() - started} ms${cancelled ? ' (cancelled)' : ''}: ${project.index.fileCount} files parsed${fromCache}`,
      );
      const saveError = this.pool.saveCache();
      if (saveError) this.log(`facts cache not saved: ${saveError}`, 'warn');
    } catch (e) {
      this.log(`indexing failed: ${(e as Error).stack ?? e}`);
    } finally {
      progress?.done();
      if (this.early === early) this.early = undefined;
      if (generation === this.indexGeneration) this.indexing = false;
      this.resolveIndexed();
      this.schedule();
    }
  }

  /**
   * A unit of the scan: a directory read first goes into the early index. The full index takes
   * the scan's facts at its end, sorted by file: the name tables keep the order files came in,
   * and the workers answer in any order.
   */
  private absorbBatch(b: ScanBatch, early: EarlyIndex): void {
    if (b.dirsDone.length === 0 || this.early !== early) return;
    for (const d of b.dirsDone)
      early.listed.set(
        d,
        b.files.filter(f => path.dirname(f) === d),
      );
    for (const f of b.facts) if (!this.docs.has(f.file)) early.project.setFacts(f);
    this.expandEarly(early);
  }

  /**
   * The early index's expansion (neighbour files that define what its files name), then the
   * analysis; one at a time, again if more directories came in meanwhile. Its parses go ahead of
   * the scan's own units (ScanPool.parseMatching during a scan).
   */
  private expandEarly(early: EarlyIndex): void {
    if (early.expanding) {
      early.again = true;
      return;
    }
    early.expanding = true;
    const host: ExpansionHost = {
      listDirs: async dirs => new Map(dirs.map(d => [d, early.listed.get(d) ?? []])),
      parseMatching: async cands => (this.pool ? this.pool.parseMatching(cands) : { facts: [], warnings: [] }),
    };
    void (async () => {
      try {
        do {
          early.again = false;
          const warnings = await early.project.expand(host);
          if (this.early !== early) return;
          for (const w of warnings) this.log(w);
          this.schedule();
        } while (early.again);
      } catch (e) {
        this.log(`expanding the open documents' directories failed: ${(e as Error).stack ?? e}`);
      } finally {
        early.expanding = false;
      }
    })();
  }

  /**
   * While the workspace is indexed: the directory of an open document is read before the rest of
   * the tree (if it is in a folder and not excluded).
   */
  private prioritize(key: string): void {
    const early = this.early;
    if (!early || !isFileKey(key)) return;
    const dir = path.dirname(key);
    if (early.wanted.has(dir)) return;
    const folder = this.folders.find(f => dir === f || dir.startsWith(f.endsWith('/') ? f : f + '/'));
    const queue = folder !== undefined ? early.first.get(folder) : undefined;
    if (!queue) return;
    // The walk skips these directories and files.exclude; so does reading first.
    const below = dir.slice(folder!.length).split('/').filter(Boolean);
    let at = folder!.replace(/\/$/, '');
    for (const part of below) {
      at += '/' + part;
      if (part === '.git' || part === 'node_modules' || this.excluded(at + '/')) return;
    }
    early.wanted.add(dir);
    queue.push(dir);
    this.pool?.wake();
  }

  /** The project the analysis reads: the early index while the workspace is indexed. */
  private get view(): Project {
    return this.early?.project ?? this.project;
  }

  /** A file's facts into the index (and the early index, while there is one). */
  private setFacts(f: FileFacts): void {
    this.project.setFacts(f);
    this.early?.project.setFacts(f);
  }

  private removeFile(key: string): void {
    this.project.removeFile(key);
    this.early?.project.removeFile(key);
  }

  private addKnownFile(f: string): void {
    const dir = path.dirname(f);
    const set = this.filesByDir.get(dir);
    if (set) set.add(f);
    else this.filesByDir.set(dir, new Set([f]));
  }

  private expansionHost() {
    return {
      listDirs: async (dirs: string[]) => {
        const fromRg = this.usedRipgrep ? await driverFilesWithRipgrep(dirs) : undefined;
        return new Map(dirs.map(d => [d, fromRg?.get(d) ?? [...(this.filesByDir.get(d) ?? [])]]));
      },
      // Open buffers are in the index already, so candidates are files on disk.
      parseMatching: async (cands: { file: string; names: string[] }[]) => {
        if (!this.pool) return { facts: [], warnings: [] };
        const res = await this.pool.parseMatching(cands);
        this.cacheHits += res.stats.cacheHits ?? 0;
        return res;
      },
    };
  }

  // --- documents ------------------------------------------------------------------------------

  private didOpen(p: DidOpenTextDocumentParams): void {
    const { uri, version, text, languageId } = p.textDocument;
    if (languageId !== 'c' && languageId !== 'cpp' && !/\.[ch]$/.test(uri)) return;
    const key = uriToKey(uri);
    // Opened again without a close: the old buffer's tree is freed.
    this.dropDoc(key);
    if (text.length > MAX_PARSE_BYTES) {
      this.log(`${key}: not analysed: too large (${text.length} characters)`);
      return;
    }
    // As the CLI does (decodeSource): a NUL in the first 8 KiB marks a binary file.
    if (text.slice(0, 8192).includes('\0')) {
      this.log(`${key}: not analysed: binary file (contains NUL characters)`);
      return;
    }
    this.uris.set(key, uri);
    const doc: OpenDoc = { key, uri, version, doc: new AnalysedDocument(key, text), stale: false };
    this.docs.set(key, doc);
    if (isFileKey(key)) this.addKnownFile(key);
    this.refreshFacts(doc);
    this.prioritize(key);
    this.schedule();
  }

  private didChange(p: DidChangeTextDocumentParams): void {
    const d = this.docs.get(uriToKey(p.textDocument.uri));
    if (!d) return;
    for (const c of p.contentChanges) {
      if ('range' in c) {
        const idx = new LineIndex(d.doc.text);
        const start = offsetAt(idx, d.doc.text, c.range.start);
        const end = offsetAt(idx, d.doc.text, c.range.end);
        if (start === undefined || end === undefined || end < start) {
          // The client's text and ours no longer agree: analysing on would report and fix
          // the wrong places. The buffer is dropped until it is opened again.
          this.log(
            `${d.key}: invalid edit range ${JSON.stringify(c.range)} for version ${p.textDocument.version}; the document is out of sync and no longer analysed (re-open it)`,
          );
          this.dropDoc(d.key);
          this.schedule();
          return;
        }
        d.doc.edit(start, end, c.text, {
          start: { row: c.range.start.line, column: start - idx.lineStart(c.range.start.line) },
          end: { row: c.range.end.line, column: end - idx.lineStart(Math.min(c.range.end.line, idx.lineCount - 1)) },
        });
      } else {
        d.doc.setText(c.text);
      }
    }
    d.version = p.textDocument.version;
    if (d.doc.text.length > MAX_PARSE_BYTES) {
      this.log(`${d.key}: no longer analysed: too large (${d.doc.text.length} characters, limit ${MAX_PARSE_BYTES})`);
      this.dropDoc(d.key);
      this.schedule();
      return;
    }
    // The facts follow when the analysis runs: typing faster than it coalesces.
    d.stale = true;
    if (this.settings.run === 'onType') this.schedule();
  }

  private didSave(uri: string): void {
    const d = this.docs.get(uriToKey(uri));
    if (!d) return;
    if (d.stale) this.refreshFacts(d);
    this.schedule();
  }

  /** Forgets an open buffer (its tree freed, its facts out of the index). */
  private dropDoc(key: string): void {
    const d = this.docs.get(key);
    if (!d) return;
    this.docs.delete(key);
    d.doc.dispose();
    this.removeFile(key);
    this.analysisStale = true;
  }

  private didClose(p: DidCloseTextDocumentParams): void {
    const key = uriToKey(p.textDocument.uri);
    const d = this.docs.get(key);
    if (!d) return;
    this.docs.delete(key);
    d.doc.dispose();
    // The disk version takes over again (an unsaved edit is gone with the buffer).
    this.reloadFromDisk(key);
    this.schedule();
  }

  private watchedFiles(p: DidChangeWatchedFilesParams): void {
    const changed: string[] = [];
    for (const ch of p.changes) {
      const key = uriToKey(ch.uri);
      // Open buffers win over the disk; excluded files are not the workspace's.
      if (!isFileKey(key) || !isCSource(key) || this.docs.has(key) || this.excluded(key)) continue;
      changed.push(key);
      if (ch.type === FileChangeType.Deleted) {
        this.removeFile(key);
        this.filesByDir.get(path.dirname(key))?.delete(key);
      } else {
        this.addKnownFile(key);
        // A file the index holds is read again; a new one only if the scan would have parsed
        // it (a branch switch touches thousands of files that do not matter).
        this.reloadFromDisk(key, !this.project.index.has(key));
      }
    }
    if (changed.length === 0) return;
    this.project.forgetTried(changed);
    this.analysisStale = true;
    this.project.expand(this.expansionHost()).then(
      ws => {
        for (const w of ws) this.log(w);
        this.schedule();
      },
      e => this.log(`expanding the index failed: ${(e as Error).stack ?? e}`),
    );
  }

  /** Reads a file from disk into the index (`onlyIfSeed`: only if it mentions the virtqueue APIs). */
  private reloadFromDisk(key: string, onlyIfSeed = false): void {
    if (!isFileKey(key)) {
      this.removeFile(key);
      return;
    }
    // Regular files only, size checked before reading: a FIFO named *.c would block this
    // thread for good, /dev/zero would never end.
    const read = readRegularFile(key);
    if (!read.ok) {
      if (read.code !== 'io') this.log(`${key}: skipped: ${read.reason}`);
      this.removeFile(key);
      return;
    }
    const bytes = read.snapshot.bytes;
    if (onlyIfSeed && !isSeed(bytes)) return;
    this.safely(key, () => {
      const res = factsFromBytes(key, bytes);
      if (res.warning) this.log(res.warning);
      if (res.facts) this.setFacts(res.facts);
      else this.removeFile(key);
    });
  }

  private extractOpen(d: OpenDoc): FileFacts {
    this.opts.beforeExtract?.(d.key);
    return d.doc.facts();
  }

  /** Re-extracts an open document's facts; a failure skips the file, it never stops the server. */
  private refreshFacts(d: OpenDoc): void {
    d.stale = false;
    this.analysisStale = true;
    this.safely(d.key, () => this.setFacts(this.extractOpen(d)));
  }

  /**
   * Brings the facts of edited buffers and the analysis up to date, for a command or a code
   * action (which must edit the text as it is now, whatever `run` says about diagnostics).
   */
  private freshen(withEdits = true): void {
    if (withEdits) for (const d of this.docs.values()) if (d.stale) this.refreshFacts(d);
    if (!this.analysisStale) return;
    this.analysisStale = false;
    const view = this.view;
    view.rules = this.settings.rules ?? {};
    this.analysis = this.settings.enable ? view.analyse() : { findings: [], suppressed: [], unusedSuppressions: [] };
  }

  private safely(key: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.removeFile(key);
      this.log(`${key}: analysis failed, file skipped: ${(e as Error).stack ?? e}`);
    }
  }

  // --- analysis and diagnostics ---------------------------------------------------------------

  /** Re-analyses on the next turn of the event loop; changes arriving meanwhile coalesce. */
  private schedule(): void {
    this.analysisStale = true;
    if (this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.guard('analyse', () => this.analyseAndPublish());
    });
  }

  /** Runs the analysis now and publishes (the benchmark and tests call it directly). */
  analyseAndPublish(): void {
    // With run: onSave, edited buffers wait for didSave (or a command) to be analysed.
    this.analysisStale = true;
    this.freshen(this.settings.run === 'onType');
    const byUri = new Map<string, Diagnostic[]>();
    const add = (uri: string, d: Diagnostic) => {
      const l = byUri.get(uri);
      if (l) l.push(d);
      else byUri.set(uri, [d]);
    };
    for (const f of this.analysis.findings) add(keyToUri(f.file, this.uris), findingToDiagnostic(f, this.uris));
    for (const u of this.analysis.unusedSuppressions) add(keyToUri(u.file, this.uris), unusedSuppressionDiagnostic(u));
    for (const u of this.analysis.invalidSuppressions ?? []) add(keyToUri(u.file, this.uris), invalidSuppressionDiagnostic(u));
    // Open documents always get a publication, so a fixed file is cleared.
    const openByUri = new Map([...this.docs.values()].map(d => [d.uri, d]));
    for (const d of this.docs.values()) if (!byUri.has(d.uri)) byUri.set(d.uri, []);
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
    const vrl001 = this.analysis.findings.filter(isVrl001);
    const files = new Set(vrl001.map(f => f.file)).size;
    void this.connection.sendNotification(StatusNotification, {
      findings: vrl001.length,
      files,
      indexing: this.indexing,
    } satisfies StatusParams);
  }

  // --- code actions ---------------------------------------------------------------------------

  private findingFor(key: string, diag: Diagnostic): Finding | undefined {
    const data = diag.data as DiagnosticData | undefined;
    const inFile = this.analysis.findings.filter(f => f.file === key && (!data?.rule || f.rule === data.rule));
    return (
      inFile.find(f => data && f.lockFunction === data.lockFunction && f.handler === data.handler && f.span.start === data.lockStart) ??
      inFile.find(f => data && f.lockFunction === data.lockFunction && f.handler === data.handler) ??
      inFile.find(f => f.span.line === diag.range.start.line)
    );
  }

  private codeActions(p: CodeActionParams): CodeAction[] {
    const key = uriToKey(p.textDocument.uri);
    const d = this.docs.get(key);
    if (!d) return [];
    this.freshen();
    const facts = this.view.index.get(key);
    if (!facts) return [];
    const text = d.doc.text;
    const only = p.context.only;
    // An action is offered if `only` asks for its kind (or a parent of it); kind-less ones
    // (Empty: docs, simulate, patch) only when nothing is asked for, so they are never quick fixes.
    const wants = (kind: string) => !only || only.some(k => k === kind || (k !== '' && kind.startsWith(k + '.')));
    // A file the server cannot write (permissions) gets the actions that do not edit it.
    const editable = !isFileKey(key) || isWritable(key);
    const fileEdit = (edits: ReturnType<typeof toLspEdits>) => ({
      documentChanges: [{ textDocument: { uri: d.uri, version: d.version }, edits }],
    });
    const actions: CodeAction[] = [];
    // Fix-all applies the fixes of the rules whose fixes make the patch (VRL001's irqsave fix).
    const patchInFile = this.analysis.findings.filter(f => f.file === key && isPatched(f));
    const fixAllEdits = () => {
      const res = fixAll(patchInFile, facts, text);
      return res.edits.length ? toLspEdits(text, res.edits) : undefined;
    };
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
      const rule = ruleById(finding.rule);
      if (editable && wants(CodeActionKind.QuickFix)) {
        if (rule?.fix) {
          const fix = rule.fix.apply(finding, facts, text);
          if (fix.ok) actions.push(quickFix(fix.title, d.uri, d.version, toLspEdits(text, fix.edits), diag, true));
          else
            actions.push({
              title: rule.fix.refusedTitle(finding),
              kind: CodeActionKind.QuickFix,
              diagnostics: [diag],
              disabled: { reason: fix.reason },
            });
        }
        if (rule?.patch && !fixAllOffered && patchInFile.length > 1) {
          fixAllOffered = true;
          const edits = fixAllEdits();
          if (edits) actions.push({ title: FIX_ALL_TITLE, kind: CodeActionKind.QuickFix, diagnostics: [diag], edit: fileEdit(edits) });
        }
        const sup = this.suppressAction(finding, facts, text, d, diag);
        if (sup) actions.push(sup);
      }
      if (wants(CodeActionKind.Empty)) {
        if (rule?.simulate && !rule.unmodelled?.(finding)) {
          actions.push({
            title: `Simulate this race (${finding.handler})`,
            kind: CodeActionKind.Empty,
            diagnostics: [diag],
            command: {
              title: 'Simulate race',
              command: Commands.simulate,
              arguments: [{ uri: d.uri, line: finding.span.line } satisfies SimulateArgs],
            },
          });
        }
        if (rule?.patch) {
          actions.push({
            title: 'Create kernel patch for this file',
            kind: CodeActionKind.Empty,
            diagnostics: [diag],
            command: { title: 'Create kernel patch', command: Commands.createPatch, arguments: [{ uri: d.uri }] },
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
    const d = this.docs.get(key);
    if (!d) return null;
    this.freshen();
    const at = p.position;
    const inside = (f: Finding) => {
      const s = f.span;
      const after = at.line > s.line || (at.line === s.line && at.character >= s.column);
      const before = at.line < s.endLine || (at.line === s.endLine && at.character <= s.endColumn);
      return after && before;
    };
    const hits = this.analysis.findings.filter(f => f.file === key && inside(f));
    if (hits.length === 0) return null;
    const parts = hits.map(f => findingHover(f, d.uri, this.uris));
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
  private suppressAction(
    finding: Finding,
    facts: FileFacts,
    text: string,
    d: { uri: string; version: number },
    diag: Diagnostic,
  ): CodeAction | undefined {
    // The function holding the finding's span (its lock call, or VRL002's drain): suppressions follow it.
    const fn =
      lockFunctionOf(finding, facts) ??
      facts.functions.find(f => f.name === finding.lockFunction && f.span.start <= finding.span.start && finding.span.end <= f.span.end);
    if (!fn) return undefined;
    const line = fn.span.line;
    const indent = /^[ \t]*/.exec(text.slice(new LineIndex(text).lineStart(line)))![0];
    const args: SuppressArgs = { uri: d.uri, version: d.version, line, indent, rule: finding.rule, function: fn.name };
    return {
      title: `Suppress ${finding.rule} for ${fn.name}()`,
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
          return this.analysis.findings
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
          if (!this.docs.has(key)) {
            return {
              applied: false,
              message: `${path.basename(key)} is not open: open it to fix it (edits are sent only for open documents, with their version)`,
            } satisfies FixAllResult;
          }
          const { text, facts, version } = this.current(key);
          if (!facts) return { applied: false, message: 'nothing to fix' } satisfies FixAllResult;
          const res = fixAll(
            this.analysis.findings.filter(f => f.file === key),
            facts,
            text,
          );
          if (res.edits.length === 0) {
            return {
              applied: false,
              message: res.refused.length ? res.refused.map(r => r.reason).join('; ') : 'nothing to fix',
            } satisfies FixAllResult;
          }
          const applied = await this.connection.workspace.applyEdit({
            label: 'virtio-race-lint: fix all',
            edit: { documentChanges: [{ textDocument: { uri: arg.uri, version }, edits: toLspEdits(text, res.edits) }] },
          });
          return { applied: applied.applied, fixed: res.fixed.length, refused: res.refused.map(r => r.reason) } satisfies FixAllResult;
        }
        case ServerCommands.createPatch: {
          const key = uriToKey(arg.uri);
          const { text, facts } = this.current(key);
          const findings = this.analysis.findings.filter(f => f.file === key && isPatched(f));
          if (!facts || findings.length === 0) return { error: 'no VRL001 finding in this file' };
          if (!this.opts.createPatch) return { error: 'patch generation is not available in this server' };
          // A patch is UTF-8 text against the bytes on disk: other encodings would not apply.
          const read = isFileKey(key) ? readRegularFile(key) : undefined;
          const onDisk = read?.ok ? decodeSource(read.snapshot.bytes) : undefined;
          if (onDisk?.ok && onDisk.encoding !== 'utf8') {
            return { error: `the file is not plain UTF-8 (${onDisk.encoding}), so a patch would not apply; use the quick fix instead` };
          }
          const made = await this.withProgress('Creating kernel patch', () =>
            this.opts.createPatch!(key, text, findings, facts, this.settings, { trusted: this.trusted, folders: this.folders }),
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
          const real = (f: string) => {
            try {
              return fs.realpathSync(f);
            } catch {
              return f;
            }
          };
          const unsaved = (file: string) =>
            [...this.docs.values()].some(d => {
              if (d.key !== file && real(d.key) !== real(file)) return false;
              const r = readRegularFile(d.key);
              const t = r.ok ? decodeSource(r.snapshot.bytes) : undefined;
              return !t?.ok || t.text !== d.doc.text;
            });
          const res = await this.opts.applyPatch(a.patch, source && isFileKey(source) ? source : undefined, unsaved);
          this.log(`git am ${a.patch}: ${res.ok ? res.message : res.reason}`);
          return res satisfies CommandResult<typeof ServerCommands.applyPatch>;
        }
        case ServerCommands.simulate: {
          const key = uriToKey(arg.uri);
          this.freshen();
          const index = this.view.index;
          // Without a line: the file's first finding that has a model.
          const targets = simulationTargets(this.analysis.findings, index, key, arg.line, { first: true });
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

  /**
   * A file's text and facts as they are now: the buffer if open, else the disk, read now and
   * analysed afresh (the index may hold an older version: offsets from it would not fit).
   */
  private current(key: string): { text: string; facts?: FileFacts; version: number | null } {
    const d = this.docs.get(key);
    if (d) {
      this.freshen();
      return { text: d.doc.text, facts: this.view.index.get(key), version: d.version };
    }
    const read = isFileKey(key) ? readRegularFile(key) : undefined;
    const decoded = read?.ok ? decodeSource(read.snapshot.bytes) : undefined;
    if (!read?.ok || !decoded?.ok) {
      if (read && !read.ok && read.code !== 'io') this.log(`${key}: not analysed: ${read.reason}`);
      this.freshen();
      return { text: '', facts: undefined, version: null };
    }
    // The disk is the truth for a closed file: the index takes these facts, and the findings
    // are linked again, so both match `text`.
    this.safely(key, () => this.setFacts(factsFromText(key, decoded.text)));
    this.analysisStale = true;
    this.freshen();
    return { text: decoded.text, facts: this.view.index.get(key), version: null };
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
    return this.analysis.findings;
  }
  /** Test access: how many files the index holds. */
  get indexedFileCount(): number {
    return this.project.index.fileCount;
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
  const rule = ruleById(f.rule);
  if (rule?.simulate && !rule.unmodelled?.(f))
    links.push(`[Simulate](${cmd(Commands.simulate, { uri, line: f.span.line } satisfies SimulateArgs)})`);
  if (rule?.patch) links.push(`[Create patch](${cmd(Commands.createPatch, { uri })})`);
  lines.push('', links.join(' · '));
  return lines.join('\n');
}

/**
 * Indexing progress as "N of M files" and a percentage (folders in equal parts). While the files
 * are still being listed M may grow, so the percentage waits for the listing to end.
 */
export function progressReport(p: ScanProgress, folder: number, folders: number): { message: string; percentage: number } {
  const frac = p.listing || p.total === 0 ? 0 : Math.min(1, p.done / p.total);
  const percentage = Math.floor((100 * (folder + frac)) / folders);
  return { message: `${p.done} of ${p.total} files${p.listing ? ' found so far' : ''}`, percentage };
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
  const r = ruleById(rule);
  return r && RULE_ANCHORS[rule] !== r.meta.docsAnchor ? { anchor: r.meta.docsAnchor } : {};
}

/** The rule's fixes go into fix-all and the kernel patch (rule.ts `patch`). */
function isPatched(f: Finding): boolean {
  return !!ruleById(f.rule)?.patch;
}

/**
 * An LSP position as an offset; a character past the end of its line means the line's end (as
 * the protocol says). Undefined when the position is not one: negative or fractional numbers,
 * or a line past the end of the text (the line just after it, character 0, is the end).
 */
function offsetAt(idx: LineIndex, text: string, pos: { line: number; character: number }): number | undefined {
  if (!pos || !Number.isSafeInteger(pos.line) || !Number.isSafeInteger(pos.character) || pos.line < 0 || pos.character < 0)
    return undefined;
  if (pos.line >= idx.lineCount) return pos.line === idx.lineCount && pos.character === 0 ? text.length : undefined;
  const start = idx.lineStart(pos.line);
  const end = pos.line + 1 < idx.lineCount ? idx.lineStart(pos.line + 1) - 1 : text.length;
  return Math.min(start + pos.character, end);
}
