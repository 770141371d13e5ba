// The kernel API tables in apis.ts are the source of truth; the byte prefilters and the regexes
// that decide what is parsed (fileFacts.ts, extract.ts) are shortcuts over them. These tests fail
// when an API is added to a table and a shortcut would not let a file using it through.
import * as assert from 'node:assert/strict';
import {
  BINDING_APIS,
  substringTokens,
  VQ_TABLE_TYPES,
  DRAIN_APIS,
  GUARD_CLASSES,
  LOCK_APIS,
  SCHEDULE_APIS,
  TRYLOCK_APIS,
  VQ_SETUP_APIS,
  WQ_ALLOC_APIS,
} from '../../src/analysis/apis';
import { LOCKISH, NEEDS_TREE } from '../../src/analysis/extract';
import { CHAIN_TOKENS, factsFromText, isSeed, mentions, SEED_TOKENS } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';

describe('apis.ts and the prefilters agree', () => {
  it('every drain and virtqueue setup API makes a file a seed of the scan', () => {
    for (const name of [...DRAIN_APIS, ...VQ_SETUP_APIS.keys()]) {
      const file = Buffer.from(`static void f(struct virtqueue *vq)\n{\n\t${name}(a, b);\n}\n`);
      assert.ok(isSeed(file), `${name} is not a seed (SEED_TOKENS: ${SEED_TOKENS.join(', ')})`);
    }
    // The callback table types (6.11+ struct virtqueue_info, older vq_callback_t arrays).
    for (const type of ['struct virtqueue_info', 'vq_callback_t'])
      assert.ok(isSeed(Buffer.from(`struct virtqueue *v; ${type} x[2];`)), type);
    assert.ok(!isSeed(Buffer.from('struct virtqueue *vq; schedule_work(&w);')), 'a file with neither drain nor setup is not a seed');
  });

  it("every schedule and drain API lets a callee's file extend a chain (mentions near:)", () => {
    for (const name of [...SCHEDULE_APIS.keys(), ...DRAIN_APIS]) {
      const file = Buffer.from(`/* virtio */\nstatic void helper(struct dev *d)\n{\n\t${name}(x, y, z);\n}\n`);
      assert.ok(mentions(file, 'near:helper'), `${name} is not in CHAIN_TOKENS (${CHAIN_TOKENS.join(', ')})`);
    }
  });

  it('every schedule, binding, drain, workqueue allocation and callback table keeps its body parsed (NEEDS_TREE)', () => {
    for (const name of [...SCHEDULE_APIS.keys(), ...BINDING_APIS.keys(), ...DRAIN_APIS, ...WQ_ALLOC_APIS.keys()]) {
      assert.ok(NEEDS_TREE.test(`\t${name}(a, b, c);`), `${name}( does not match NEEDS_TREE`);
    }
    for (const text of ['struct virtqueue_info vqs_info[] = {', 'vq_callback_t *callbacks[2];']) assert.ok(NEEDS_TREE.test(text), text);
    assert.ok(!NEEDS_TREE.test('\tx = y + 1;'), 'plain statements do not');
  });

  it('every lock, unlock, trylock and guard API marks a body as taking locks (LOCKISH)', () => {
    for (const name of [...LOCK_APIS.keys(), ...TRYLOCK_APIS.keys()]) {
      assert.ok(LOCKISH.test(`\t${name}(&d->lock);`), `${name}( does not match LOCKISH`);
    }
    for (const cls of GUARD_CLASSES.keys()) {
      assert.ok(LOCKISH.test(`\tguard(${cls})(&d->lock);`), `guard(${cls})`);
      assert.ok(LOCKISH.test(`\tscoped_guard(${cls}, &d->lock) {`), `scoped_guard(${cls}, ...)`);
    }
    assert.ok(!LOCKISH.test('\tunlocked = blocked(x);'), 'words containing "lock" do not');
  });
});

describe('prefilter tokens derived from apis.ts', () => {
  it('keeps the shortest substrings that still find every name', () => {
    assert.deepEqual(
      substringTokens(['schedule_work_on', 'schedule_work', 'queue_work', 'queue_work_node', 'virtqueue_get_buf_ctx', 'virtqueue_get_buf']),
      ['queue_work', 'schedule_work', 'virtqueue_get_buf'],
    );
    assert.deepEqual(substringTokens(['b', 'a', 'b']), ['a', 'b']);
    for (const n of VQ_TABLE_TYPES)
      assert.ok(
        SEED_TOKENS.some(t => n.includes(t)),
        n,
      );
  });
});

describe('a batch scan (sparse bodies) sees what the tables name', () => {
  it('binds work with every binding API, including INIT_WORK_ONSTACK and __INIT_WORK', async () => {
    await initParser();
    for (const name of [...BINDING_APIS.keys()].filter(n => !BINDING_APIS.get(n)!.declares)) {
      const text = `struct demo { struct work_struct w; };\nstatic void demo_fn(struct work_struct *w)\n{\n}\nstatic void demo_init(struct demo *d)\n{\n\t${name}(&d->w, demo_fn${name.startsWith('__') ? ', 0' : ''});\n}\n`;
      const sparse = factsFromText('t.c', text, true);
      assert.deepEqual(
        sparse.functions.find(f => f.name === 'demo_init')!.bindings.map(b => b.handler),
        [{ fn: 'demo_fn' }],
        name,
      );
    }
  });
});
