// The help text is generated from the option declarations (src/cli/specs.ts) that the parser
// reads: what is accepted is documented, and what is documented is accepted.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HELP } from '../../src/cli/help';
import { COMMANDS, parserSpec } from '../../src/cli/specs';
import { runCli } from '../helpers/cli';

describe('CLI help from the option specs', () => {
  it('documents every option each command accepts, in its usage or its option list', async () => {
    for (const c of COMMANDS) {
      const r = await runCli([c.name, '--help'], process.cwd());
      assert.equal(r.code, 0, c.name);
      assert.match(r.stdout, new RegExp(`^  virtio-race-lint ${c.name}\\b`), c.name);
      const spec = parserSpec(c.name);
      for (const name of [...spec.values, ...spec.flags]) {
        assert.ok(r.stdout.includes(`--${name}`), `${c.name} --help does not mention --${name}`);
        assert.ok(HELP.includes(`--${name}`), `--help does not mention ${c.name} --${name}`);
      }
      for (const alias of Object.keys(spec.aliases)) assert.ok(r.stdout.includes(`${alias}, --`), `${c.name} --help: ${alias}`);
    }
  });

  it('accepts every option the help documents (and refuses one it does not)', async () => {
    for (const c of COMMANDS) {
      // The option list's entries and the usage line's brackets (not options of other programs
      // named in the explanations, such as checkpatch.pl --strict).
      const text = (await runCli([c.name, '--help'], process.cwd())).stdout;
      const documented = [...text.matchAll(/^ {8}(?:-\w, )?--([a-z][a-z-]*)|\[(?:-\w\|)?--([a-z][a-z-]*)/gm)].map(m => m[1] ?? m[2]);
      assert.ok(documented.length >= 1, c.name);
      const spec = parserSpec(c.name);
      for (const name of new Set(documented.filter(n => n !== 'help'))) {
        assert.ok(
          spec.values.includes(name) || spec.flags.includes(name),
          `${c.name} --help documents --${name}, which it does not accept`,
        );
      }
    }
    const r = await runCli(['simulate', '--no-such-option', 'x.c'], process.cwd());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--no-such-option'/);
  });

  it('describes --device as the model does: lax notifies although suppressed (docs/model.md)', async () => {
    const text = (await runCli(['simulate', '--help'], process.cwd())).stdout.replace(/\n\s+/g, ' ');
    assert.doesNotMatch(text, /lax honours?/);
    assert.match(
      text,
      /--device prompt\|lax\|cached +the device: prompt honours the suppression state, lax notifies even when suppressed \(both compliant\), cached decides on a stale copy of it \(not compliant\)/,
    );
  });

  it('reads -h after `--` as a file name, not as a request for help', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-help-'));
    try {
      fs.writeFileSync(path.join(dir, '-h'), 'static int f(void) { return 0; }\n');
      const r = await runCli(['check', '--', '-h'], dir);
      assert.equal(r.code, 0, r.stderr);
      // No finding in it, so nothing printed (the old parser printed the check command's help).
      assert.equal(r.stdout, '');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every line of the help within 100 columns', () => {
    for (const line of HELP.split('\n')) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  });
});
