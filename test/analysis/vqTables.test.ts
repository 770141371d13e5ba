import * as assert from 'node:assert/strict';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';
import { callbacksAt, entriesAssigned, entriesOfInitializer } from '../../src/analysis/vqTables';

describe('callback tables for virtio_find_vqs()', () => {
  before(() => initParser());

  it('reads initialisers: positional, designated indices, struct entries (positional, .callback, left out)', () => {
    assert.deepEqual(entriesOfInitializer(' a, NULL, (vq_callback_t *)&b '), [
      { index: 0, callback: 'a' },
      { index: 1, callback: null },
      { index: 2, callback: 'b' },
    ]);
    assert.deepEqual(entriesOfInitializer('[2] = a, b, [VQ_REQ] = c'), [
      { index: 2, callback: 'a' },
      { index: 3, callback: 'b' },
      { indexText: 'VQ_REQ', callback: 'c' },
    ]);
    assert.deepEqual(entriesOfInitializer('{ "  ", a }, { .callback = b, .name = "x" }, { .name = "y" }, { "z" }, { "w", f(x) },'), [
      { index: 0, callback: 'a' },
      { index: 1, callback: 'b' },
      { index: 2, callback: null },
      { index: 3, callback: null },
      { index: 4, callback: undefined },
    ]);
  });

  it('reads element assignments with constant and other subscripts', () => {
    assert.deepEqual(
      entriesAssigned(
        'cbs',
        'cbs[1] = NULL; cbs[n + i] = done; info[0].callback = x; cbs [ rxq2vq(i) ] .callback = rx; cbs[2] == a; cbs[3] = { a };',
      ),
      [
        { index: 1, callback: null },
        { indexText: 'n+i', callback: 'done' },
        { indexText: 'rxq2vq(i)', callback: 'rx' },
      ],
    );
  });

  it('answers which callbacks an element may hold, or that it is not known', () => {
    const e = [
      { index: 0, callback: 'ctrl' },
      { indexText: 'i+1', callback: 'data' },
      { indexText: 'n+i', callback: null },
    ];
    assert.deepEqual(callbacksAt(e, '0'), ['ctrl', 'data', null], 'a constant index may also be one a loop filled');
    assert.deepEqual(callbacksAt(e, 'i + 1'), ['data'], 'the same subscript names the same elements');
    assert.deepEqual(callbacksAt(e, 'j'), ['ctrl', 'data', null], 'another subscript: any element');
    assert.deepEqual(callbacksAt(e, undefined), ['ctrl', 'data', null]);
    assert.equal(callbacksAt([{ index: 1, callback: 'a' }], '0'), undefined, 'no entry');
    assert.equal(
      callbacksAt(
        [
          { index: 0, callback: 'a' },
          { index: 0, callback: 'b' },
        ],
        '0',
      ),
      undefined,
      'two entries',
    );
    assert.equal(callbacksAt([{ index: 0, callback: undefined }], undefined), undefined, 'not a plain name');
  });

  it('records file-scope tables, and setups that name them or a member array, in the facts', () => {
    const f = factsFromText(
      't.c',
      `static vq_callback_t *cbs[] = { rx_done, NULL };
static struct virtqueue_info info[] = { { "a", a_done }, { .name = "b" } };
static int probe(struct virtio_device *vdev, struct dev *d)
{
	struct virtqueue *vqs[2];
	int i;

	virtio_find_vqs(vdev, 2, vqs, cbs, names, NULL);
	for (i = 0; i < 2; i++)
		d->q[i].vq = vqs[i];
	d->ctrl = vqs[1];
	return virtio_find_vqs(vdev, 2, d->evq, info, NULL);
}
`,
    );
    assert.deepEqual(f.vqTables, [
      {
        name: 'cbs',
        entries: [
          { index: 0, callback: 'rx_done' },
          { index: 1, callback: null },
        ],
      },
      {
        name: 'info',
        entries: [
          { index: 0, callback: 'a_done' },
          { index: 1, callback: null },
        ],
      },
    ]);
    assert.deepEqual(
      f.functions[0].vqSetups!.map(s => [s.target, s.table]),
      [
        ['d->q[i].vq', { name: 'cbs', sub: 'i' }],
        ['d->ctrl', { name: 'cbs', sub: '1' }],
        ['d->evq[0]', { name: 'info' }],
      ],
    );
  });
});
