// What the patch writer asks of the environment: the repository root, the file's subject lines
// and the git identity. The only module of src/fix that runs a process (git), kept apart so the
// rest stays pure; without git (or outside a repository) it falls back to the kernel tree root.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Ident } from './mail';
import type { RepoInfo } from './patch';

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 * 1024 * 1024 }).trimEnd();
  } catch {
    return undefined;
  }
}

/** The directory above `file` that holds a kernel tree (MAINTAINERS and Kbuild side by side). */
export function kernelRoot(file: string): string | undefined {
  for (let d = path.dirname(file); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'MAINTAINERS')) && fs.existsSync(path.join(d, 'Kbuild'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

export function repoInfo(file: string, fallbackRoot: string): RepoInfo {
  const dir = path.dirname(file);
  const top = git(dir, ['rev-parse', '--show-toplevel']);
  if (top) {
    const rel = path.relative(top, file);
    const log = git(top, ['log', '--no-merges', '--format=%s', '-n', '300', '--', rel]);
    const name = git(top, ['config', 'user.name']);
    const email = git(top, ['config', 'user.email']);
    return { root: top, isGit: true, subjects: log ? log.split('\n').filter(Boolean) : [], ident: name && email ? { name, email } : undefined };
  }
  const name = git(dir, ['config', 'user.name']);
  const email = git(dir, ['config', 'user.email']);
  return { root: kernelRoot(file) ?? fallbackRoot, isGit: false, ident: name && email ? { name, email } : undefined };
}

/** `Name <mail>` as given to --signoff or the setting. */
export function parseIdent(s: string): Ident | undefined {
  const m = /^\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(s);
  return m ? { name: m[1], email: m[2] } : undefined;
}
