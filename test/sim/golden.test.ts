// Golden text reports for the five real-driver shapes (fixtures written for this project, shaped
// like virtio-fs's two work functions, virtio-gpu's control and cursor dequeue functions, and
// virtio-console's control work). Every sentence of these reports was reviewed against
// docs/model.md; a change to any sentence fails here until the golden file is reviewed again.
//
//   UPDATE_GOLDEN=1 npx mocha out/test/sim/golden.test.js   # rewrite, then review the diff
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

const ROOT = path.join(FIXTURES, 'golden');
const CASES: [dir: string, file: string][] = [
  ['fs', 'golden_fs.c'],
  ['gpu', 'golden_gpu.c'],
  ['console', 'golden_console.c'],
];

describe('sim: golden reports for the five driver shapes', function () {
  this.timeout(60000);
  for (const [dir, file] of CASES) {
    it(`${dir}/${file}`, async () => {
      const cwd = path.join(ROOT, dir);
      const r = await runCli(['simulate', file], cwd);
      assert.equal(r.code, 0, r.stderr);
      const golden = path.join(cwd, `${file}.report.txt`);
      if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, r.stdout);
      assert.equal(r.stdout, fs.readFileSync(golden, 'utf8'));
    });
  }
});
