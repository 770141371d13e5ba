// A project as an editor sees it, in plain data (no LSP): open documents with versions, whose
// edits re-parse incrementally and whose facts replace the disk's; the workspace folders indexed
// in the background by scan workers, the open files' directories first (the early index); the
// expansion to neighbour files; the findings; and what a front end does with them (fixes, the
// patch's input, the simulation's targets). The language server is protocol handlers and
// conversion over this; positions are the core's (0-based line, UTF-16 character).
import * as path from 'node:path';
import { AnalysedDocument } from '../analysis/document';
import type { FileFacts } from '../analysis/facts';
import { FactsCache } from '../analysis/factsCache';
import { factsFromBytes, factsFromText, isSeed } from '../analysis/fileFacts';
import { readRegularFile, realPath } from '../analysis/fileRead';
import { excludeMatcher, excludeRules } from '../analysis/glob';
import { initParser, ParseTimeout } from '../analysis/parser';
import { Project, type Analysis, type ExpansionHost } from '../analysis/project';
import type { RuleSettings } from '../analysis/rules';
import type { Finding } from '../analysis/rules/rule';
import { ScanPool, defaultWorkers, driverFilesWithRipgrep, isCSource, type ScanBatch, type ScanProgress } from '../analysis/scan';
import { decodeSource, MAX_PARSE_BYTES } from '../analysis/source';
import { LineIndex } from '../analysis/text';
import { fixAllEdits, isPatched, quickFix, rangeEdits, suppressionPoint, type Position, type Range, type RangeEdit } from './fix';
import { simulationTargets, type SimulationTargets } from './simulate';

export type { Position, Range, RangeEdit };

export type Log = (message: string, level?: 'info' | 'warn' | 'error') => void;

export interface SessionOptions {
  /** Scan workers for the workspace index (0: in-process, as tests do). */
  workers?: number;
  /** For tests of crash isolation: called before an open document's facts are extracted. */
  beforeExtract?: (key: string) => void;
  /** One line for the user's log (level: by the front end's default when absent). */
  log?: Log;
  /** The facts changed (an expansion ended, an index finished): the front end re-analyses soon. */
  changed?: () => void;
}

/** A change to an open document: a range replaced (LSP's incremental form) or the whole text. */
export type ContentChange = { range: Range; text: string } | { text: string };

/** An open document as the session holds it. */
export interface DocumentState {
  /** A path for a file on disk, else the front end's own name for the buffer (an untitled URI). */
  key: string;
  version: number;
  text: string;
  /** The facts lag the text (edits not analysed yet: run on save). */
  stale: boolean;
}

/** What indexing tells its front end: progress, and whether the user cancelled. */
export interface IndexReporter {
  /** `percentage` and a message such as "120 of 4000 files" (the message alone: a phase). */
  report(percentage: number, message: string): void;
  cancelled(): boolean;
  done(): void;
}

export interface IndexOptions {
  /** Where the facts cache lives (none: no cache). */
  cacheDir?: string;
  /**
   * Called once the index has started (the session says `indexing`): the front end's progress,
   * if it shows one.
   */
  started?: () => Promise<IndexReporter | undefined>;
}

/** An open document's fixes, against its text and version as they are now. */
export interface DocumentFixes {
  key: string;
  version: number;
  text: string;
  /** The quick fix of a finding (undefined: its rule has none). */
  quickFix(f: Finding): ({ ok: true; title: string; edits: RangeEdit[] } | { ok: false; title: string; reason: string }) | undefined;
  /** Fix-all for the file (the rules whose fixes make the patch); undefined: nothing to edit. */
  fixAll(): RangeEdit[] | undefined;
  /** Where a suppression comment for the finding goes (before its function). */
  suppression(f: Finding): { line: number; indent: string; function: string } | undefined;
}

/** The input of a kernel patch for a file: its text now, the facts of that text, its patched findings. */
export interface PatchInput {
  file: string;
  text: string;
  findings: Finding[];
  facts: FileFacts;
  /** Why a patch would not apply (the file on disk is not UTF-8), if so. */
  notUtf8?: string;
}

/**
 * While the workspace is indexed: the open documents and their directories, read before the rest
 * of the tree, with the expansion of those; the findings come from its analysis until the whole
 * index is built (then the full project's, so the result is the same as without it).
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
  version: number;
  doc: AnalysedDocument;
  /** Facts lag the text (run: onSave, before the save). */
  stale: boolean;
}

const NO_ANALYSIS: Analysis = { findings: [], suppressed: [], unusedSuppressions: [] };

