// Pure conversions between the core's plain data and LSP types (ast-grep's utils.rs role).
import {
  CodeActionKind,
  DiagnosticSeverity,
  DiagnosticTag,
  type CodeAction,
  type Diagnostic,
  type Range,
  type TextEdit as LspTextEdit,
} from 'vscode-languageserver/node';
import { ruleOffers, type Analysis, type Finding, type Span } from '../api/rules';
import { SOURCE } from '../shared/protocol';
import { keyToUri } from './paths';

export function spanToRange(s: Span): Range {
  return { start: { line: s.line, character: s.column }, end: { line: s.endLine, character: s.endColumn } };
}

const SEVERITY: Record<string, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** What a diagnostic carries back in code action requests, to find its finding again. */
export interface DiagnosticData {
  rule: string;
  lockFunction: string;
  lockStart: number;
  handler: string;
}

/**
 * A finding as a diagnostic. The message is the finding's first line (handler, lock, callback):
 * it is what the Problems row and the editor's own marker hover show. The explanation is in the
 * server's markdown hover (findingHover), the places in relatedInformation.
 */
export function findingToDiagnostic(f: Finding, uris?: Map<string, string>): Diagnostic {
  return {
    range: spanToRange(f.span),
    severity: SEVERITY[f.severity],
    code: f.rule,
    codeDescription: { href: ruleOffers(f).docsUrl },
    source: SOURCE,
    message: f.message.split('\n')[0],
    relatedInformation: f.related.map(r => ({ location: { uri: keyToUri(r.file, uris), range: spanToRange(r.span) }, message: r.message })),
    data: { rule: f.rule, lockFunction: f.lockFunction, lockStart: f.span.start, handler: f.handler } satisfies DiagnosticData,
  };
}

export function unusedSuppressionDiagnostic(u: Analysis['unusedSuppressions'][number]): Diagnostic {
  return {
    range: spanToRange(u.span),
    severity: DiagnosticSeverity.Hint,
    tags: [DiagnosticTag.Unnecessary],
    code: 'unused-suppression',
    source: SOURCE,
    message: `This suppression of ${u.rules.join(', ')} matches no finding in ${u.function}(); it can be removed.`,
  };
}

/** A suppression whose reason is missing or a placeholder: it is not honoured. */
export function invalidSuppressionDiagnostic(u: NonNullable<Analysis['invalidSuppressions']>[number]): Diagnostic {
  return {
    range: spanToRange(u.span),
    severity: DiagnosticSeverity.Warning,
    code: 'invalid-suppression',
    source: SOURCE,
    message: `This suppression of ${u.rules.join(', ')} in ${u.function}() is not honoured: ${u.reason}. Write why the code is safe after \`-- reviewed:\`.`,
  };
}

export function quickFix(
  title: string,
  uri: string,
  version: number | null,
  edits: LspTextEdit[],
  diagnostic: Diagnostic,
  preferred: boolean,
): CodeAction {
  return {
    title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    isPreferred: preferred,
    edit: { documentChanges: [{ textDocument: { uri, version }, edits }] },
  };
}
