// Insertion-ordered hash set of 64-bit keys given as two 32-bit words (open addressing,
// linear probing). Entries are numbered 0, 1, 2, ... in insertion order, which the explorer
// uses as its BFS queue and as the index for parent pointers.

export class PairSet {
  hi: Int32Array;
  lo: Int32Array;
  size = 0;
  private table: Int32Array;
  private tmask: number;

  constructor(initialCapacity = 1 << 12) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.hi = new Int32Array(cap);
    this.lo = new Int32Array(cap);
    this.table = new Int32Array(cap * 2).fill(-1);
    this.tmask = cap * 2 - 1;
  }

  /** Index of the new entry, or -1 - index of the existing one. */
  insert(hi: number, lo: number): number {
    const t = this.table,
      m = this.tmask;
    let h = hash(hi, lo) & m;
    for (;;) {
      const e = t[h];
      if (e < 0) break;
      if (this.lo[e] === lo && this.hi[e] === hi) return -1 - e;
      h = (h + 1) & m;
    }
    const idx = this.size;
    if (idx === this.hi.length) {
      this.grow();
      return this.insert(hi, lo);
    }
    t[h] = idx;
    this.hi[idx] = hi;
    this.lo[idx] = lo;
    this.size = idx + 1;
    return idx;
  }

  private grow(): void {
    const cap = this.hi.length * 2;
    const hi = new Int32Array(cap),
      lo = new Int32Array(cap);
    hi.set(this.hi);
    lo.set(this.lo);
    this.hi = hi;
    this.lo = lo;
    // Load factor stays at most 1/2.
    this.table = new Int32Array(cap * 2).fill(-1);
    this.tmask = cap * 2 - 1;
    const t = this.table,
      m = this.tmask;
    for (let i = 0; i < this.size; i++) {
      let h = hash(hi[i], lo[i]) & m;
      while (t[h] >= 0) h = (h + 1) & m;
      t[h] = i;
    }
  }
}

function hash(hi: number, lo: number): number {
  let h = Math.imul(lo ^ 0x27d4eb2d, 0x9e3779b1) ^ Math.imul(hi ^ 0x165667b1, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  return h;
}