export class Session {
  /** Replaced as a whole when the workspace is indexed again (reset()). */
  private project = new Project();
  private docs = new Map<string, OpenDoc>();
  /** The workspace folders (absolute paths). */
  folders: string[] = [];
  /** The analysis runs (false: no findings). */
  enabled = true;
  /** The user's rule levels. */
  rules: RuleSettings = {};
  private filesByDir = new Map<string, Set<string>>();
  /** The index came from ripgrep's candidates: directories are not fully listed in filesByDir. */
  private usedRipgrep = false;
  private filesExclude: Record<string, unknown> = {};
  /** files.exclude of every folder, over absolute paths. */
  private excluded: (p: string) => boolean = () => false;
  private indexGeneration = 0;
  private analysisNow: Analysis = NO_ANALYSIS;
  /** Facts changed since `analysis` was computed. */
  private analysisStale = true;
  private pool?: ScanPool;
  /** Files of the index in progress whose facts came from the facts cache (scan and expansion). */
  private cacheHits = 0;
  /** While the workspace is indexed (see EarlyIndex). */
  private early?: EarlyIndex;
  /** Indexing is in progress. */
  indexing = false;
  /** Resolves when the parser has loaded (documents are analysed after it). */
  readonly ready: Promise<void>;
  private log: Log;
  private changed: () => void;

  constructor(private opts: SessionOptions = {}) {
    this.ready = initParser().then(() => undefined);
    this.log = opts.log ?? (() => undefined);
    this.changed = opts.changed ?? (() => undefined);
  }

  // --- workspace ------------------------------------------------------------------------------

  /** files.exclude (globs over each folder); returns the globs ignored as too large. */
  setExclude(filesExclude: Record<string, unknown>): string[] {
    this.filesExclude = filesExclude;
    const { invalid } = excludeRules('/', filesExclude);
    this.excluded = excludeMatcher(this.folders.flatMap(f => excludeRules(f, filesExclude).rules));
    return invalid;
  }

  /** A new project, to be indexed from scratch; an index in progress is given up. Open documents stay. */
  reset(): void {
    this.project = new Project();
    this.filesByDir.clear();
    this.usedRipgrep = false;
    for (const d of this.docs.values()) this.refreshFacts(d);
  }

  /** No index is built (no folders, or the linter is off): an index in progress is given up. */
  stopIndexing(): void {
    ++this.indexGeneration;
    this.early = undefined;
  }

