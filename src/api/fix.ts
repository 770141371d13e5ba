// Fixes as both front ends take them: the quick fix of one finding, fix-all for a file (the
// fixes of the rules whose fixes make the kernel patch), and the suppression comment's place.
// Edits come as UTF-16 offsets into the text (the CLI writes them into the file's bytes) or as
// line/character ranges (the server sends them to the editor).
import type { FileFacts } from '../analysis/facts';
import { ruleById } from '../analysis/rules';
import type { Finding } from '../analysis/rules/rule';
import { LineIndex } from '../analysis/text';
import { applyEdits, fixAll, lockFunctionOf, type TextEdit } from '../fix/irqsave';

export { applyEdits, type TextEdit };
export { unifiedDiff } from '../fix/diff';

/** A place in a text: 0-based line and UTF-16 character (as the core's Span has them). */
export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
/** An edit by line and character, against the text it was computed for. */
export interface RangeEdit {
  range: Range;
  newText: string;
}

export interface FixAllResult {
  edits: TextEdit[];
  fixed: Finding[];
  refused: { finding: Finding; reason: string }[];
}

/** The rule's fixes go into fix-all and the kernel patch (rule.ts `patch`). */
export function isPatched(f: Finding): boolean {
  return !!ruleById(f.rule)?.patch;
}

/** Fix-all for one file: the fixes of `findings` whose rule's fixes make the patch, as one set of edits. */
export function fixAllEdits(findings: readonly Finding[], facts: FileFacts, text: string): FixAllResult {
  return fixAll(findings.filter(isPatched), facts, text);
}

/** Offsets into `text` as line/character ranges. */
export function rangeEdits(text: string, edits: readonly TextEdit[]): RangeEdit[] {
  const idx = new LineIndex(text);
  return edits.map(e => {
    const s = idx.span(e.start, e.end);
    return {
      range: { start: { line: s.line, character: s.column }, end: { line: s.endLine, character: s.endColumn } },
      newText: e.newText,
    };
  });
}

export type QuickFix = { ok: true; title: string; edits: TextEdit[] } | { ok: false; title: string; reason: string };

/** The quick fix of the finding's rule (undefined: the rule has none); a refusal carries the reason. */
export function quickFix(finding: Finding, facts: FileFacts, text: string): QuickFix | undefined {
  const rule = ruleById(finding.rule);
  if (!rule?.fix) return undefined;
  const fix = rule.fix.apply(finding, facts, text);
  return fix.ok
    ? { ok: true, title: fix.title, edits: fix.edits }
    : { ok: false, title: rule.fix.refusedTitle(finding), reason: fix.reason };
}

/**
 * Where a suppression comment for the finding goes: before the function holding the finding's
 * span (its lock call, or VRL002's drain), with that line's indentation; suppressions follow it.
 */
export function suppressionPoint(
  finding: Finding,
  facts: FileFacts,
  text: string,
): { line: number; indent: string; function: string } | undefined {
  const fn =
    lockFunctionOf(finding, facts) ??
    facts.functions.find(f => f.name === finding.lockFunction && f.span.start <= finding.span.start && finding.span.end <= f.span.end);
  if (!fn) return undefined;
  const line = fn.span.line;
  const indent = /^[ \t]*/.exec(text.slice(new LineIndex(text).lineStart(line)))![0];
  return { line, indent, function: fn.name };
}
