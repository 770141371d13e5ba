import * as assert from 'node:assert/strict';
import {
  identArg,
  LineIndex,
  maskNonCode,
  maskPreprocessor,
  normaliseLockExpr,
  parseExprRef,
  parseMemberPath,
  splitArgs,
} from '../../src/analysis/text';

describe('text helpers', () => {
  it('splits arguments at top-level commas only', () => {
    assert.deepEqual(
      splitArgs('(a, f(b, c), "x,y", d[1, 2])').map(a => a.text),
      ['a', 'f(b, c)', '"x,y"', 'd[1, 2]'],
    );
    assert.deepEqual(splitArgs('()'), []);
    const args = splitArgs('( &q->lock ,flags)');
    assert.deepEqual(
      args.map(a => [a.text, a.start, a.end]),
      [
        ['&q->lock', 2, 10],
        ['flags', 12, 17],
      ],
    );
  });

  it('normalises lock expressions', () => {
    assert.equal(normaliseLockExpr('&fsvq->lock'), 'fsvq->lock');
    assert.equal(normaliseLockExpr('&(vgdev -> ctrlq.qlock)'), 'vgdev->ctrlq.qlock');
    assert.equal(normaliseLockExpr('&x->lock /* outer */'), 'x->lock');
  });

  it('recognises a function named as a value', () => {
    assert.equal(identArg('handler'), 'handler');
    assert.equal(identArg('&handler'), 'handler');
    assert.equal(identArg('(work_func_t)handler'), 'handler');
    assert.equal(identArg('f(x)'), undefined);
    assert.equal(identArg('a->b'), undefined);
  });

  it('parses access paths', () => {
    const e = parseExprRef('&vgdev->ctrlq.dequeue_work')!;
    assert.equal(e.addressOf, true);
    assert.deepEqual(e.base, { kind: 'var', name: 'vgdev' });
    assert.deepEqual(e.chain, [
      { op: '->', field: 'ctrlq' },
      { op: '.', field: 'dequeue_work' },
    ]);
    const c = parseExprRef('&vq_to_fsvq(vq)->done_work')!;
    assert.equal(c.base.kind, 'call');
    assert.deepEqual(c.chain, [{ op: '->', field: 'done_work' }]);
    const cast = parseExprRef('&((struct foo *)p)->w')!;
    assert.equal(cast.base.kind, 'cast');
    assert.equal(cast.base.kind === 'cast' && cast.base.type.name, 'foo');
    assert.deepEqual(
      parseExprRef('&dev->vqs[i].work')!.chain.map(x => x.field),
      ['vqs[]', 'work'],
    );
    assert.equal(parseExprRef('a + b'), undefined);
  });

  it('parses member designators of container_of', () => {
    assert.deepEqual(parseMemberPath('ctrlq.dequeue_work'), ['ctrlq', 'dequeue_work']);
    assert.deepEqual(parseMemberPath(' refill . work '), ['refill', 'work']);
    assert.equal(parseMemberPath('a->b'), undefined);
  });

  it('masks comments and literals without moving offsets', () => {
    const t = 'a("x(y"); /* f(z) */ b(); // c(\nd();';
    const m = maskNonCode(t);
    assert.equal(m.length, t.length);
    assert.equal(m.indexOf('f(z)'), -1);
    assert.equal(m.indexOf('c('), -1);
    assert.equal(m.indexOf('d();'), t.indexOf('d();'));
  });

  it('blanks every character of a comment, literal or preprocessor line but its newlines', () => {
    const t = 'a = "s\\"t"; /* one\r\n two */ b; // c\n#define X(y) \\\n\t{ y }\nz;';
    assert.equal(maskNonCode(t), 'a = "    "; ' + ' '.repeat(7) + '\n' + ' '.repeat(7) + ' b; ' + '    \n#define X(y) \\\n\t{ y }\nz;');
    assert.equal(
      maskPreprocessor(maskNonCode(t)),
      maskNonCode(t).replace('#define X(y) \\\n\t{ y }', ' '.repeat(14) + '\n' + ' '.repeat(6)),
    );
  });

  it('maps offsets to lines and columns', () => {
    const idx = new LineIndex('ab\ncd\n\nef');
    assert.deepEqual(idx.position(0), { line: 0, column: 0 });
    assert.deepEqual(idx.position(4), { line: 1, column: 1 });
    assert.deepEqual(idx.position(7), { line: 3, column: 0 });
  });
});