  /**
   * Indexes the workspace folders, with cancellable progress ("N of M files"). The directories of
   * open documents are read first, into a project of their own (EarlyIndex) that is expanded and
   * analysed at once: an open file whose callback is registered in another file of its driver
   * gets its findings without waiting for the rest of the tree.
   */
  async index(o: IndexOptions = {}): Promise<void> {
    const generation = ++this.indexGeneration;
    this.indexing = true;
    const project = this.project;
    const folders = this.folders;
    const early: EarlyIndex = {
      project: new Project(),
      first: new Map(folders.map(f => [f, []])),
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
    const progress = await o.started?.();
    const cancelled = () => !!progress?.cancelled();
    const started = Date.now();
    try {
      this.pool ??= new ScanPool(this.opts.workers ?? defaultWorkers(), 'workers');
      // The workers look up each file they parse in the facts cache; this thread saves what they add.
      const cacheDir = o.cacheDir;
      if (!cacheDir) this.pool.cache = undefined;
      else if (this.pool.cache?.file !== new FactsCache(cacheDir).file) this.pool.cache = new FactsCache(cacheDir);
      this.cacheHits = 0;
      let lastReport = 0;
      let lastText = '';
      for (const [i, folder] of folders.entries()) {
        const exclude = excludeRules(folder, this.filesExclude).rules;
        let last: ScanProgress | undefined;
        const res = await this.pool.scan([folder], [], {
          exclude,
          first: early.first.get(folder),
          isCancelled: () => cancelled() || generation !== this.indexGeneration,
          onBatch: b => {
            if (project === this.project) this.absorbBatch(b, early);
          },
          onProgress: p => {
            last = p;
            const now = Date.now();
            if (now - lastReport < 200 || !progress) return;
            const r = progressReport(p, i, folders.length);
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
          const r = progressReport({ ...last, listing: false }, i, folders.length);
          progress?.report(r.percentage, r.message);
        }
      }
      progress?.report(100, 'resolving names across files');
      this.log(`scanned in ${Date.now() - started} ms`);
      for (const w of await project.expand(this.expansionHost())) this.log(w);
      this.analysisStale = true;
      const fromCache = this.pool.cache ? `, ${this.cacheHits} of them from the facts cache` : '';
      this.log(
        `indexed ${folders.join(', ')} in ${Date.now() - started} ms${cancelled() ? ' (cancelled)' : ''}: ${project.index.fileCount} files parsed${fromCache}`,
      );
      const saveError = this.pool.saveCache();
      if (saveError) this.log(`facts cache not saved: ${saveError}`, 'warn');
    } catch (e) {
      this.log(`indexing failed: ${(e as Error).stack ?? e}`);
    } finally {
      progress?.done();
      if (this.early === early) this.early = undefined;
      if (generation === this.indexGeneration) this.indexing = false;
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
          this.analysisStale = true;
          this.changed();
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

  private expansionHost(): ExpansionHost {
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

  /** Stops the scan workers. */
  async dispose(): Promise<void> {
    await this.pool?.close();
  }

  // --- documents ------------------------------------------------------------------------------

  /**
   * A document opened (again: the old buffer is replaced). False: it is not analysed (too large,
   * binary, or its parse given up at the deadline), and the log says why.
   */
  open(key: string, version: number, text: string): boolean {
    // Opened again without a close: the old buffer's tree is freed.
    this.dropDoc(key);
    if (text.length > MAX_PARSE_BYTES) {
      this.log(`${key}: not analysed: too large (${text.length} characters)`);
      return false;
    }
    // As the CLI does (decodeSource): a NUL in the first 8 KiB marks a binary file.
    if (text.slice(0, 8192).includes('\0')) {
      this.log(`${key}: not analysed: binary file (contains NUL characters)`);
      return false;
    }
    let analysed: AnalysedDocument;
    try {
      analysed = new AnalysedDocument(key, text);
    } catch (e) {
      // The parse deadline (parser.ts ParseTimeout), or a parser failure: not analysed, as a
      // file too large is not.
      this.log(`${key}: not analysed: ${(e as Error).message}`);
      return false;
    }
    const doc: OpenDoc = { key, version, doc: analysed, stale: false };
    this.docs.set(key, doc);
    if (isFileKey(key)) this.addKnownFile(key);
    this.refreshFacts(doc);
    this.prioritize(key);
    return true;
  }

  /**
   * Edits of an open document, in order, and its new version. The facts follow when the analysis
   * runs (typing is faster than it). 'dropped': an edit did not fit the text (out of sync) or the
   * text grew too large; the document is no longer analysed (the log says why).
   */
  change(key: string, version: number, changes: readonly ContentChange[]): 'changed' | 'dropped' | 'not open' {
    const d = this.docs.get(key);
    if (!d) return 'not open';
    for (const c of changes) {
      if ('range' in c) {
        const idx = new LineIndex(d.doc.text);
        const start = offsetAt(idx, d.doc.text, c.range.start);
        const end = offsetAt(idx, d.doc.text, c.range.end);
        if (start === undefined || end === undefined || end < start) {
          // The client's text and ours no longer agree: analysing on would report and fix
          // the wrong places. The buffer is dropped until it is opened again.
          this.log(
            `${d.key}: invalid edit range ${JSON.stringify(c.range)} for version ${version}; the document is out of sync and no longer analysed (re-open it)`,
          );
          this.dropDoc(d.key);
          return 'dropped';
        }
        d.doc.edit(start, end, c.text, {
          start: { row: c.range.start.line, column: start - idx.lineStart(c.range.start.line) },
          end: { row: c.range.end.line, column: end - idx.lineStart(Math.min(c.range.end.line, idx.lineCount - 1)) },
        });
      } else {
        d.doc.setText(c.text);
      }
    }
    d.version = version;
    if (d.doc.text.length > MAX_PARSE_BYTES) {
      this.log(`${d.key}: no longer analysed: too large (${d.doc.text.length} characters, limit ${MAX_PARSE_BYTES})`);
      this.dropDoc(d.key);
      return 'dropped';
    }
    d.stale = true;
    return 'changed';
  }

  /** A document saved: its edits are analysed now (false: not open). */
  save(key: string): boolean {
    const d = this.docs.get(key);
    if (!d) return false;
    if (d.stale) this.refreshFacts(d);
    return true;
  }

  /** A document closed: the disk version takes over again (an unsaved edit is gone with the buffer). */
  close(key: string): boolean {
    const d = this.docs.get(key);
    if (!d) return false;
    this.docs.delete(key);
    d.doc.dispose();
    this.reloadFromDisk(key);
    return true;
  }

  /** The open document, as it is now. */
  document(key: string): DocumentState | undefined {
    const d = this.docs.get(key);
    return d && { key: d.key, version: d.version, text: d.doc.text, stale: d.stale };
  }

  documents(): DocumentState[] {
    return [...this.docs.keys()].map(k => this.document(k)!);
  }

  /**
   * Files changed on disk (the editor's file watcher). Open buffers win over the disk; excluded
   * files are not the workspace's. False: none of them matters; else the index expands again
   * in the background (the session says `changed` when it has).
   */
  filesChanged(changes: readonly { key: string; deleted: boolean }[]): boolean {
    const changed: string[] = [];
    for (const { key, deleted } of changes) {
      if (!isFileKey(key) || !isCSource(key) || this.docs.has(key) || this.excluded(key)) continue;
      changed.push(key);
      if (deleted) {
        this.removeFile(key);
        this.filesByDir.get(path.dirname(key))?.delete(key);
      } else {
        this.addKnownFile(key);
        // A file the index holds is read again; a new one only if the scan would have parsed
        // it (a branch switch touches thousands of files that do not matter).
        this.reloadFromDisk(key, !this.project.index.has(key));
      }
    }
    if (changed.length === 0) return false;
    this.project.forgetTried(changed);
    this.analysisStale = true;
    this.project.expand(this.expansionHost()).then(
      ws => {
        for (const w of ws) this.log(w);
        this.analysisStale = true;
        this.changed();
      },
      e => this.log(`expanding the index failed: ${(e as Error).stack ?? e}`),
    );
    return true;
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

  /** Reads a file from disk into the index (`onlyIfSeed`: only if it mentions the virtqueue APIs). */
  private reloadFromDisk(key: string, onlyIfSeed = false): void {
    this.analysisStale = true;
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

  /** Re-extracts an open document's facts; a failure skips the file, it never stops the session. */
  private refreshFacts(d: OpenDoc): void {
    d.stale = false;
    this.analysisStale = true;
    this.safely(d.key, () => {
      this.opts.beforeExtract?.(d.key);
      this.setFacts(d.doc.facts());
    });
  }

  private safely(key: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.removeFile(key);
      // A parse given up at the deadline is the text's, not a bug: its message, no stack.
      if (e instanceof ParseTimeout) this.log(`${key}: not analysed: ${e.message}`, 'warn');
      else this.log(`${key}: analysis failed, file skipped: ${(e as Error).stack ?? e}`);
    }
  }

  // --- the analysis ---------------------------------------------------------------------------

  /** Settings or facts changed: the next freshen() analyses again. */
  invalidate(): void {
    this.analysisStale = true;
  }

  /**
   * Brings the facts of edited buffers (`withEdits`) and the analysis up to date: for a command
   * or a code action, which must edit the text as it is now, or for diagnostics.
   */
  freshen(withEdits = true): Analysis {
    if (withEdits) for (const d of this.docs.values()) if (d.stale) this.refreshFacts(d);
    if (!this.analysisStale) return this.analysisNow;
    const view = this.view;
    this.linkWrappers(view);
    this.analysisStale = false;
    view.rules = this.rules;
    this.analysisNow = this.enabled ? view.analyse() : NO_ANALYSIS;
    return this.analysisNow;
  }

  /**
   * Lock wrappers across the files of a driver, as the CLI links them (Project.linkWrappers()):
   * a file, open or on disk, that calls a wrapper of another file of its directory (a header's
   * `static inline` lock helper or macro) is extracted again with it, and again whenever the
   * wrappers it calls change (an edit to the header). A few rounds: a file's own wrappers may
   * take a lock through another file's.
   */
  private linkWrappers(project: Project): void {
    for (let round = 0; round < 3; round++) {
      const jobs = project.wrapperJobs();
      if (jobs.length === 0) return;
      for (const { file, extra } of jobs) {
        const d = this.docs.get(file);
        if (d) {
          d.doc.setDriverWrappers(extra);
          this.refreshFacts(d);
          continue;
        }
        const read = isFileKey(file) ? readRegularFile(file) : undefined;
        if (!read?.ok) {
          this.removeFile(file);
          continue;
        }
        this.safely(file, () => {
          const res = factsFromBytes(file, read.snapshot.bytes, extra);
          if (res.facts) this.setFacts(res.facts);
          else this.removeFile(file);
        });
      }
    }
  }

  /** The findings, suppressions and unused suppressions as last analysed (see freshen()). */
  get analysis(): Analysis {
    return this.analysisNow;
  }

  /** Test access: the open buffers, with their incremental documents. */
  get buffers(): ReadonlyMap<string, { readonly doc: AnalysedDocument }> {
    return this.docs;
  }

  /** How many files the index holds. */
  get indexedFileCount(): number {
    return this.project.index.fileCount;
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

  // --- what follows from the findings ---------------------------------------------------------

  /** An open document's fixes (after freshen()); undefined: not open, or no facts. */
  fixes(key: string): DocumentFixes | undefined {
    const d = this.docs.get(key);
    if (!d) return undefined;
    this.freshen();
    const facts = this.view.index.get(key);
    if (!facts) return undefined;
    const text = d.doc.text;
    const inFile = this.analysisNow.findings.filter(f => f.file === key);
    return {
      key,
      version: d.version,
      text,
      quickFix: f => {
        const q = quickFix(f, facts, text);
        return q && (q.ok ? { ok: true, title: q.title, edits: rangeEdits(text, q.edits) } : q);
      },
      fixAll: () => {
        const res = fixAllEdits(inFile, facts, text);
        return res.edits.length ? rangeEdits(text, res.edits) : undefined;
      },
      suppression: f => suppressionPoint(f, facts, text),
    };
  }

  /**
   * Fix-all of an open document, against its current text (undefined: no facts). Edits go only
   * to an open document, with its version: for a file on disk an editor would apply them to
   * whatever the disk holds by then.
   */
  fixAll(key: string): { version: number; edits: RangeEdit[]; fixed: number; refused: string[] } | undefined {
    if (!this.docs.has(key)) return undefined;
    const { text, facts, version } = this.current(key);
    if (!facts) return undefined;
    const res = fixAllEdits(
      this.analysisNow.findings.filter(f => f.file === key),
      facts,
      text,
    );
    return { version: version!, edits: rangeEdits(text, res.edits), fixed: res.fixed.length, refused: res.refused.map(r => r.reason) };
  }

  /** The input of the kernel patch for a file (see PatchInput), or why there is none. */
  patchInput(key: string): PatchInput | { error: string } {
    const { text, facts } = this.current(key);
    const findings = this.analysisNow.findings.filter(f => f.file === key && isPatched(f));
    if (!facts || findings.length === 0) return { error: 'no VRL001 finding in this file' };
    // A patch is UTF-8 text against the bytes on disk: other encodings would not apply.
    const read = isFileKey(key) ? readRegularFile(key) : undefined;
    const onDisk = read?.ok ? decodeSource(read.snapshot.bytes) : undefined;
    const notUtf8 = onDisk?.ok && onDisk.encoding !== 'utf8' ? onDisk.encoding : undefined;
    return { file: key, text, findings, facts, ...(notUtf8 ? { notUtf8 } : {}) };
  }

  /** What simulate explores for a file and an optional 0-based line (api/simulate.ts), on the findings now. */
  simulationTargets(key: string, line: number | undefined, o: { first?: boolean } = {}): SimulationTargets {
    this.freshen();
    return simulationTargets(this.analysisNow.findings, this.view.index, key, line, o);
  }

  /** An open buffer of `file` (or of a path naming the same file) differs from the disk. */
  unsaved(file: string): boolean {
    return [...this.docs.values()].some(d => {
      if (d.key !== file && realPath(d.key) !== realPath(file)) return false;
      const r = readRegularFile(d.key);
      const t = r.ok ? decodeSource(r.snapshot.bytes) : undefined;
      return !t?.ok || t.text !== d.doc.text;
    });
  }
}

/** A path on disk (absolute), not a front end's name for a buffer. */
function isFileKey(key: string): boolean {
  return path.isAbsolute(key);
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

/**
 * A position as an offset; a character past the end of its line means the line's end (as the
 * LSP says). Undefined when the position is not one: negative or fractional numbers, or a line
 * past the end of the text (the line just after it, character 0, is the end).
 */
function offsetAt(idx: LineIndex, text: string, pos: Position): number | undefined {
  if (!pos || !Number.isSafeInteger(pos.line) || !Number.isSafeInteger(pos.character) || pos.line < 0 || pos.character < 0)
    return undefined;
  if (pos.line >= idx.lineCount) return pos.line === idx.lineCount && pos.character === 0 ? text.length : undefined;
  const start = idx.lineStart(pos.line);
  const end = pos.line + 1 < idx.lineCount ? idx.lineStart(pos.line + 1) - 1 : text.length;
  return Math.min(start + pos.character, end);
}
