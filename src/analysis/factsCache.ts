// An on-disk cache of per-file facts for whole-tree runs: of the CLI (`check --cache`, opt-in,
// in the manner of `eslint --cache`) and of the language server's index (in the directory its
// client gives; the scan workers look files up, see scan.ts). A cold run of a kernel tree spends
// most of its time compiling and warming up the parser and the extraction code (see README,
// Performance); a run that finds every file's facts here skips both.
//
// An entry is keyed by the file's path and the SHA-1 of its bytes, so an edit, a checkout or a
// copy of the file elsewhere is never served stale facts. The cache file's name carries the hash
// of the analysis code itself, so a new build of this tool starts a fresh cache. Entries are
// stored with v8.serialize, the structured clone the scan workers already use for facts, each
// entry on its own: the language server's scan workers (scan.ts) each read the file and decode
// only the entries of the files they are given.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { threadId } from 'node:worker_threads';
import type { FactsResult } from './fileFacts';

/** Entries kept at most; those not used by the last run go first. */
export const MAX_ENTRIES = 20000;

export class FactsCache {
  /** Each entry's facts as v8.serialize bytes (a look-up decodes only the entries it needs); loaded on first use. */
  private loaded?: Map<string, Uint8Array>;
  /** Entries found elsewhere (the scan workers' parses, see merge()), not yet in `loaded`. */
  private added = new Map<string, Uint8Array>();
  private used = new Set<string>();
  private dirty = false;
  readonly file: string;

  /**
   * `dir`: where cache files live (default: $XDG_CACHE_HOME or ~/.cache, then virtio-race-lint/).
   * `file`: this cache file, whatever the code's hash (a scan worker opens the file its pool names).
   */
  constructor(dir: string = defaultCacheDir(), file?: string) {
    this.file = file ?? path.join(dir, `facts-${codeHash()}.bin`);
  }

  /** The cache file's entries, read once; a file that is missing or cannot be read is an empty cache. */
  private get entries(): Map<string, Uint8Array> {
    if (!this.loaded) {
      this.loaded = new Map();
      try {
        const m = v8.deserialize(fs.readFileSync(this.file));
        if (m instanceof Map) this.loaded = m;
      } catch {
        // No cache yet, or one that cannot be read: start empty.
      }
    }
    return this.loaded;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The key of a file's bytes: its path and the SHA-1 of the bytes. */
  static key(file: string, bytes: Uint8Array): string {
    return `${file}\0${crypto.createHash('sha1').update(bytes).digest('hex')}`;
  }

  /** The facts kept for this key, if any (an entry that cannot be decoded is none). */
  get(key: string): FactsResult | undefined {
    this.used.add(key);
    const bytes = this.entries.get(key) ?? this.added.get(key);
    if (!(bytes instanceof Uint8Array)) return undefined;
    try {
      const res = v8.deserialize(bytes) as FactsResult;
      return res && typeof res === 'object' && (res.facts || typeof res.warning === 'string') ? res : undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps facts computed here; returns the entry's bytes (a worker sends them to its pool). */
  set(key: string, res: FactsResult): Uint8Array {
    const bytes = v8.serialize(res);
    this.used.add(key);
    this.entries.set(key, bytes);
    this.dirty = true;
    return bytes;
  }

  /**
   * Keeps entries made elsewhere (a scan worker's set()), without reading the cache file now:
   * save() merges them. `used` keys (the worker's hits) are kept first when the cache is trimmed.
   */
  merge(added: Iterable<[string, Uint8Array]>, used: Iterable<string> = []): void {
    for (const [k, v] of added) {
      this.added.set(k, v);
      this.used.add(k);
      this.dirty = true;
    }
    for (const k of used) this.used.add(k);
  }

  /** The facts of this file's bytes from an earlier run, or compute() them and keep them. */
  lookup(file: string, bytes: Uint8Array, compute: () => FactsResult): FactsResult {
    const key = FactsCache.key(file, bytes);
    const hit = this.get(key);
    if (hit) return hit;
    const res = compute();
    this.set(key, res);
    return res;
  }

  /**
   * Writes the cache if this run added to it (atomically: a temporary file, then rename), keeping
   * at most MAX_ENTRIES, those used by this run first.
   */
  save(): void {
    if (!this.dirty) return;
    const all = this.entries;
    for (const [k, v] of this.added) all.set(k, v);
    this.added.clear();
    let keep = all;
    if (keep.size > MAX_ENTRIES) {
      keep = new Map([...all].filter(([k]) => this.used.has(k)).slice(0, MAX_ENTRIES));
      for (const [k, v] of all) if (keep.size < MAX_ENTRIES && !keep.has(k)) keep.set(k, v);
      this.loaded = keep;
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${threadId}.tmp`;
    try {
      fs.writeFileSync(tmp, v8.serialize(keep));
      fs.renameSync(tmp, this.file);
    } catch (e) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* not written */
      }
      throw e;
    }
    this.dirty = false;
  }
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'virtio-race-lint');
}

let hash: string | undefined;

/**
 * A hash of the code that produces facts: the bundle this runs from (dist/cli.js, dist/server.js),
 * the scan workers' bundle and the grammar beside it, or in the unbundled build this module's directory's extraction code.
 */
function codeHash(): string {
  if (hash) return hash;
  const h = crypto.createHash('sha1');
  for (const f of [
    __filename,
    ...['extract.js', 'fileFacts.js', 'sparse.js', 'text.js', 'apis.js', 'facts.js', 'scanWorker.js', 'tree-sitter-c.wasm'].map(n =>
      path.join(__dirname, n),
    ),
  ]) {
    try {
      h.update(fs.readFileSync(f));
    } catch {
      /* not in this build */
    }
  }
  hash = h.digest('hex').slice(0, 16);
  return hash;
}
