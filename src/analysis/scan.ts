// Finding and reading C files. A whole kernel tree is 60,000 files: the walk, the reads, the
// byte-level prefilter and the parse of the few hundred files that matter are spread over a
// pool of worker threads, which also walk the directories (each reply hands back the
// subdirectories it found, so no thread waits on a serial walk). Small inputs are scanned
// in-process with the same code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { FileFacts } from './facts';
import { FactsCache } from './factsCache';
import { containsVirtqueue, factsFromBytes, isSeed, mentionsAny } from './fileFacts';
import { NOT_UTF8_NAME, notUtf8Name, OPEN_FOR_READ } from './fileRead';
import { excludeMatcher, type ExcludeRule } from './glob';
import { initParser } from './parser';
import { MAX_PARSE_BYTES } from './source';

export interface ScanStats {
  filesRead: number;
  bytes: number;
  filesParsed: number;
  prefilter?: 'ripgrep' | 'builtin';
  /** With a facts cache: files whose facts came from it, and files parsed (not in it). */
  cacheHits?: number;
  cacheMisses?: number;
  /** Where the time went, for bench/ (VRL_STATS): milliseconds. */
  ms?: Record<string, number>;
}

/** Milliseconds spent in parseOne() on this thread (parse and facts, or a cache look-up). */
export const parseClock = { ms: 0 };

export interface ScanResult {
  facts: FileFacts[];
  warnings: string[];
  /** Files and directories that could not be read (permission, I/O): `path: reason`. */
  errors: string[];
  /** Every C file seen (parsed or not); with the ripgrep prefilter, only its candidates. */
  files: string[];
  stats: ScanStats;
}

/**
 * How far a scan is: `done` of `total` files read (and parsed where the prefilter says so).
 * `total` counts ripgrep's candidates, or the C files the built-in walk has found, plus the files
 * of directories read first; while `listing` it may still grow.
 */
export interface ScanProgress {
  done: number;
  total: number;
  listing: boolean;
}

/** One unit's results, for a caller that uses them before the scan ends (ScanOptions.onBatch). */
export interface ScanBatch {
  facts: FileFacts[];
  files: string[];
  /** Directories asked for first (ScanOptions.first) whose C files are all read now. */
  dirsDone: string[];
}

/** Where work comes from: `'wait'` means more will come (subscribe's callback says when). */
interface WorkSource {
  next(id: number): WorkRequest | 'wait' | undefined;
  onReply?(r: WorkReply): void;
  subscribe?(kick: () => void): void;
  rgUsed?: boolean;
}

interface RequestBase {
  id: number;
  all: boolean;
  exclude: ExcludeRule[];
  /** Send back the bytes of files worth parsing instead of parsing them (the caller parses). */
  returnBytes: boolean;
  /** The pool's facts cache file (factsCache.ts): a worker reads it once and looks files up there. */
  cacheFile?: string;
}

export type WorkRequest =
  | (RequestBase & { kind: 'dirs'; paths: string[] })
  | (RequestBase & { kind: 'files'; paths: string[] })
  /** Parse each file only if it defines one of its names (the expansion step). */
  | (RequestBase & { kind: 'match'; paths: string[]; names: string[][] });

export interface WorkReply {
  id: number;
  subdirs: string[];
  files: string[];
  facts: FileFacts[];
  /** With returnBytes: the files to parse, unparsed. */
  toParse: { file: string; bytes: Uint8Array }[];
  warnings: string[];
  errors: string[];
  bytes: number;
  read: number;
  parsed: number;
  /** With a cache: facts found in it, and files parsed. */
  cacheHits: number;
  cacheMisses: number;
  /** From a worker: the cache entries of the files it parsed (the pool's cache keeps them), and the keys it found. */
  cacheNew: [string, Uint8Array][];
  cacheUsed: string[];
}

export function isCSource(name: string): boolean {
  const n = name.length;
  return n > 2 && name.charCodeAt(n - 2) === 46 && (name.charCodeAt(n - 1) === 99 || name.charCodeAt(n - 1) === 104);
}

