// What the patch writer asks of the environment: the repository root, the file's path in it, the
// file's subject lines and the git identity. The one module of src/fix that starts processes,
// kept apart so the rest stays pure: git here, and through runProgram() the kernel tree's perl
// scripts and the git commands of kernelTools.ts, all with the same hardening (no shell, a fixed
// environment, every program-naming git config key pinned, a timeout). Without git (or outside a
// repository) it falls back to the kernel tree root.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { realPath } from '../analysis/fileRead';
import type { Ident } from './mail';
import type { RepoInfo } from './patch';

/** How long one git command may take before it is killed (a hung filesystem, a huge history). */
export const GIT_TIMEOUT_MS = 10_000;

/**
 * Configuration that could make git start another program, overridden on the command line
 * (which wins over every config file, included ones too). The repository's own .git/config is
 * read by git whatever we do, so every key that names a program, or makes git run one, for the
 * commands run here (rev-parse, log without a diff, config) is pinned: signature verification
 * (log.showSignature and the gpg.* programs), the pager, the fsmonitor hook, hooks, external
 * diff and textconv drivers, and the transports a partial clone would use to fetch a missing
 * object (ssh command, credential helpers, askpass; every protocol is refused).
 */
const SAFE_CONFIG = [
  'log.showSignature=false',
  'gpg.program=false',
  'gpg.openpgp.program=false',
  'gpg.x509.program=false',
  'gpg.ssh.program=false',
  'gpg.ssh.defaultKeyCommand=false',
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.pager=cat',
  'pager.log=false',
  'pager.config=false',
  'core.sshCommand=false',
  'core.askPass=false',
  'credential.helper=',
  'protocol.allow=never',
  'core.alternateRefsCommand=false',
  'diff.external=false',
  'log.mailmap=false',
  // git am (kernelTools.ts): no signing program for the commit it makes, no editor.
  'commit.gpgSign=false',
  'core.editor=false',
  'sequence.editor=false',
];

/**
 * The environment git runs with: only what it needs to find itself and the user's home, nothing
 * inherited that names a program or a repository (GIT_DIR, GIT_EXTERNAL_DIFF, GIT_SSH_COMMAND,
 * GIT_CONFIG_PARAMETERS, PAGER, …); no system config; no global config unless `global` (only
 * `git config --get` reads it, which starts no process); no prompts; no lazy fetches.
 */
function gitEnv(global: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'USERPROFILE', 'SystemRoot', 'SYSTEMROOT', 'TMPDIR', 'TEMP', 'TMP', 'LANG', 'LC_ALL']) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  Object.assign(env, {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    GIT_ASKPASS: 'false',
    SSH_ASKPASS: 'false',
    GIT_NO_LAZY_FETCH: '1',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
  });
  if (!global) env.GIT_CONFIG_GLOBAL = process.platform === 'win32' ? 'NUL' : '/dev/null';
  return env;
}

/**
 * The environment for a program other than git (the kernel's perl scripts): gitEnv's, and the
 * safe config handed to any git the program starts in the GIT_CONFIG_COUNT variables, which
 * override every config file (checkpatch.pl runs `git log` in a git tree). Nothing inherited
 * that changes how perl starts (PERL5OPT, PERL5LIB, PERL5DB) is passed on.
 */
function scriptEnv(): NodeJS.ProcessEnv {
  const env = gitEnv(false);
  env.GIT_CONFIG_COUNT = String(SAFE_CONFIG.length);
  SAFE_CONFIG.forEach((c, i) => {
    const eq = c.indexOf('=');
    env[`GIT_CONFIG_KEY_${i}`] = c.slice(0, eq);
    env[`GIT_CONFIG_VALUE_${i}`] = c.slice(eq + 1);
  });
  return env;
}

/** The arguments git is started with: the safe config, then `args`. */
export function gitArgs(args: string[]): string[] {
  return ['--no-pager', ...SAFE_CONFIG.flatMap(c => ['-c', c]), ...args];
}

function git(cwd: string, args: string[], opts: { global?: boolean } = {}): string | undefined {
  try {
    return execFileSync('git', gitArgs(args), {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 16 * 1024 * 1024,
      env: gitEnv(!!opts.global),
      timeout: GIT_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      windowsHide: true,
    }).trimEnd();
  } catch {
    return undefined;
  }
}

export interface RunResult {
  /** Exit status; null when the program was killed (`timedOut`) or did not start (`error`). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why the program did not start or was stopped (`spawn perl ENOENT`), if it did not run to its end. */
  error?: string;
}

export interface RunOptions {
  cwd: string;
  /** Text written to the program's standard input (closed either way). */
  input?: string;
  /** Milliseconds before the program is killed; GIT_TIMEOUT_MS by default. */
  timeoutMs?: number;
  /** Extra environment variables (the committer identity for git am). */
  env?: Record<string, string>;
}

/**
 * Runs `program` (`git`, or `perl` for a kernel script) without a shell, with the environment
 * of gitEnv() (git: the safe config on its command line, the user's global config not read
 * unless `global`) or scriptEnv() (anything else), killed after the timeout. Never throws: a
 * program that cannot start or is killed is reported in the result.
 */
