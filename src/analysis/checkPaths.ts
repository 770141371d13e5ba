// Checking files and directories from disk: what the CLI and the benchmark run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FactsCache } from './factsCache';
import type { FileFacts } from './facts';
import { factsFromBytes } from './fileFacts';
import { NOT_UTF8_NAME, notUtf8Name } from './fileRead';
import { Project, type ExpansionHost } from './project';
import { compareCodeUnits } from './text';
import type { RuleSettings } from './rules';
import type { Finding } from './rules/rule';
import { defaultWorkers, driverFilesWithRipgrep, errnoText, isCSource, parseClock, ripgrep, ScanPool, type ScanStats } from './scan';

export class PathError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

export interface CheckResult {
  project: Project;
  findings: Finding[];
  warnings: string[];
  /** Files or directories in scope that could not be read (`path: reason`): the CLI exits 2. */
  errors: string[];
  stats: ScanStats;
  /** Every C file in scope. */
  files: string[];
}

export interface CheckOptions {
  /** Worker threads; 0 runs in-process. Default: in-process for single files, a pool for trees. */
  workers?: number;
  /** How directories are searched for candidate files (see ScanOptions.prefilter). */
  prefilter?: 'auto' | 'ripgrep' | 'builtin';
  /** Keep and reuse per-file facts on disk (factsCache.ts): true for the default place, or a directory. */
  cache?: boolean | string;
  /** Rules set off or to another severity (`--rule VRL002=warning`). */
  rules?: RuleSettings;
}

/**
 * Walks directories for .c and .h files (parsing those that mention the virtqueue APIs, then
 * the neighbours the index asks for) and parses named files whatever they contain.
 * Throws PathError for a path that does not exist or cannot be read.
 */
