// Per-file fact extraction: one walk over each top-level item of a tree-sitter C tree.
// Kernel macros (list_for_each_entry, container_of with a type, scoped_guard, DECLARE_WORK)
// produce ERROR and MISSING nodes; the walk keeps going through them, and where the tree is
// unreliable the facts come from the item's text (call arguments, access paths).
import type { Node, Tree } from './parser';
import { exportedWrappers, fileLockSummaries, type DriverWrappers, type FileSummaries } from './summaries';
import type { FileFacts, Span } from './facts';
import { LineIndex } from './text';

import { suppressionsIn } from './extract/lexical';
import { FileCtx } from './extract/declarations';

export { LOCKISH, NEEDS_TREE } from './extract/lexical';

export type ItemFacts = Omit<FileFacts, 'file'>;

export interface ExtractOptions {
  /** Lock wrappers of the driver's other files that this file calls (summaries.ts). */
  extra?: DriverWrappers;
  /**
   * Cache of item facts keyed by the item's text, so an edited document re-extracts only the
   * items whose text changed. Entries are positioned at `origin` and shifted on reuse.
   */
  cache?: ItemCache;
}

export class ItemCache {
  private entries = new Map<string, { facts: ItemFacts; start: number; line: number; column: number }>();
  private live = new Set<string>();
  get(text: string) {
    this.live.add(text);
    return this.entries.get(text);
  }
  set(text: string, facts: ItemFacts, start: number, line: number, column: number) {
    this.live.add(text);
    this.entries.set(text, { facts, start, line, column });
  }
  /** Drops entries not used since the last sweep. */
  sweep() {
    for (const k of this.entries.keys()) if (!this.live.has(k)) this.entries.delete(k);
    this.live.clear();
  }
  get size() {
    return this.entries.size;
  }
}

export function extractFacts(file: string, tree: Tree, text: string, options: ExtractOptions = {}): FileFacts {
  const lines = new LineIndex(text);
  const items: Node[] = [];
  collectItems(tree.rootNode, items);
  const cache = options.cache;
  const sums = fileLockSummaries(text, undefined, options.extra);
  // Items are cached by their text and by the file's lock wrappers, which their facts depend on.
  const sigPrefix = sums.sig ? `${sums.sig}\0` : '';
  const parts = items.map(item => {
    let itemFacts: ItemFacts;
    if (cache) {
      const itemText = itemKey(item, sigPrefix, text);
      const hit = cache.get(itemText);
      if (hit && hit.column === item.startPosition.column) {
        itemFacts = shiftItem(hit.facts, item.startIndex - hit.start, item.startPosition.row - hit.line);
        if (itemFacts !== hit.facts) cache.set(itemText, itemFacts, item.startIndex, item.startPosition.row, item.startPosition.column);
      } else {
        itemFacts = extractItem(item, text, lines, sums);
        cache.set(itemText, itemFacts, item.startIndex, item.startPosition.row, item.startPosition.column);
      }
    } else {
      itemFacts = extractItem(item, text, lines, sums);
    }
    return { start: item.startIndex, end: item.endIndex, isFunction: item.type === 'function_definition', facts: itemFacts };
  });
  cache?.sweep();
  return withWrappers(
    assembleFacts(file, text, parts, () => lines),
    sums,
    options.extra,
  );
}

/** The file's facts with the wrappers other files may call, and those of other files it was extracted with. */
export function withWrappers(facts: FileFacts, sums: FileSummaries, extra?: DriverWrappers): FileFacts {
  const w = exportedWrappers(sums, facts.file);
  if (w) facts.wrappers = w;
  if (extra?.length) facts.driverWrappers = extra;
  return facts;
}

/**
 * The cache key of an item: its node type and text (after the lock wrappers' identity), and for
 * an item with parse errors where the parser recovered too, since the same text can be
 * recovered from differently in another context (after a broken item, inside an `#if`).
 */
export function itemKey(item: Node, sigPrefix: string, text: string): string {
  const t = `${item.type}\0${sigPrefix}${text.slice(item.startIndex, item.endIndex)}`;
  if (!item.hasError && item.type !== 'ERROR') return t;
  // Where the parser recovered (its ERROR nodes, relative to the item): cheaper than the whole tree.
  let shape = '';
  for (const e of item.descendantsOfType('ERROR')) if (e) shape += `${e.startIndex - item.startIndex}-${e.endIndex - item.startIndex},`;
  return `${t}\0${shape}`;
}

/** One top-level item's place in the text and its facts. */
export interface ItemPart {
  start: number;
  end: number;
  isFunction: boolean;
  facts: ItemFacts;
}

/**
 * A file's facts from its items' facts, in order. A suppression comment just before a function
 * applies to it; it lies outside the item's text, so it is read here rather than cached with the item.
 */
/** Facts of nothing: the start of an item's or a file's. */
function emptyItemFacts(): ItemFacts {
  return { functions: [], prototypes: {}, structs: [], globals: [], bindings: [], callbackRegs: [], fnRefs: [], errors: 0, problems: [] };
}

