// An open document whose facts follow its edits cheaply (the language server keeps one per buffer).
//
// Most edits are typing inside one function body. Facts are extracted per top-level item, and a
// function body is parsed the same way alone as inside its file, so for such an edit only that
// function is parsed again, on its own text; the other items keep their facts, moved if needed.
// The whole-file tree is told about the edit (tree.edit) but re-parsed only when an edit could
// change the file's item structure (a brace, a comment or string delimiter, a preprocessor line),
// or when a body parses differently alone. Tests check that the facts always equal those of a
// fresh parse.
import {
  assembleFacts,
  collectItems,
  extractItem,
  ItemCache,
  itemKey,
  LOCKISH,
  shiftItem,
  withWrappers,
  type ItemFacts,
  type ItemPart,
} from './extract';
import { withoutDisabledCode } from './disabled';
import type { FileFacts } from './facts';
import { IncrementalDocument, parseC, type Node, type Point } from './parser';
import { driverWrappersSig, fileLockSummaries, type DriverWrappers, type FileSummaries } from './summaries';
import { LineIndex, maskNonCode, maskPreprocessor, matchBrace } from './text';

interface Item extends ItemPart {
  /** Row and column of `start`. */
  row: number;
  column: number;
  /** Offsets of the body's `{` and `}` for a function definition. */
  bodyOpen: number;
  bodyClose: number;
  /** The facts must be extracted again (the body changed). */
  stale: boolean;
}

/** Characters whose insertion or removal can change the items around them. */
const STRUCTURAL = /[{}"'/#\\]/;

/** Parentheses and brackets balance in `t` (an unclosed `(` changes how the rest of the body parses). */
function balanced(t: string): boolean {
  let paren = 0;
  let bracket = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '(') paren++;
    else if (c === ')' && --paren < 0) return false;
    else if (c === '[') bracket++;
    else if (c === ']' && --bracket < 0) return false;
  }
  return paren === 0 && bracket === 0;
}

/**
 * The `{` that opens `body` is closed by its last character (comments, literals and preprocessor
 * lines aside): otherwise the parser's error recovery decided where the body ends, and an edit
 * anywhere in it may decide otherwise.
 */
function bracesMatch(body: string): boolean {
  const code = maskPreprocessor(maskNonCode(body));
  // A `\` in code (not ending a preprocessor line) is a line splice or a stray character the
  // parser recovers from in ways that depend on what surrounds the function.
  return matchBrace(code, 0) === body.length - 1 && !code.includes('\\');
}

/** Whether a line break added or removed at `start` can change what is comment or directive. */
function lineBreakMatters(text: string, start: number): boolean {
  const before = text.slice(text.lastIndexOf('\n', start - 1) + 1, start);
  return before.includes('//') || /^\s*#/.test(before) || text[start - 1] === '\\';
}