export async function checkPaths(paths: string[], opts: CheckOptions = {}): Promise<CheckResult> {
  const t0 = performance.now();
  const parse0 = parseClock.ms;
  const ms: Record<string, number> = { start: t0 };
  const timing = process.env.VRL_TIMING
    ? (label: string) => console.error(`[timing] ${label} ${(performance.now() - t0).toFixed(0)} ms`)
    : () => {};
  const dirs: string[] = [];
  const explicit: string[] = [];
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
      fs.accessSync(p, st.isDirectory() ? fs.constants.R_OK | fs.constants.X_OK : fs.constants.R_OK);
    } catch (e) {
      throw new PathError(p, (e as NodeJS.ErrnoException).code === 'ENOENT' && notUtf8Name(p) ? NOT_UTF8_NAME : errnoText(e));
    }
    // A FIFO or a device would block the read, or never end.
    if (!st.isDirectory() && !st.isFile()) throw new PathError(p, 'Not a regular file');
    (st.isDirectory() ? dirs : explicit).push(path.resolve(p));
  }
  // With ripgrep listing the candidates there is little to read: parse in this thread, where the
  // code is compiled once, while rg uses the cores. Without it, workers walk and read.
  const useRg = dirs.length > 0 && opts.prefilter !== 'builtin' && !!ripgrep(opts.prefilter === 'ripgrep');
  const cache = opts.cache ? new FactsCache(typeof opts.cache === 'string' ? opts.cache : undefined) : undefined;
  const pool = new ScanPool(opts.workers ?? (dirs.length && !useRg ? defaultWorkers() : 0), 'caller', cache);
  try {
    const project = new Project();
    if (opts.rules) project.rules = opts.rules;
    // Named files are parsed whatever they contain; directories only where the prefilter says.
    // A named file's neighbours are context (a callback registered in virtgpu_kms.c for a
    // handler in virtgpu_vq.c): read with the prefilter, used for linking, not reported.
    const explicitSet = new Set(explicit);
    const context = [...new Set(explicit.map(f => path.dirname(f)))]
      .flatMap(listCFiles)
      .filter(f => !explicitSet.has(f) && !dirs.some(d => isUnder(f, d)));
    const [walked, named] = [await pool.scan(dirs, context, { prefilter: opts.prefilter }), await pool.scan([], explicit, { all: true })];
    timing('scan');
    ms.scan = performance.now() - t0;
    ms.parseScan = parseClock.ms - parse0;
    // A file both walked and named: the named parse (of the whole file) replaces the walked one.
    // One file under two names (`check real link` with link -> real, a file and a link to it) is
    // analysed once, under the first name given, else the first in path order: otherwise its
    // findings come twice, and fix and patch edit it twice.
    const order = new Map(explicit.map((f, i) => [f, i]));
    const ids = new Map<string, string>();
    const firstName = (f: FileFacts) => {
      const id = fileIdentity(f.file);
      if (id === undefined) return true;
      const first = ids.get(id);
      if (first !== undefined && first !== f.file) return false;
      ids.set(id, f.file);
      return true;
    };
    const namedOnce = [...named.facts].sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0)).filter(firstName);
    const walkedOnce = [...walked.facts].sort((a, b) => compareCodeUnits(a.file, b.file)).filter(firstName);
    for (const f of [...walkedOnce, ...namedOnce]) project.setFacts(f);
    const files = [...new Set([...walked.files, ...named.files])].sort();
    const byDir = new Map<string, string[]>();
    for (const f of files) {
      const d = path.dirname(f);
      const list = byDir.get(d);
      if (list) list.push(f);
      else byDir.set(d, [f]);
    }
    const warnings = [...named.warnings, ...walked.warnings];
    const listed = new Map<string, string[]>();
    const host: ExpansionHost = {
      // Beyond the files walked, a named file's own directory is in scope for resolving names;
      // with the ripgrep prefilter only candidates were listed, so directories are read here.
      // Each directory is listed once: a second round asks mostly for the same ones.
      listDirs: async dirsWanted => {
        const fresh = dirsWanted.filter(d => !listed.has(d));
        const fromRg = walked.stats.prefilter === 'ripgrep' && fresh.length ? await driverFilesWithRipgrep(fresh) : undefined;
        for (const d of fresh) listed.set(d, fromRg?.get(d) ?? byDir.get(d) ?? listCFiles(d));
        return new Map(dirsWanted.map(d => [d, listed.get(d)!]));
      },
      parseMatching: async candidates => pool.parseMatching(candidates),
      reextract: async jobs => {
        const out: { facts: FileFacts[]; warnings: string[] } = { facts: [], warnings: [] };
        for (const { file, extra } of jobs) {
          try {
            const r = factsFromBytes(file, fs.readFileSync(file), extra);
            if (r.facts) out.facts.push(r.facts);
          } catch (e) {
            out.warnings.push(`${file}: not read again for its driver's lock wrappers: ${errnoText(e)}`);
          }
        }
        return out;
      },
    };
    warnings.push(...(await project.expand(host)));
    warnings.push(...(await project.linkWrappers(host)));
    timing('expand');
    ms.expand = performance.now() - t0 - ms.scan;
    const inScope = (f: string) => explicitSet.has(f) || dirs.some(d => isUnder(f, d));
    const findings = project.findings().filter(f => inScope(f.file));
    timing('findings');
    ms.findings = performance.now() - t0 - ms.scan - ms.expand;
    ms.parse = parseClock.ms - parse0;
    if (walked.stats.ms) Object.assign(ms, walked.stats.ms);
    const stats: ScanStats = {
      filesRead: walked.stats.filesRead + named.stats.filesRead,
      bytes: walked.stats.bytes + named.stats.bytes,
      filesParsed: project.index.fileCount,
      prefilter: walked.stats.prefilter,
      ms,
    };
    try {
      cache?.save();
    } catch (e) {
      warnings.push(`${cache!.file}: facts cache not written: ${errnoText(e)}`);
    }
    const errors = [...new Set([...named.errors, ...walked.errors])].sort();
    return { project, findings, warnings: [...new Set(warnings)].sort(), errors, stats, files };
  } finally {
    await pool.close();
  }
}

/** The file's device and inode, or undefined if it cannot be stat'ed. */
function fileIdentity(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function isUnder(file: string, dir: string): boolean {
  return file.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

function listCFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter(e => e.isFile() && isCSource(e.name))
      .map(e => path.join(dir, e.name));
  } catch {
    return [];
  }
}
