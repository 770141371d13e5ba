// What every rule declares about itself, in the style of ESLint's `meta` and typescript-eslint's
// createRule(): the docs URL is derived from the rule's id and name, never typed by hand. A rule
// is the unit: its module declares the meta, detects (check), and owns what follows from a
// finding (its quick fix, whether its fixes make a patch, its simulation model, its own JSON
// fields). The CLI, the report formats and the language server look a rule up by id
// (rules/index.ts) and call these; none of them names a rule.
import type { FileFacts, Span } from '../facts';
import type { WorkspaceIndex } from '../workspace';
import type { FixResult } from '../../fix/irqsave';
import type { CodeModel } from '../../sim/fromCode';

export const DOCS_BASE = 'https://github.com/virtio-race-lint/virtio-race-lint/blob/main/README.md';

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export interface RuleMeta {
  id: string;
  name: string;
  /** The default severity; `--rule ID=LEVEL` and the editor's settings may change it. */
  severity: Severity;
  description: string;
  /** The README section's anchor (GitHub's slug of `ID name`), and its URL. */
  docsAnchor: string;
  docsUrl: string;
  /** The rule offers a quick fix (`fix` below). */
  fixable: boolean;
}

/** What a user may set a rule to: off, or the severity its findings are reported with. */
export type RuleLevel = 'off' | 'information' | 'warning';
export const RULE_LEVELS: readonly RuleLevel[] = ['off', 'information', 'warning'];

export interface RelatedLocation {
  role: 'callback' | 'registration' | 'schedule' | 'binding' | 'helper-call' | 'drain' | 'lock' | 'unlock' | 'wait';
  file: string;
  span: Span;
  message: string;
}

/** A finding: plain data, from which the CLI, SARIF, the language server and the fixer all work. */
export interface Finding {
  rule: string;
  file: string;
  /**
   * The primary location. VRL001: the lock call in the handler (or in the helper it calls).
   * VRL002: the drain. VRL003: the unlock call that does not match its lock.
   */
  span: Span;
  message: string;
  severity: Severity;
  handler: string;
  handlerFile: string;
  callback: string;
  /** The lock call as written, e.g. `spin_lock(&fsvq->lock)`. */
  lock: string;
  lockApi: string;
  lockExpr: string;
  /**
   * The function holding the primary location (VRL001 and VRL003: the lock call; VRL002: the
   * drain); its suppression comments apply to the finding.
   */
  lockFunction: string;
  /** Index of the lock operation in that function's facts (for the fixer). */
  lockOp: number;
  /**
   * The vring callback (or a function it calls) takes the same lock: with IRQs on in the work,
   * the callback can interrupt it on its CPU and spin on the lock the work holds (deadlock).
   */
  callbackTakesLock: boolean;
  /** VRL001 and VRL002: the drain. Absent for rules that are not about a drain (VRL003). */
  drain?: { file: string; span: Span; api: string; function: string };
  /**
   * VRL003 only: the unlock call that does not match the lock (the finding's span is this call);
   * `op` indexes the lock function's lockOps.
   */
  unlock?: { text: string; api: string; span: Span; op: number };
  related: RelatedLocation[];
  /** The rule's own data, plain and serialisable (VRL002: how the drain is deferred). */
  data?: Record<string, string | number | boolean>;
}

export interface Rule {
  meta: RuleMeta;
  check(index: WorkspaceIndex): Finding[];
  /** The rule's own fields in `check --format json` (paths made relative by `rel`). */
  json?(f: Finding, rel: (file: string) => string): Record<string, unknown>;
  /** The rule's own SARIF result properties, beside handler, callback and lock. */
  sarifProperties?(f: Finding): Record<string, string>;
  /** What tells two findings apart beyond rule, file, function, lock and handler (SARIF fingerprint). */
  fingerprint?(f: Finding): string[];
  /** The quick fix for one finding, and the title of the action when it is refused. */
  fix?: { apply(f: Finding, facts: FileFacts, text: string): FixResult; refusedTitle(f: Finding): string };
  /**
   * The findings' fixes are applied by fix-all, `fix` and the kernel patch (src/fix/irqsave.ts's
   * fixAll() and src/fix/patch.ts's commit message are VRL001's).
   */
  patch?: boolean;
  /**
   * "Simulate race": the model for a finding, or undefined where the rule has none. Throws a
   * RangeError (SimOptionError) with one line for a shape that is not modelled yet.
   */
  simulate?(f: Finding, index: WorkspaceIndex): CodeModel | undefined;
  /**
   * Why this finding's shape is not modelled yet (simulate would refuse it), or undefined: the
   * editor offers "Simulate" only for findings it can simulate.
   */
  unmodelled?(f: Finding): string | undefined;
}

export function createRule(
  meta: Omit<RuleMeta, 'docsUrl' | 'docsAnchor' | 'fixable'> & { fixable?: boolean },
  check: Rule['check'],
  hooks: Omit<Rule, 'meta' | 'check'> = {},
): Rule {
  const docsAnchor = `${meta.id}-${meta.name}`.toLowerCase();
  return { meta: { fixable: !!hooks.fix, ...meta, docsAnchor, docsUrl: `${DOCS_BASE}#${docsAnchor}` }, check, ...hooks };
}

/** A finding's drain in the JSON output (VRL001's and VRL002's field), or nothing. */
export function drainJson(f: Finding, rel: (file: string) => string): { drain?: object } {
  if (!f.drain) return {};
  const d = f.drain;
  return { drain: { file: rel(d.file), line: d.span.line + 1, column: d.span.column + 1, function: d.function, api: d.api } };
}
