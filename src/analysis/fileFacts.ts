// From bytes to facts for one file: decode, guard against huge or binary input, parse, extract.
// Used in-process and inside scan workers alike.
import { DRAIN_APIS, SCHEDULE_APIS, substringTokens, VQ_SETUP_APIS, VQ_TABLE_TYPES } from './apis';
import type { FileFacts } from './facts';
import { withoutDisabledCode } from './disabled';
import { extractFacts } from './extract';
import { parseC } from './parser';
import { sparseRanges } from './sparse';
import { isIdentChar } from './text';
import { decodeSource, MAX_PARSE_BYTES } from './source';
import type { DriverWrappers } from './summaries';

/**
 * Tokens that make a file worth parsing when a whole tree is scanned: the drain, and the
 * virtqueue setup calls and tables that register callbacks. Other files are parsed only when
 * the index asks for a name they define (see Project.expand()).
 */
export const SEED_TOKENS: readonly string[] = substringTokens([...DRAIN_APIS, ...VQ_SETUP_APIS.keys(), ...VQ_TABLE_TYPES]);
const SEED_BYTES = SEED_TOKENS.map(t => Buffer.from(t));
export function isSeed(bytes: Buffer): boolean {
  return containsVirtqueue(bytes) && SEED_BYTES.some(t => bytes.indexOf(t) >= 0);
}

/**
 * `bytes` contains "virtqueue". Searching for the 'q' with memchr and checking its neighbours is
 * three times faster than Buffer.indexOf('virtqueue') here, and this runs over every byte of
 * a kernel tree.
 */
export function containsVirtqueue(b: Buffer): boolean {
  for (let i = b.indexOf(113, 4); i >= 0; i = b.indexOf(113, i + 1)) {
    if (
      b[i - 1] === 116 &&
      b[i - 2] === 114 &&
      b[i - 3] === 105 &&
      b[i - 4] === 118 &&
      b[i + 1] === 117 &&
      b[i + 2] === 101 &&
      b[i + 3] === 117 &&
      b[i + 4] === 101
    )
      return true;
  }
  return false;
}

export type FactsResult = { facts: FileFacts; warning?: string } | { facts?: undefined; warning: string };

export function factsFromBytes(file: string, bytes: Buffer, extra?: DriverWrappers): FactsResult {
  if (bytes.length > MAX_PARSE_BYTES) {
    return { warning: `${file}: skipped: too large to analyse (${bytes.length} bytes, limit ${MAX_PARSE_BYTES})` };
  }
  const decoded = decodeSource(bytes);
  if (!decoded.ok) return { warning: `${file}: skipped: ${decoded.reason}` };
  const facts = factsFromText(file, decoded.text, true, extra);
  return { facts, warning: decoded.note ? `${file}: ${decoded.note}` : undefined };
}

/**
 * Facts of a whole file. `sparse` (batch scans) parses only the function bodies that need a tree
 * (see sparse.ts); the facts are the same, only ERROR counts may differ.
 */
export function factsFromText(file: string, text: string, sparse = false, extra?: DriverWrappers): FileFacts {
  // A body that calls only another file's wrapper looks lock-free to the sparse parse: parsed whole.
  const tree = parseC(text, undefined, sparse && !extra?.length ? sparseRanges(text) : undefined);
  try {
    return withoutDisabledCode(extractFacts(file, tree, text, { extra }), text);
  } finally {
    tree.delete();
  }
}

const VIRTIO = Buffer.from('virtio');
/** What a callee's file must contain to extend a callback -> work -> drain chain. */
export const CHAIN_TOKENS: readonly string[] = substringTokens([...SCHEDULE_APIS.keys(), ...DRAIN_APIS]);
const CHAIN_BYTES = CHAIN_TOKENS.map(t => Buffer.from(t));

/**
 * Whether a file defines function `name`, or may bind the work member `member:name`. Only files
 * of the driver itself count, ones that mention virtio: a driver's neighbours in a subsystem
 * directory (drivers/scsi, drivers/net) are not its helpers. A callee (`near:name`) counts only
 * if its file schedules work or drains a queue, the two things a callee can add to a chain.
 */
export function mentions(bytes: Buffer, name: string): boolean {
  return mentionsAny(bytes, [name]);
}

/**
 * mentions() for several names of one file: whether the file defines any of them. The tests
 * that depend only on the file (does it name virtio, schedule work, take a lock) are made once,
 * not once per name: the expansion asks a file for dozens of names.
 */
