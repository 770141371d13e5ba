// Code under `#if 0` is not compiled, so it is neither reported nor fixed (issue 9).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { disabledRegions } from '../../src/analysis/disabled';
import { runCli, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';
import { startServer } from '../helpers/lsp';

const BEFORE = fs.readFileSync(path.join(FIXTURES, 'fix/basic/before.c'), 'utf8');
/** The fixture with its work function under `cond`, a preprocessor line. */
const guarded = (open: string, close = '#endif') =>
  BEFORE.replace('static void demo_done_work(', `${open}\nstatic void demo_done_work(`).replace(
    '\n}\n\nstatic void demo_vq_done',
    `\n}\n${close}\n\nstatic void demo_vq_done`,
  );

describe('#if 0', function () {
  this.timeout(20000);

  it('finds the regions: up to #else, #elif or #endif, nested conditionals inside, not in comments', () => {
    const t =
      '#if 0\na\n#if X\nb\n#endif\nc\n#else\nd\n#endif\n/* #if 0 */\n#if (0)\ne\n#elif Y\nf\n#endif\n#if 1\n#if 0\ng\n#endif\n#endif\n';
    const regions = disabledRegions(t).map(([a, b]) => t.slice(a, b));
    assert.deepEqual(regions, ['\na\n#if X\nb\n#endif\nc\n', '\ne\n', '\ng\n']);
  });

  it('check reports nothing and fix changes nothing under #if 0; the #else branch is live', async () => {
    const dir = tempDir('vrl-if0-');
    fs.writeFileSync(path.join(dir, 'dead.c'), guarded('#if 0'));
    const check = await runCli(['check', 'dead.c'], dir);
    assert.equal(check.code, 0, check.stdout);
    const fix = await runCli(['fix', 'dead.c'], dir);
    assert.equal(fix.code, 0, fix.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'dead.c'), 'utf8'), guarded('#if 0'));
    fs.writeFileSync(path.join(dir, 'live.c'), guarded('#if 0\n#else'));
    assert.equal((await runCli(['check', 'live.c'], dir)).code, 1);
    fs.writeFileSync(path.join(dir, 'cond.c'), guarded('#ifdef CONFIG_DEMO'));
    assert.equal((await runCli(['check', 'cond.c'], dir)).code, 1);
  });

  it('inside a live function, a drain under #if 0 is not reported; one in its #else is', async () => {
    const dir = tempDir('vrl-if0-body-');
    const file = (drain: string) =>
      [
        'struct d { spinlock_t lock; struct virtqueue *vq; struct work_struct w; };',
        'static void d_work(struct work_struct *work)',
        '{',
        '\tstruct d *d = container_of(work, struct d, w);',
        '\tunsigned int len;',
        '',
        '\tspin_lock(&d->lock);',
        drain,
        '\tspin_unlock(&d->lock);',
        '}',
        'static void d_done(struct virtqueue *vq)',
        '{',
        '\tstruct d *d = vq->vdev->priv;',
        '',
        '\tschedule_work(&d->w);',
        '}',
        'static int d_probe(struct virtio_device *vdev, struct d *d)',
        '{',
        '\tINIT_WORK(&d->w, d_work);',
        '\td->vq = virtio_find_single_vq(vdev, d_done, "q");',
        '\treturn 0;',
        '}',
        '',
      ].join('\n');
    const loop = '\twhile (virtqueue_get_buf(d->vq, &len))\n\t\t;';
    fs.writeFileSync(path.join(dir, 'plain.c'), file(loop));
    assert.equal((await runCli(['check', 'plain.c'], dir)).code, 1, 'the fixture has a finding without #if 0');
    fs.writeFileSync(path.join(dir, 'dead_body.c'), file(`#if 0\n${loop}\n#endif`));
    const dead = await runCli(['check', 'dead_body.c'], dir);
    assert.equal(dead.code, 0, dead.stdout);
    fs.writeFileSync(path.join(dir, 'live_else.c'), file(`#if 0\n\tcpu_relax();\n#else\n${loop}\n#endif`));
    assert.equal((await runCli(['check', 'live_else.c'], dir)).code, 1);
  });

  it("the language server does not report an open document's code under #if 0", async () => {
    const dir = tempDir('vrl-if0-');
    const file = path.join(dir, 'dead.c');
    fs.writeFileSync(file, BEFORE);
    const c = await startServer(dir);
    try {
      const uri = `file://${file}`;
      await c.waitFor(d => (d.get(uri) ?? []).length === 1);
      await c.client.sendNotification('textDocument/didOpen', {
        textDocument: { uri, languageId: 'c', version: 1, text: guarded('#if 0') },
      });
      await c.waitFor(d => (d.get(uri) ?? []).length === 0);
      assert.equal(c.server.findings.length, 0);
    } finally {
      c.close();
    }
  });
});
