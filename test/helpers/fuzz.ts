// Shared pieces of the seeded fuzz tests (issue 9, item 5): the generator, the seed and
// iteration settings from the environment, and C-like fragments that make findings come and go.

/** The LCG the fuzz tests use: the same seed gives the same sequence on every platform. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

/** A whole number in [0, n). */
export const pick = (next: () => number, n: number) => Math.floor(next() * n);

/** VRL_FUZZ_SEED picks one seed; otherwise `defaults`. */
export function fuzzSeeds(defaults: number[]): number[] {
  return process.env.VRL_FUZZ_SEED ? [Number(process.env.VRL_FUZZ_SEED)] : defaults;
}

/** VRL_FUZZ_ITER, or `dflt`. */
export function fuzzIter(dflt: number): number {
  return Number(process.env.VRL_FUZZ_ITER ?? dflt);
}

/** Fragments of kernel C: locks, drains, scheduling, comments, preprocessor and broken syntax. */
export const C_SNIPPETS = [
  'x',
  ' ',
  ';',
  '\n',
  '\n\t',
  '\r\n',
  '\t',
  '*',
  '(',
  ')',
  '{',
  '}',
  '"',
  '\\',
  '/* c */',
  '/* a\n b */',
  '// x\n',
  '#if 0\n',
  '#endif\n',
  '#define flags f\n',
  'int a; ',
  'unsigned long flags;\n\t',
  'goto out;',
  'out:\n',
  'spin_lock(&q->lock);\n\t',
  'spin_unlock(&q->lock);',
  'spin_lock_irq(&q->lock);',
  'spin_lock_irqsave(&q->lock, flags);',
  'spin_unlock_irqrestore(&q->lock, flags);',
  'spin_lock_bh(&q->lock);',
  'spin_unlock_bh(&q->lock);',
  'virtqueue_get_buf(vq, &len)',
  'while ((buf = virtqueue_get_buf(vq, &len)) != NULL) {\n\t}\n',
  'schedule_work(&d->w);',
  'INIT_WORK(&d->w, work_fn);\n',
  'static void work_fn(struct work_struct *work)\n{\n\tspin_lock(&q->lock);\n\tvirtqueue_get_buf(vq, &len);\n\tspin_unlock(&q->lock);\n}\n',
  'static void cb(struct virtqueue *vq)\n{\n\tschedule_work(&d->w);\n}\n',
  'é',
  '😀',
  '\u00a0',
];
