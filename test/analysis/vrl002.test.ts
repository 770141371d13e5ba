import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { vrl002 } from '../../src/analysis/rules/vrl002';
import { simulationModel } from '../../src/analysis/rules';
import { simulateCode } from '../../src/sim/fromCode';
import { runCli } from '../helpers/cli';
import { expectationsIn, FIXTURES, fixtureDirs } from '../helpers/fixtures';

const VRL002 = path.join(FIXTURES, 'vrl002');

describe('VRL002 deferred-drain-irqs-on on annotated fixtures', () => {
  for (const dir of fixtureDirs('vrl002')) {
    it(path.basename(dir), async () => {
      const expected = expectationsIn(dir);
      const nested = path.basename(dir) === 'transport' ? expectationsIn(path.join(dir, 'drivers', 'virtio')) : [];
      const all = [...expected, ...nested];
      assert.ok(all.length > 0, 'fixture has no annotations');
      const { findings: found, warnings } = await checkPaths([dir], { workers: 0 });
      assert.deepEqual(warnings, []);
      const annotated = new Set(all.map(e => e.rule));
      const findings = found.filter(f => annotated.has(f.rule));
      for (const e of all) {
        const here = findings.filter(f => f.file === e.file && f.span.line === e.line && f.rule === e.rule);
        const where = `${path.basename(e.file)}:${e.line + 1}`;
        if (e.kind === 'ok') {
          assert.equal(here.length, 0, `unexpected finding at ${where}: ${here[0]?.message}`);
          continue;
        }
        assert.equal(here.length, 1, `expected one ${e.rule} finding at ${where}, got ${here.length}`);
        if (e.attrs.handler) assert.equal(here[0].handler, e.attrs.handler, where);
        if (e.attrs.callback) assert.equal(here[0].callback, e.attrs.callback, where);
        if (e.attrs.shape) assert.equal(here[0].data?.shape, e.attrs.shape.replace(/-/g, ' '), where);
      }
      const wanted = new Set(all.filter(e => e.kind === 'ruleid').map(e => `${e.rule}:${e.file}:${e.line}`));
      for (const f of findings)
        assert.ok(
          wanted.has(`${f.rule}:${f.file}:${f.span.line}`),
          `finding not annotated: ${path.basename(f.file)}:${f.span.line + 1} ${f.message}`,
        );
    });
  }

  it('says in a first line of at most 100 characters the handler, the shape and the callback; related locations as VRL001', async () => {
    const { findings } = await checkPaths([VRL002], { workers: 0 });
    const mine = findings.filter(f => f.rule === 'VRL002');
    assert.ok(mine.length >= 8, `${mine.length}`);
    const words: Record<string, RegExp> = {
      mutex: /drains under mutex_lock/,
      'no lock': /drains with no lock/,
      trylock: /drains after mutex_trylock\(\)/,
      'NAPI poll': /^NAPI poll /,
      tasklet: /^tasklet /,
      waiter: /^waiter \w+\(\) drains (?:in|after) its wait(?:_event\w*\(\))?,/,
    };
    for (const f of mine) {
      const [first, second, ...rest] = f.message.split('\n');
      assert.deepEqual(rest, []);
      assert.ok(first.length <= 100, `${first.length}: ${first}`);
      assert.ok(first.includes(`${f.handler}()`) && first.endsWith(`${f.callback}()`), first);
      assert.match(first, words[String(f.data?.shape)], first);
      assert.match(second, /vring_interrupt\(\) then finds the ring already drained and returns IRQ_NONE/);
      assert.match(second, /no fix to offer/);
      assert.equal(f.severity, 'information');
      const roles = f.related.map(r => r.role);
      assert.deepEqual(roles.slice(0, 3), ['callback', 'registration', 'schedule']);
      assert.ok(roles.includes(f.data?.shape === 'waiter' ? 'wait' : 'binding'), roles.join());
      assert.equal(roles[roles.length - 1], 'drain');
    }
    const rx = mine.find(f => f.handler === 'demo_rx_work')!;
    assert.equal(rx.lock, 'mutex_lock(&w->rx_lock)');
    assert.ok(rx.related.some(r => r.role === 'lock' && r.message.startsWith('mutex_lock(&w->rx_lock)')));
    const send = mine.find(f => f.handler === 'demo_send')!;
    assert.match(send.message, /^waiter demo_send\(\) drains in its wait_event\(\)/);
    assert.match(
      send.related.find(r => r.role === 'wait')!.message,
      /wait_event\(d->acked, virtqueue_get_buf\(vq, &len\)\): demo_send\(\) waits on the wait queue demo_ack\(\) wakes/,
    );
  });

  it("says a compliant device is quiet during the drain only where the callback suppresses the queue's interrupts", async () => {
    const { findings } = await checkPaths([VRL002], { workers: 0 });
    const mine = findings.filter(f => f.rule === 'VRL002');
    // demo_rx_done() only queues the work (as vsock's virtio_vsock_rx_done()): interrupts stay enabled.
    const rx = mine.find(f => f.handler === 'demo_rx_work')!;
    assert.match(rx.message, /demo_rx_done\(\) does not suppress the queue's interrupts/);
    // A spin_lock_irqsave() taken inside a mutex's section is fine; the mutex itself cannot become one.
    assert.match(rx.message, /its holder may sleep, so it cannot be made an irqsave spinlock/);
    assert.doesNotMatch(rx.message, /irqsave is not possible under it/);
    assert.doesNotMatch(rx.message, /decided on before/);
    // demo_recv_done() calls virtqueue_napi_schedule(), which calls virtqueue_disable_cb() (as virtio_net's).
    const poll = mine.find(f => f.data?.shape === 'NAPI poll' && f.callback === 'demo_recv_done')!;
    assert.match(
      poll.message,
      /demo_recv_done\(\) suppresses the queue's interrupts \(virtqueue_disable_cb\(\)\), but a compliant device can still send an MSI it decided on before that/,
    );
    const send = mine.find(f => f.handler === 'demo_send')!;
    assert.match(send.message, /does not suppress the queue's interrupts/);
    // Simulate compares devices only for NAPI, and refuses waiters and tasklets.
    assert.match(poll.message, /Simulate shows which verdicts need which device\.$/);
    assert.match(send.message, /Simulate does not model this shape yet\.$/);
    assert.match(rx.message, /Simulate explores this shape with the device you choose\.$/);
    for (const f of mine.filter(x => x.data?.shape === 'tasklet')) assert.match(f.message, /Simulate does not model this shape yet\.$/);
  });

  it('has no fix and no patch, and its metadata links the README section', () => {
    assert.equal(vrl002.meta.fixable, false);
    assert.equal(vrl002.fix, undefined);
    assert.equal(vrl002.patch, undefined);
    assert.equal(vrl002.meta.severity, 'information');
    assert.match(vrl002.meta.docsUrl, /README\.md#vrl002-deferred-drain-irqs-on$/);
  });

  it('is off or a warning with --rule, and writes its deferral in JSON', async () => {
    const cwd = path.join(VRL002, 'work-shapes');
    const def = await runCli(['check', 'demo_work.c'], cwd);
    assert.equal(def.code, 1, 'the VRL001 finding fails the check');
    assert.equal(def.stdout.split('\n').filter(l => / information: .*\[VRL002\]$/.test(l)).length, 3);
    const off = await runCli(['check', '--rule', 'VRL002=off', 'demo_work.c'], cwd);
    assert.ok(!off.stdout.includes('[VRL002]'));
    assert.ok(off.stdout.includes('[VRL001]'));
    // --rule given twice: both settings count (a later one for the same rule wins).
    const twice = await runCli(['check', '--rule', 'VRL002=off', '--rule', 'VRL001=information', 'demo_work.c'], cwd);
    assert.ok(!twice.stdout.includes('[VRL002]'), twice.stdout);
    assert.match(twice.stdout, / information: .*\[VRL001\]$/m);
    assert.equal(twice.code, 0);
    const again = await runCli(['check', '--rule', 'VRL002=off', '--rule', 'VRL002=warning', 'demo_work.c'], cwd);
    assert.equal(again.stdout.split('\n').filter(l => / warning: .*\[VRL002\]$/.test(l)).length, 3);
    const warn = await runCli(['check', '--rule', 'VRL002=warning', '--format', 'json', 'demo_work.c'], cwd);
    const js = JSON.parse(warn.stdout).findings.filter((f: { rule: string }) => f.rule === 'VRL002');
    assert.equal(js.length, 3);
    for (const f of js) assert.equal(f.severity, 'warning');
    const rx = js.find((f: { handler: string }) => f.handler === 'demo_rx_work');
    assert.deepEqual(rx.deferral, { kind: 'work', shape: 'mutex', api: 'schedule_work' });
    assert.equal(rx.drain.function, 'demo_rx_work');
  });
});

describe('VRL002 simulate', () => {
  it('models a mutex as LOCK 0 with the mutex, and offers no irqsave comparison', async () => {
    const { findings, project } = await checkPaths([path.join(VRL002, 'work-shapes')], { workers: 0 });
    const f = findings.find(x => x.rule === 'VRL002' && x.handler === 'demo_rx_work')!;
    const m = simulationModel(f, project.index)!;
    assert.equal(m.lock, 'mutex');
    assert.equal(m.drain, 'recheck');
    const sim = simulateCode(m, { buffers: 3 });
    assert.equal(sim.comparison.fixApplies, false);
    assert.equal(sim.comparison.after, sim.comparison.before);
    const text = (await runCli(['simulate', 'demo_work.c:32', '--buffers', '3'], path.join(VRL002, 'work-shapes'))).stdout;
    assert.match(text, /The irqsave fix does not apply: the drain holds a mutex/);
    assert.doesNotMatch(text, /Verdicts by device/);
    const none = simulationModel(
      findings.find(x => x.rule === 'VRL002' && x.handler === 'demo_tx_work')!,
      project.index,
    )!;
    assert.equal(none.lock, 'none');
    const tryl = simulationModel(
      findings.find(x => x.rule === 'VRL002' && x.handler === 'demo_st_work')!,
      project.index,
    )!;
    assert.equal(tryl.lock, 'none');
  });

  it('runs a NAPI poll under a compliant and a caching device and says, from both results, which verdicts need which', async () => {
    const { findings, project } = await checkPaths([path.join(VRL002, 'napi')], { workers: 0 });
    const f = findings.find(x => x.rule === 'VRL002' && x.handler === 'demo_poll')!;
    const m = simulationModel(f, project.index)!;
    assert.equal(m.napi, true);
    // demo_recv_done() suppresses, as the model's callback does; a callback that does not is named.
    assert.equal(f.data?.callbackSuppresses, true);
    assert.ok(!m.notes.some(n => /does not, so this code can take more interrupts/.test(n)), m.notes.join('; '));
    const loud = simulationModel({ ...f, data: { ...f.data, callbackSuppresses: false } }, project.index)!;
    assert.ok(
      loud.notes.some(n =>
        n.includes('demo_recv_done() does not, so this code can take more interrupts during the poll than the model shows'),
      ),
      loud.notes.join('; '),
    );
    const sim = simulateCode(m, { buffers: 3 });
    assert.equal(sim.config.napi, true);
    assert.equal(sim.config.stale, 'prompt');
    assert.equal(sim.deviceContrast!.device, 'cached');
    const prompt = sim.comparison.before.properties;
    const cached = sim.deviceContrast!.result.properties;
    const r = await runCli(['simulate', 'demo_net.c:52', '--buffers', '3', '--json'], path.join(VRL002, 'napi'));
    const [j] = JSON.parse(r.stdout);
    const ids = (p: typeof prompt) => (Object.keys(p) as (keyof typeof p)[]).filter(id => p[id].checked && p[id].violated);
    assert.deepEqual(j.deviceContrast, { prompt: ids(prompt), cached: ids(cached) });
    const summary = (j.summary as string[]).join(' ');
    const text = (await runCli(['simulate', 'demo_net.c:52', '--buffers', '3'], path.join(VRL002, 'napi'))).stdout;
    assert.match(text, /Verdicts by device .*\nproperty +question +prompt \(compliant\) +cached \(caches the suppression state\)\n/);
    assert.match(text, /Note: the drain runs in a NAPI poll .*threaded NAPI .* is not modelled/);
    // B on the poll's CPU is an assumption about interrupts that are not force-threaded.
    assert.ok(prompt.B.violated);
    assert.match(
      text,
      /With threadirqs on a kernel without PREEMPT_RT, vring_interrupt\(\) runs in a thread that cannot preempt the poll .* so B is not reachable there/,
    );
    const needCached = ids(cached).filter(id => !prompt[id].violated);
    for (const id of ids(prompt))
      assert.ok(summary.includes(`With a compliant device (--device prompt) these are reachable:`) && summary.includes(`${id} (`), id);
    if (needCached.length) assert.match(summary, new RegExp(`So ${needCached[0]} \\(`));
    // The other way round: the caching device as written, the compliant one as the contrast.
    const sim2 = simulateCode(m, { buffers: 3, device: 'cached' });
    assert.equal(sim2.deviceContrast!.device, 'prompt');
    assert.deepEqual(ids(sim2.deviceContrast!.result.properties), ids(prompt));
  });

  it('says "not modelled yet" in one line for a waiter and a tasklet', async () => {
    for (const [dir, at, what] of [
      ['waiter', 'demo_wait.c:27', 'a task woken by the callback'],
      ['tasklet', 'demo_tl.c:16', 'a tasklet'],
    ]) {
      const r = await runCli(['simulate', at], path.join(VRL002, dir));
      assert.equal(r.code, 2);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${what}.* is not modelled yet`));
    }
  });
});
