import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysedDocument } from '../../src/analysis/document';
import { extractFacts, ItemCache } from '../../src/analysis/extract';
import type { FileFacts, FunctionFacts } from '../../src/analysis/facts';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser, parseC } from '../../src/analysis/parser';
import { FIXTURES } from '../helpers/fixtures';

function fn(code: string, name = 'f'): FunctionFacts {
  const facts = factsFromText('t.c', code);
  const f = facts.functions.find(x => x.name === name);
  assert.ok(f, `no function ${name}`);
  return f;
}

/** Lock texts held (may) at each drain, and whether IRQs are surely off there. */
function drainStates(f: FunctionFacts): { held: string[]; irqsOff: boolean }[] {
  return f.drains.map(d => ({ held: d.state.held.map(i => f.lockOps[i].text), irqsOff: d.state.irqsOff }));
}

describe('fact extraction', () => {
  before(() => initParser());

  it('tracks a lock across a do/while drain loop', () => {
    const f = fn(`void f(struct q *q) {
      spin_lock(&q->lock);
      do {
        virtqueue_disable_cb(q->vq);
        while ((b = virtqueue_get_buf(q->vq, &len)) != NULL) kfree(b);
      } while (!virtqueue_enable_cb(q->vq));
      spin_unlock(&q->lock);
      virtqueue_get_buf(q->vq, &len);
    }`);
    assert.deepEqual(drainStates(f), [
      { held: ['spin_lock(&q->lock)'], irqsOff: false },
      { held: [], irqsOff: false },
    ]);
    assert.equal(f.drains[0].inLoop, true);
    assert.equal(f.drains[0].recheckLoop, true);
    assert.equal(f.drains[1].inLoop, false);
    assert.deepEqual(
      f.lockOps.map(o => [o.api, o.action, o.releases ?? null]),
      [
        ['spin_lock', 'lock', null],
        ['spin_unlock', 'unlock', [0]],
      ],
    );
  });

  it('records loops, locks held on some path only, and the values of locals in virtqueue code', () => {
    const f = fn(`int f(struct q *q, bool x) {
      struct virtqueue *vq = q->vq;
      int ret;
      if (x)
        spin_lock(&q->lock);
      ret = virtqueue_add_sgs(vq, sgs, 1, 0, q, GFP_ATOMIC);
      if (x)
        spin_unlock(&q->lock);
      spin_lock(&q->lock);
      while ((b = virtqueue_get_buf(vq, &len))) {
        spin_unlock(&q->lock);
        kfree(b);
        spin_lock(&q->lock);
      }
      spin_unlock(&q->lock);
      return ret;
    }`);
    const add = f.calls.find(c => c.callee === 'virtqueue_add_sgs')!;
    assert.deepEqual([add.state.held, add.state.maybe], [[0], [0]]);
    assert.deepEqual(f.values, { vq: ['q->vq'] });
    assert.equal(f.loops?.length, 1);
    const d = f.drains[0];
    assert.equal(d.loop, 0);
    assert.equal(d.state.maybe, undefined);
    assert.deepEqual(
      f.lockOps.filter(o => o.loop === 0).map(o => o.text),
      ['spin_unlock(&q->lock)', 'spin_lock(&q->lock)'],
    );
  });

  it('records the workqueue, CPU and delay of a schedule call and workqueue allocations', () => {
    const f = fn(`void f(struct d *d) {
      d->wq = alloc_workqueue("d", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
      queue_work(d->wq, &d->w);
      queue_delayed_work_on(2, system_wq, &d->dw, HZ);
    }`);
    assert.deepEqual(
      f.schedules.map(s => [s.api, s.wq, s.cpu, s.delay]),
      [
        ['queue_work', 'd->wq', undefined, undefined],
        ['queue_delayed_work_on', 'system_wq', '2', 'HZ'],
      ],
    );
    assert.deepEqual(
      f.wqAllocs?.map(a => [a.api, a.target, a.flags, a.targetExpr?.base.kind === 'var' && a.targetExpr.base.type?.name]),
      [['alloc_workqueue', 'd->wq', 'WQ_UNBOUND | WQ_MEM_RECLAIM', 'd']],
    );
  });

  it('reads values and allocations in time linear in the body, whatever long runs of blanks it holds', function () {
    // A comment of 200 KB between `=` and the next `{` with no `;` in between (an edit in
    // progress; the server fuzz inserts such comments near the 4 MiB limit): the earlier
    // patterns backtracked over the run for each of its characters and never finished.
    this.timeout(20000);
    const huge = `/*${' '.repeat(200_000)}*/`;
    const f = fn(`void f(struct virtqueue *vq, struct d *d) {
      unsigned int len = ${huge}
      while (virtqueue_get_buf(vq, &len)) {
      }
      d->wq = ${huge} alloc_workqueue("d", 0, 0);
      d->other ${huge} = {
      struct virtqueue *q = d->vq;
    }`);
    assert.deepEqual(f.values, { q: ['d->vq'] });
    assert.deepEqual(
      f.wqAllocs?.map(a => [a.api, a.target]),
      [['alloc_workqueue', 'd->wq']],
    );
  });

  it('extracts a driver with a long run of blanks, newlines or identifier characters inserted anywhere', function () {
    // Edits in progress (the server analyses every version of a buffer): each run below, at
    // each of these offsets, made one of the text patterns backtrack quadratically before.
    this.timeout(60000);
    const runs = [' '.repeat(100_000), `/*${' '.repeat(100_000)}*/`, '\n'.repeat(100_000), 'a'.repeat(100_000)];
    for (const name of ['sensor_vq.c', 'sensor_main.c']) {
      const text = fs.readFileSync(path.join(FIXTURES, '../../examples/virtio_sensor', name), 'utf8');
      for (let k = 1; k < 8; k++) {
        const at = Math.floor((text.length * k) / 8);
        for (const run of runs) {
          const edited = text.slice(0, at) + run + text.slice(at);
          // The batch scan's sparse parse finds the functions a full parse finds.
          const names = (sparse: boolean) => factsFromText('/x.c', edited, sparse).functions.map(f => f.name);
          assert.deepEqual(names(true), names(false));
          // The same as an edit of an open buffer (the language server's path: one body alone).
          const doc = new AnalysedDocument('/x.c', text);
          doc.edit(at, at, run);
          assert.deepEqual(doc.facts(), factsFromText('/x.c', doc.text));
          doc.dispose();
        }
      }
    }
  });

  it('sees the re-taken lock at a drain in the loop condition', () => {
    const f = fn(`void f(struct p *p) {
      spin_lock(&p->l);
      while ((buf = virtqueue_get_buf(vq, &len))) {
        spin_unlock(&p->l);
        handle(buf);
        spin_lock(&p->l);
      }
      spin_unlock(&p->l);
    }`);
    assert.deepEqual(drainStates(f)[0].held.sort(), ['spin_lock(&p->l)', 'spin_lock(&p->l)']);
    assert.deepEqual(f.drains[0].state.held, [0, 2]);
    const lastUnlock = f.lockOps[3];
    assert.deepEqual(lastUnlock.releases, [0, 2]);
  });

  it('follows early returns, gotos and error paths', () => {
    const f = fn(`int f(struct p *p) {
      spin_lock(&p->l);
      if (p->dead) {
        spin_unlock(&p->l);
        return -ENODEV;
      }
      if (p->err)
        goto out_unlock;
      virtqueue_get_buf(vq, &len);
    out_unlock:
      spin_unlock(&p->l);
      virtqueue_get_buf(vq, &len);
      return 0;
    }`);
    assert.deepEqual(
      drainStates(f).map(s => s.held.length),
      [1, 0],
    );
    assert.deepEqual(
      f.lockOps.filter(o => o.action === 'unlock').map(o => o.releases),
      [[0], [0]],
    );
    assert.ok(f.exitStates.every(s => s.held.length === 0));
  });

  it('knows IRQs are off under irqsave, irq and local_irq_save, even with a plain lock inside', () => {
    const f = fn(`void f(struct p *p) {
      unsigned long flags;
      spin_lock_irqsave(&p->a, flags);
      spin_lock(&p->b);
      virtqueue_get_buf(vq, &len);
      spin_unlock(&p->b);
      spin_unlock_irqrestore(&p->a, flags);
      local_irq_save(flags);
      spin_lock(&p->b);
      virtqueue_get_buf(vq, &len);
      spin_unlock(&p->b);
      local_irq_restore(flags);
    }`);
    assert.deepEqual(
      drainStates(f).map(s => s.irqsOff),
      [true, true],
    );
    assert.equal(f.lockOps[0].flags, 'flags');
  });

  it('scopes guard() to its block and scoped_guard() to its statement', () => {
    const f = fn(`void f(struct p *p) {
      {
        guard(spinlock)(&p->l);
        virtqueue_get_buf(vq, &len);
      }
      virtqueue_get_buf(vq, &len);
      scoped_guard(spinlock_bh, &p->l) {
        virtqueue_get_buf(vq, &len);
      }
      virtqueue_get_buf(vq, &len);
    }`);
    assert.deepEqual(
      drainStates(f).map(s => s.held),
      [['guard(spinlock)(&p->l)'], [], ['scoped_guard(spinlock_bh, &p->l)'], []],
    );
    assert.equal(f.lockOps[0].form, 'guard');
    assert.equal(f.lockOps[1].form, 'scoped_guard');
    assert.equal(f.lockOps[1].variant, '_bh');
  });

  it('treats #if branches as alternatives and macro loops as loops', () => {
    const f = fn(`void f(struct p *p) {
    #ifdef CONFIG_X
      spin_lock(&p->l);
    #else
      spin_lock_irq(&p->l);
    #endif
      list_for_each_entry(e, &p->list, node) {
        spin_unlock(&p->l);
        work(e);
        spin_lock(&p->l);
      }
      virtqueue_get_buf(vq, &len);
    }`);
    const s = drainStates(f)[0];
    assert.deepEqual(s.held.sort(), ['spin_lock(&p->l)', 'spin_lock(&p->l)', 'spin_lock_irq(&p->l)']);
    assert.equal(s.irqsOff, false);
  });

  it('tells a polling loop from a drain', () => {
    const f = fn(`void f(void) {
      while (!virtqueue_get_buf(vq, &len) && !virtqueue_is_broken(vq)) cpu_relax();
      while ((b = virtqueue_get_buf(vq, &len))) kfree(b);
      for (;;) { if (!virtqueue_get_buf(vq, &len)) break; }
    }`);
    assert.deepEqual(
      f.drains.map(d => d.poll),
      [true, false, false],
    );
  });

  it('records bindings, schedules, container_of and callback registrations', () => {
    const facts = factsFromText(
      't.c',
      `
      static DECLARE_DELAYED_WORK(gw, gfn);
      static vq_callback_t *cbs[] = { cb_a, NULL };
      void init(struct q *q, work_func_t fn, struct virtio_device *vdev) {
        struct virtqueue_info info[] = { { "a", cb_b }, { .name = "b", .callback = cb_c } };
        INIT_WORK(&q->w, fn);
        INIT_DELAYED_WORK(&q->dw, &handler);
        info[1].callback = cb_d;
        callbacks[i] = cb_e;
        vq = virtio_find_single_vq(vdev, cb_f, "x");
      }
      void h(struct work_struct *work) {
        struct q *q = container_of(work, struct q, dw.work);
        struct r *r = container_of(work, typeof(*r), w);
        queue_delayed_work(system_wq, &q->dw, 0);
        schedule_work(&vq_to_q(q)->w);
      }`,
    );
    assert.deepEqual(
      facts.bindings.map(b => [b.api, b.work.text, b.handler]),
      [['DECLARE_DELAYED_WORK', 'gw', { fn: 'gfn' }]],
    );
    assert.deepEqual(
      facts.callbackRegs.map(r => r.fn),
      ['cb_a'],
    );
    const init = facts.functions[0];
    assert.deepEqual(
      init.bindings.map(b => [b.work.text, b.handler]),
      [
        ['&q->w', { param: 1, name: 'fn' }],
        ['&q->dw', { fn: 'handler' }],
      ],
    );
    assert.deepEqual(
      init.callbackRegs.map(r => r.fn),
      ['cb_b', 'cb_c', 'cb_d', 'cb_e', 'cb_f'],
    );
    const h = facts.functions[1];
    assert.deepEqual(
      h.containerOfs.map(c => [c.type.name, c.member.join('.')]),
      [
        ['q', 'dw.work'],
        ['r', 'w'],
      ],
    );
    assert.deepEqual(
      h.schedules.map(s => [s.api, s.work.text, s.delayed]),
      [
        ['queue_delayed_work', '&q->dw', true],
        ['schedule_work', '&vq_to_q(q)->w', false],
      ],
    );
    assert.equal(h.schedules[0].work.base.kind === 'var' && h.schedules[0].work.base.type?.name, 'q');
  });

  it('finds where the leading declarations end, for the fix', () => {
    const code = 'void f(void)\n{\n\tstruct a *x;\n\tLIST_HEAD(l);\n\n\tspin_lock(&x->l);\n}\n';
    const f = fn(code);
    assert.equal(f.declsEnd?.line, 4);
    assert.equal(f.declsEnd?.indent, '\t');
    assert.equal(code.slice(f.declsEnd!.offset, f.declsEnd!.offset + 1), '\n');
  });

  it('reuses cached item facts after an edit elsewhere, with positions shifted', () => {
    const base =
      'void a(void)\n{\n\tspin_lock(&l);\n\tvirtqueue_get_buf(vq, &n);\n\tspin_unlock(&l);\n}\n\nvoid b(void)\n{\n\tspin_lock(&m);\n\tvirtqueue_get_buf(vq, &n);\n\tspin_unlock(&m);\n}\n';
    const cache = new ItemCache();
    const t1 = parseC(base);
    extractFacts('t.c', t1, base, { cache });
    const edited = '/* new line */\n' + base.replace('spin_lock(&l);', 'spin_lock(&l);\n\tg();');
    const t2 = parseC(edited);
    const cached: FileFacts = extractFacts('t.c', t2, edited, { cache });
    const fresh: FileFacts = extractFacts('t.c', t2, edited);
    assert.deepEqual(cached, fresh);
    assert.equal(cached.functions[1].lockOps[0].span.line, 11);
    t1.delete();
    t2.delete();
  });

  it('never throws on broken or binary-looking input', () => {
    for (const junk of ['void f( {', '}}}}', '\u0000\u0001garbage', 'static DECLARE_WORK(', '#if\nvoid f(void) {\n#else\n}\n']) {
      const facts = factsFromText('t.c', junk);
      assert.ok(Array.isArray(facts.functions));
    }
  });
});
