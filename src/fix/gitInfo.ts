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
function readIdent(cwd: string): Ident | undefined {
  const out = git(cwd, ['config', '--get-regexp', '^user\\.(name|email)$']);
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
 */
export function repoInfo(file: string, fallbackRoot: string, cache = new RepoCache()): RepoInfo {
  const real = realPath(file);
  const dir = path.dirname(real);
  const top = cache.top(dir);
  if (top) {
    const rel = relativeTo(top, real);
    const log = git(top, ['log', '--no-merges', '--format=%s', '-n', '300', '--', rel]);
    return { root: top, path: rel, subjects: log ? log.split('\n').filter(Boolean) : [], ident: cache.ident(top, top) };
  }
  const root = realPath(kernelRoot(real) ?? fallbackRoot);
  return { root, path: relativeTo(root, real), ident: cache.ident(dir, '') };
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