export function mentionsAny(bytes: Buffer, names: readonly string[]): boolean {
  // A vring callback takes a struct virtqueue *, and a driver's files name virtio somewhere.
  if (names.length === 0 || (bytes.indexOf(VIRTIO) < 0 && !containsVirtqueue(bytes))) return false;
  let initTokens: boolean | undefined;
  let chainTokens: boolean | undefined;
  let lockTokens: boolean | undefined;
  for (let name of names) {
    if (name.startsWith('member:')) {
      if (bytes.indexOf(name.slice(7)) < 0) continue;
      initTokens ??= bytes.indexOf('INIT_') >= 0 || bytes.indexOf('DECLARE_') >= 0;
      if (initTokens) return true;
      continue;
    }
    // A callee may also be one of the driver's lock wrappers (summaries.ts): a function or a
    // function-like macro in a file that takes or drops a lock.
    let wrapper = false;
    let chain = true;
    if (name.startsWith('near:')) {
      chain = chainTokens ??= CHAIN_BYTES.some(t => bytes.indexOf(t) >= 0);
      wrapper = lockTokens ??= LOCK_TOKENS.some(t => bytes.indexOf(t) >= 0);
      if (!wrapper && !chain) continue;
      name = name.slice(5);
    }
    if (definesAt(bytes, name, wrapper, chain)) return true;
  }
  return false;
}

/** `name` is defined in `bytes` (as a function, or with `wrapper` as a lock wrapper). */
function definesAt(bytes: Buffer, name: string, wrapper: boolean, chain: boolean): boolean {
  for (let i = bytes.indexOf(name); i >= 0; i = bytes.indexOf(name, i + 1)) {
    const before = i > 0 ? bytes[i - 1] : 32;
    if (isIdentChar(before) || isIdentChar(bytes[i + name.length] ?? 32)) continue;
    if (
      wrapper
        ? isWrapperDefinitionAt(bytes, i, i + name.length) || (chain && isDefinitionAt(bytes, i + name.length))
        : isDefinitionAt(bytes, i + name.length)
    )
      return true;
  }
  return false;
}

const LOCK_TOKENS = [
  'spin_lock',
  'spin_unlock',
  'read_lock',
  'read_unlock',
  'write_lock',
  'write_unlock',
  'mutex_lock',
  'mutex_unlock',
  'local_irq_',
].map(t => Buffer.from(t));
const DEFINE = Buffer.from('define');

/** `#define NAME(`: the name at `i` follows `define` and blanks. */
function isAfterDefine(bytes: Buffer, i: number): boolean {
  let j = i - 1;
  if (j < 0 || (bytes[j] !== 32 && bytes[j] !== 9)) return false;
  while (j >= 0 && (bytes[j] === 32 || bytes[j] === 9)) j--;
  return j >= 5 && bytes.compare(DEFINE, 0, 6, j - 5, j + 1) === 0;
}

/** After a name: `(params)` then `{` — a function definition rather than a call. */
function isDefinitionAt(bytes: Buffer, j: number): boolean {
  return definitionBodyAt(bytes, j) >= 0;
}

/** The offset of the `{` of the definition whose name ends at `j`, or -1. */
function definitionBodyAt(bytes: Buffer, j: number): number {
  while (j < bytes.length && isSpace(bytes[j])) j++;
  if (bytes[j] !== 40) return -1;
  let depth = 0;
  const limit = Math.min(bytes.length, j + 4096);
  for (; j < limit; j++) {
    if (bytes[j] === 40) depth++;
    else if (bytes[j] === 41 && --depth === 0) break;
  }
  if (depth !== 0) return -1;
  j++;
  while (j < bytes.length && isSpace(bytes[j])) j++;
  return bytes[j] === 123 ? j : -1;
}

/**
 * A lock wrapper's definition (summaries.ts: a short body that calls a lock API) for the name
 * ending at `j` that starts at `i`: a function whose body, or a `#define`d macro whose
 * replacement (continuation lines included), names a lock call within its first 2 KB.
 */
function isWrapperDefinitionAt(bytes: Buffer, i: number, j: number): boolean {
  let from: number;
  let to: number;
  if (bytes[j] === 40 && isAfterDefine(bytes, i)) {
    from = j;
    for (to = j; to < bytes.length && to < j + 2048; to++) if (bytes[to] === 10 && bytes[to - 1] !== 92 && bytes[to - 2] !== 92) break;
  } else {
    from = definitionBodyAt(bytes, j);
    if (from < 0) return false;
    let depth = 0;
    for (to = from; to < bytes.length && to < from + 2048; to++) {
      if (bytes[to] === 123) depth++;
      else if (bytes[to] === 125 && --depth === 0) break;
    }
  }
  const body = bytes.subarray(from, to);
  return LOCK_TOKENS.some(t => body.indexOf(t) >= 0);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}
