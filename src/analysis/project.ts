// A project: the set of C files in scope, the facts of those parsed so far, and the demand-driven
// step that parses a neighbouring file when the index wants a name it defines. This is what lets
// a whole kernel tree be checked while parsing only the few dozen files that matter.
import * as path from 'node:path';
import type { FileFacts, Span, SuppressionFact } from './facts';
import { driverWrappersSig, type DriverWrappers } from './summaries';
import { applyRuleSettings, enabledRules, type RuleSettings } from './rules';
import type { Finding } from './rules/rule';
import { compareCodeUnits } from './text';
import { WorkspaceIndex } from './workspace';

/** How the expansion step reaches files: listing a directory, and parsing files that define a name. */
export interface ExpansionHost {
  /**
   * The C files of each directory that may belong to a driver (mentions() only counts files
   * that mention virtio, so a host may list just those).
   */
  listDirs(dirs: string[]): Promise<Map<string, string[]>>;
  /**
   * For each candidate, parse the file if it defines one of the names (see mentions()), and
   * return the facts of those parsed.
   */
  parseMatching(candidates: { file: string; names: string[] }[]): Promise<{ facts: FileFacts[]; warnings: string[] }>;
  /**
   * The facts of each file extracted again with the lock wrappers of the driver's other files
   * that it calls (see linkWrappers()). A host without it keeps wrappers per file.
   */
  reextract?(jobs: { file: string; extra: DriverWrappers }[]): Promise<{ facts: FileFacts[]; warnings: string[] }>;
}

const MAX_EXPANSION_ROUNDS = 3;

export interface Analysis {
  findings: Finding[];
  suppressed: Finding[];
  unusedSuppressions: { file: string; function: string; rules: string[]; span: Span }[];
  /** Suppressions without a real reason: not honoured, reported. */
  invalidSuppressions?: { file: string; function: string; rules: string[]; span: Span; reason: string }[];
}

export class Project {
  readonly index = new WorkspaceIndex();
  /** Rules set off or to another severity (`--rule`, the editor's settings). */
  rules: RuleSettings = {};
  /** Names already looked for in each unparsed file. */
  private tried = new Map<string, Set<string>>();
  /** Files parsed only to resolve a name: their own callees are not chased further. */
  private expanded = new Set<string>();

  setFacts(facts: FileFacts): void {
    this.index.update(facts);
    this.tried.delete(facts.file);
    this.expanded.delete(facts.file);
  }

  removeFile(file: string): void {
    this.index.remove(file);
    this.tried.delete(file);
    this.expanded.delete(file);
  }

  /** Forgets which names were looked for in these files (they changed on disk). */
  forgetTried(files: string[]): void {
    for (const f of files) this.tried.delete(f);
  }

  /**
   * Parses files of the same directory that define a name the index is missing, for a few
   * rounds (a helper found may name another). Returns the warnings met.
   */
  async expand(host: ExpansionHost): Promise<string[]> {
    const warnings: string[] = [];
    for (let round = 0; round < MAX_EXPANSION_ROUNDS; round++) {
      const wanted = this.index.unresolvedNames(f => !this.expanded.has(f));
      const byDir = new Map<string, Set<string>>();
      for (const [file, names] of wanted) {
        const dir = path.dirname(file);
        const set = byDir.get(dir) ?? new Set<string>();
        for (const n of names) set.add(n);
        byDir.set(dir, set);
      }
      const candidates: { file: string; names: string[] }[] = [];
      const listed = await host.listDirs([...byDir.keys()]);
      for (const [dir, names] of byDir) {
        for (const file of listed.get(dir) ?? []) {
          if (this.index.has(file)) continue;
          const tried = this.tried.get(file) ?? new Set<string>();
          const fresh = [...names].filter(n => !tried.has(n));
          if (fresh.length === 0) continue;
          for (const n of fresh) tried.add(n);
          this.tried.set(file, tried);
          candidates.push({ file, names: fresh });
        }
      }
      if (candidates.length === 0) break;
      const res = await host.parseMatching(candidates);
      warnings.push(...res.warnings);
      for (const f of res.facts) {
        this.index.update(f);
        this.expanded.add(f.file);
      }
      if (res.facts.length === 0) break;
    }
    return warnings;
  }