export function assembleFacts(file: string, text: string, parts: ItemPart[], lines: () => LineIndex): FileFacts {
  const facts: FileFacts = { file, ...emptyItemFacts() };
  let prevEnd = 0;
  for (const part of parts) {
    let itemFacts = part.facts;
    if (part.isFunction && itemFacts.functions.length === 1 && text.slice(prevEnd, part.start).includes('virtio-race-lint')) {
      const before = suppressionsIn(text, prevEnd, part.start, lines());
      if (before.length) {
        const fn = itemFacts.functions[0];
        itemFacts = { ...itemFacts, functions: [{ ...fn, suppressions: [...before, ...fn.suppressions] }] };
      }
    }
    prevEnd = part.end;
    mergeItem(facts, itemFacts);
  }
  return facts;
}

/** Top-level items: children of the translation unit, looking inside #if blocks and ERROR nodes. */
export function collectItems(node: Node, out: Node[]): void {
  for (const child of node.namedChildren) {
    if (!child) continue;
    switch (child.type) {
      case 'preproc_if':
      case 'preproc_ifdef':
      case 'preproc_else':
      case 'preproc_elif':
      case 'preproc_elifdef':
      case 'linkage_specification':
      case 'declaration_list':
        collectItems(child, out);
        break;
      case 'ERROR':
        // A top-level ERROR usually wraps whole functions the grammar could not close.
        if (child.namedChildren.some(c => c?.type === 'function_definition' || c?.type === 'compound_statement')) collectItems(child, out);
        else out.push(child);
        break;
      case 'comment':
      case 'preproc_include':
      case 'preproc_def':
      case 'preproc_call':
        break;
      case 'preproc_function_def':
        out.push(child);
        break;
      default:
        out.push(child);
    }
  }
}

function mergeItem(into: FileFacts, item: ItemFacts): void {
  into.functions.push(...item.functions);
  Object.assign(into.prototypes, item.prototypes);
  into.structs.push(...item.structs);
  into.globals.push(...item.globals);
  into.bindings.push(...item.bindings);
  into.callbackRegs.push(...item.callbackRegs);
  into.fnRefs.push(...item.fnRefs);
  if (item.fieldFns) (into.fieldFns ??= []).push(...item.fieldFns);
  if (item.vqTables) (into.vqTables ??= []).push(...item.vqTables);
  into.errors += item.errors;
  into.problems.push(...item.problems);
}

export function extractItem(item: Node, text: string, lines: LineIndex, summaries?: FileSummaries): ItemFacts {
  const out: ItemFacts = emptyItemFacts();
  try {
    const fc = new FileCtx(text, lines, out, summaries);
    fc.item(item);
  } catch (e) {
    // Facts are best effort: an unexpected tree shape costs this item, never the file.
    out.problems.push(`${lines.position(item.startIndex).line + 1}: ${(e as Error).message}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Position shifting for cached items

function shiftSpan(s: Span, dOff: number, dLine: number): Span {
  return { ...s, start: s.start + dOff, end: s.end + dOff, line: s.line + dLine, endLine: s.endLine + dLine };
}

/**
 * The same facts moved by an edit above them. Objects holding a Span are copied; everything else
 * (types, expressions, lock states) is shared, since facts are never mutated once made.
 */
export function shiftItem(f: ItemFacts, dOff: number, dLine: number): ItemFacts {
  if (dOff === 0 && dLine === 0) return f;
  const sp = (s: Span) => shiftSpan(s, dOff, dLine);
  const withSpan = <T extends { span: Span }>(x: T): T => ({ ...x, span: sp(x.span) });
  return {
    ...f,
    functions: f.functions.map(fn => ({
      ...fn,
      nameSpan: sp(fn.nameSpan),
      span: sp(fn.span),
      bodySpan: sp(fn.bodySpan),
      lockOps: fn.lockOps.map(o => ({
        ...o,
        span: sp(o.span),
        nameSpan: sp(o.nameSpan),
        argsSpan: sp(o.argsSpan),
        ...(o.classSpan ? { classSpan: sp(o.classSpan) } : {}),
      })),
      calls: fn.calls.map(c => ({ ...c, span: sp(c.span) })),
      drains: fn.drains.map(withSpan),
      schedules: fn.schedules.map(withSpan),
      bindings: fn.bindings.map(withSpan),
      callbackRegs: fn.callbackRegs.map(withSpan),
      containerOfs: fn.containerOfs.map(withSpan),
      suppressions: fn.suppressions.map(withSpan),
      ...(fn.loops ? { loops: fn.loops.map(withSpan) } : {}),
      ...(fn.wqAllocs ? { wqAllocs: fn.wqAllocs.map(withSpan) } : {}),
      ...(fn.vqSetups ? { vqSetups: fn.vqSetups.map(withSpan) } : {}),
      ...(fn.declsEnd ? { declsEnd: { ...fn.declsEnd, offset: fn.declsEnd.offset + dOff, line: fn.declsEnd.line + dLine } } : {}),
    })),
    structs: f.structs.map(withSpan),
    globals: f.globals.map(withSpan),
    bindings: f.bindings.map(withSpan),
    callbackRegs: f.callbackRegs.map(withSpan),
  };
}
