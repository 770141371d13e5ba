// Annotated C fixtures, Semgrep-style: a `// ruleid: VRL001 handler=h callback=c` comment
// marks the next code line as the place a finding must be reported, `// ok: VRL001` one where
// none may be.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FIXTURES = path.resolve(__dirname, '../../../test/fixtures');

export interface Expectation {
  file: string;
  /** 0-based line of the code the annotation points at. */
  line: number;
  kind: 'ruleid' | 'ok';
  rule: string;
  attrs: Record<string, string>;
}

export function expectationsIn(dir: string): Expectation[] {
  const out: Expectation[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (!/\.[ch]$/.test(name)) continue;
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((l, i) => {
      const m = /\/\/\s*(ruleid|ok):\s*(VRL\d+)(.*)$/.exec(l);
      if (!m) return;
      let j = i + 1;
      while (j < lines.length && /^\s*(\/\/|\/\*|\*|$)/.test(lines[j])) j++;
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/(\w+)=(\S+)/g)) attrs[a[1]] = a[2];
      out.push({ file, line: j, kind: m[1] as 'ruleid' | 'ok', rule: m[2], attrs });
    });
  }
  return out;
}

export function fixtureDirs(group: string): string[] {
  const root = path.join(FIXTURES, group);
  return fs
    .readdirSync(root)
    .filter(d => fs.statSync(path.join(root, d)).isDirectory())
    .sort()
    .map(d => path.join(root, d));
}
