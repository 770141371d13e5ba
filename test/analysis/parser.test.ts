import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { cLanguage, IncrementalDocument, initParser, parseC, ParseTimeout, setParseDeadline } from '../../src/analysis/parser';

describe('parser layer', () => {
  before(() => initParser());

  it('loads the pinned tree-sitter-c grammar with the ABI this runtime expects', () => {
    const lang = cLanguage();
    assert.equal(lang.name, 'c');
    // Recorded on purpose: a grammar or runtime upgrade that changes the ABI must show up here.
    assert.equal(lang.abiVersion, 15);
    const pkg = JSON.parse(fs.readFileSync(require.resolve('../../../package.json'), 'utf8'));
    assert.equal(pkg.dependencies['web-tree-sitter'], '0.25.10');
    assert.equal(pkg.dependencies['tree-sitter-c'], '0.24.1');
  });

  it('keeps parsing through kernel macros, with ERROR nodes rather than failure', () => {
    const tree = parseC('void f(void) { struct x *p = container_of(w, struct x, m); list_for_each_entry(a, &l, n) { g(a); } }\n');
    assert.equal(tree.rootNode.type, 'translation_unit');
    assert.ok(tree.rootNode.hasError);
    assert.equal(tree.rootNode.descendantsOfType('function_definition').length, 1);
    tree.delete();
  });

  it('re-parses incrementally to the same tree as a full parse', () => {
    const text = 'static void f(void)\n{\n\tspin_lock(&a);\n\tg();\n}\n\nstatic void h(void)\n{\n}\n';
    const doc = new IncrementalDocument(text);
    const at = text.indexOf('\tg();');
    doc.applyEdit(at, at, '\tvirtqueue_get_buf(vq, &len);\n');
    const del = doc.text.indexOf('spin_lock');
    doc.applyEdit(del, del + 'spin_lock'.length, 'spin_lock_irq');
    const full = parseC(doc.text);
    assert.equal(doc.syntaxTree.rootNode.toString(), full.rootNode.toString());
    assert.match(doc.text, /spin_lock_irq\(&a\);\n\tvirtqueue_get_buf\(vq, &len\);\n\tg\(\);/);
    full.delete();
    doc.dispose();
  });
  describe('the parse deadline', () => {
    // 100,000 commas in a row in a body: tree-sitter's error recovery on it is quadratic (some
    // seconds here, minutes for a few hundred thousand), so a parse is given up at the deadline.
    const body = (n: number) => `static void f(void)\n{\n\tg(${', '.repeat(n)});\n}\n`;
    let before: number;
    beforeEach(() => {
      before = setParseDeadline(50);
    });
    afterEach(() => {
      setParseDeadline(before);
    });

    it('gives a parse up with a message that says why, and parses ordinary text as before', () => {
      assert.throws(
        () => parseC(body(100_000)),
        (e: Error) => e instanceof ParseTimeout && /took longer than 0\.05 s on this text .*error recovery/.test(e.message),
      );
      const tree = parseC('static void f(void)\n{\n\tg(a, b);\n}\n');
      assert.equal(tree.rootNode.descendantsOfType('function_definition').length, 1);
      tree.delete();
    });

    it('an open document whose new text is given up keeps that text and parses it whole when asked again', () => {
      const doc = new IncrementalDocument('static void f(void)\n{\n\tg(a, b);\n}\n');
      doc.setText(body(100_000));
      assert.equal(doc.text, body(100_000));
      assert.equal(doc.behind, true);
      assert.throws(() => doc.reparse(), ParseTimeout);
      // Edited back to a text the parser takes: the tree is that text's again.
      const at = doc.text.indexOf('g(') + 2;
      doc.editOnly(at, doc.text.indexOf(');'), 'a, b');
      doc.reparse();
      assert.equal(doc.behind, false);
      const fresh = parseC(doc.text);
      assert.equal(doc.syntaxTree.rootNode.toString(), fresh.rootNode.toString());
      fresh.delete();
      doc.dispose();
    });
  });
});