/**
 * Reads a whole file into `buf`, growing it if needed; returns a view of the bytes read. A read
 * that returns less than it asked for is taken as the end of a regular file (Linux reads regular
 * files in full short of EOF), which saves the second read() on every one of 60,000 files.
 * Only regular files are read (opened non-blocking, checked with fstat: a FIFO or a device named
 * *.c would block or never end), and a file over MAX_PARSE_BYTES is refused before any read.
 */
export function readFileInto(file: string, buf: Buffer): { buffer: Buffer; bytes: Buffer } {
  const fd = fs.openSync(file, OPEN_FOR_READ);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    if (st.size > MAX_PARSE_BYTES)
      throw Object.assign(new Error(`too large to analyse (${st.size} bytes, limit ${MAX_PARSE_BYTES})`), { code: 'ETOOLARGE' });
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (len > MAX_PARSE_BYTES)
          throw Object.assign(new Error(`too large to analyse (over ${MAX_PARSE_BYTES} bytes)`), { code: 'ETOOLARGE' });
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const want = buf.length - len;
      const r = fs.readSync(fd, buf, len, want, null);
      len += r;
      if (r < want) break;
    }
    return { buffer: buf, bytes: buf.subarray(0, len) };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether a file too large to read whole contains "virtqueue", read in 1 MiB pieces (the
 * literal can straddle two), and the bytes read. Not found if it cannot be read.
 */
