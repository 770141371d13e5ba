import * as assert from 'node:assert/strict';
import { AnalysedDocument } from '../../src/analysis/document';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';
import { fileLockSummaries, paramName, substituteArgs } from '../../src/analysis/summaries';

const SRC = `struct d { spinlock_t lock; spinlock_t b; };
#define d_lock(x) spin_lock(&(x)->lock)
static void d_lock2(struct d *p) { spin_lock(&p->lock); }
void d_unlock_all(struct d *p, unsigned long f) { p->n = 0; spin_unlock_irqrestore(&p->b, f); spin_unlock(&p->lock); }
static void d_pair(struct d *p) { spin_lock(&p->lock); spin_unlock(&p->lock); }
static void d_cond(struct d *p) { if (p) spin_lock(&p->lock); }
static void d_off(unsigned long *f) { local_irq_save(*f); }
static void user(struct d *q) { d_lock2(q); d_unlock_all(q, 0); }
`;

describe("lock summaries of a file's wrappers", () => {
  before(() => initParser());

  it('summarises straight-line wrappers and macros, not balanced or branching bodies', () => {
    const s = fileLockSummaries(SRC);
    // user() calls two wrappers: d_lock2()'s lock is released again by d_unlock_all(), whose other
    // unlock (of p->b) is left for user()'s callers, so user() is a wrapper of wrappers.
    assert.deepEqual([...s.byName.keys()].sort(), ['d_lock', 'd_lock2', 'd_off', 'd_unlock_all', 'user']);
    assert.deepEqual(
      s.byName.get('user')!.effects.map(e => [e.api, e.args.join(', '), e.through]),
      [['spin_unlock_irqrestore', '&q->b, 0', ['d_unlock_all']]],
    );
    assert.equal(s.byName.get('d_lock')!.kind, 'macro');
    assert.equal(s.byName.get('d_lock2')!.isStatic, true);
    assert.equal(s.byName.get('d_unlock_all')!.isStatic, false);
    assert.deepEqual(
      s.byName.get('d_unlock_all')!.effects.map(e => e.api),
      ['spin_unlock_irqrestore', 'spin_unlock'],
    );
    assert.deepEqual(s.byName.get('d_lock')!.params, ['x']);
  });

  it("substitutes the call's arguments for the parameters", () => {
    assert.equal(substituteArgs('&(x)->lock', ['x'], ['dev->q']), '&dev->q->lock');
    assert.equal(substituteArgs('&x->lock', ['x'], ['a + 1']), '&(a + 1)->lock');
    assert.equal(substituteArgs('&x->x', ['x'], ['y']), '&y->x');
  });

  it('applies them at each call in the dataflow', () => {
    const f = factsFromText('t.c', SRC).functions.find(x => x.name === 'user')!;
    assert.deepEqual(
      f.lockOps.map(o => [o.api, o.lock, o.action, o.via?.fn]),
      [
        ['spin_lock', 'q->lock', 'lock', 'd_lock2'],
        ['spin_unlock_irqrestore', 'q->b', 'unlock', 'd_unlock_all'],
        ['spin_unlock', 'q->lock', 'unlock', 'd_unlock_all'],
      ],
    );
    assert.deepEqual(f.lockOps[2].releases, [0]);
    assert.deepEqual(
      f.exitStates.map(s => s.held),
      [[]],
    );
  });

  it('follows wrappers of wrappers (and macros that call a wrapper), with the parameters substituted at each level', () => {
    const src = `struct d { spinlock_t lock; };
static void w1(struct d *p) { spin_lock(&p->lock); }
static void w2(struct d *q) { q->n = 1; w1(q); }
static void w3(struct d *r) { w2(r); }
static void w4(struct d *r) { w3(r); }
static void w5(struct d *r) { w4(r); }
#define W(x) w2(x)
static void pair(struct d *p) { w2(p); spin_unlock(&p->lock); }
static void user(struct d *s) { W(s->next); s->n = 0; w3(s); }
`;
    const s = fileLockSummaries(src);
    assert.deepEqual(
      s.byName.get('w3')!.effects.map(e => [e.api, e.args[0], e.through]),
      [['spin_lock', '&r->lock', ['w2', 'w1']]],
    );
    assert.deepEqual(
      s.byName.get('W')!.effects.map(e => [e.args[0], e.through]),
      [['&x->lock', ['w2', 'w1']]],
    );
    // The underlying call is w1()'s, for the fix.
    assert.equal(src.slice(s.byName.get('w3')!.effects[0].nameStart, s.byName.get('w3')!.effects[0].nameEnd), 'spin_lock');
    // Balanced inside: no effect. Deeper than three wrappers above the lock call: not followed.
    assert.equal(s.byName.has('pair'), false);
    assert.equal(s.byName.has('w4'), true);
    assert.equal(s.byName.has('w5'), false);
    const f = factsFromText('t.c', src).functions.find(x => x.name === 'user')!;
    assert.deepEqual(
      f.lockOps.map(o => [o.lock, o.via?.fn]),
      [
        ['s->next->lock', 'W'],
        ['s->lock', 'w3'],
      ],
    );
  });

  it('re-extracts the callers when an edit makes a function a wrapper of a wrapper', () => {
    const src = `struct d { spinlock_t lock; };
static void w1(struct d *p) { spin_lock(&p->lock); }
static void w2(struct d *q) { q->n = 1; }
static void user(struct d *s) { w2(s); s->n = 0; }
`;
    const doc = new AnalysedDocument('t.c', src);
    assert.deepEqual(doc.facts().functions.find(x => x.name === 'user')!.lockOps, []);
    const at = src.indexOf('q->n = 1;');
    doc.edit(at, at + 'q->n = 1;'.length, 'w1(q);');
    assert.equal(doc.lastEdit, 'body');
    const after = doc.facts().functions.find(x => x.name === 'user')!;
    assert.deepEqual(
      after.lockOps.map(o => [o.lock, o.via?.fn]),
      [['s->lock', 'w2']],
    );
    assert.deepEqual(after.lockOps, factsFromText('t.c', doc.text).functions.find(x => x.name === 'user')!.lockOps);
  });

  it('re-extracts the callers when an edit changes a wrapper', () => {
    const doc = new AnalysedDocument('t.c', SRC);
    const before = doc.facts().functions.find(x => x.name === 'user')!;
    assert.equal(before.lockOps.length, 3);
    const at = SRC.indexOf('spin_lock(&p->lock); }');
    doc.edit(at, at + 'spin_lock(&p->lock);'.length, 'p->n = 1;');
    const after = doc.facts().functions.find(x => x.name === 'user')!;
    assert.deepEqual(
      after.lockOps.map(o => o.via?.fn),
      ['d_unlock_all', 'd_unlock_all'],
    );
    const fresh = factsFromText('t.c', doc.text).functions.find(x => x.name === 'user')!;
    assert.deepEqual(after.lockOps, fresh.lockOps);
  });
  it("reads a parameter's name in one backward pass, whatever long runs it holds", function () {
    // A pattern did this before and backtracked quadratically: a 300,000-character run of blanks
    // or of identifier characters in a parameter list (an edit in progress) took minutes.
    this.timeout(20000);
    assert.deepEqual(
      ['struct vp *vp', ' unsigned long *flags ', 'u8 buf [16] ', 'a[2][3]', '9abc', 'int (*fn)(void)', '...', ''].map(paramName),
      ['vp', 'flags', 'buf', '', 'abc', '', '', ''],
    );
    assert.equal(paramName(`struct vp ${' '.repeat(300_000)} *vp`), 'vp');
    assert.equal(paramName('x'.repeat(300_000)), 'x'.repeat(300_000));
  });
});
