// The output does not depend on the user's locale: findings are ordered by the paths' code units,
// not by localeCompare() (in Estonian "z" sorts before "t").
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { compareCodeUnits } from '../../src/analysis/text';
import { copyDir, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

const CLI = path.join(__dirname, '../../../dist/cli.js');

describe('output order and the locale', function () {
  this.timeout(30000);

  it('compareCodeUnits() orders as sort() does, whatever the locale', () => {
    const words = ['z', 't', 's', 'å', 'a_b', 'ab', 'B', '_x', 'a-c', 'y', 'i'];
    assert.deepEqual([...words].sort(compareCodeUnits), [...words].sort());
  });

  it('check prints the same findings in the same order under LC_ALL=C and et_EE.UTF-8', function () {
    const dir = tempDir('vrl-locale-');
    for (const d of ['t', 'z']) copyDir(path.join(FIXTURES, 'vrl001', 'single-vq-delayed'), path.join(dir, d));
    const run = (locale: string, format: string) =>
      spawnSync(process.execPath, [CLI, 'check', '--format', format, '.'], {
        cwd: dir,
        env: { ...process.env, LC_ALL: locale, LANG: locale },
        encoding: 'utf8',
      });
    // Node takes its ICU locale from the environment: make sure this one would reorder.
    const icu = spawnSync(process.execPath, ['-p', "['t', 'z'].sort((a, b) => a.localeCompare(b)).join()"], {
      env: { ...process.env, LC_ALL: 'et_EE.UTF-8', LANG: 'et_EE.UTF-8' },
      encoding: 'utf8',
    }).stdout.trim();
    if (icu !== 'z,t') this.skip();
    for (const format of ['text', 'json', 'sarif']) {
      const c = run('C', format);
      const et = run('et_EE.UTF-8', format);
      assert.equal(c.status, 1, c.stderr);
      assert.equal(et.stdout, c.stdout, format);
    }
    const files = run('et_EE.UTF-8', 'text')
      .stdout.trimEnd()
      .split('\n')
      .map(l => l.split(':')[0]);
    assert.deepEqual(files, ['t/demo_single.c', 'z/demo_single.c']);
  });
});
