// Callback tables handed to virtio_find_vqs(): which callback (or none) each element holds.
//
// A table is a `vq_callback_t *cbs[]` array or a `struct virtqueue_info info[]` array, at
// function or file scope, filled by an initialiser (positional, `[N] =` designators, positional
// or `.callback =` struct entries) or by element assignments, with constant indices
// (`cbs[1] = NULL;`) or not (`cbs[i] = done;` in a loop, `info[rxq2vq(i)].callback = rx_done;`).
// An element at a non-constant index may be any element, except that the same subscript
// expression is taken to name the same elements: after `cbs[i] = rx_done; cbs[n + i] = NULL;`,
// `x = vqs[n + i]` has no callback (both written in the one function that sets the queues up).
// Read from comment- and string-masked text.
import { splitArgs } from './text';

export interface VqTableEntry {
  /** The element's index, or undefined when it is not a number (a loop index, an enum constant). */
  index?: number;
  /** A subscript that is not a number, spaces removed (`i`, `rxq2vq(i)`, `VQ_REQ`). */
  indexText?: string;
  /** The callback's name, null for none (`NULL`), undefined when not a plain name. */
  callback: string | null | undefined;
}

/** A table at file scope: `static vq_callback_t *cbs[] = { ... };` or `static struct virtqueue_info info[] = { ... };`. */
export interface VqTableFact {
  name: string;
  entries: VqTableEntry[];
}

/** `fn`, `&fn`, `(vq_callback_t *)fn`: the name; `NULL` or `0`: null; anything else: undefined. */
export function callbackOf(t: string | undefined): string | null | undefined {
  const c = (t ?? '')
    .replace(/^\(\s*vq_callback_t\s*\*\s*\)/, '')
    .replace(/^&/, '')
    .trim();
  return c === 'NULL' || c === '0' ? null : /^[A-Za-z_]\w*$/.test(c) ? c : undefined;
}

const num = (t: string): number | undefined => (/^\s*\d+\s*$/.test(t) ? Number(t) : undefined);

/** The entries of an initialiser, given the masked text between its outer braces. */
export function entriesOfInitializer(inner: string): VqTableEntry[] {
  const out: VqTableEntry[] = [];
  let next = 0;
  for (const raw of splitTop(inner)) {
    let e = raw.trim();
    if (!e) continue;
    let index: number | undefined = next;
    let indexText: string | undefined;
    const d = /^\[([^\]]*)\]\s*=/.exec(e);
    if (d) {
      index = num(d[1]);
      if (index === undefined) indexText = d[1].replace(/\s+/g, '');
      e = e.slice(d[0].length).trim();
    }
    let callback: string | null | undefined;
    if (e.startsWith('{')) {
      const fields = splitTop(e.slice(1, e.lastIndexOf('}')));
      const named = fields.find(x => /^\s*\.callback\s*=/.test(x));
      // Positional struct virtqueue_info { name, callback, ctx }: the callback is second.
      callback =
        named !== undefined
          ? callbackOf(named.replace(/^\s*\.callback\s*=/, ''))
          : fields.some(x => /^\s*\./.test(x)) || fields.length < 2
            ? null
            : callbackOf(fields[1]);
    } else {
      callback = callbackOf(e);
    }
    out.push(index !== undefined ? { index, callback } : { indexText, callback });
    next = index !== undefined ? index + 1 : next + 1;
  }
  return out;
}

/** Element assignments `NAME[idx] = cb;` and `NAME[idx].callback = cb;` in `masked` (not whole-element initialisers). */
export function entriesAssigned(name: string, masked: string): VqTableEntry[] {
  const out: VqTableEntry[] = [];
  const put = new RegExp(`\\b${name}\\s*\\[([^\\]]+)\\]\\s*(?:\\.\\s*callback\\s*)?=(?!=)\\s*([^;{]+);`, 'g');
  for (let a; (a = put.exec(masked));) {
    const index = num(a[1]);
    const callback = callbackOf(a[2]);
    out.push(index !== undefined ? { index, callback } : { indexText: a[1].replace(/\s+/g, ''), callback });
  }
  return out;
}

/**
 * The callbacks the element with subscript `sub` may hold (undefined: any element), or undefined
 * when that is not known: no entry for it, an entry that is not a plain name, or two entries for
 * one constant index (assigned on two paths, say).
 */
export function callbacksAt(entries: VqTableEntry[], sub: string | undefined): (string | null)[] | undefined {
  let cands: VqTableEntry[];
  const index = sub === undefined ? undefined : num(sub);
  if (sub === undefined) cands = entries;
  else if (index !== undefined) {
    const exact = entries.filter(e => e.index === index);
    if (exact.length > 1) return undefined;
    cands = [...exact, ...entries.filter(e => e.index === undefined)];
  } else {
    const t = sub.replace(/\s+/g, '');
    const same = entries.filter(e => e.indexText === t);
    cands = same.length ? same : entries;
  }
  if (cands.length === 0 || cands.some(e => e.callback === undefined)) return undefined;
  return [...new Set(cands.map(e => e.callback as string | null))];
}

function splitTop(t: string): string[] {
  return splitArgs(`(${t})`).map(a => a.text);
}
