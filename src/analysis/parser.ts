// The parser layer: web-tree-sitter with the tree-sitter-c grammar compiled to wasm.
// Both .wasm files ship next to the bundle in dist/; in the unbundled test build they are
// resolved from node_modules. No native module is involved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Language, Parser, type Point, type Range, type Tree } from 'web-tree-sitter';

export type { Tree, Node, Edit, Point, Range } from 'web-tree-sitter';

let ready: Promise<Language> | undefined;
let language: Language | undefined;

function locate(file: string, packagePath: string): string {
  const beside = path.join(__dirname, file);
  if (fs.existsSync(beside)) return beside;
  return require.resolve(packagePath);
}

/** Loads the runtime and the C grammar once per process (or worker). */
export function initParser(): Promise<Language> {
  ready ??= (async () => {
    const runtime = locate('tree-sitter.wasm', 'web-tree-sitter/tree-sitter.wasm');
    await Parser.init({ locateFile: () => runtime });
    language = await Language.load(locate('tree-sitter-c.wasm', 'tree-sitter-c/tree-sitter-c.wasm'));
    return language;
  })();
  return ready;
}

export function cLanguage(): Language {
  if (!language) throw new Error('initParser() has not completed');
  return language;
}

let shared: Parser | undefined;

/** A parser for one-shot parses; call initParser() first. */
export function sharedParser(): Parser {
  if (!shared) {
    shared = new Parser();
    shared.setLanguage(cLanguage());
  }
  return shared;
}

/** Parses `text`; with `ranges`, only those parts of it (tree-sitter's included ranges). */
export function parseC(text: string, parser: Parser = sharedParser(), ranges?: Range[]): Tree {
  const tree = parser.parse(text, null, ranges ? { includedRanges: ranges } : undefined);
  // parse() only returns null without a language or when cancelled by a progress callback.
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree;
}

/**
 * A document kept with its syntax tree, re-parsed incrementally after each edit. The language
 * server keeps one per open buffer; everything else uses parseC().
 */
export class IncrementalDocument {
  private parser = new Parser();
  private tree: Tree;

  constructor(private textValue: string) {
    this.parser.setLanguage(cLanguage());
    this.tree = parseC(textValue, this.parser);
  }

  get text(): string {
    return this.textValue;
  }
  get syntaxTree(): Tree {
    return this.tree;
  }

  /**
   * Replaces [start, end) (UTF-16 offsets into the current text) with `insert` and re-parses
   * reusing the old tree.
   */
  applyEdit(start: number, end: number, insert: string, points?: { start: Point; end: Point }): void {
    this.editOnly(start, end, insert, points);
    this.reparse();
  }

  /**
   * Applies an edit to the text and to the tree's coordinates without re-parsing; the next
   * applyEdit() or reparse() parses all pending edits at once.
   */
  editOnly(start: number, end: number, insert: string, points?: { start: Point; end: Point }): void {
    const old = this.textValue;
    const startPosition = points?.start ?? pointAt(old, start);
    this.tree.edit({
      startIndex: start,
      oldEndIndex: end,
      newEndIndex: start + insert.length,
      startPosition,
      oldEndPosition: points?.end ?? pointAt(old, end),
      newEndPosition: endOfInsert(startPosition, insert),
    });
    this.textValue = old.slice(0, start) + insert + old.slice(end);
  }

  /** Re-parses after editOnly() calls, reusing the edited tree. */
  reparse(): void {
    const fresh = this.parser.parse(this.textValue, this.tree);
    if (!fresh) throw new Error('tree-sitter returned no tree');
    this.tree.delete();
    this.tree = fresh;
    // With errors, an incremental parse can recover differently from a fresh one (subtrees kept
    // from before the edit): such a tree is parsed again from scratch, so the facts of a document
    // are always those of its text.
    if (fresh.rootNode.hasError) {
      const whole = parseC(this.textValue, this.parser);
      this.tree.delete();
      this.tree = whole;
    }
  }

  /** Replaces the whole text (a full re-parse). */
  setText(text: string): void {
    const fresh = parseC(text, this.parser);
    this.tree.delete();
    this.tree = fresh;
    this.textValue = text;
  }

  dispose(): void {
    this.tree.delete();
    this.parser.delete();
  }
}

/** Where `insert` ends when placed at `at`. */
function endOfInsert(at: Point, insert: string): Point {
  const nl = insert.lastIndexOf('\n');
  if (nl < 0) return { row: at.row, column: at.column + insert.length };
  let rows = 0;
  for (let i = insert.indexOf('\n'); i !== -1; i = insert.indexOf('\n', i + 1)) rows++;
  return { row: at.row + rows, column: insert.length - nl - 1 };
}

/** Row and UTF-16 column of an offset, as tree-sitter counts them for a JS string. */
export function pointAt(text: string, offset: number): { row: number; column: number } {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: offset - lineStart };
}
