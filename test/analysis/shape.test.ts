import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { drainShapeOf, drainShapeOfFunction, ringBoundOf, workLocalityOf } from '../../src/analysis/shape';
import type { Finding } from '../../src/analysis/rules/rule';
import type { WorkspaceIndex } from '../../src/analysis/workspace';
import { expectationsIn, FIXTURES, fixtureDirs } from '../helpers/fixtures';

async function analyse(dir: string): Promise<{ index: WorkspaceIndex; find: (handler: string) => Finding }> {
  const { findings, project, warnings } = await checkPaths([path.join(FIXTURES, 'shape', dir)], { workers: 0 });
  assert.deepEqual(warnings, []);
  return {
    index: project.index,
    find: handler => {
      const f = findings.find(x => x.handler === handler);
      assert.ok(f, `no finding for ${handler} in ${dir}: ${findings.map(x => x.handler).join(', ')}`);
      return f;
    },
  };
}

const line = (a: { span: { line: number } } | undefined) => (a ? a.span.line + 1 : undefined);

describe('shape fixtures', () => {
  for (const dir of fixtureDirs('shape')) {
    it(`${path.basename(dir)}: VRL001 reports exactly the annotated lock calls`, async () => {
      const { findings } = await checkPaths([dir], { workers: 0 });
      const want = expectationsIn(dir)
        .filter(e => e.kind === 'ruleid')
        .map(e => `${path.basename(e.file)}:${e.line + 1}:${e.attrs.handler}`)
        .sort();
      assert.deepEqual(findings.map(f => `${path.basename(f.file)}:${f.span.line + 1}:${f.handler}`).sort(), want);
    });
  }
});

describe('shape: the drain (SIM-MODEL §2.5)', () => {
  it('recheck: do { disable_cb; while (get_buf) } while (!enable_cb) is DRAIN 0', async () => {
    const { index, find } = await analyse('recheck');
    const s = drainShapeOf(find('demo_rq_done_work'), index);
    assert.equal(s.shape, 'recheck');
    assert.equal(s.single, false);
    assert.equal(s.dropUnlock, undefined);
    assert.match(s.why, /re-check loop/);
  });

  it('recheck with the get_buf loop in a helper called inside the re-check loop', async () => {
    const { index, find } = await analyse('recheck-helper');
    for (const h of ['demo_gfx_dequeue_ctrl', 'demo_gfx_dequeue_cursor']) {
      const f = find(h);
      assert.equal(f.drain!.function, 'demo_reclaim');
      const s = drainShapeOf(f, index);
      assert.equal(s.shape, 'recheck', h);
      assert.match(s.why, new RegExp(`demo_reclaim\\(\\), called inside the do .* re-check loop of ${h}\\(\\)`));
    }
  });

  it('plain: while (get_buf) under one hold is DRAIN 1', async () => {
    const { index, find } = await analyse('plain');
    const s = drainShapeOf(find('demo_plain_rx_work'), index);
    assert.deepEqual([s.shape, s.single], ['plain', false]);
    assert.match(s.why, /under one hold of spin_lock\(&p->rx_lock\)/);
  });

  it('single: one get_buf without a loop is DRAIN 1, marked as an over-approximation', async () => {
    const { index, find } = await analyse('single');
    const s = drainShapeOf(find('demo_one_ev_work'), index);
    assert.deepEqual([s.shape, s.single], ['plain', true]);
    assert.match(s.why, /single virtqueue_get_buf\(\).*over-approximates/);
  });

  it('relock: unlock and lock inside the get_buf loop is DRAIN 2, with W8 and W9 located', async () => {
    const { index, find } = await analyse('relock');
    const f = find('demo_ctl_work');
    const s = drainShapeOf(f, index);
    assert.equal(s.shape, 'relock');
    assert.equal(line(s.dropUnlock), 30);
    assert.equal(line(s.relock), 34);
    assert.equal(path.basename(s.dropUnlock!.file), 'demo_relock.c');
    assert.match(s.why, /spin_unlock\(&c->c_lock\) and spin_lock\(&c->c_lock\) inside the virtqueue_get_buf\(\) loop of demo_ctl_work\(\)/);
  });

  it('relock with the get_buf in a helper called once per iteration of the loop that drops the lock', async () => {
    const { index, find } = await analyse('relock-helper');
    const f = find('demo_rh_work');
    assert.equal(f.drain!.function, 'demo_rh_take');
    const s = drainShapeOf(f, index);
    assert.equal(s.shape, 'relock');
    assert.equal(line(s.dropUnlock), 29);
    assert.equal(line(s.relock), 32);
  });

  it('the relock-in-loop VRL001 fixture (virtio_console shape) is DRAIN 2', async () => {
    const { findings, project } = await checkPaths([path.join(FIXTURES, 'vrl001', 'relock-in-loop')], { workers: 0 });
    const s = drainShapeOf(
      findings.find(f => f.handler === 'control_work_handler')!,
      project.index,
    );
    assert.equal(s.shape, 'relock');
  });

  it('drainShapeOfFunction reads the same shapes from a function alone', async () => {
    const { index } = await analyse('relock');
    const file = path.join(FIXTURES, 'shape', 'relock', 'demo_relock.c');
    const fn = index.get(file)!.functions.find(x => x.name === 'demo_ctl_work')!;
    const op = fn.lockOps.findIndex(o => o.action === 'lock');
    assert.equal(drainShapeOfFunction(fn, file, op, fn.drains[0]).shape, 'relock');
    const r = await analyse('recheck');
    const file2 = path.join(FIXTURES, 'shape', 'recheck', 'demo_recheck.c');
    const fn2 = r.index.get(file2)!.functions.find(x => x.name === 'demo_rq_done_work')!;
    assert.equal(drainShapeOfFunction(fn2, file2, 0, fn2.drains[0]).shape, 'recheck');
    const none = drainShapeOfFunction(fn2, file2, 0, undefined);
    assert.equal(none.shape, 'recheck');
    assert.match(none.why, /no virtqueue_get_buf\(\) found/);
  });
});

