// Output formats for findings: compiler-style text, JSON and SARIF 2.1.0. Pure functions over
// plain findings; paths are rendered relative to a base directory.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { allRules, ruleById } from '../analysis/rules';
import type { Finding } from '../analysis/rules/rule';

export const TOOL_NAME = 'virtio-race-lint';
export const TOOL_URI = 'https://github.com/virtio-race-lint/virtio-race-lint';

export function relativePath(file: string, base: string): string {
  const rel = path.relative(base, file);
  return (rel === '' ? path.basename(file) : rel).split(path.sep).join('/');
}

/**
 * `file:line:column: warning: message [VRL001]`, one line per finding: the message's first line.
 * With `related`, gcc-style notes: the rest of the message at the finding, then the related locations.
 */
export function formatText(findings: Finding[], base: string, related = false): string {
  const lines: string[] = [];
  for (const f of findings) {
    const [first, ...rest] = f.message.split('\n');
    const at = `${relativePath(f.file, base)}:${f.span.line + 1}:${f.span.column + 1}`;
    lines.push(`${at}: ${f.severity}: ${first} [${f.rule}]`);
    if (related) {
      for (const r of rest) lines.push(`${at}: note: ${r}`);
      for (const r of f.related) lines.push(`${relativePath(r.file, base)}:${r.span.line + 1}:${r.span.column + 1}: note: ${r.message}`);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

export interface JsonFinding {
  rule: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: string;
  handler: string;
  callback: string;
  lock: string;
  message: string;
  /** VRL001 and VRL002 (each rule's json() hook adds its own fields). */
  drain?: { file: string; line: number; column: number; function: string; api: string };
  /** VRL003 only: the unlock call (also `line`/`column`, where VRL003 reports). */
  unlock?: { line: number; column: number; text: string; api: string };
  /** VRL002: how the drain is deferred from the callback. */
  deferral?: Record<string, unknown>;
  related: { role: string; file: string; line: number; column: number; message: string }[];
}

export function toJson(findings: Finding[], base: string): { findings: JsonFinding[] } {
  return {
    findings: findings.map(f => ({
      rule: f.rule,
      file: relativePath(f.file, base),
      line: f.span.line + 1,
      column: f.span.column + 1,
      endLine: f.span.endLine + 1,
      endColumn: f.span.endColumn + 1,
      severity: f.severity,
      handler: f.handler,
      callback: f.callback,
      lock: f.lock,
      message: f.message,
      ...ruleById(f.rule)?.json?.(f, file => relativePath(file, base)),
      related: f.related.map(r => ({
        role: r.role,
        file: relativePath(r.file, base),
        line: r.span.line + 1,
        column: r.span.column + 1,
        message: r.message,
      })),
    })),
  };
}

const SARIF_LEVEL: Record<string, string> = { error: 'error', warning: 'warning', information: 'note', hint: 'note' };

/** SARIF 2.1.0 as GitHub code scanning takes it: relative URIs under %SRCROOT%, 1-based regions. */
export function toSarif(findings: Finding[], base: string, version: string): object {
  const rules = allRules.map(r => r.meta);
  const region = (s: Finding['span']) => ({
    startLine: s.line + 1,
    startColumn: s.column + 1,
    endLine: s.endLine + 1,
    endColumn: s.endColumn + 1,
  });
  const loc = (file: string, s: Finding['span']) => ({
    physicalLocation: { artifactLocation: artifactLocation(file, base), region: region(s) },
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: TOOL_NAME,
            version,
            semanticVersion: version,
            informationUri: TOOL_URI,
            rules: rules.map(m => ({
              id: m.id,
              name: m.name,
              shortDescription: { text: m.description },
              fullDescription: { text: m.description },
              helpUri: m.docsUrl,
              help: { text: `See ${m.docsUrl}` },
              defaultConfiguration: { level: SARIF_LEVEL[m.severity] },
              properties: { tags: ['concurrency', 'linux-kernel', 'virtio'], precision: 'high', 'problem.severity': m.severity },
            })),
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileUri(base) } },
        columnKind: 'utf16CodeUnits',
        results: findings.map(f => ({
          ruleId: f.rule,
          ruleIndex: rules.findIndex(m => m.id === f.rule),
          level: SARIF_LEVEL[f.severity],
          message: { text: f.message },
          locations: [loc(f.file, f.span)],
          relatedLocations: f.related.map((r, i) => ({ id: i + 1, ...loc(r.file, r.span), message: { text: r.message } })),
          partialFingerprints: { 'virtioRaceLint/v1': fingerprint(f, base) },
          properties: { handler: f.handler, callback: f.callback, lock: f.lock, ...ruleById(f.rule)?.sarifProperties?.(f) },
        })),
      },
    ],
  };
}

/**
 * Stable across unrelated edits: the rule, the file, the handler and the lock, not line numbers,
 * and what the rule's fingerprint() adds (VRL003: the unlock call).
 */
export function fingerprint(f: Finding, base: string): string {
  const parts = [f.rule, relativePath(f.file, base), f.lockFunction, f.lockExpr, f.handler, ...(ruleById(f.rule)?.fingerprint?.(f) ?? [])];
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/**
 * A file as a SARIF artifact location: a relative URI reference under %SRCROOT% (each segment
 * percent-encoded, so `?`, `#`, `:` and `%` in a name stay part of the path), or an absolute
 * file URI for a file outside the base directory.
 */
function artifactLocation(file: string, base: string): { uri: string; uriBaseId?: string } {
  const rel = path.relative(path.resolve(base), path.resolve(file));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return { uri: pathToFileURL(path.resolve(file)).href };
  return { uri: rel.split(path.sep).map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

function pathToFileUri(dir: string): string {
  const href = pathToFileURL(path.resolve(dir)).href;
  return href.endsWith('/') ? href : href + '/';
}
