// files.exclude globs (VS Code's syntax: **, *, ?, {a,b}, [...]) as regular expressions over
// workspace-relative paths with '/' separators.

export function globToRegExpSource(glob: string): string {
  let re = '';
  let inGroup = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` matches everything.
        if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 2; } else { re += '.*'; i += 1; }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') re += '[^/]';
    else if (c === '{') { re += '(?:'; inGroup = true; }
    else if (c === '}' && inGroup) { re += ')'; inGroup = false; }
    else if (c === ',' && inGroup) re += '|';
    else if (c === '[') {
      const j = glob.indexOf(']', i);
      if (j < 0) { re += '\\['; continue; }
      re += '[' + glob.slice(i + 1, j).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
      i = j;
    } else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return re;
}

/**
 * Regular expressions (source text) matching absolute paths under `root` that a files.exclude
 * object excludes. Entries set to an object (`{ "when": ... }`) are sibling conditions and are
 * not applied. A directory is tested with a trailing '/'.
 */
export function excludePatterns(root: string, exclude: Record<string, unknown> | undefined): string[] {
  const base = root.replace(/\/+$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const out: string[] = [];
  for (const [glob, on] of Object.entries(exclude ?? {})) {
    if (on !== true) continue;
    const g = glob.replace(/^\.\//, '').replace(/\/+$/, '');
    out.push(`^${base}/${globToRegExpSource(g.replace(/^\//, ''))}(?:/.*)?$`);
  }
  return out;
}
