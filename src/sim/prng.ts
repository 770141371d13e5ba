// Small seeded PRNG for the timed mode: mulberry32 (32-bit state, period 2^32). Deterministic
// across platforms because it uses only 32-bit integer arithmetic.

export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let z = (this.state = (this.state + 0x6d2b79f5) | 0);
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }

  /** Exponential with the given mean (inverse transform; 1 - u is in (0, 1]). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
}