export class AnalysedDocument {
  private doc: IncrementalDocument;
  private cache = new ItemCache();
  private items: Item[] = [];
  /** The tree has edits it has not re-parsed. */
  private treeStale = false;
  /** `items` predate an edit that may have changed them: facts() re-parses and rebuilds first. */
  private itemsStale = false;
  private factsMemo?: FileFacts;
  /** The lock wrappers (summaries.ts) the items' facts were extracted with. */
  private sumSig = '';
  /**
   * The file's lock wrappers may have changed since sumSig was taken. A body edit in a function
   * with no lock call before or after it cannot change them, so it keeps this clear and the
   * keystroke does not rescan the whole file for wrappers.
   */
  private sumDirty = false;
  /** Those wrappers (their offsets may be stale: only names and effects are read from them). */
  private sums?: FileSummaries;
  /** How the last edit was handled, for tests and the benchmark. */
  lastEdit: 'body' | 'reparse' | 'none' = 'none';
  /** The wrappers of the driver's other files that this file calls (Project.wrapperJobs()). */
  private extra?: DriverWrappers;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = new IncrementalDocument(text);
    this.rebuild();
  }

  get text(): string {
    return this.doc.text;
  }

  /** Replaces [start, end) with `insert`; `points` are the positions of start and end if known. */
  edit(start: number, end: number, insert: string, points?: { start: Point; end: Point }): void {
    this.factsMemo = undefined;
    const removed = this.doc.text.slice(start, end);
    const i = this.itemsStale ? -1 : this.items.findIndex(it => it.bodyOpen >= 0 && it.bodyOpen < start && end <= it.bodyClose);
    const item = this.items[i];
    const safe =
      item !== undefined &&
      item.column === 0 &&
      !STRUCTURAL.test(insert) &&
      !STRUCTURAL.test(removed) &&
      balanced(insert) &&
      balanced(removed) &&
      // `*` next to an existing `/` would open or close a comment.
      !(/\*/.test(insert) && (this.doc.text[start - 1] === '/' || this.doc.text[end] === '/')) &&
      // A line break added or removed in a `//` comment or a preprocessor line, or after a `\`,
      // moves code into or out of it.
      !(/[\n\r]/.test(insert + removed) && lineBreakMatters(this.doc.text, start));
    if (!safe) {
      // Parsed when the facts are asked for, so a burst of edits costs one re-parse.
      this.sumDirty = true;
      this.doc.editOnly(start, end, insert, points);
      this.treeStale = true;
      this.itemsStale = true;
      this.lastEdit = 'reparse';
      return;
    }
    const rows = (t: string) => {
      let n = 0;
      for (let k = t.indexOf('\n'); k !== -1; k = t.indexOf('\n', k + 1)) n++;
      return n;
    };
    const delta = insert.length - removed.length;
    const dRows = rows(insert) - rows(removed);
    const wrapperish = (t: string) => LOCKISH.test(t) || !!this.sums?.callRe?.test(t);
    if (wrapperish(this.doc.text.slice(item.start, item.end))) this.sumDirty = true;
    this.doc.editOnly(start, end, insert, points);
    if (wrapperish(this.doc.text.slice(item.start, item.end + delta))) this.sumDirty = true;
    this.treeStale = true;
    this.lastEdit = 'body';
    item.end += delta;
    item.bodyClose += delta;
    item.stale = true;
    for (let j = i + 1; j < this.items.length; j++) {
      const it = this.items[j];
      it.start += delta;
      it.end += delta;
      it.bodyOpen += delta;
      it.bodyClose += delta;
      it.row += dRows;
      it.facts = shiftItem(it.facts, delta, dRows);
    }
  }

  /**
   * The lock wrappers of the driver's other files that this file calls (a header's, see
   * Project.linkWrappers()): the facts are extracted again with them when they change.
   */
  setDriverWrappers(extra: DriverWrappers): void {
    if (driverWrappersSig(extra) === driverWrappersSig(this.extra ?? [])) return;
    this.extra = extra.length ? extra : undefined;
    this.factsMemo = undefined;
    this.itemsStale = true;
  }

  /** This file's lock wrappers, with those of its driver it calls. */
  private summaries(): FileSummaries {
    return fileLockSummaries(this.doc.text, undefined, this.extra);
  }

  /** Replaces the whole text. */
  setText(text: string): void {
    this.factsMemo = undefined;
    this.doc.setText(text);
    this.sumDirty = true;
    // Parsed already, unless past the parse deadline (then facts() parses again).
    this.treeStale = this.doc.behind;
    this.itemsStale = true;
    this.lastEdit = 'reparse';
  }

  /** The facts of the text as it is now, without code under `#if 0` (see withoutDisabledCode()). */
  facts(): FileFacts {
    const raw = this.rawFacts();
    if (this.filtered?.raw !== raw) this.filtered = { raw, facts: withoutDisabledCode(raw, this.doc.text) };
    return this.filtered.facts;
  }

  private filtered?: { raw: FileFacts; facts: FileFacts };

  private rawFacts(): FileFacts {
    if (this.factsMemo) return this.factsMemo;
    // An edit that changed the file's lock wrappers changes the facts of their callers too.
    if (this.sumDirty && this.summaries().sig !== this.sumSig) this.itemsStale = true;
    this.sumDirty = false;
    if (this.itemsStale) return (this.rebuild(), this.factsMemo!);
    const text = this.doc.text;
    for (const it of this.items) {
      if (!it.stale) continue;
      const alone = this.extractAlone(it);
      if (!alone) {
        // The body does not parse the same way alone: re-parse the file.
        this.doc.reparse();
        this.treeStale = false;
        this.lastEdit = 'reparse';
        this.rebuild();
        break;
      }
      it.facts = alone;
      it.stale = false;
    }
    let lines: LineIndex | undefined;
    this.factsMemo = withWrappers(
      assembleFacts(this.file, text, this.items, () => (lines ??= new LineIndex(text))),
      this.sums!,
      this.extra,
    );
    return this.factsMemo;
  }

  dispose(): void {
    this.doc.dispose();
  }

  /** Facts of one function parsed on its own, placed at its position; undefined if it is not one item alone. */
  private extractAlone(it: Item): ItemFacts | undefined {
    const itemText = this.doc.text.slice(it.start, it.end);
    const tree = parseC(itemText);
    try {
      const found: Node[] = [];
      collectItems(tree.rootNode, found);
      if (
        found.length !== 1 ||
        found[0].type !== 'function_definition' ||
        found[0].startIndex !== 0 ||
        found[0].endIndex !== itemText.length
      )
        return undefined;
      const body = found[0].childForFieldName('body');
      if (!body) return undefined;
      return shiftItem(extractItem(found[0], itemText, new LineIndex(itemText), this.summaries()), it.start, it.row);
    } finally {
      tree.delete();
    }
  }

  /** Items and facts from the (re-parsed) tree. */
  private rebuild(): void {
    if (this.treeStale) {
      this.doc.reparse();
      this.treeStale = false;
    }
    this.itemsStale = false;
    const text = this.doc.text;
    const nodes: Node[] = [];
    collectItems(this.doc.syntaxTree.rootNode, nodes);
    const lines = new LineIndex(text);
    const sums = this.summaries();
    this.sumSig = sums.sig;
    this.sums = sums;
    this.sumDirty = false;
    const sigPrefix = sums.sig ? `${sums.sig}\0` : '';
    this.items = nodes.map(n => {
      const itemText = itemKey(n, sigPrefix, text);
      const hit = this.cache.get(itemText);
      let facts: ItemFacts;
      if (hit && hit.column === n.startPosition.column) {
        facts = shiftItem(hit.facts, n.startIndex - hit.start, n.startPosition.row - hit.line);
        if (facts !== hit.facts) this.cache.set(itemText, facts, n.startIndex, n.startPosition.row, n.startPosition.column);
      } else {
        facts = extractItem(n, text, lines, sums);
        this.cache.set(itemText, facts, n.startIndex, n.startPosition.row, n.startPosition.column);
      }
      const isFunction = n.type === 'function_definition';
      const body = isFunction ? n.childForFieldName('body') : null;
      // The fast path needs a body closed by a real `}` (not one the parser made up), in a
      // function the parser did not reach through error recovery.
      let inError = false;
      for (let p = n.parent; p; p = p.parent)
        if (p.type === 'ERROR') {
          inError = true;
          break;
        }
      // Its `}` must also be the one that matches its `{`: error recovery inside a body can end
      // the function at another `}` (an unclosed block inside it), and then an edit in what is
      // really the next function changes where the recovery ends it.
      // Nor may an error follow it: the recovery from a broken item after it can reach back into
      // this one once its body changes.
      let after = n.nextNamedSibling;
      while (after?.type === 'comment') after = after.nextNamedSibling;
      const closed =
        !inError &&
        !after?.hasError &&
        !!body &&
        text[body.startIndex] === '{' &&
        text[body.endIndex - 1] === '}' &&
        !body.lastChild?.isMissing &&
        bracesMatch(text.slice(body.startIndex, body.endIndex));
      return {
        start: n.startIndex,
        end: n.endIndex,
        row: n.startPosition.row,
        column: n.startPosition.column,
        isFunction,
        bodyOpen: closed ? body!.startIndex : -1,
        bodyClose: closed ? body!.endIndex - 1 : -1,
        facts,
        stale: false,
      };
    });
    this.cache.sweep();
    this.factsMemo = withWrappers(
      assembleFacts(this.file, text, this.items, () => lines),
      sums,
      this.extra,
    );
  }
}
