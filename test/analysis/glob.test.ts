// files.exclude globs: VS Code's syntax, matched in linear time, and no glob that cannot be
// used (issue 9: an invalid glob crashed the server at start; globs compiled to regular
// expressions that backtrack exponentially).
import * as assert from 'node:assert/strict';
import { compileGlob, excludeMatcher, excludeRules, globMatches } from '../../src/analysis/glob';

const m = (glob: string, p: string) => globMatches(compileGlob(glob)!, p);

describe('files.exclude globs', () => {
  it('match as VS Code globs do', () => {
    const cases: [string, string, boolean][] = [
      ['**/excluded', 'excluded', true],
      ['**/excluded', 'a/b/excluded', true],
      ['**/excluded', 'a/b/excluded/x.c', true],
      ['**/excluded', 'a/b/excluded2/x.c', false],
      ['out', 'out/x.c', true],
      ['out', 'output/x.c', false],
      ['*.h', 'x.h', true],
      ['*.h', 'a/x.h', false],
      ['**/*.h', 'a/b/x.h', true],
      ['a/**/b', 'a/b', true],
      ['a/**/b', 'a/x/y/b', true],
      ['a/**', 'a/x/y', true],
      ['**', 'anything/at/all', true],
      ['x?.c', 'x1.c', true],
      ['x?.c', 'x/.c', false],
      ['{build,out}/**', 'out/a.c', true],
      ['{build,out}/**', 'src/a.c', false],
      ['{a,{b,c}}.c', 'c.c', true],
      ['[abc].c', 'b.c', true],
      ['[!abc].c', 'b.c', false],
      ['[a-c].c', 'b.c', true],
      ['[z-a].c', 'b.c', false],
      ['[.c', '[.c', true],
      ['{a,b.c', '{a,b.c', true],
      ['a(b)+.c', 'a(b)+.c', true],
    ];
    for (const [g, p, want] of cases) assert.equal(m(g, p), want, `${g} against ${p}`);
  });

  it('a glob no regular expression could take is still a glob (unclosed brace or class, reversed range)', () => {
    const { rules, invalid } = excludeRules('/ws', { '{a,b': true, '[z-a]': true, '[unclosed': true, ')(': true });
    assert.deepEqual(invalid, []);
    const excluded = excludeMatcher(rules);
    assert.equal(excluded('/ws/{a,b/x.c'), true);
    assert.equal(excluded('/ws/[unclosed'), true);
    assert.equal(excluded('/ws/src/x.c'), false);
  });

  it('braces that expand too far make the glob invalid, not the matcher slow', () => {
    const glob = '{a,b}'.repeat(20);
    assert.equal(compileGlob(glob), undefined);
    assert.deepEqual(excludeRules('/ws', { [glob]: true }).invalid, [glob]);
  });

  it('globs that backtrack as regular expressions are matched in one pass', () => {
    // As regular expressions these take exponential time on a path they do not match.
    const path = 'a/'.repeat(60) + 'b';
    assert.equal(m('**/'.repeat(30) + 'x', path), false);
    assert.equal(m('*a'.repeat(30) + 'x', 'a'.repeat(5000)), false);
    assert.equal(m('a/**/a/**/a/**/a/**/a/**/a/**/c', 'a/'.repeat(500) + 'b'), false);
  });
});