export function runProgram(program: 'git' | 'perl', args: string[], opts: RunOptions & { global?: boolean }): Promise<RunResult> {
  const isGit = program === 'git';
  const env = { ...(isGit ? gitEnv(!!opts.global) : scriptEnv()), ...opts.env };
  const timeoutMs = opts.timeoutMs ?? GIT_TIMEOUT_MS;
  return new Promise(resolve => {
    const child = execFile(
      program,
      isGit ? gitArgs(args) : args,
      {
        cwd: opts.cwd,
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        env,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        windowsHide: true,
        shell: false,
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string }) | null;
        const timedOut = !!e?.killed && e.signal === 'SIGKILL';
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : null;
        const error = timedOut
          ? `${program} was stopped after ${timeoutMs} ms`
          : e && code === null
            ? e.message.split('\n')[0] || `${program} failed`
            : undefined;
        resolve({ code, stdout: String(stdout ?? ''), stderr: String(stderr ?? ''), timedOut, ...(error ? { error } : {}) });
      },
    );
    child.stdin?.on('error', () => {
      /* the program exited without reading its input */
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** The directory above `file` that holds a kernel tree (MAINTAINERS and Kbuild side by side). */
export function kernelRoot(file: string): string | undefined {
  for (let d = path.dirname(file); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'MAINTAINERS')) && fs.existsSync(path.join(d, 'Kbuild'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * What does not change between the files of one run, so that it is asked of git once: the top
 * level of each directory and the identity of each repository. A long-running caller (the
 * language server) makes a new one per request, so a changed git config is seen.
 */
export class RepoCache {
  private readonly tops = new Map<string, string | undefined>();
  private readonly idents = new Map<string, Ident | undefined>();

  /** `git rev-parse --show-toplevel` run in `dir`. */
  top(dir: string): string | undefined {
    if (!this.tops.has(dir)) this.tops.set(dir, git(dir, ['rev-parse', '--show-toplevel']));
    return this.tops.get(dir);
  }

  /** user.name and user.email as git sees them in `cwd` (one process); `key` names the repository, '' outside one. */
  ident(cwd: string, key: string): Ident | undefined {
    if (!this.idents.has(key)) this.idents.set(key, readIdent(cwd));
    return this.idents.get(key);
  }
}

/** What `git config user.name` and `git config user.email` print: the last value of each wins. */
export function readIdent(cwd: string): Ident | undefined {
  // `git config` reads files only: the user's global config (where the identity usually is) is read.
  const out = git(cwd, ['config', '--includes', '--get-regexp', '^user\\.(name|email)$'], { global: true });
  const v: Record<string, string> = {};
  for (const line of out?.split('\n') ?? []) {
    const m = /^user\.(name|email)(?: (.*))?$/.exec(line);
    if (m) v[m[1]] = m[2] ?? '';
  }
  return v.name && v.email ? { name: v.name, email: v.email } : undefined;
}

/**
 * The repository (or kernel tree) `file` is in, and its path there. Both come from the
 * symlink-resolved file: git's top level is resolved, so a file reached through a symbolic link
 * would otherwise not be found under it. Pass one `cache` for all the files of a run.
 * `runGit: false` (an untrusted workspace) starts no process: the kernel tree root, no history,
 * no identity.
 */
export function repoInfo(file: string, fallbackRoot: string, cache = new RepoCache(), opts: { runGit?: boolean } = {}): RepoInfo {
  const real = realPath(file);
  const dir = path.dirname(real);
  const runGit = opts.runGit ?? true;
  const gitTop = runGit ? cache.top(dir) : undefined;
  const kroot = kernelRoot(real);
  // A kernel tree unpacked inside another repository (an ignored cache folder, say) is not that
  // repository's: the mail's paths are relative to the kernel tree, and that history is not its.
  const top = gitTop && !(kroot && realPath(kroot).startsWith(gitTop + path.sep)) ? gitTop : undefined;
  if (top) {
    const rel = relativeTo(top, real);
    const log = git(top, [
      'log',
      '--no-show-signature',
      '--no-ext-diff',
      '--no-textconv',
      '--no-color',
      '--no-merges',
      '--format=%s',
      '-n',
      '300',
      '--',
      rel,
    ]);
    return { root: top, path: rel, git: true, subjects: log ? log.split('\n').filter(Boolean) : [], ident: cache.ident(top, top) };
  }
  const root = realPath(kroot ?? fallbackRoot);
  return { root, path: relativeTo(root, real), ident: runGit ? cache.ident(dir, '') : undefined };
}

/** `file` relative to `root` with `/` separators; a file outside `root` keeps its full path, without the leading `/`. */
function relativeTo(root: string, file: string): string {
  const r = root.endsWith(path.sep) ? root : root + path.sep;
  const rel = file.startsWith(r) ? file.slice(r.length) : file.replace(/^[\\/]+/, '');
  return rel.split(path.sep).join('/');
}

/** `Name <mail>` as given to --signoff or the setting. */
export function parseIdent(s: string): Ident | undefined {
  const m = /^\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(s);
  return m ? { name: m[1], email: m[2] } : undefined;
}
