// Helpers shared by the benchmarks.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** The checkout's root (the benchmarks run from out/bench/). */
export const root = path.resolve(__dirname, '../..');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The p-quantile (0..1) of xs, nearest rank. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** $KERNEL_TREE, else the Debian 6.12 tree that scripts/kernel-trees.sh installs and unpacks. */
export function defaultTree(): string {
  if (process.env.KERNEL_TREE) return process.env.KERNEL_TREE;
  const out = execFileSync(path.join(root, 'scripts/kernel-trees.sh'), ['6.12'], { encoding: 'utf8' }).trim().split('\n');
  return out[out.length - 1];
}
