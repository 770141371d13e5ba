import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { checkPaths } from '../../src/analysis/checkPaths';
import { FactsCache, MAX_ENTRIES } from '../../src/analysis/factsCache';
import { ScanPool, type ParseSite } from '../../src/analysis/scan';
import { FIXTURES } from '../helpers/fixtures';

const VRL001 = path.join(FIXTURES, 'vrl001');

describe('FactsCache (check --cache)', function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-cache-'));
  });
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
    const compute = () => {
      calls++;
      return { warning: `w${calls}` };
    };
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

describe("FactsCache in the scan workers (the language server's index)", function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-cache-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function scanWith(cache: FactsCache | undefined, workers: number, site: ParseSite, root = VRL001) {
    const pool = new ScanPool(workers, site, cache);
    try {
      const res = await pool.scan([root], [], { prefilter: 'builtin' });
      assert.equal(pool.saveCache(), undefined);
      return res;
    } finally {
      await pool.close();
    }
  }

  for (const [workers, site] of [
    [0, 'workers'],
    [2, 'workers'],
    [2, 'caller'],
  ] as const) {
    it(`a second scan of the same files parses nothing and gives the same facts (${workers} workers, parse site ${site})`, async () => {
      const plain = await scanWith(undefined, workers, site);
      assert.equal(plain.stats.cacheHits, undefined);
      assert.ok(plain.facts.length > 5);
      const cold = await scanWith(new FactsCache(dir), workers, site);
      assert.equal(cold.stats.cacheHits, 0);
      assert.equal(cold.stats.cacheMisses, plain.facts.length);
      assert.equal(new FactsCache(dir).size, plain.facts.length, 'the pool saved what the workers parsed');
      const warm = await scanWith(new FactsCache(dir), workers, site);
      assert.equal(warm.stats.cacheMisses, 0, 'nothing parsed');
      assert.equal(warm.stats.cacheHits, plain.facts.length);
      for (const r of [cold, warm]) {
        assert.deepEqual(r.facts, plain.facts);
        assert.deepEqual(r.warnings, plain.warnings);
        assert.deepEqual(r.errors, plain.errors);
      }
    });
  }

  it('parses an edited file again, and the expansion step uses the cache too', async () => {
    const tree = path.join(dir, 'tree');
    fs.cpSync(path.join(VRL001, 'gpu-helper-binding'), tree, { recursive: true });
    const cacheDir = path.join(dir, 'cache');
    const cold = await scanWith(new FactsCache(cacheDir), 2, 'workers', tree);
    const vq = path.join(tree, 'demo_vq.c');
    fs.appendFileSync(vq, '\nvoid demo_added_after_the_first_scan(void)\n{\n}\n');
    const pool = new ScanPool(2, 'workers', new FactsCache(cacheDir));
    try {
      const warm = await pool.scan([tree], [], { prefilter: 'builtin' });
      assert.equal(warm.stats.cacheMisses, 1);
      assert.equal(warm.stats.cacheHits, cold.facts.length - 1);
      assert.ok(warm.facts.find(f => f.file === vq)!.functions.some(g => g.name === 'demo_added_after_the_first_scan'));
      // The edited file's facts were new to the cache: now the expansion finds them there.
      const match = await pool.parseMatching([{ file: vq, names: ['demo_added_after_the_first_scan'] }]);
      assert.deepEqual(
        match.facts.map(f => f.file),
        [vq],
      );
      assert.equal(match.stats.cacheHits, 1);
      assert.equal(pool.saveCache(), undefined);
    } finally {
      await pool.close();
    }
    const again = await scanWith(new FactsCache(cacheDir), 2, 'workers', tree);
    assert.equal(again.stats.cacheMisses, 0);
  });

  it('ignores a cache file that cannot be read, and one with entries that cannot be decoded', async () => {
    const cache = new FactsCache(dir);
    fs.writeFileSync(cache.file, 'not a cache');
    const plain = await scanWith(undefined, 2, 'workers');
    const res = await scanWith(cache, 2, 'workers');
    assert.deepEqual(res.facts, plain.facts);
    assert.equal(res.stats.cacheMisses, plain.facts.length);
    assert.deepEqual(res.errors, []);
    // Now a real cache file: spoil every entry's bytes.
    const entries = v8.deserialize(fs.readFileSync(cache.file)) as Map<string, Uint8Array>;
    assert.equal(entries.size, plain.facts.length);
    fs.writeFileSync(cache.file, v8.serialize(new Map([...entries.keys()].map(k => [k, Buffer.from('spoilt')]))));
    const again = await scanWith(new FactsCache(dir), 2, 'workers');
    assert.deepEqual(again.facts, plain.facts);
    assert.equal(again.stats.cacheMisses, plain.facts.length);
  });

  it(`keeps at most ${MAX_ENTRIES} entries, those used last first`, () => {
    const cache = new FactsCache(dir);
    for (let i = 0; i < MAX_ENTRIES + 10; i++) cache.set(`/f${i}.c\0x`, { warning: `w${i}` });
    cache.save();
    const reread = new FactsCache(dir);
    assert.equal(reread.size, MAX_ENTRIES);
    // A later run that used only the oldest entry and added one: both are kept.
    assert.equal(reread.get('/f0.c\0x')?.warning, 'w0');
    reread.set('/new.c\0x', { warning: 'new' });
    reread.save();
    const last = new FactsCache(dir);
    assert.equal(last.size, MAX_ENTRIES);
    assert.equal(last.get('/f0.c\0x')?.warning, 'w0');
    assert.equal(last.get('/new.c\0x')?.warning, 'new');
  });
});