describe('shape: where the work runs (SIM-MODEL §2.4)', () => {
  it('schedule_work() is local', async () => {
    const { index, find } = await analyse('recheck');
    const w = workLocalityOf(find('demo_rq_done_work'), index);
    assert.equal(w.wq, 'local');
    assert.match(w.why, /schedule_work\(\).*CPU that took the interrupt/);
    assert.equal(line(w.at), 32);
  });

  it('queue_work(system_unbound_wq, ...) is pinned', async () => {
    const { index, find } = await analyse('plain');
    const w = workLocalityOf(find('demo_plain_rx_work'), index);
    assert.equal(w.wq, 'pinned');
    assert.match(w.why, /system_unbound_wq.*unbound/);
  });

  it('queue_work(c->wq, ...) with c->wq = alloc_workqueue(..., WQ_UNBOUND | ..., 0) is pinned', async () => {
    const { index, find } = await analyse('relock');
    const w = workLocalityOf(find('demo_ctl_work'), index);
    assert.equal(w.wq, 'pinned');
    assert.match(
      w.why,
      /queue_work\(c->wq, \.\.\.\) where c->wq = alloc_workqueue\(\.\.\., WQ_UNBOUND \| WQ_MEM_RECLAIM, \.\.\.\) in demo_ctl_probe\(\)/,
    );
  });

  it('a member workqueue from alloc_workqueue() without WQ_UNBOUND is local', async () => {
    const { index, find } = await analyse('relock-helper');
    const w = workLocalityOf(find('demo_rh_work'), index);
    assert.equal(w.wq, 'local');
    assert.match(w.why, /d->wq = alloc_workqueue\(\.\.\., WQ_MEM_RECLAIM, \.\.\.\).*per-CPU/);
  });

  it('queue_work_on(cpu, ...) is pinned', async () => {
    const { index, find } = await analyse('single');
    const w = workLocalityOf(find('demo_one_ev_work'), index);
    assert.equal(w.wq, 'pinned');
    assert.match(w.why, /queue_work_on\(d->cpu, \.\.\.\)/);
  });

  it('delayed work: a delay arms an unpinned timer (pinned), a zero delay queues at once (local)', async () => {
    const { index, find } = await analyse('locality');
    assert.equal(workLocalityOf(find('demo_slow_fn'), index).wq, 'pinned');
    assert.match(workLocalityOf(find('demo_slow_fn'), index).why, /timer that is not pinned/);
    assert.equal(workLocalityOf(find('demo_now_fn'), index).wq, 'local');
  });

  it('system_power_efficient_wq is local (per-CPU without workqueue.power_efficient), an ordered workqueue pinned', async () => {
    const { index, find } = await analyse('locality');
    const pe = workLocalityOf(find('demo_pe_fn'), index);
    assert.equal(pe.wq, 'local');
    assert.match(pe.why, /power_efficient/);
    const ord = workLocalityOf(find('demo_ord_fn'), index);
    assert.equal(ord.wq, 'pinned');
    assert.match(ord.why, /demo_ordered_wq = alloc_ordered_workqueue/);
  });
});

