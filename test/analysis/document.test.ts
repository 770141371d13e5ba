import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysedDocument } from '../../src/analysis/document';
import type { FileFacts } from '../../src/analysis/facts';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';
import { FIXTURES, fixtureDirs } from '../helpers/fixtures';
import { rng } from '../helpers/fuzz';

/** Facts compared as a fresh parse gives them; ERROR counts may differ by how much was re-parsed. */
function comparable(f: FileFacts): FileFacts {
  return { ...f, errors: 0, functions: f.functions.map(fn => ({ ...fn, errors: 0 })) };
}

const SNIPPETS = [
  'x',
  ' ',
  ';',
  '\n\t',
  'spin_lock(&q->lock);\n\t',
  'spin_unlock(&q->lock);',
  'virtqueue_get_buf(vq, &len)',
  'schedule_work(&d->w);',
  '(',
  ')',
  '*',
  'goto out;',
  'out:\n',
  '{',
  '}',
  '"',
  '/* c */',
  '#if 0\n',
  '\\',
];

describe('AnalysedDocument', function () {
  // The randomized edit sequences take ~13 s alone; on a loaded machine (CI, parallel builds) more.
  this.timeout(120000);
  before(() => initParser());

  for (const [name, askEvery] of [
    ['after every edit', 1],
    ['asked for after bursts of edits', 4],
  ] as const) {
    it(`keeps facts equal to a fresh parse through random edits, ${name} (fast path and re-parses)`, () => {
      const files = fixtureDirs('vrl001')
        .flatMap(d => fs.readdirSync(d).map(f => path.join(d, f)))
        .filter(f => f.endsWith('.c'));
      let body = 0;
      let reparse = 0;
      for (const [k, file] of files.entries()) {
        const next = rng(k + askEvery);
        const doc = new AnalysedDocument(file, fs.readFileSync(file, 'utf8'));
        for (let step = 0; step < 60; step++) {
          const text = doc.text;
          const at = Math.floor(next() * text.length);
          if (next() < 0.3) {
            doc.edit(at, Math.min(text.length, at + 1 + Math.floor(next() * 6)), '');
          } else {
            doc.edit(at, at, SNIPPETS[Math.floor(next() * SNIPPETS.length)]);
          }
          if (doc.lastEdit === 'body') body++;
          else reparse++;
          if (step % askEvery !== askEvery - 1) continue;
          assert.deepEqual(comparable(doc.facts()), comparable(factsFromText(file, doc.text)), `${path.basename(file)} after edit ${step}`);
        }
        doc.dispose();
      }
      // After an edit that may change the items, later edits wait for the re-parse too. The random
      // snippets often break lines inside the fixtures' `// ruleid:` comments or leave a stray `\`
      // in a body, edits the fast path leaves to a re-parse.
      assert.ok(body > (askEvery === 1 ? 60 : 20) && reparse > 50, `both paths exercised (${body} body edits, ${reparse} re-parses)`);
    });
  }

  it('handles a one-line edit inside a function without re-parsing the file', () => {
    const file = path.join(FIXTURES, 'vrl001', 'relock-in-loop', 'demo_console.c');
    const text = fs.readFileSync(file, 'utf8');
    const doc = new AnalysedDocument(file, text);
    const at = text.indexOf('\tvq = portdev->c_ivq;');
    doc.edit(at, at, '\tint extra = 0;\n');
    assert.equal(doc.lastEdit, 'body');
    const facts = doc.facts();
    const fn = facts.functions.find(f => f.name === 'control_work_handler')!;
    assert.equal(fn.lockOps[0].span.line, 26, 'the lock moved down a line');
    assert.deepEqual(comparable(facts), comparable(factsFromText(file, doc.text)));
    doc.edit(at, at, '{');
    assert.equal(doc.lastEdit, 'reparse');
    doc.dispose();
  });

  it('leaves to a re-parse the body edits whose effect reaches past the body (found by the randomized runs)', () => {
    const src =
      'static void f(struct d *d)\n{\n\t// note spin_lock(&d->lock);\n\td->n = 1;\n}\n\nstatic void g(struct d *d)\n{\n\td->n = 2;\n}\n';
    const cases: [string, (t: string) => [number, number, string]][] = [
      // A line break inside a `//` comment turns the rest of the line into code.
      [
        'line break in a comment',
        t => {
          const at = t.indexOf('spin_lock');
          return [at, at, '\n\t'];
        },
      ],
      // A body followed by a broken item: the parser's recovery from it may reach back.
      [
        'body before a broken item',
        t => {
          const at = t.indexOf('d->n = 1;');
          return [at, at, 'x; '] as [number, number, string];
        },
      ],
    ];
    for (const [what, at] of cases) {
      const text = what === 'body before a broken item' ? src.replace('static void g(', 'static void g((') : src;
      const doc = new AnalysedDocument('t.c', text);
      doc.facts();
      const [a, b, ins] = at(text);
      doc.edit(a, b, ins);
      assert.equal(doc.lastEdit, 'reparse', what);
      assert.deepEqual(comparable(doc.facts()), comparable(factsFromText('t.c', doc.text)), what);
      doc.dispose();
    }
    // The same edits in a clean neighbourhood stay on the fast path.
    const doc = new AnalysedDocument('t.c', src);
    doc.facts();
    const at = src.indexOf('d->n = 1;');
    doc.edit(at, at, 'x; ');
    assert.equal(doc.lastEdit, 'body');
    doc.dispose();
  });
});
