import * as assert from 'node:assert/strict';
import { AnalysedDocument } from '../../src/analysis/document';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';
import { fileLockSummaries, substituteArgs } from '../../src/analysis/summaries';

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
    assert.deepEqual([...s.byName.keys()].sort(), ['d_lock', 'd_lock2', 'd_off', 'd_unlock_all']);
    assert.equal(s.byName.get('d_lock')!.kind, 'macro');
    assert.equal(s.byName.get('d_lock2')!.isStatic, true);
    assert.equal(s.byName.get('d_unlock_all')!.isStatic, false);
    assert.deepEqual(s.byName.get('d_unlock_all')!.effects.map(e => e.api), ['spin_unlock_irqrestore', 'spin_unlock']);
    assert.deepEqual(s.byName.get('d_lock')!.params, ['x']);
  });

  it("substitutes the call's arguments for the parameters", () => {
    assert.equal(substituteArgs('&(x)->lock', ['x'], ['dev->q']), '&dev->q->lock');
    assert.equal(substituteArgs('&x->lock', ['x'], ['a + 1']), '&(a + 1)->lock');
    assert.equal(substituteArgs('&x->x', ['x'], ['y']), '&y->x');
  });

  it('applies them at each call in the dataflow', () => {
    const f = factsFromText('t.c', SRC).functions.find(x => x.name === 'user')!;
    assert.deepEqual(f.lockOps.map(o => [o.api, o.lock, o.action, o.via?.fn]), [
      ['spin_lock', 'q->lock', 'lock', 'd_lock2'],
      ['spin_unlock_irqrestore', 'q->b', 'unlock', 'd_unlock_all'],
      ['spin_unlock', 'q->lock', 'unlock', 'd_unlock_all'],
    ]);
    assert.deepEqual(f.lockOps[2].releases, [0]);
    assert.deepEqual(f.exitStates.map(s => s.held), [[]]);
  });

  it('re-extracts the callers when an edit changes a wrapper', () => {
    const doc = new AnalysedDocument('t.c', SRC);
    const before = doc.facts().functions.find(x => x.name === 'user')!;
    assert.equal(before.lockOps.length, 3);
    const at = SRC.indexOf('spin_lock(&p->lock); }');
    doc.edit(at, at + 'spin_lock(&p->lock);'.length, 'p->n = 1;');
    const after = doc.facts().functions.find(x => x.name === 'user')!;
    assert.deepEqual(after.lockOps.map(o => o.via?.fn), ['d_unlock_all', 'd_unlock_all']);
    const fresh = factsFromText('t.c', doc.text).functions.find(x => x.name === 'user')!;
    assert.deepEqual(after.lockOps, fresh.lockOps);
  });
});
