// What the patch writer asks of the environment: the repository root, the file's path in it, the
// file's subject lines and the git identity. The only module of src/fix that runs a process
// (git), kept apart so the rest stays pure; without git (or outside a repository) it falls back
// to the kernel tree root.
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

/** `p` with symbolic links resolved, as git reports its top level; `p` itself if it does not exist. */
function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * The repository (or kernel tree) `file` is in, and its path there. Both come from the
 * symlink-resolved file: git's top level is resolved, so a file reached through a symbolic link
 * would otherwise not be found under it.
 */
export function repoInfo(file: string, fallbackRoot: string): RepoInfo {
  const real = realPath(file);
  const dir = path.dirname(real);
  const top = git(dir, ['rev-parse', '--show-toplevel']);
  if (top) {
    const rel = relativeTo(top, real);
    const log = git(top, ['log', '--no-merges', '--format=%s', '-n', '300', '--', rel]);
    const name = git(top, ['config', 'user.name']);
    const email = git(top, ['config', 'user.email']);
    return { root: top, path: rel, isGit: true, subjects: log ? log.split('\n').filter(Boolean) : [], ident: name && email ? { name, email } : undefined };
  }
  const name = git(dir, ['config', 'user.name']);
  const email = git(dir, ['config', 'user.email']);
  const root = realPath(kernelRoot(real) ?? fallbackRoot);
  return { root, path: relativeTo(root, real), isGit: false, ident: name && email ? { name, email } : undefined };
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