export function searchForVirtqueue(file: string): { found: boolean; bytes: number } {
  let fd: number | undefined;
  let bytes = 0;
  try {
    fd = fs.openSync(file, OPEN_FOR_READ);
    if (!fs.fstatSync(fd).isFile()) return { found: false, bytes };
    const keep = 'virtqueue'.length - 1;
    const buf = Buffer.allocUnsafe(1 << 20);
    let have = 0;
    for (let r; (r = fs.readSync(fd, buf, have, buf.length - have, null)) > 0;) {
      bytes += r;
      have += r;
      if (containsVirtqueue(buf.subarray(0, have))) return { found: true, bytes };
      const from = Math.max(0, have - keep);
      buf.copy(buf, 0, from, have);
      have -= from;
    }
    return { found: false, bytes };
  } catch {
    return { found: false, bytes };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Does one unit of scanning: lists directories (not recursively) or takes named files, reads
 * each C file, and parses it when `all` is set or the prefilter says it matters.
 */
export class UnitProcessor {
  private buf: Buffer = Buffer.allocUnsafe(1 << 22);
  private exclude: (p: string) => boolean = () => false;
  private excludeKey = '';
  private returnBytes = false;
  /**
   * The parser is loaded (initParser). A worker with a cache loads it only when a file is not in
   * the cache: until then, such files wait in `deferred` (see parseDeferred).
   */
  parserReady = true;
  readonly deferred: { file: string; bytes: Buffer; names?: string[] }[] = [];

  /**
   * `cache`: facts of earlier runs (see factsCache.ts). In a worker (`inWorker`) it is the file
   * each request names, read once, and the reply says what was found and what was parsed, for
   * the pool to save; the facts parsed here are kept for the worker's later requests too.
   */
  constructor(
    public cache?: FactsCache,
    private inWorker = false,
  ) {}

  process(req: WorkRequest): WorkReply {
    const key = JSON.stringify(req.exclude);
    if (key !== this.excludeKey) {
      this.excludeKey = key;
      this.exclude = excludeMatcher(req.exclude);
    }
    const reply: WorkReply = {
      id: req.id,
      subdirs: [],
      files: [],
      facts: [],
      toParse: [],
      warnings: [],
      errors: [],
      bytes: 0,
      read: 0,
      parsed: 0,
      cacheHits: 0,
      cacheMisses: 0,
      cacheNew: [],
      cacheUsed: [],
    };
    this.returnBytes = req.returnBytes;
    if (this.inWorker && this.cache?.file !== req.cacheFile)
      this.cache = req.cacheFile ? new FactsCache(undefined, req.cacheFile) : undefined;
    if (req.kind === 'files') {
      for (const f of req.paths) this.file(f, req.all, reply);
      return reply;
    }
    if (req.kind === 'match') {
      req.paths.forEach((f, i) => this.file(f, false, reply, req.names[i]));
      return reply;
    }
    for (const dir of req.paths) {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        // Gone since it was listed: nothing to read. Otherwise the tree was not fully read.
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && notUtf8Name(dir)) reply.errors.push(`${dir}: ${NOT_UTF8_NAME}`);
        else if (code !== 'ENOENT') reply.errors.push(`${dir}: ${errnoText(e)}`);
        continue;
      }
      for (const e of entries) {
        const p = dir.endsWith('/') ? dir + e.name : `${dir}/${e.name}`;
        if (e.isDirectory()) {
          if (e.name === '.git' || e.name === 'node_modules' || this.excluded(p + '/')) continue;
          reply.subdirs.push(p);
        } else if (e.isFile() && isCSource(e.name) && !this.excluded(p)) {
          this.file(p, req.all, reply);
        }
      }
    }
    return reply;
  }

  private excluded(p: string): boolean {
    return this.exclude(p);
  }

  private file(file: string, all: boolean, reply: WorkReply, names?: string[]): void {
    if (!names) reply.files.push(file);
    let bytes: Buffer;
    try {
      const r = readFileInto(file, this.buf);
      this.buf = r.buffer;
      bytes = r.bytes;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A name that is not UTF-8 was listed, but its decoded string names no file.
      if (code === 'ENOENT' && notUtf8Name(file)) {
        (names ? reply.warnings : reply.errors).push(`${file}: ${NOT_UTF8_NAME}`);
        return;
      }
      // Too large to analyse, in a directory: it matters (and is worth a warning) only if it is a
      // candidate, one ripgrep would list (one it did list is searched again, and found). Kernel
      // trees hold dozens of generated register headers over the limit that name no virtqueue.
      if (code === 'ETOOLARGE' && !all && !names) {
        const searched = searchForVirtqueue(file);
        reply.read++;
        reply.bytes += searched.bytes;
        if (!searched.found) return;
      }
      // Not a C source after all, or too large: skipped with a warning. A file that cannot be
      // read is an error (README: exit 2), unless it went away since it was listed.
      if (code === 'ENOTREG' || code === 'ETOOLARGE' || code === 'ENOENT' || names)
        reply.warnings.push(`${file}: skipped: ${errnoText(e)}`);
      else reply.errors.push(`${file}: ${errnoText(e)}`);
      return;
    }
    reply.read++;
    reply.bytes += bytes.length;
    if (names ? !mentionsAny(bytes, names) : !all && !isSeed(bytes)) return;
    if (this.returnBytes) {
      reply.toParse.push({ file, bytes: Uint8Array.prototype.slice.call(bytes) });
      return;
    }
    this.parseInto(file, bytes, reply, names);
  }

  /** Parses the files deferred until the parser was loaded (set parserReady first). */
  parseDeferred(reply: WorkReply): void {
    for (let d = this.deferred.shift(); d; d = this.deferred.shift()) this.parseInto(d.file, d.bytes, reply, d.names);
  }

  private parseInto(file: string, bytes: Buffer, reply: WorkReply, names?: string[]): void {
    const res = parseOne(file, bytes, this.cache, this.parserReady);
    if (res.deferred) {
      this.deferred.push({ file, bytes: Buffer.from(bytes), names });
      return;
    }
    if (res.cached) {
      if (res.cached.hit) reply.cacheHits++;
      else reply.cacheMisses++;
      if (this.inWorker && res.cached.hit) reply.cacheUsed.push(res.cached.key);
      else if (this.inWorker && res.cached.bytes) reply.cacheNew.push([res.cached.key, res.cached.bytes]);
    }
    if (res.warning) reply.warnings.push(res.warning);
    // A neighbour read for a name may fail quietly; a file in scope that could not be analysed
    // leaves the check incomplete.
    if (res.error) (names ? reply.warnings : reply.errors).push(res.error);
    if (res.facts) {
      reply.facts.push(res.facts);
      reply.parsed++;
    }
  }
}

/**
 * Parses one file's bytes, never throwing: a file skipped on purpose (binary, too large) is a
 * warning; an analysis that failed (20,000 nested #if exhaust the stack) is an error.
 */
