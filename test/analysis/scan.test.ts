import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ScanPool, ripgrep, type ScanBatch, type ScanProgress } from '../../src/analysis/scan';
import { FIXTURES } from '../helpers/fixtures';

const VRL001 = path.join(FIXTURES, 'vrl001');
const GPU = path.join(VRL001, 'gpu-helper-binding');

describe('ScanPool', function () {
  this.timeout(20000);

  for (const workers of [0, 2]) {
    it(`runs a scan and an expansion asked for at once, one after the other (${workers} workers)`, async () => {
      const alone = new ScanPool(workers, 'workers');
      const expected = await alone.scan([VRL001], [], { prefilter: 'builtin' });
      await alone.close();

      const pool = new ScanPool(workers, 'workers');
      try {
        const cands = [{ file: path.join(GPU, 'demo_vq.c'), names: ['demo_dequeue_ctrl_func'] }];
        // Not awaited in between: the language server may start an expansion (a file saved)
        // while the initial scan is still running.
        const [scan, match] = await Promise.all([pool.scan([VRL001], [], { prefilter: 'builtin' }), pool.parseMatching(cands)]);
        assert.ok(expected.facts.length > 5);
        assert.deepEqual(
          scan.facts.map(f => f.file),
          expected.facts.map(f => f.file),
        );
        assert.deepEqual(
          match.facts.map(f => f.file),
          [cands[0].file],
        );
      } finally {
        await pool.close();
      }
    });
  }

  const prefilters = ripgrep() ? (['builtin', 'ripgrep'] as const) : (['builtin'] as const);
  for (const workers of [0, 2]) {
    for (const prefilter of prefilters) {
      it(`reads the directories asked for first, alone, before the rest, with the same result (${workers} workers, ${prefilter})`, async () => {
        const alone = new ScanPool(workers, 'workers');
        const expected = await alone.scan([VRL001], [], { prefilter });
        await alone.close();
        const pool = new ScanPool(workers, 'workers');
        try {
          const batches: ScanBatch[] = [];
          const progress: ScanProgress[] = [];
          const res = await pool.scan([VRL001], [], {
            prefilter,
            first: [GPU],
            onBatch: b => batches.push(b),
            onProgress: p => progress.push(p),
          });
          // The same facts, each file once (ripgrep may list a file of GPU before it is read first).
          assert.deepEqual(
            res.facts.map(f => f.file),
            expected.facts.map(f => f.file),
          );
          assert.deepEqual(
            res.files,
            expected.files.concat(prefilter === 'ripgrep' ? res.files.filter(f => !expected.files.includes(f)) : []).sort(),
          );
          // The directory asked for is the first unit handed out (in-process, the first answered;
          // a worker may answer other units while it parses), with all its files and its facts,
          // and it says it is done.
          const u = batches.findIndex(b => b.dirsDone.length > 0);
          assert.ok(workers === 0 ? u === 0 : u >= 0, `answered ${u}th`);
          assert.deepEqual(batches[u].dirsDone, [GPU]);
          assert.deepEqual(
            batches[u].facts.map(f => f.file).sort(),
            expected.facts.map(f => f.file).filter(f => path.dirname(f) === GPU),
          );
          assert.deepEqual(
            batches[u].files.sort(),
            ['demo_drv.h', 'demo_kms.c', 'demo_vq.c'].map(n => path.join(GPU, n)),
          );
          assert.equal(batches.filter(b => b.dirsDone.length > 0).length, 1);
          // Every fact came through a batch.
          assert.deepEqual(
            [...new Set(batches.flatMap(b => b.facts.map(f => f.file)))].sort(),
            res.facts.map(f => f.file),
          );
          // Progress: N of M files, M final once the listing is over, and N = M at the end.
          const last = progress[progress.length - 1];
          assert.equal(last.listing, false);
          assert.equal(last.done, last.total);
          assert.equal(last.total, res.files.length);
          assert.ok(
            progress.every((p, i) => p.done <= p.total && (i === 0 || p.done >= progress[i - 1].done)),
            JSON.stringify(progress),
          );
        } finally {
          await pool.close();
        }
      });
    }

    it(`takes an expansion asked for during a scan ahead of the scan's own work (${workers} workers)`, async () => {
      const pool = new ScanPool(workers, 'workers');
      try {
        const cands = [
          { file: path.join(GPU, 'demo_kms.c'), names: ['demo_init'] },
          { file: path.join(GPU, 'demo_drv.h'), names: ['nothing_defines_this'] },
        ];
        let matched: Promise<unknown> | undefined;
        let matchedAt = -1;
        let batchesAfter = 0;
        const scan = pool.scan([VRL001], [], {
          prefilter: 'builtin',
          first: [GPU],
          onBatch: b => {
            if (b.dirsDone.length) {
              matched = pool.parseMatching(cands).then(r => {
                matchedAt = batchesAfter;
                return r;
              });
            } else if (matched) {
              batchesAfter++;
            }
          },
        });
        const res = await scan;
        assert.ok(matched, 'the directory asked for first was reported');
        const m = (await matched) as { facts: { file: string }[] };
        assert.deepEqual(
          m.facts.map(f => f.file),
          [cands[0].file],
        );
        // Answered while the scan still had units to answer, not after it.
        assert.ok(matchedAt >= 0 && matchedAt < batchesAfter, `matched after ${matchedAt} of ${batchesAfter} later units`);
        // Its facts are not the scan's.
        assert.equal(res.facts.filter(f => f.file === cands[0].file).length, 1);
      } finally {
        await pool.close();
      }
    });
  }
});
