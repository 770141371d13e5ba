import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser, parseC, pointAt } from '../../src/analysis/parser';
import { lightBodySpans, sparseRanges } from '../../src/analysis/sparse';
import { FIXTURES, fixtureDirs } from '../helpers/fixtures';

/** The text with the light bodies' interiors blanked (newlines kept): what sparseRanges() leaves out. */
function blankLightBodies(text: string): string | undefined {
  const spans = lightBodySpans(text);
  if (!spans) return undefined;
  let out = text;
  for (const [start, end] of spans) out = out.slice(0, start) + out.slice(start, end).replace(/[^\n]/g, ' ') + out.slice(end);
  return out;
}

describe('sparse parsing', () => {
  before(() => initParser());

  it('gives the same facts as a full parse', () => {
    const dirs = [
      ...fixtureDirs('vrl001'),
      ...fixtureDirs('shape'),
      ...fixtureDirs('fix'),
      path.resolve(FIXTURES, '../../examples/virtio_sensor'),
    ];
    let files = 0;
    for (const dir of dirs) {
      for (const name of fs.readdirSync(dir).filter(n => /\.[ch]$/.test(n))) {
        const file = path.join(dir, name);
        const text = fs.readFileSync(file, 'utf8');
        const full = factsFromText(file, text);
        const sparse = factsFromText(file, text, true);
        const strip = (f: typeof full) => ({ ...f, errors: 0, functions: f.functions.map(fn => ({ ...fn, errors: 0 })) });
        assert.deepEqual(strip(sparse), strip(full), name);
        files++;
      }
    }
    assert.ok(files > 15);
  });

  it('blanks only the bodies that need no tree, keeping every offset', () => {
    const text = 'static int f(int a)\n{\n\treturn g(a) + h(a);\n}\n\nstatic void w(struct q *q)\n{\n\tspin_lock(&q->l);\n}\n';
    const out = blankLightBodies(text)!;
    assert.equal(out.length, text.length);
    assert.equal(out, text.replace('\treturn g(a) + h(a);', ' '.repeat('\treturn g(a) + h(a);'.length)));
  });

  it('parses all but the light bodies, to the tree of the blanked text', () => {
    const text =
      '/* é */\nstatic int f(int a)\n{\n\treturn g(a) + h(a);\n}\n\nstatic void w(struct q *q)\n{\n\tspin_lock(&q->l);\n}\nint k(void) { return 1; }\n';
    const ranges = sparseRanges(text)!;
    const left = text.indexOf('\treturn g');
    assert.deepEqual(
      ranges.map(r => [r.startIndex, r.endIndex]),
      [
        [0, left - 1],
        [text.indexOf('}', left), text.lastIndexOf('{') + 1],
        [text.lastIndexOf('}'), text.length],
      ],
    );
    for (const r of ranges) {
      assert.deepEqual(r.startPosition, pointAt(text, r.startIndex));
      assert.deepEqual(r.endPosition, pointAt(text, r.endIndex));
    }
    const ranged = parseC(text, undefined, ranges);
    const blanked = parseC(blankLightBodies(text)!);
    assert.equal(ranged.rootNode.toString(), blanked.rootNode.toString());
    assert.deepEqual(
      ranged.rootNode.descendantsOfType('identifier').map(n => [n!.text, n!.startIndex, n!.startPosition]),
      blanked.rootNode.descendantsOfType('identifier').map(n => [text.slice(n!.startIndex, n!.endIndex), n!.startIndex, n!.startPosition]),
    );
    ranged.delete();
    blanked.delete();
  });

  it('gives up on braces that do not balance at top level (preprocessor tricks)', () => {
    assert.equal(blankLightBodies('#if A\nvoid f(void) {\n#else\nvoid f(int x) {\n#endif\n}\n'), undefined);
  });
});