export function parseOne(
  file: string,
  bytes: Buffer,
  cache?: FactsCache,
  canParse = true,
): { facts?: FileFacts; warning?: string; error?: string; deferred?: boolean; cached?: { key: string; hit: boolean; bytes?: Uint8Array } } {
  const t0 = performance.now();
  try {
    // Decoding copies the bytes into a string, so `bytes` may be a reused buffer.
    if (!cache) return factsFromBytes(file, bytes);
    const key = FactsCache.key(file, bytes);
    const hit = cache.get(key);
    if (hit) return { ...hit, cached: { key, hit: true } };
    // Not in the cache, and the parser is not loaded yet: the caller parses it later.
    if (!canParse) return { deferred: true };
    const res = factsFromBytes(file, bytes);
    return { ...res, cached: { key, hit: false, bytes: cache.set(key, res) } };
  } catch (e) {
    return { error: `${file}: not analysed: analysis failed: ${String((e as Error)?.message ?? e).split('\n')[0]}` };
  } finally {
    parseClock.ms += performance.now() - t0;
  }
}

export function errnoText(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'Permission denied';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'EISDIR':
      return 'Is a directory';
    case 'ELOOP':
      return 'Too many levels of symbolic links';
    case 'ENOTREG':
      return 'not a regular file';
    default:
      return (e as Error).message;
  }
}

export interface ScanOptions {
  /** Parse every file, not only those that mention the virtqueue APIs. */
  all?: boolean;
  /** Worker threads; 0 scans in-process. Default: one per CPU (at most 4). */
  workers?: number;
  /** files.exclude globs of the folders scanned (see glob.ts); directories are tested with a trailing '/'. */
  exclude?: ExcludeRule[];
  /** Called after each unit of work (see ScanProgress). */
  onProgress?: (p: ScanProgress) => void;
  /**
   * Directories to read first, each alone (not its subdirectories), before the rest of the tree:
   * the language server's open documents. The scan takes them out of this array as it goes, so
   * the caller may push more while it runs (then ScanPool.wake()). Their files are read whether
   * or not ripgrep lists them, and the prefilter applies as to any other file.
   */
  first?: string[];
  /**
   * Each unit's results as they arrive (facts, the files read, and the directories of `first`
   * now fully read); the ScanResult still holds them all at the end. Also makes an in-process
   * scan yield to the event loop between units.
   */
  onBatch?: (b: ScanBatch) => void;
  /** Checked between units; a cancelled scan returns what it has. */
  isCancelled?: () => boolean;
  /**
   * How directories are searched for files worth parsing: 'ripgrep' (rg must be installed),
   * 'builtin' (our own walk and byte search), or 'auto' (rg when found; the default).
   */
  prefilter?: 'auto' | 'ripgrep' | 'builtin';
}

/**
 * What rg looks for: "virtqueue", as a fixed string. Every seed token of isSeed()
 * (fileFacts.ts SEED_TOKENS) needs it there too, and a candidate rg lists is read and checked
 * again by isSeed(), so the two cannot disagree. One literal is cheaper for rg than the
 * alternation of the seed tokens (about 15% less CPU over a kernel tree, measured), and it lists
 * about 110 files instead of 50: reading and rejecting the other 60 costs a few milliseconds.
 */
const RG_PATTERN = 'virtqueue';

let rgPath: string | null | undefined;

/** The rg binary: $VRL_RG, else `rg` on PATH; undefined if absent (or required and missing: throws). */
export function ripgrep(required = false): string | undefined {
  if (rgPath === undefined) {
    const cand = process.env.VRL_RG || 'rg';
    const r = spawnSync(cand, ['--version'], { encoding: 'utf8' });
    rgPath = r.status === 0 ? cand : null;
  }
  if (!rgPath && required) throw new Error('ripgrep (rg) is not installed; use the built-in prefilter');
  return rgPath ?? undefined;
}

/**
 * Runs rg listing files (no ignore files, no symlinks followed, only .c/.h) and streams each
 * path. Paths end with NUL (--null), so a name holding a newline is one path, not two.
 */
