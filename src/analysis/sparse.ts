// Sparse parsing for whole-tree scans. Most function bodies in a driver take no lock and name
// no work item: their facts (the calls they make) come from the text alone (see
// FunctionWalker.light), so the parser need not build a tree for them. Such a body's interior is
// left out of the parse (tree-sitter's included ranges), which keeps every offset and line where
// it was; the tree is the one the text with those interiors blanked would give (what an earlier
// version parsed; the tests compare with it). On the kernel's candidate
// files this leaves out about 40% of the code; the facts come out the same as from a full parse
// (test/analysis/sparse.test.ts).
import { LOCKISH, NEEDS_TREE } from './extract';
import type { Point, Range } from './parser';
import { fileLockSummaries } from './summaries';
import { maskNonCode, maskPreprocessor, matchBrace, previousNonSpace } from './text';

/**
 * The interiors (between the braces) of the lock-free, tree-free function bodies, in order, or
 * undefined when the file's braces do not balance at top level (preprocessor tricks), in which
 * case parse it whole.
 */
export function lightBodySpans(text: string): [start: number, end: number][] | undefined {
  const codeOnly = maskNonCode(text);
  const masked = maskPreprocessor(codeOnly);
  // A body that calls one of the file's lock wrappers takes a lock too (summaries.ts).
  const wrapperCall = fileLockSummaries(text, codeOnly).callRe;
  const spans: [number, number][] = [];
  let depth = 0;
  for (let i = 0; i < masked.length; i++) {
    const c = masked.charCodeAt(i);
    if (c === 123 /* { */) {
      if (depth === 0 && previousNonSpace(masked, i) === 41 /* ) */) {
        const close = matchBrace(masked, i);
        if (close < 0) return undefined;
        const body = text.slice(i, close + 1);
        if (close > i + 1 && !LOCKISH.test(body) && !NEEDS_TREE.test(body) && !wrapperCall?.test(body)) spans.push([i + 1, close]);
        i = close;
        continue;
      }
      depth++;
    } else if (c === 125 /* } */) {
      if (--depth < 0) return undefined;
    }
  }
  return depth === 0 ? spans : undefined;
}

/**
 * The ranges of the text to parse: all of it but the light bodies' interiors, as tree-sitter's
 * included ranges (UTF-16 offsets, rows and columns). The parser skips what is left out without
 * reading it, where a blanked body would still be scanned as whitespace; the tree is the same as
 * that of the blanked text. Undefined: parse the whole text.
 */
export function sparseRanges(text: string): Range[] | undefined {
  const spans = lightBodySpans(text);
  if (!spans?.length) return undefined;
  const ranges: Range[] = [];
  let row = 0;
  let lineStart = 0;
  let scanned = 0;
  const point = (offset: number): Point => {
    for (let i = text.indexOf('\n', scanned); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
      row++;
      lineStart = i + 1;
    }
    scanned = Math.max(scanned, offset);
    return { row, column: offset - lineStart };
  };
  let from = 0;
  let fromPoint = point(0);
  for (const [start, end] of spans) {
    ranges.push({ startIndex: from, endIndex: start, startPosition: fromPoint, endPosition: point(start) });
    from = end;
    fromPoint = point(end);
  }
  ranges.push({ startIndex: from, endIndex: text.length, startPosition: fromPoint, endPosition: point(text.length) });
  return ranges;
}
