import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ScanPool } from '../../src/analysis/scan';
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
        const [scan, match] = await Promise.all([
          pool.scan([VRL001], [], { prefilter: 'builtin' }),
          pool.parseMatching(cands),
        ]);
        assert.ok(expected.facts.length > 5);
        assert.deepEqual(scan.facts.map(f => f.file), expected.facts.map(f => f.file));
        assert.deepEqual(match.facts.map(f => f.file), [cands[0].file]);
      } finally {
        await pool.close();
      }
    });
  }
});
