// An opt-in on-disk cache of per-file facts for whole-tree runs of the CLI (`check --cache`),
// in the manner of `eslint --cache`. A cold run of a kernel tree spends most of its time
// compiling and warming up the parser and the extraction code (see README, Benchmarks); a run
// that finds every file's facts here skips both.
//
// An entry is keyed by the file's path and the SHA-1 of its bytes, so an edit, a checkout or a
// copy of the file elsewhere is never served stale facts. The cache file's name carries the hash
// of the analysis code itself, so a new build of this tool starts a fresh cache. Entries are
// stored with v8.serialize, the structured clone the scan workers already use for facts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type { FactsResult } from './fileFacts';

/** Entries kept at most; those not used by the last run go first. */
const MAX_ENTRIES = 20000;

export class FactsCache {
  private entries = new Map<string, FactsResult>();
  private used = new Set<string>();
  private dirty = false;
  readonly file: string;

  /** `dir`: where cache files live (default: $XDG_CACHE_HOME or ~/.cache, then virtio-race-lint/). */
  constructor(dir: string = defaultCacheDir()) {
    this.file = path.join(dir, `facts-${codeHash()}.bin`);
    try {
      const m = v8.deserialize(fs.readFileSync(this.file));
      if (m instanceof Map) this.entries = m;
    } catch {
      // No cache yet, or one that cannot be read: start empty.
    }
  }

  get size(): number { return this.entries.size; }

  /** The facts of this file's bytes from an earlier run, or compute() them and keep them. */
  lookup(file: string, bytes: Uint8Array, compute: () => FactsResult): FactsResult {
    const key = `${file}\0${crypto.createHash('sha1').update(bytes).digest('hex')}`;
    this.used.add(key);
    const hit = this.entries.get(key);
    if (hit) return hit;
    const res = compute();
    this.entries.set(key, res);
    this.dirty = true;
    return res;
  }

  /** Writes the cache if this run added to it (atomically: a temporary file, then rename). */
  save(): void {
    if (!this.dirty) return;
    let keep = this.entries;
    if (keep.size > MAX_ENTRIES) {
      keep = new Map([...this.entries].filter(([k]) => this.used.has(k)));
      for (const [k, v] of this.entries) if (keep.size < MAX_ENTRIES && !keep.has(k)) keep.set(k, v);
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, v8.serialize(keep));
    fs.renameSync(tmp, this.file);
    this.dirty = false;
  }
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'virtio-race-lint');
}

let hash: string | undefined;

/**
 * A hash of the code that produces facts: the bundle this runs from (dist/cli.js) and the grammar
 * beside it, or in the unbundled build this module's directory's extraction code.
 */
function codeHash(): string {
  if (hash) return hash;
  const h = crypto.createHash('sha1');
  for (const f of [__filename, ...['extract.js', 'fileFacts.js', 'sparse.js', 'text.js', 'apis.js', 'facts.js', 'tree-sitter-c.wasm'].map(n => path.join(__dirname, n))]) {
    try { h.update(fs.readFileSync(f)); } catch { /* not in this build */ }
  }
  hash = h.digest('hex').slice(0, 16);
  return hash;
}