function rgFiles(rg: string, args: string[], onFile: (f: string) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      rg,
      ['--files-with-matches', '--null', '--no-ignore', '--hidden', '--no-messages', '--no-config', '-g', '*.[ch]', ...args],
      { stdio: ['ignore', 'pipe', 'ignore'], ...(signal ? { signal } : {}) },
    );
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\0');
      rest = lines.pop()!;
      for (const l of lines) if (l) onFile(l);
    });
    child.on('error', reject);
    // rg exits 1 when nothing matched: not an error.
    child.on('close', code => {
      if (rest) onFile(rest);
      if (code === 0 || code === 1) resolve();
      else reject(new Error(`rg exited with ${code}`));
    });
  });
}

/** Streams the candidate files rg finds under `dirs` (until `signal` aborts: rg is killed). */
function listCandidates(rg: string, dirs: string[], onFile: (f: string) => void, signal?: AbortSignal): Promise<void> {
  return rgFiles(rg, ['-g', '!.git', '-F', '-e', RG_PATTERN, '--', ...dirs], onFile, signal);
}

/**
 * The .c/.h files directly in each directory that mention virtio (the files a driver's helpers
 * can be in, see mentions()), found by ripgrep; undefined without it.
 */
export function driverFilesWithRipgrep(dirs: string[]): Promise<Map<string, string[]>> | undefined {
  const rg = ripgrep();
  if (!rg || dirs.length === 0) return undefined;
  const out = new Map<string, string[]>(dirs.map(d => [d, []]));
  return rgFiles(rg, ['--max-depth', '1', '-e', 'virtio|virtqueue', '--', ...dirs], f => out.get(path.dirname(f))?.push(f)).then(
    () => out,
    () => out,
  );
}

/**
 * Where parsing happens with a worker pool. 'workers' keeps the calling thread free (the
 * language server); 'caller' has the workers only walk, read and filter, and parses on the
 * calling thread, where the extraction code is already warm: for a one-shot scan of a tree this
 * is the faster split, since each worker would otherwise compile the same code afresh.
 */
export type ParseSite = 'workers' | 'caller';

function workerScript(): string | undefined {
  const p = path.join(__dirname, 'scanWorker.js');
  return fs.existsSync(p) ? p : undefined;
}

