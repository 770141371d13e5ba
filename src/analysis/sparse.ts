// Sparse parsing for whole-tree scans. Most function bodies in a driver take no lock and name
// no work item: their facts (the calls they make) come from the text alone (see
// FunctionWalker.light), so the parser need not build a tree for them. Blanking such a body to
// spaces, newlines kept, leaves every offset and line where it was; on the kernel's candidate
// files it removes about 40% of the code the parser sees and halves the parse. The facts come
// out the same as from a full parse (test/analysis/sparse.test.ts).
import { LOCKISH, NEEDS_TREE } from './extract';
import { fileLockSummaries } from './summaries';
import { maskNonCode, maskPreprocessor, matchBrace, previousNonSpace } from './text';

/**
 * The text with the bodies of lock-free, tree-free functions blanked, or undefined when the
 * file's braces do not balance at top level (preprocessor tricks), in which case parse it whole.
 */
export function blankLightBodies(text: string): string | undefined {
  const codeOnly = maskNonCode(text);
  const masked = maskPreprocessor(codeOnly);
  // A body that calls one of the file's lock wrappers takes a lock too (summaries.ts).
  const wrapperCall = fileLockSummaries(text, codeOnly).callRe;
  const out: string[] = [];
  let depth = 0;
  let copied = 0;
  let blanked = 0;
  for (let i = 0; i < masked.length; i++) {
    const c = masked.charCodeAt(i);
    if (c === 123 /* { */) {
      if (depth === 0 && previousNonSpace(masked, i) === 41 /* ) */) {
        const close = matchBrace(masked, i);
        if (close < 0) return undefined;
        const body = text.slice(i, close + 1);
        if (!LOCKISH.test(body) && !NEEDS_TREE.test(body) && !wrapperCall?.test(body)) {
          out.push(text.slice(copied, i + 1), body.slice(1, -1).replace(/[^\n]/g, ' '));
          copied = close;
          blanked += body.length;
        }
        i = close;
        continue;
      }
      depth++;
    } else if (c === 125 /* } */) {
      if (--depth < 0) return undefined;
    }
  }
  if (depth !== 0) return undefined;
  if (blanked === 0) return text;
  out.push(text.slice(copied));
  return out.join('');
}
