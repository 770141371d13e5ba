// What every rule declares about itself, in the style of ESLint's `meta` and typescript-eslint's
// createRule(): the docs URL is derived from the rule's id and name, never typed by hand.
import type { Span } from '../facts';
import type { WorkspaceIndex } from '../workspace';

export const DOCS_BASE = 'https://github.com/virtio-race-lint/virtio-race-lint/blob/main/README.md';

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export interface RuleMeta {
  id: string;
  name: string;
  severity: Severity;
  description: string;
  docsUrl: string;
}

export interface RelatedLocation {
  role: 'callback' | 'registration' | 'schedule' | 'binding' | 'helper-call' | 'drain' | 'lock' | 'unlock';
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
   * VRL003: the unlock call that does not match its lock.
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
  /** The function holding the lock call (the handler, or a helper it calls). */
  lockFunction: string;
  /** Index of the lock operation in that function's facts (for the fixer). */
  lockOp: number;
  /**
   * The vring callback (or a function it calls) takes the same lock: with IRQs on in the work,
   * the callback can interrupt it on its CPU and spin on the lock the work holds (deadlock).
   */
  callbackTakesLock: boolean;
  /** VRL001 only: the drain. Absent for rules that are not about a drain (VRL003). */
  drain?: { file: string; span: Span; api: string; function: string };
  /**
   * VRL003 only: the unlock call that does not match the lock (the finding's span is this call);
   * `op` indexes the lock function's lockOps.
   */
  unlock?: { text: string; api: string; span: Span; op: number };
  related: RelatedLocation[];
}

export interface Rule {
  meta: RuleMeta;
  check(index: WorkspaceIndex): Finding[];
}

export function createRule(meta: Omit<RuleMeta, 'docsUrl'>, check: Rule['check']): Rule {
  const anchor = `${meta.id}-${meta.name}`.toLowerCase();
  return { meta: { ...meta, docsUrl: `${DOCS_BASE}#${anchor}` }, check };
}
