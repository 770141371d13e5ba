// SARIF URIs are URI references: a `?`, `#`, `:` or `%` in a file or directory name is
// percent-encoded, so a consumer resolves them back to the same path (issue 9).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

describe('SARIF URIs', () => {
  it('escape ?, #, : and % in names, and resolve back to the files', async function () {
    if (process.platform === 'win32') this.skip();
    const base = path.join(tempDir('vrl-sarif-'), 'src#1 ?x');
    const sub = path.join(base, 'dir:1');
    fs.mkdirSync(sub, { recursive: true });
    const name = 'a?b#c:d%20e.c';
    fs.copyFileSync(path.join(FIXTURES, 'fix/basic/before.c'), path.join(sub, name));
    const r = await runCli(['check', '--format=sarif', '.'], base);
    assert.equal(r.code, 1, r.stderr);
    const run = JSON.parse(r.stdout).runs[0];
    const root = run.originalUriBaseIds['%SRCROOT%'].uri as string;
    assert.equal(fileURLToPath(root), base + '/');
    const loc = run.results[0].locations[0].physicalLocation.artifactLocation;
    assert.equal(loc.uriBaseId, '%SRCROOT%');
    assert.equal(loc.uri, 'dir%3A1/a%3Fb%23c%3Ad%2520e.c');
    assert.equal(fileURLToPath(new URL(loc.uri, root)), path.join(sub, name));
  });
});
