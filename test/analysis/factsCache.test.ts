import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPaths } from '../../src/analysis/checkPaths';
import { FactsCache } from '../../src/analysis/factsCache';
import { FIXTURES } from '../helpers/fixtures';

const VRL001 = path.join(FIXTURES, 'vrl001');

describe('FactsCache (check --cache)', function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-cache-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives the same findings and facts as an uncached run, cold and warm', async () => {
    const plain = await checkPaths([VRL001], { workers: 0, prefilter: 'builtin' });
    const cold = await checkPaths([VRL001], { workers: 0, prefilter: 'builtin', cache: dir });
    const saved = new FactsCache(dir);
    assert.ok(saved.size >= plain.project.index.fileCount, `cache holds ${saved.size} entries`);
    const warm = await checkPaths([VRL001], { workers: 0, prefilter: 'builtin', cache: dir });
    for (const r of [cold, warm]) {
      assert.deepEqual(r.findings, plain.findings);
      assert.deepEqual(r.warnings, plain.warnings);
      for (const f of plain.project.index.allFiles()) assert.deepEqual(r.project.index.get(f.file), f, f.file);
    }
  });

  it('is keyed by the bytes: a changed file is analysed again', () => {
    const cache = new FactsCache(dir);
    let calls = 0;
    const compute = () => { calls++; return { warning: `w${calls}` }; };
    assert.equal(cache.lookup('/a.c', Buffer.from('int a;'), compute).warning, 'w1');
    assert.equal(cache.lookup('/a.c', Buffer.from('int a;'), compute).warning, 'w1');
    assert.equal(cache.lookup('/a.c', Buffer.from('int b;'), compute).warning, 'w2');
    assert.equal(cache.lookup('/b.c', Buffer.from('int a;'), compute).warning, 'w3');
    cache.save();
    const again = new FactsCache(dir);
    assert.equal(again.lookup('/a.c', Buffer.from('int b;'), compute).warning, 'w2');
    assert.equal(calls, 3);
  });

  it('starts empty from an unreadable cache file', () => {
    const cache = new FactsCache(dir);
    fs.writeFileSync(cache.file, 'not a cache');
    assert.equal(new FactsCache(dir).size, 0);
  });
});
