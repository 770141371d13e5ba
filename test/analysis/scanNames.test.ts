// A file whose name holds a newline is one file to ripgrep's prefilter, as to the built-in walk
// (issue 9).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ripgrep } from '../../src/analysis/scan';
import { runCli, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

describe('scan: file names', function () {
  this.timeout(30000);

  it('analyses a file named with a newline under the ripgrep prefilter, as the built-in walk does', async function () {
    if (process.platform === 'win32' || !ripgrep()) this.skip();
    const dir = tempDir('vrl-names-');
    fs.copyFileSync(path.join(FIXTURES, 'fix/basic/before.c'), path.join(dir, 'two\nlines.c'));
    const rg = await runCli(['check', '--format=json', '--prefilter', 'ripgrep', '.'], dir);
    const builtin = await runCli(['check', '--format=json', '--prefilter', 'builtin', '.'], dir);
    assert.equal(builtin.code, 1, builtin.stderr);
    assert.equal(rg.code, 1, rg.stderr);
    assert.deepEqual(
      JSON.parse(rg.stdout).findings.map((f: { file: string }) => f.file),
      ['two\nlines.c'],
    );
    assert.equal(rg.stdout, builtin.stdout);
  });
});
