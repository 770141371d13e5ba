// The batch commands' V8 flags: only flags the running V8 knows (V8 prints an error line on
// stderr for any other), and a batch command's stderr stays clean in a real process.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { batchV8Flags } from '../../src/cli/v8Flags';
import { FIXTURES } from '../helpers/fixtures';

const CLI = path.join(__dirname, '../../../dist/cli.js');

describe('batch V8 flags', function () {
  this.timeout(30000);

  it('are chosen by V8 version: --interrupt-budget on V8 11.3 only, nothing on an unmeasured V8', () => {
    const both = ['--liftoff-only', '--max-inlined-bytecode-size-cumulative=200'];
    assert.deepEqual(batchV8Flags('11.3.244.8-node.38'), [...both, '--interrupt-budget=300000']);
    assert.deepEqual(batchV8Flags('11.8.172.17-node.15'), both);
    assert.deepEqual(batchV8Flags('12.4.254.21-node.57'), both);
    assert.deepEqual(batchV8Flags('13.6.233.17-node.63'), both);
    assert.deepEqual(batchV8Flags('14.1.0'), []);
    assert.deepEqual(batchV8Flags('10.2.154.26-node.26'), []);
    assert.deepEqual(batchV8Flags('unknown'), []);
  });

  it('are all known to the V8 running the tests', () => {
    const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }).stdout;
    for (const flag of batchV8Flags(process.versions.v8)) {
      const name = flag.split('=')[0];
      assert.ok(new RegExp(`^\\s+${name}\\s`, 'm').test(options), `${name} is not a flag of V8 ${process.versions.v8}`);
    }
  });

  it('add nothing to the stderr of check, fix --dry-run and patch in a real process', () => {
    const dir = path.join(FIXTURES, 'vrl001', 'gpu-helper-binding');
    for (const args of [
      ['check', '.'],
      ['fix', '--dry-run', '.'],
      ['patch', '--signoff', 'A <a@example.org>', '--date', '0', '.'],
    ]) {
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
      // Only the CLI's own lines (fix's summary); V8's would be `Error: unrecognized flag ...`.
      for (const line of r.stderr.split('\n').filter(Boolean)) assert.match(line, /^virtio-race-lint: /, args.join(' '));
      if (args[0] !== 'fix') assert.equal(r.stderr, '', args.join(' '));
      assert.ok(r.status === 0 || r.status === 1, `${args.join(' ')}: exit ${r.status}`);
      assert.notEqual(r.stdout, '', args.join(' '));
    }
  });
});