export function defaultWorkers(): number {
  return Math.min(4, Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
}

/**
 * A pool of scan workers (or, with zero workers, the same processing in-process). Stays alive
 * across calls, so a scan and the expansion step that follows share the loaded parsers.
 */
export class ScanPool {
  private workers: Worker[] = [];
  private inProcess?: UnitProcessor;
  private nextId = 0;
  /** The run in progress: the workers answer one run at a time, so runs queue here. */
  private busy: Promise<unknown> = Promise.resolve();
  /** The run in progress, if any: units handed to it ahead of its own (see inject()). */
  private active?: { extra: { make: (id: number) => WorkRequest; reply: (r: WorkReply) => void }[]; wake: () => void };

  /**
   * `cache`: facts of earlier runs, looked up wherever files are parsed (the workers read the
   * same file; what they parse is merged here); saveCache() writes it. May be changed between runs.
   */
  constructor(
    count: number,
    private parseSite: ParseSite = 'workers',
    public cache?: FactsCache,
  ) {
    const script = count > 0 ? workerScript() : undefined;
    if (script) {
      this.workers = Array.from({ length: count }, () => new Worker(script));
      // An idle pool must not keep a process alive; a scan in progress has its own promise.
      for (const w of this.workers) w.unref();
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Walks directories recursively and reads the given files, parsing what matters. */
  async scan(dirs: string[], files: string[], opts: ScanOptions = {}): Promise<ScanResult> {
    const all = !!opts.all;
    const exclude = opts.exclude ?? [];
    const excluded = excludeMatcher(exclude);
    const dirQueue = [...dirs];
    const fileQueue = [...files];
    /** Directories to read first, and those taken so (never walked or listed again). */
    const urgent: string[] = [];
    const urgentTaken = new Set<string>();
    const urgentUnits = new Map<number, string>();
    /** Units (by id) that list directories of the walk, not yet answered. */
    const dirUnits = new Set<number>();
    /** Directories queued or walked, so a directory read first is not walked twice. */
    const known = new Set<string>(dirs);
    let walking = true;
    let total = files.length;
    let done = 0;
    // With ripgrep, it lists the candidate files of the directories (it reads every byte faster
    // than any JavaScript can), and the workers read and parse only those.
    const rg = !all && dirs.length && opts.prefilter !== 'builtin' ? ripgrep(opts.prefilter === 'ripgrep') : undefined;
    let rgDone = true;
    let kick = () => {};
    // A cancelled scan stops ripgrep too (else a scan started again would share the disk with it).
    const abort = new AbortController();
    const cancelled = () => {
      if (!opts.isCancelled?.()) return false;
      abort.abort();
      return true;
    };
    const rgStart = performance.now();
    let rgMs = 0;
    if (rg) {
      rgDone = false;
      walking = false;
      dirQueue.length = 0;
      listCandidates(
        rg,
        dirs,
        f => {
          if (excluded(f) || urgentTaken.has(path.dirname(f))) return;
          fileQueue.push(f);
          total++;
          kick();
        },
        abort.signal,
      ).then(
        () => {
          rgDone = true;
          rgMs = performance.now() - rgStart;
          kick();
        },
        () => {
          if (abort.signal.aborted) {
            rgDone = true;
            kick();
            return;
          }
          // rg failed: walk the directories ourselves.
          walking = true;
          for (const d of dirs) known.add(d);
          dirQueue.push(...dirs);
          rgDone = true;
          kick();
        },
      );
    }
    const prioritize = (ds: string[]) => {
      for (const d of ds) {
        if (urgentTaken.has(d) || urgent.includes(d) || excluded(d + '/')) continue;
        urgent.push(d);
      }
    };
    const source: WorkSource = {
      next: id => {
        if (cancelled()) return undefined;
        if (opts.first?.length) prioritize(opts.first.splice(0));
        // With rg the workers have little to read, so they parse too (in parallel).
        const returnBytes = rg ? false : this.returnBytes;
        // Directories asked for first: listed alone, parsed by the workers (their results are
        // wanted now, not at the end).
        const first = urgent.shift();
        if (first !== undefined) {
          urgentTaken.add(first);
          known.add(first);
          urgentUnits.set(id, first);
          return { id, kind: 'dirs', paths: [first], all, exclude, returnBytes: false };
        }
        // Candidates from rg come a few at a time, to spread the parsing over the workers.
        while (fileQueue.length) {
          const taken = fileQueue.splice(0, rg ? 2 : 64);
          // A directory read first since rg listed these: its files are read already.
          const paths = rg ? taken.filter(f => !urgentTaken.has(path.dirname(f))) : taken;
          total -= taken.length - paths.length;
          if (paths.length) return { id, kind: 'files', paths, all, exclude, returnBytes };
        }
        // Few directories per unit while the queue is short, so that the walk fans out quickly.
        while (dirQueue.length) {
          const paths = dirQueue.splice(0, Math.max(1, Math.min(32, dirQueue.length >> 3))).filter(d => !urgentTaken.has(d));
          if (paths.length) {
            dirUnits.add(id);
            return { id, kind: 'dirs', paths, all, exclude, returnBytes };
          }
        }
        return rgDone ? undefined : 'wait';
      },
      onReply: r => {
        const dir = urgentUnits.get(r.id);
        urgentUnits.delete(r.id);
        // Files found by listing a directory count when read; rg's and the given ones when queued.
        if (dir !== undefined || dirUnits.delete(r.id)) total += r.files.length;
        done += r.files.length;
        if (walking)
          for (const d of r.subdirs)
            if (!known.has(d)) {
              known.add(d);
              dirQueue.push(d);
            }
        opts.onBatch?.({ facts: r.facts, files: r.files, dirsDone: dir === undefined ? [] : [dir] });
        opts.onProgress?.({ done, total, listing: !rgDone || (walking && (dirQueue.length > 0 || dirUnits.size > 0)) });
      },
      subscribe: k => {
        kick = k;
      },
      rgUsed: !!rg,
    };
    const res = await this.run(source, opts);
    if (rg) res.stats.ms = { rg: rgMs };
    return res;
  }

  /** Has the run in progress look for work again (ScanOptions.first grew). */
  wake(): void {
    this.active?.wake();
  }

  /**
   * Parses each candidate that defines one of its names. During a scan the units go ahead of
   * the scan's own (the language server expands the open documents' directories while the rest
   * of the tree is still read); otherwise they run after the runs queued.
   */
  async parseMatching(candidates: { file: string; names: string[] }[]): Promise<ScanResult> {
    // After the scan the workers are idle: they parse the few files the expansion asks for.
    const unit = (id: number, part: { file: string; names: string[] }[]): WorkRequest => ({
      id,
      kind: 'match',
      paths: part.map(c => c.file),
      names: part.map(c => c.names),
      all: false,
      exclude: [],
      returnBytes: false,
    });
    if (this.active && candidates.length) return this.inject(candidates, unit);
    const queue = [...candidates];
    return this.run({ next: id => (queue.length ? unit(id, queue.splice(0, 2)) : undefined) }, {});
  }

  /** Hands units to the run in progress, ahead of its own; resolves with their results. */
  private inject(
    candidates: { file: string; names: string[] }[],
    unit: (id: number, part: { file: string; names: string[] }[]) => WorkRequest,
  ): Promise<ScanResult> {
    const active = this.active!;
    const result = emptyResult();
    let left = 0;
    return new Promise(resolve => {
      for (let i = 0; i < candidates.length; i += 2) {
        const part = candidates.slice(i, i + 2);
        left++;
        active.extra.push({
          make: id => unit(id, part),
          reply: r => {
            absorbInto(result, r);
            if (--left === 0) {
              finish(result);
              resolve(result);
            }
          },
        });
      }
      active.wake();
    });
  }

  private get returnBytes(): boolean {
    return this.workers.length > 0 && this.parseSite === 'caller';
  }

  /** Runs after the runs already queued (a scan and an expansion may be asked for at once). */
  private run(src: WorkSource, opts: ScanOptions): Promise<ScanResult> {
    const mine = this.busy.then(() => this.runNow(src, opts));
    this.busy = mine.catch(() => undefined);
    return mine;
  }

  private async runNow(src: WorkSource, opts: ScanOptions): Promise<ScanResult> {
    const result = emptyResult();
    let wakeup = () => {};
    const active: NonNullable<ScanPool['active']> = { extra: [], wake: () => wakeup() };
    this.active = active;
    src.subscribe?.(() => wakeup());
    /** Units injected by inject(), by id: their replies go to their own callers. */
    const routes = new Map<number, (r: WorkReply) => void>();
    const cacheFile = this.cache?.file;
    const withCache = <T>(req: T): T => (cacheFile && typeof req === 'object' && req ? { ...req, cacheFile } : req);
    const next = (): WorkRequest | 'wait' | undefined => {
      const id = this.nextId++;
      const x = active.extra.shift();
      if (x) {
        routes.set(id, x.reply);
        return withCache(x.make(id));
      }
      return withCache(src.next(id));
    };
    /** Ends the run: called in the same turn as the last next() that said so (nothing injected is lost). */
    const end = () => {
      if (this.active === active) this.active = undefined;
    };
    const pending: { file: string; bytes: Uint8Array }[] = [];
    const absorb = (r: WorkReply) => {
      if (r.cacheNew?.length || r.cacheUsed?.length) this.cache?.merge(r.cacheNew, r.cacheUsed);
      const route = routes.get(r.id);
      if (route) {
        routes.delete(r.id);
        route(r);
        return;
      }
      pending.push(...r.toParse);
      absorbInto(result, r);
      src.onReply?.(r);
    };
    // The workers start reading while this thread loads the parser; what they send back waits
    // for it (a reply can come first on a loaded machine).
    let parserLoaded = !this.returnBytes;
    if (this.returnBytes)
      initParser().then(
        () => {
          parserLoaded = true;
          drain();
        },
        () => undefined,
      );
    /** Parses what workers sent back, in between their replies. */
    const drain = () => {
      if (!parserLoaded) return;
      for (let p = pending.shift(); p; p = pending.shift()) {
        const res = parseOne(p.file, Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength), this.cache);
        if (res.cached) countCache(result, res.cached.hit ? 1 : 0, res.cached.hit ? 0 : 1);
        if (res.warning) result.warnings.push(res.warning);
        if (res.error) result.errors.push(res.error);
        if (res.facts) {
          result.facts.push(res.facts);
          result.stats.filesParsed++;
          opts.onBatch?.({ facts: [res.facts], files: [], dirsDone: [] });
        }
      }
    };
    try {
      if (this.workers.length === 0) {
        await initParser();
        this.inProcess ??= new UnitProcessor(this.cache);
        this.inProcess.cache = this.cache;
        for (;;) {
          const req = next();
          if (req === undefined) {
            end();
            break;
          }
          if (req === 'wait') {
            await new Promise<void>(r => {
              wakeup = r;
            });
            wakeup = () => {};
            continue;
          }
          absorb(this.inProcess.process(req));
          // A caller that takes results as they come gets to use them (and to add work) between units.
          if (opts.onBatch) await new Promise<void>(r => setImmediate(r));
        }
      } else {
        let busy = 0;
        await new Promise<void>((resolve, reject) => {
          const idle: Worker[] = [];
          let finished = false;
          const dispatch = () => {
            if (finished) return;
            let waiting = false;
            while (idle.length) {
              const req = next();
              if (req === 'wait') {
                waiting = true;
                break;
              }
              if (req === undefined) break;
              busy++;
              idle.pop()!.postMessage(req);
            }
            if (busy === 0 && !waiting) {
              finished = true;
              end();
              resolve();
            }
          };
          wakeup = dispatch;
          for (const w of this.workers) {
            w.removeAllListeners('message');
            w.removeAllListeners('error');
            w.on('message', (r: WorkReply) => {
              busy--;
              absorb(r);
              idle.push(w);
              dispatch();
              // Parse after handing out new work, so the workers keep reading meanwhile.
              drain();
            });
            w.on('error', e => {
              finished = true;
              end();
              reject(e);
            });
            idle.push(w);
          }
          dispatch();
        });
        if (!parserLoaded) {
          await initParser();
          parserLoaded = true;
        }
        drain();
      }
    } finally {
      end();
    }
    result.stats.prefilter = src.rgUsed ? 'ripgrep' : 'builtin';
    finish(result);
    return result;
  }

  /** Writes the cache if it grew (see FactsCache.save); an error is returned, not thrown. */
  saveCache(): string | undefined {
    try {
      this.cache?.save();
      return undefined;
    } catch (e) {
      return `${this.cache!.file}: ${errnoText(e)}`;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(w => w.terminate()));
    this.workers = [];
  }
}

function emptyResult(): ScanResult {
  return { facts: [], warnings: [], errors: [], files: [], stats: { filesRead: 0, bytes: 0, filesParsed: 0 } };
}

function absorbInto(result: ScanResult, r: WorkReply): void {
  for (const f of r.files) result.files.push(f);
  for (const f of r.facts) result.facts.push(f);
  for (const w of r.warnings) result.warnings.push(w);
  for (const e of r.errors ?? []) result.errors.push(e);
  result.stats.filesRead += r.read;
  result.stats.bytes += r.bytes;
  result.stats.filesParsed += r.parsed;
  if (r.cacheHits || r.cacheMisses) countCache(result, r.cacheHits, r.cacheMisses);
}

function countCache(result: ScanResult, hits: number, misses: number): void {
  result.stats.cacheHits = (result.stats.cacheHits ?? 0) + hits;
  result.stats.cacheMisses = (result.stats.cacheMisses ?? 0) + misses;
}

/**
 * Workers finish in any order: the output is sorted, to be deterministic. A file read twice (a
 * directory asked for first after ripgrep had listed some of its files) is kept once.
 */
function finish(result: ScanResult): void {
  result.facts.sort((a, b) => cmp(a.file, b.file));
  result.facts = result.facts.filter((f, i, a) => i === 0 || a[i - 1].file !== f.file);
  result.files.sort(cmp);
  result.files = result.files.filter((f, i, a) => i === 0 || a[i - 1] !== f);
  result.warnings.sort(cmp);
  result.errors.sort(cmp);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Walks `dirs` and reads `files` with a temporary pool. */
export async function scanPaths(dirs: string[], files: string[], opts: ScanOptions = {}): Promise<ScanResult> {
  const pool = new ScanPool(opts.workers ?? defaultWorkers());
  try {
    return await pool.scan(dirs, files, opts);
  } finally {
    await pool.close();
  }
}
