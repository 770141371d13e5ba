// Faster node access for web-tree-sitter (the pinned 0.25.10). Every property of a Node that
// asks the wasm side (its type, where it ends, its children) first writes the node's five
// 32-bit fields into a transfer buffer with the emscripten runtime's setValue(ptr, value, 'i32'),
// and reads results back with getValue(): each call tests the type string with endsWith() and a
// switch, then stores through a DataView. The extraction asks about 440,000 such questions of
// the kernel's 47 candidate files, and in a one-shot CLI run, where little of that code is ever
// optimised, those calls cost more than the answers.
//
// The runtime is the object handed to Parser.init() (emscripten's `Module = moduleArg`), so its
// getValue/setValue, which the library calls as `C.getValue(...)`, can be replaced there: the
// i32 case by a plain Int32Array access (on a little-endian host, for an aligned address, the
// same bytes the DataView writes), anything else by the original. The three hot primitive
// getters (typeId, endIndex, hasError) write the transfer buffer directly and call the same wasm
// export the library calls. Nothing is installed unless a self-check on a parsed snippet gives,
// for every node, the same answers as the library's own code (test/analysis/nodeAccess.test.ts).
import * as os from 'node:os';
import { Node, type Parser, type Tree } from 'web-tree-sitter';

/** The parts of the emscripten runtime object used here. */
interface Runtime {
  HEAP32?: Int32Array;
  getValue?: (ptr: number, type?: string) => number;
  setValue?: (ptr: number, value: number, type?: string) => void;
  _ts_init?: () => number;
  _ts_node_symbol_wasm?: (tree: number) => number;
  _ts_node_end_index_wasm?: (tree: number) => number;
  _ts_node_has_error_wasm?: (tree: number) => number;
}

/** A Node's fields as the library keeps them (its internal handle is at index 0). */
interface NodeFields {
  id: number;
  startIndex: number;
  startPosition: { row: number; column: number };
  tree: Tree & { 0: number };
  0: number;
}

type Getter = (this: NodeFields) => unknown;
const GETTERS = ['typeId', 'endIndex', 'hasError'] as const;

/** The library's own accessors, kept to check against and to restore (tests). */
let original: { getValue: Runtime['getValue']; setValue: Runtime['setValue']; getters: Map<string, PropertyDescriptor> } | undefined;
let runtime: Runtime | undefined;

/** Whether the fast accessors are in use. */
export function fastNodeAccess(): boolean {
  return original !== undefined;
}

/**
 * Installs the fast accessors on the runtime of Parser.init() if they answer as the library does
 * on `sample` (a parse with `parser`); returns whether they are in use.
 */
export function installFastNodeAccess(runtimeObject: object, parser: Parser, sample: string): boolean {
  if (original) return true;
  const rt = runtimeObject as Runtime;
  const { HEAP32, getValue, setValue, _ts_init, _ts_node_symbol_wasm, _ts_node_end_index_wasm, _ts_node_has_error_wasm } = rt;
  if (
    os.endianness() !== 'LE' ||
    !(HEAP32 instanceof Int32Array) ||
    !getValue ||
    !setValue ||
    !_ts_init ||
    !_ts_node_symbol_wasm ||
    !_ts_node_end_index_wasm ||
    !_ts_node_has_error_wasm
  )
    return false;
  const proto = Node.prototype as unknown as Record<string, unknown>;
  const getters = new Map<string, PropertyDescriptor>();
  for (const name of GETTERS) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (!d?.get) return false;
    getters.set(name, d);
  }
  // The address of the transfer buffer: ts_init() only stores the ABI versions there and
  // returns it (the library calls it once, at init, for the same address).
  const tb = _ts_init() >> 2;
  const marshal = (n: NodeFields) => {
    const h = rt.HEAP32!;
    h[tb] = n.id;
    h[tb + 1] = n.startIndex;
    h[tb + 2] = n.startPosition.row;
    h[tb + 3] = n.startPosition.column;
    h[tb + 4] = n[0];
  };
  const fast: Record<(typeof GETTERS)[number], Getter> = {
    typeId() {
      marshal(this);
      return _ts_node_symbol_wasm(this.tree[0]);
    },
    endIndex() {
      marshal(this);
      return _ts_node_end_index_wasm(this.tree[0]);
    },
    hasError() {
      marshal(this);
      return _ts_node_has_error_wasm(this.tree[0]) === 1;
    },
  };
  const fastGet = (ptr: number, type?: string) => (type === 'i32' && (ptr & 3) === 0 ? rt.HEAP32![ptr >> 2] : getValue(ptr, type));
  const fastSet = (ptr: number, value: number, type?: string) => {
    if (type === 'i32' && (ptr & 3) === 0) rt.HEAP32![ptr >> 2] = value;
    else setValue(ptr, value, type);
  };
  // The self-check: every node of the sample answers the same through the library's getters
  // and through these (asked in another order, so that no answer is read from a transfer buffer
  // the library filled for the same node), and walked again with the i32 getValue/setValue it
  // has the same children with the same answers.
  const tree = parser.parse(sample);
  if (!tree) return false;
  let ok = false;
  try {
    const walk = (n: Node, out: Node[]) => {
      out.push(n);
      for (const c of n.children) if (c) walk(c, out);
      return out;
    };
    const library = (nodes: Node[]) => nodes.map(n => GETTERS.map(name => getters.get(name)!.get!.call(n)));
    const nodes = walk(tree.rootNode, []);
    const expected = library(nodes);
    const mine = [...nodes].reverse().map(n => GETTERS.map(name => fast[name].call(n as unknown as NodeFields)));
    mine.reverse();
    rt.getValue = fastGet;
    rt.setValue = fastSet;
    const again = walk(tree.rootNode, []);
    const same = (a: unknown[][], b: unknown[][]) => a.length === b.length && a.every((x, i) => x.every((y, k) => y === b[i][k]));
    ok =
      same(expected, mine) &&
      again.length === nodes.length &&
      again.every((n, i) => n.id === nodes[i].id && n.startIndex === nodes[i].startIndex) &&
      same(expected, library(again));
  } catch {
    // Whatever went wrong, the library's own accessors stay.
    ok = false;
  } finally {
    if (!ok) {
      rt.getValue = getValue;
      rt.setValue = setValue;
    }
    tree.delete();
  }
  if (!ok) return false;
  for (const name of GETTERS) Object.defineProperty(proto, name, { configurable: true, enumerable: false, get: fast[name] });
  original = { getValue, setValue, getters };
  runtime = rt;
  return true;
}

/** Puts the library's own accessors back (tests compare the two). */
export function uninstallFastNodeAccess(): void {
  if (!original || !runtime) return;
  runtime.getValue = original.getValue;
  runtime.setValue = original.setValue;
  const proto = Node.prototype as unknown as Record<string, unknown>;
  for (const [name, d] of original.getters) Object.defineProperty(proto, name, d);
  original = undefined;
}

/** Installs them again after uninstallFastNodeAccess() (tests). */
export function reinstallFastNodeAccess(parser: Parser, sample: string): boolean {
  return runtime ? installFastNodeAccess(runtime, parser, sample) : false;
}

/** The runtime the fast accessors were installed on (tests). */
export function currentRuntime(): object | undefined {
  return runtime;
}