  /**
   * Lock wrappers across the files of a driver: a file that calls a wrapper defined in another
   * file of its directory (a header's `static inline` function or macro, another .c file's
   * non-static function) is extracted again with that wrapper's summary, so the lock dataflow
   * applies it at the call. The directory stands for the driver, as in expand(). Returns the
   * warnings met.
   */
  async linkWrappers(host: ExpansionHost): Promise<string[]> {
    if (!host.reextract) return [];
    const jobs = this.wrapperJobs();
    if (!jobs.length) return [];
    const res = await host.reextract(jobs);
    // The same files, so whether each was parsed for itself or to resolve a name is unchanged.
    for (const f of res.facts) this.index.update(f);
    return res.warnings;
  }

  /**
   * The files whose facts were extracted with other wrappers of their driver than the ones they
   * call now (see linkWrappers()), with the wrappers to extract them with. The language server
   * runs them on its open buffers and the files it read from disk.
   */
  wrapperJobs(): { file: string; extra: DriverWrappers }[] {
    const byDir = new Map<string, Map<string, DriverWrappers[number]>>();
    const files = [...this.index.allFiles()].sort((a, b) => compareCodeUnits(a.file, b.file));
    for (const f of files) {
      if (!f.wrappers) continue;
      const dir = path.dirname(f.file);
      const m = byDir.get(dir) ?? new Map<string, DriverWrappers[number]>();
      byDir.set(dir, m);
      for (const w of f.wrappers) if (!m.has(w.name)) m.set(w.name, { file: f.file, w });
    }
    const jobs: { file: string; extra: DriverWrappers }[] = [];
    for (const f of files) {
      const theirs = byDir.get(path.dirname(f.file));
      const extra = new Map<string, DriverWrappers[number]>();
      if (theirs) {
        const own = new Set(f.functions.map(fn => fn.name));
        for (const fn of f.functions) {
          for (const c of fn.calls) {
            const w = c.direct ? theirs.get(c.callee) : undefined;
            if (w && w.file !== f.file && !own.has(c.callee)) extra.set(c.callee, w);
          }
        }
      }
      const list = [...extra.values()];
      if (driverWrappersSig(f.driverWrappers ?? []) !== driverWrappersSig(list)) jobs.push({ file: f.file, extra: list });
    }
    return jobs;
  }

  /** Findings not silenced by a suppression comment. */
  findings(): Finding[] {
    return this.analyse().findings;
  }

  /**
   * Findings, split by the `virtio-race-lint: ignore VRL001` comments of the function that takes
   * the lock, and the suppressions that silenced nothing (stale once the code was fixed).
   */
  analyse(): Analysis {
    const all = applyRuleSettings(
      enabledRules(this.rules).flatMap(r => r.check(this.index)),
      this.rules,
    );
    const used = new Set<SuppressionFact>();
    const findings: Finding[] = [];
    const suppressed: Finding[] = [];
    for (const f of all) {
      const fn = this.index
        .get(f.file)
        ?.functions.find(x => x.name === f.lockFunction && x.span.start <= f.span.start && f.span.end <= x.span.end);
      const s = fn?.suppressions.find(x => !x.invalid && x.rules.includes(f.rule));
      if (s) {
        used.add(s);
        suppressed.push(f);
      } else findings.push(f);
    }
    const unusedSuppressions: Analysis['unusedSuppressions'] = [];
    const invalidSuppressions: NonNullable<Analysis['invalidSuppressions']> = [];
    for (const file of this.index.allFiles()) {
      for (const fn of file.functions) {
        for (const s of fn.suppressions) {
          if (s.invalid) invalidSuppressions.push({ file: file.file, function: fn.name, rules: s.rules, span: s.span, reason: s.invalid });
          else if (!used.has(s)) unusedSuppressions.push({ file: file.file, function: fn.name, rules: s.rules, span: s.span });
        }
      }
    }
    return { findings, suppressed, unusedSuppressions, invalidSuppressions };
  }
}
