import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { vrl001 } from '../../src/analysis/rules/vrl001';
import { expectationsIn, FIXTURES, fixtureDirs } from '../helpers/fixtures';

describe('VRL001 irq-unsafe-vq-drain on annotated fixtures', () => {
  for (const dir of fixtureDirs('vrl001')) {
    it(path.basename(dir), async () => {
      const expected = expectationsIn(dir);
      assert.ok(expected.length > 0, 'fixture has no annotations');
      const { findings: all, warnings } = await checkPaths([dir], { workers: 0 });
      assert.deepEqual(warnings, []);
      // The rules the fixture is annotated for (test/fixtures/vrl002 covers VRL002 on its own fixtures).
      const annotated = new Set(expected.map(e => e.rule));
      const findings = all.filter(f => annotated.has(f.rule));
      const at = (file: string, line: number) => findings.filter(f => f.file === file && f.span.line === line);
      for (const e of expected) {
        const here = at(e.file, e.line);
        const where = `${path.basename(e.file)}:${e.line + 1}`;
        if (e.kind === 'ok') {
          assert.equal(here.length, 0, `unexpected finding at ${where}: ${here[0]?.message}`);
          continue;
        }
        assert.equal(here.length, 1, `expected one finding at ${where}, got ${here.length}`);
        if (e.attrs.handler) assert.equal(here[0].handler, e.attrs.handler, where);
        if (e.attrs.callback) assert.equal(here[0].callback, e.attrs.callback, where);
      }
      const wanted = new Set(expected.filter(e => e.kind === 'ruleid').map(e => `${e.file}:${e.line}`));
      for (const f of findings)
        assert.ok(
          wanted.has(`${f.file}:${f.span.line}`),
          `finding not annotated: ${path.basename(f.file)}:${f.span.line + 1} ${f.message}`,
        );
    });
  }

  it('reports on the lock call with callback, registration, schedule, binding and drain as related locations', async () => {
    const [dir] = fixtureDirs('vrl001').filter(d => d.endsWith('gpu-helper-binding'));
    const { findings } = await checkPaths([dir], { workers: 0 });
    const f = findings.find(x => x.handler === 'demo_dequeue_ctrl_func')!;
    assert.equal(f.rule, 'VRL001');
    assert.equal(f.lock, 'spin_lock(&dev->ctrlq.qlock)');
    assert.deepEqual(
      f.related.map(r => r.role),
      ['callback', 'registration', 'schedule', 'binding', 'helper-call', 'drain'],
    );
    const byRole = Object.fromEntries(f.related.map(r => [r.role, r]));
    assert.equal(path.basename(byRole.callback.file), 'demo_vq.c');
    assert.equal(path.basename(byRole.registration.file), 'demo_kms.c');
    assert.equal(path.basename(byRole.binding.file), 'demo_kms.c');
    assert.match(byRole['helper-call'].message, /demo_init_vq\(\) called with demo_dequeue_ctrl_func/);
    assert.match(byRole.drain.message, /demo_dequeue_ctrl_func -> reclaim_bufs/);
    assert.equal(f.drain!.function, 'reclaim_bufs');
  });

  it('says in a short first line what the code shows, then only what docs/model.md supports', async () => {
    const sim = path.join(FIXTURES, 'sim');
    const { findings: all } = await checkPaths(
      [path.join(sim, 'cb_lock.c'), path.join(sim, 'lock_in_helper.c'), ...fixtureDirs('vrl001')],
      { workers: 0 },
    );
    const findings = all.filter(f => f.rule === vrl001.meta.id);
    const by = (handler: string) => findings.find(f => f.handler === handler)!;
    for (const f of findings) {
      const [first, second, ...more] = f.message.split('\n');
      assert.deepEqual(more, [], f.message);
      // The first line names the lock's function, the lock and the callback, and fits a Problems row.
      assert.ok(first.startsWith(`${f.lockFunction}() drains under ${f.lock}, IRQs on; `), first);
      assert.ok(first.includes(`${f.callback}()`), first);
      const names = f.lockFunction.length + f.lock.length + f.callback.length + (f.handler === f.lockFunction ? 0 : f.handler.length + 2);
      assert.ok(first.length - names <= 40, `${first.length}: ${first}`);
      // What can happen on the work's CPU, and that irqsave defers the interrupt rather than removing IRQ_NONE.
      assert.match(
        second,
        /^Unless IRQs are force-threaded \(threadirqs, PREEMPT_RT\), the queue's interrupt can run on the work's CPU mid-drain and find the ring already drained, so vring_interrupt\(\) returns IRQ_NONE\./,
      );
      assert.match(
        second,
        /Taking the lock with irqsave defers such interrupts to the unlock\b.*; IRQ_NONE stays possible, as the ring can be empty by then\.$/,
      );
      assert.doesNotMatch(f.message, /nobody cared|disables? the line/);
      assert.equal(/deadlock/.test(second), f.callbackTakesLock, second);
    }
    assert.match(
      by('demo_work').message,
      /demo_done\(\) takes the same lock, so such an interrupt can also deadlock against the work \(AA\)\. Taking the lock with irqsave defers such interrupts to the unlock, which removes that deadlock;/,
    );
    // A lock taken in a helper: the first line names the helper and the work function it serves.
    assert.match(
      by('helper_work').message,
      /^helper_reclaim\(\) drains under spin_lock\(&d->lock\), IRQs on; helper_done\(\) queues helper_work\(\)\n/,
    );
  });

  it('names the registration of the queue whose callback schedules the handler, when one callback serves several queues', async () => {
    const [dir] = fixtureDirs('shape').filter(d => d.endsWith('shared-callback'));
    const { findings } = await checkPaths([dir], { workers: 0 });
    const reg = (handler: string) => {
      const f = findings.find(x => x.handler === handler)!;
      const r = f.related.find(x => x.role === 'registration')!;
      return `${path.basename(r.file)}:${r.span.line + 1} ${r.message}`;
    };
    // By the queue index that names the handler (virtio-fs's hiprio queue) or names another one.
    assert.equal(reg('demo_fs_hiprio_done_work'), 'demo_fsq.c:67 registered as a virtqueue callback (vqs_info[VQ_HIPRIO].callback =)');
    assert.equal(reg('demo_fs_requests_done_work'), 'demo_fsq.c:72 registered as a virtqueue callback (vqs_info[i].callback =)');
    // By the index of the helper call that bound the handler.
    assert.equal(reg('demo_alpha'), 'demo_pair.c:60 registered as a virtqueue callback (cbs[PAIR_EVT] =)');
    assert.equal(reg('demo_beta'), 'demo_pair.c:59 registered as a virtqueue callback (cbs[PAIR_CMD] =)');
  });

  it('has metadata with a docs link into the README', () => {
    assert.equal(vrl001.meta.id, 'VRL001');
    assert.equal(vrl001.meta.name, 'irq-unsafe-vq-drain');
    assert.equal(vrl001.meta.severity, 'warning');
    assert.match(vrl001.meta.docsUrl, /README\.md#vrl001-irq-unsafe-vq-drain$/);
  });
});