describe('shape: the ring bound (SIM-MODEL §6.1)', () => {
  it('applies when every submission holds the drain lock and the drain does not resubmit', async () => {
    const { index, find } = await analyse('recheck');
    const b = ringBoundOf(find('demo_rq_done_work'), index);
    assert.deepEqual([b.cond1, b.cond2, b.applies], [true, true, true]);
    assert.deepEqual(
      b.submits.map(s => [s.fn, s.locked, line(s)]),
      [['demo_rq_send', true, 42]],
    );
    assert.match(b.why, /virtqueue_add_outbuf\(\) in demo_rq_send\(\) adds to rq->vq under rq->lock/);
  });

  it('tells the queues of one device apart: the control queue applies, the cursor queue has an unlocked add', async () => {
    const { index, find } = await analyse('recheck-helper');
    const ctrl = ringBoundOf(find('demo_gfx_dequeue_ctrl'), index);
    assert.deepEqual([ctrl.cond1, ctrl.cond2, ctrl.applies], [true, true, true]);
    assert.deepEqual(
      ctrl.submits.map(s => [s.fn, s.locked]),
      [['demo_gfx_queue_sgs', true]],
    );
    assert.match(ctrl.why, /demo_gfx_queue_sgs\(\) adds to g->ctrlq\.vq under g->ctrlq\.qlock/);
    const cursor = ringBoundOf(find('demo_gfx_dequeue_cursor'), index);
    assert.deepEqual([cursor.cond1, cursor.cond2, cursor.applies], [false, true, false]);
    assert.deepEqual(
      cursor.submits.map(s => [s.fn, s.locked]),
      [['demo_gfx_move_cursor', false]],
    );
    assert.match(cursor.why, /virtqueue_add_sgs\(\) in demo_gfx_move_cursor\(\) adds to g->cursorq\.vq without g->cursorq\.qlock/);
  });

  it("counts a helper that takes the queue as a parameter at its callers' lock state", async () => {
    const { index, find } = await analyse('plain');
    const b = ringBoundOf(find('demo_plain_rx_work'), index);
    assert.equal(b.applies, true);
    assert.deepEqual(
      b.submits.map(s => [s.fn, s.locked]),
      [['demo_plain_refill', true]],
    );
  });

  it('follows a lock passed as a parameter to the filling helper', async () => {
    const { index, find } = await analyse('relock-helper');
    const b = ringBoundOf(find('demo_rh_work'), index);
    assert.equal(b.applies, true);
    assert.deepEqual(
      b.submits.map(s => [s.fn, s.locked]),
      [['demo_rh_probe', true]],
    );
  });

  it('condition 2 fails when the drain resubmits under the re-taken lock', async () => {
    const { index, find } = await analyse('relock');
    const b = ringBoundOf(find('demo_ctl_work'), index);
    assert.deepEqual([b.cond1, b.cond2, b.applies], [true, false, false]);
    assert.match(b.why, /demo_ctl_add\(\) in demo_ctl_work\(\) resubmits to c->c_ivq under c->c_lock/);
  });

  it('condition 1 fails for an add under the lock on some paths only', async () => {
    const { index, find } = await analyse('locality');
    const b = ringBoundOf(find('demo_slow_fn'), index);
    assert.deepEqual([b.cond1, b.cond2, b.applies], [false, true, false]);
    assert.deepEqual(
      b.submits.map(s => [s.fn, s.locked]),
      [['demo_loc_refill', false]],
    );
    assert.match(b.why, /virtqueue_add_inbuf\(\) in demo_loc_refill\(\) adds to d->vqs\[0\] without d->lock held on every path/);
  });

  it('condition 1 cannot be read when nothing in the driver submits to the queue', async () => {
    const { index, find } = await analyse('single');
    const b = ringBoundOf(find('demo_one_ev_work'), index);
    assert.deepEqual([b.cond1, b.applies, b.submits.length], [false, false, 0]);
    assert.match(b.why, /no virtqueue_add_\* on d->evq found in the driver's files/);
  });
});
