// Nothing from the repository runs: git is started by gitInfo.ts for `patch` and the editor's
// "Create kernel patch", and a repository's config (or an included file, or the user's global
// config, or the inherited environment) can name programs git would start. Each case below sets
// one such key to a script that leaves a marker file, in a repository whose history holds a
// commit with a (fake) signature header touching the patched file, and checks the marker is
// never written by our code. Where the command we ran before the fix starts the program, the
// test first proves the trap is live by running that command unhardened.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoInfo } from '../../src/fix/gitInfo';
import { runCli, tempDir } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';

function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
}

function haveGit(): boolean {
  try {
    git(process.cwd(), ['--version']);
    return true;
  } catch {
    return false;
  }
}

interface Trap {
  dir: string;
  file: string;
  rel: string;
  marker: string;
  prog: string;
  home: string;
}

/**
 * A repository with the fixture driver and, on top, one commit per signature format (OpenPGP,
 * SSH, X.509) that changes the driver and carries a fake `gpgsig` header, made with
 * `git hash-object -t commit -w`. `prog` appends its arguments to `marker`.
 */
function trapRepo(): Trap {
  const base = tempDir('vrl-gitsafe-');
  const dir = path.join(base, 'repo');
  const home = path.join(base, 'home');
  fs.mkdirSync(home);
  const marker = path.join(base, 'marker');
  const prog = path.join(base, 'prog.sh');
  fs.writeFileSync(prog, `#!/bin/sh\necho "$0 $*" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
  const rel = 'drivers/demo/demo_drv.c';
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
  git(base, ['init', '-q', dir], env);
  git(dir, ['config', 'user.name', 'Ada Hacker'], env);
  git(dir, ['config', 'user.email', 'ada@example.org'], env);
  fs.copyFileSync(path.join(FIXTURES, 'fix/relock-loop/before.c'), file);
  git(dir, ['add', '.'], env);
  git(dir, ['commit', '-qm', 'demo: add the driver'], env);
  for (const armor of ['PGP SIGNATURE', 'SSH SIGNATURE', 'SIGNED MESSAGE']) {
    fs.appendFileSync(file, `/* ${armor} */\n`);
    git(dir, ['add', rel], env);
    const tree = git(dir, ['write-tree'], env).trim();
    const parent = git(dir, ['rev-parse', 'HEAD'], env).trim();
    const obj = path.join(base, 'commit.txt');
    fs.writeFileSync(
      obj,
      `tree ${tree}\nparent ${parent}\nauthor Ada Hacker <ada@example.org> 1700000000 +0000\n` +
        `committer Ada Hacker <ada@example.org> 1700000000 +0000\ngpgsig -----BEGIN ${armor}-----\n \n AAAA\n -----END ${armor}-----\n\ndemo: signed\n`,
    );
    const c = git(dir, ['hash-object', '-t', 'commit', '-w', obj], env).trim();
    git(dir, ['update-ref', 'HEAD', c], env);
  }
  git(dir, ['reset', '-q', '--hard'], env);
  return { dir, file, rel, marker, prog, home };
}

/** What gitInfo.ts ran before it was hardened. */
function oldLog(t: Trap, env: NodeJS.ProcessEnv): void {
  try {
    execFileSync('git', ['log', '--no-merges', '--format=%s', '-n', '300', '--', t.rel], {
      cwd: t.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20000,
    });
  } catch {
    /* the program fails */
  }
}

interface Case {
  name: string;
  /** Sets the trap up; returns environment variables to set while our code runs. */
  setup(t: Trap): Record<string, string>;
  /** The unhardened `git log` starts the program (proved before the real check). */
  live: boolean;
  /** The history cannot be read without the program (a partial clone missing a tree). */
  noHistory?: boolean;
}

const cfg = (t: Trap, ...kv: [string, string][]) => {
  for (const [k, v] of kv) git(t.dir, ['config', k, v]);
};

const CASES: Case[] = [
  {
    name: 'log.showSignature + gpg.program',
    live: true,
    setup: t => {
      cfg(t, ['log.showSignature', 'true'], ['gpg.program', t.prog]);
      return {};
    },
  },
  {
    name: 'log.showSignature + gpg.openpgp.program',
    live: true,
    setup: t => {
      cfg(t, ['log.showSignature', 'true'], ['gpg.openpgp.program', t.prog]);
      return {};
    },
  },
  {
    name: 'log.showSignature + gpg.x509.program',
    live: true,
    setup: t => {
      cfg(t, ['log.showSignature', 'true'], ['gpg.x509.program', t.prog]);
      return {};
    },
  },
  {
    name: 'log.showSignature + gpg.format=ssh + gpg.ssh.program',
    live: true,
    setup: t => {
      cfg(
        t,
        ['log.showSignature', 'true'],
        ['gpg.format', 'ssh'],
        ['gpg.ssh.program', t.prog],
        ['gpg.ssh.allowedSignersFile', '/dev/null'],
      );
      return {};
    },
  },
  {
    name: 'include.path pulling in a file that turns signatures on',
    live: true,
    setup: t => {
      const inc = path.join(path.dirname(t.dir), 'evil.inc');
      fs.writeFileSync(inc, `[log]\n\tshowSignature = true\n[gpg]\n\tprogram = ${t.prog}\n`);
      cfg(t, ['include.path', inc]);
      return {};
    },
  },
  {
    name: 'includeIf gitdir: pulling in a file that turns signatures on',
    live: true,
    setup: t => {
      const inc = path.join(path.dirname(t.dir), 'evil-if.inc');
      fs.writeFileSync(inc, `[log]\n\tshowSignature = true\n[gpg]\n\tprogram = ${t.prog}\n`);
      cfg(t, [`includeIf.gitdir:${t.dir}/.git.path`, inc]);
      return {};
    },
  },
  {
    name: 'the global config (HOME/.gitconfig) turning signatures on',
    live: true,
    setup: t => {
      fs.writeFileSync(path.join(t.home, '.gitconfig'), `[log]\n\tshowSignature = true\n[gpg]\n\tprogram = ${t.prog}\n`);
      return { HOME: t.home };
    },
  },
  {
    name: 'config from the inherited environment (GIT_CONFIG_COUNT)',
    live: true,
    setup: t => ({
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'log.showSignature',
      GIT_CONFIG_VALUE_0: 'true',
      GIT_CONFIG_KEY_1: 'gpg.program',
      GIT_CONFIG_VALUE_1: t.prog,
    }),
  },
  {
    name: 'config from the inherited environment (GIT_CONFIG_PARAMETERS)',
    live: true,
    setup: t => ({ GIT_CONFIG_PARAMETERS: `'log.showsignature'='true' 'gpg.program'='${t.prog}'` }),
  },
  // Keys the commands we run do not reach today (no tty for a pager, no index for fsmonitor, no
  // diff for external diff or textconv, no hooks or aliases for log): pinned anyway, checked here.
  {
    name: 'core.fsmonitor',
    live: false,
    setup: t => {
      cfg(t, ['core.fsmonitor', t.prog]);
      return {};
    },
  },
  {
    name: 'core.pager and pager.log',
    live: false,
    setup: t => {
      cfg(t, ['core.pager', t.prog], ['pager.log', t.prog]);
      return { GIT_PAGER: t.prog, PAGER: t.prog };
    },
  },
  {
    name: 'diff.external and a textconv driver',
    live: false,
    setup: t => {
      cfg(t, ['diff.external', t.prog], ['diff.evil.textconv', t.prog], ['diff.evil.command', t.prog]);
      fs.writeFileSync(path.join(t.dir, '.git/info/attributes'), '* diff=evil\n');
      return { GIT_EXTERNAL_DIFF: t.prog };
    },
  },
  {
    name: 'core.hooksPath and alias.log',
    live: false,
    setup: t => {
      const hooks = path.join(path.dirname(t.dir), 'hooks');
      fs.mkdirSync(hooks);
      for (const h of ['post-checkout', 'post-index-change', 'reference-transaction', 'fsmonitor-watchman'])
        fs.copyFileSync(t.prog, path.join(hooks, h));
      fs.chmodSync(hooks, 0o755);
      cfg(t, ['core.hooksPath', hooks], ['alias.log', `!${t.prog}`], ['alias.rev-parse', `!${t.prog}`], ['alias.config', `!${t.prog}`]);
      return {};
    },
  },
  {
    // git log reads every commit's tree; one missing from a partial clone is fetched from the
    // promisor remote, over ssh with core.sshCommand.
    name: 'core.sshCommand of a partial clone missing a tree (lazy fetch)',
    live: true,
    noHistory: true,
    setup: t => {
      const tree = git(t.dir, ['rev-parse', 'HEAD~3:drivers/demo']).trim();
      fs.rmSync(path.join(t.dir, '.git/objects', tree.slice(0, 2), tree.slice(2)));
      cfg(
        t,
        ['core.repositoryformatversion', '1'],
        ['extensions.partialClone', 'origin'],
        ['remote.origin.url', 'ssh://example.invalid/r.git'],
        ['remote.origin.promisor', 'true'],
        ['core.sshCommand', t.prog],
        ['credential.helper', `!${t.prog}`],
      );
      return {};
    },
  },
  {
    name: 'GIT_SSH_COMMAND, GIT_SSH and GIT_ASKPASS inherited, with a partial clone missing a tree',
    live: true,
    noHistory: true,
    setup: t => {
      const tree = git(t.dir, ['rev-parse', 'HEAD~3:drivers/demo']).trim();
      fs.rmSync(path.join(t.dir, '.git/objects', tree.slice(0, 2), tree.slice(2)));
      cfg(
        t,
        ['core.repositoryformatversion', '1'],
        ['extensions.partialClone', 'origin'],
        ['remote.origin.url', 'ssh://example.invalid/r.git'],
        ['remote.origin.promisor', 'true'],
      );
      return { GIT_SSH_COMMAND: t.prog, GIT_SSH: t.prog, GIT_ASKPASS: t.prog };
    },
  },
];

function withEnv<T>(vars: Record<string, string>, f: () => T): T {
  const saved = new Map(Object.keys(vars).map(k => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return f();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('git is run with no program from the repository or the environment', function () {
  this.timeout(60000);
  before(function () {
    if (!haveGit() || process.platform === 'win32') this.skip();
  });

  for (const c of CASES) {
    it(`${c.name}: no program runs${c.noHistory ? '' : ', the history is still read'}`, () => {
      const t = trapRepo();
      const vars = c.setup(t);
      if (c.live) {
        oldLog(t, { ...process.env, HOME: t.home, ...vars });
        assert.ok(fs.existsSync(t.marker), 'the trap is live: plain git log starts the program');
        fs.rmSync(t.marker);
      }
      const info = withEnv(vars, () => repoInfo(t.file, t.dir));
      assert.ok(!fs.existsSync(t.marker), `a program ran: ${fs.existsSync(t.marker) ? fs.readFileSync(t.marker, 'utf8') : ''}`);
      assert.equal(info.path, t.rel);
      assert.equal(fs.realpathSync(info.root), fs.realpathSync(t.dir));
      // Without the missing tree there is no history to read: the prefix then comes from the table.
      assert.deepEqual(info.subjects, c.noHistory ? [] : ['demo: signed', 'demo: signed', 'demo: signed', 'demo: add the driver']);
      assert.deepEqual(info.ident, { name: 'Ada Hacker', email: 'ada@example.org' });
    });
  }

  it('patch on the command line starts no program (log.showSignature + gpg.program)', async () => {
    const t = trapRepo();
    cfg(t, ['log.showSignature', 'true'], ['gpg.program', t.prog]);
    const r = await runCli(['patch', '--date', '2026-01-02T03:04:05Z', t.rel], t.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Subject: \[PATCH\] demo: disable local irqs/m);
    assert.ok(!fs.existsSync(t.marker), 'a program ran');
  });

  it('runGit: false starts no git at all (untrusted workspaces)', () => {
    const t = trapRepo();
    // Any git started would find this program as `git` first on PATH.
    const bin = path.join(path.dirname(t.dir), 'bin');
    fs.mkdirSync(bin);
    fs.copyFileSync(t.prog, path.join(bin, 'git'));
    fs.chmodSync(path.join(bin, 'git'), 0o755);
    const info = withEnv({ PATH: `${bin}:${process.env.PATH}` }, () => repoInfo(t.file, t.dir, undefined, { runGit: false }));
    assert.ok(!fs.existsSync(t.marker), 'git ran');
    assert.equal(info.ident, undefined);
    assert.equal(info.subjects, undefined);
    assert.equal(info.path, t.rel);
  });
});
