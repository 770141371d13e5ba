// A seeded fuzz of the fix (issue 9, item 5, for the fix): random edits to the fix fixtures,
// then analysis and fix-all. Checked: nothing throws; the fixed text parses no worse; every
// flags variable the fix declares is declared in code (not in a comment) before its first use
// in its function; a second fix-all on the fixed text has nothing left to fix for the findings
// it fixed. Bounded in `npm test` (seeds 1-3, 25 edits per fixture); `npm run fuzz` runs longer
// (VRL_FUZZ_ITER, VRL_FUZZ_SEED pick one seed).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { factsFromText } from '../../src/analysis/fileFacts';
import { initParser } from '../../src/analysis/parser';
import { Project } from '../../src/analysis/project';
import { maskNonCode } from '../../src/analysis/text';
import { applyEdits, errorCount, fixAll } from '../../src/fix/irqsave';
import { fixtureDirs } from '../helpers/fixtures';
import { fuzzIter, fuzzSeeds, rng } from '../helpers/fuzz';

// Fragments that stress where the declaration goes and what the fix may touch.
const SNIPPETS = [
  ' ',
  ';',
  '\n',
  '\r\n',
  '\t',
  '/* c */',
  '/* a\n b */',
  '// x\n',
  'int a; ',
  'int b;\n\t',
  'unsigned long flags;\n\t',
  '#define flags f\n',
  '#if 0\n',
  '#endif\n',
  'spin_lock(&q->lock);',
  'spin_unlock(&q->lock);',
  'x = flags;',
  '{',
  '}',
  '(',
  ')',
  '"',
  'irqflags',
];

const ITER = fuzzIter(25);
const SEEDS = fuzzSeeds([1, 2, 3]);

function analyse(file: string, text: string) {
  const facts = factsFromText(file, text);
  const p = new Project();
  p.setFacts(facts);
  return { facts, findings: p.findings() };
}

describe(`fix fuzz (${ITER} edits per fixture)`, function () {
  this.timeout(120000);
  before(() => initParser());

  for (const SEED of SEEDS)
    it(`seed ${SEED}: never throws, never parses worse, declares flags before use and outside comments`, () => {
      const files = fixtureDirs('fix')
        .map(d => path.join(d, 'before.c'))
        .filter(f => fs.existsSync(f));
      let fixedRuns = 0;
      for (const [k, file] of files.entries()) {
        const next = rng(SEED * 1000 + k);
        let text = fs.readFileSync(file, 'utf8');
        for (let step = 0; step < ITER; step++) {
          // Half the edits go where the declaration is placed: just after the last ';' before
          // the first lock call (the end of the leading declarations, often).
          const lock = text.indexOf('spin_lock(');
          const near = lock > 0 ? text.lastIndexOf(';', lock) + 1 : -1;
          const at = near > 0 && next() < 0.5 ? near : Math.floor(next() * text.length);
          text =
            next() < 0.3
              ? text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + Math.floor(next() * 6)))
              : text.slice(0, at) + SNIPPETS[Math.floor(next() * SNIPPETS.length)] + text.slice(at);
          const where = `${path.basename(path.dirname(file))} step ${step} (seed ${SEED})`;
          const { facts, findings } = analyse(file, text);
          const res = fixAll(findings, facts, text);
          if (res.edits.length === 0) continue;
          fixedRuns++;
          const fixed = applyEdits(text, res.edits);
          assert.ok(errorCount(fixed) <= errorCount(text), `parses worse: ${where}`);
          const decls = res.edits.flatMap(e => [...e.newText.matchAll(/unsigned long (\w+);/g)].map(m => ({ name: m[1], edit: e })));
          for (const { name, edit } of decls) {
            const fn = facts.functions.find(f => f.span.start <= edit.start && edit.start < f.span.end);
            assert.ok(fn, where);
            // The function in the fixed text: from its start to its closing brace (edits only grow it).
            const startNew =
              fn.span.start + res.edits.filter(e => e.end <= fn.span.start).reduce((n, e) => n + e.newText.length - (e.end - e.start), 0);
            const endNew =
              fn.span.end + res.edits.filter(e => e.start < fn.span.end).reduce((n, e) => n + e.newText.length - (e.end - e.start), 0);
            const masked = maskNonCode(fixed.slice(startNew, endNew));
            const decl = masked.indexOf(`unsigned long ${name};`);
            const use = new RegExp(`(?<!->\\s*|\\.\\s*)\\b${name}\\b`).exec(masked);
            assert.ok(decl >= 0, `declaration of ${name} in a comment or missing: ${where}`);
            assert.equal(use?.index, decl + 'unsigned long '.length, `${name} used before its declaration: ${where}`);
          }
          // Fixed findings are gone from the fixed text.
          const again = analyse(file, fixed);
          for (const f of res.fixed) {
            assert.ok(
              !again.findings.some(g => g.lockFunction === f.lockFunction && g.handler === f.handler && g.lockExpr === f.lockExpr),
              `still reported after the fix: ${f.lockFunction} ${where}`,
            );
          }
        }
      }
      assert.ok(fixedRuns > 0, 'the fuzz exercised the fix');
    });
});
