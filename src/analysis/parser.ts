// The parser layer: web-tree-sitter with the tree-sitter-c grammar compiled to wasm.
// Both .wasm files ship next to the bundle in dist/; in the unbundled test build they are
// resolved from node_modules. No native module is involved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Language, Parser, type Point, type Range, type Tree } from 'web-tree-sitter';
import { installFastNodeAccess } from './nodeAccess';

export type { Tree, Node, Edit, Point, Range } from 'web-tree-sitter';

let ready: Promise<Language> | undefined;
let language: Language | undefined;

/** C for nodeAccess.ts's self-check: declarations, a body, a macro, an error, non-ASCII text. */
export const SELF_CHECK_SAMPLE = `#define LOCK(x) spin_lock(&(x)->lock)
/* caf\u00e9 \u2014 ok */
struct vq_dev { spinlock_t lock; struct work_struct work; };
static void done(struct virtqueue *vq)
{
\tstruct vq_dev *d = vq->priv;
\tunsigned int len;
\tLOCK(d);
\twhile (virtqueue_get_buf(vq, &len) != NULL) { len++; }
\tspin_unlock(&d->lock);
\tschedule_work(&d->work) )
}
`;

function locate(file: string, packagePath: string): string {
  const beside = path.join(__dirname, file);
  if (fs.existsSync(beside)) return beside;
  return require.resolve(packagePath);
}

/** Loads the runtime and the C grammar once per process (or worker). */
export function initParser(): Promise<Language> {
  ready ??= (async () => {
    const runtime = locate('tree-sitter.wasm', 'web-tree-sitter/tree-sitter.wasm');
    // The object given to init() becomes the emscripten runtime (nodeAccess.ts).
    const options = { locateFile: () => runtime };
    await Parser.init(options);
    language = await Language.load(locate('tree-sitter-c.wasm', 'tree-sitter-c/tree-sitter-c.wasm'));
    installFastNodeAccess(options, sharedParser(), SELF_CHECK_SAMPLE);
    return language;
  })();
  return ready;
}

export function cLanguage(): Language {
  if (!language) throw new Error('initParser() has not completed');
  return language;
}

let shared: Parser | undefined;

/**
 * How long one parse may take before it is given up. tree-sitter's error recovery is quadratic
 * on some broken text (20,000 commas in a row in a function body parse in 1.8 s, 80,000 in 29 s);
 * a real file of the 4 MiB the analysis accepts parses in about a second on this project's
 * machine, so the default leaves a loaded machine plenty.
 */
let parseDeadlineMs = 20_000;

/** Sets the parse deadline (tests); returns the previous one. */
export function setParseDeadline(ms: number): number {
  const before = parseDeadlineMs;
  parseDeadlineMs = ms;
  return before;
}

/** A parse given up at the deadline: the text is not analysed (the file is skipped, with this message). */
export class ParseTimeout extends Error {
  constructor(length: number) {
    super(
      `not parsed: tree-sitter took longer than ${parseDeadlineMs / 1000} s on this text (${length} characters); its error recovery is slow on some broken syntax, such as a long run of commas`,
    );
  }
}

function withDeadline(options: { includedRanges?: Range[] } = {}): { includedRanges?: Range[]; progressCallback: () => boolean } {
  const end = performance.now() + parseDeadlineMs;
  return { ...options, progressCallback: () => performance.now() > end };
}

/** `parser.parse()` within the deadline (ParseTimeout past it). */
function parseWithin(parser: Parser, text: string, old: Tree | null, ranges?: Range[]): Tree {
  const tree = parser.parse(text, old, withDeadline(ranges ? { includedRanges: ranges } : {}));
  // parse() returns null without a language, or when the progress callback cancels it; a
  // cancelled parser would resume that parse on its next call, so it starts afresh.
  if (!tree) {
    parser.reset();
    throw new ParseTimeout(text.length);
  }
  return tree;
}

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
  return parseWithin(parser, text, null, ranges);
}

/**
 * A document kept with its syntax tree, re-parsed incrementally after each edit. The language
 * server keeps one per open buffer; everything else uses parseC().
 */
export class IncrementalDocument {
  private parser = new Parser();
  private tree: Tree;
  /**
   * The tree is of an older text (setText() gave up at the parse deadline): edits change only the
   * text, and the next reparse() parses it whole.
   */
  private treeBehind = false;

  constructor(private textValue: string) {
    this.parser.setLanguage(cLanguage());
    try {
      this.tree = parseC(textValue, this.parser);
    } catch (e) {
      this.parser.delete();
      throw e;
    }
  }

  get text(): string {
    return this.textValue;
  }
  get syntaxTree(): Tree {
    return this.tree;
  }
  /** The tree is of an older text: reparse() first. */
  get behind(): boolean {
    return this.treeBehind;
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
    if (this.treeBehind) {
      this.textValue = old.slice(0, start) + insert + old.slice(end);
      return;
    }
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
    // A tree of an older text (setText() past the deadline) cannot be reused; and a text that
    // had errors before the edit most likely has them after it, when the incremental parse below
    // would be thrown away for the fresh one: both are parsed whole at once.
    if (this.treeBehind || this.tree.rootNode.hasError) return this.parseWhole();
    // Past the deadline the edited tree stays, and the next reparse() tries again.
    const fresh = parseWithin(this.parser, this.textValue, this.tree);
    this.tree.delete();
    this.tree = fresh;
    // With errors, an incremental parse can recover differently from a fresh one (subtrees kept
    // from before the edit): such a tree is parsed again from scratch, so the facts of a document
    // are always those of its text.
    if (fresh.rootNode.hasError) this.parseWhole();
  }

  /** The text parsed from scratch (ParseTimeout past the deadline: the tree is left as it was). */
  private parseWhole(): void {
    const whole = parseC(this.textValue, this.parser);
    this.tree.delete();
    this.tree = whole;
    this.treeBehind = false;
  }

  /**
   * Replaces the whole text (a full re-parse). Past the parse deadline the text is replaced all
   * the same, and the next reparse() parses it whole (and says why if it cannot).
   */
  setText(text: string): void {
    this.textValue = text;
    try {
      this.parseWhole();
    } catch (e) {
      if (!(e instanceof ParseTimeout)) throw e;
      this.treeBehind = true;
    }
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
