import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// docs/model.md is what findings, reports and patch mails cite: it must ship with the extension,
// and every `docs/model.md#anchor` the repository cites must name one of its headings.
const ROOT = path.resolve(__dirname, '../../..');
const MODEL = path.join(ROOT, 'docs/model.md');

/** GitHub's heading slug: lower case, punctuation other than `-` and `_` dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (m) out.add(slug(m[1]));
  }
  return out;
}

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
}

describe('docs/model.md', () => {
  const text = fs.readFileSync(MODEL, 'utf8');
  const have = anchors(text);

  it('has the stable anchors reports cite', () => {
    for (const a of ['the-race', 'actors-and-kernel-rules', 'drain-shapes', 'work-locality', 'drains-without-a-spinlock',
      'napi', 'properties', 'the-ring-bound', 'timed-mode', 'the-unhandled-interrupt-rule', 'after-nobody-cared',
      'what-irqsave-guarantees', 'verdicts', 'work-pinned-to-one-cpu', 'why-a-is-reachable-under-irqsave',
      'what-the-model-leaves-out', 'threaded-interrupts', 'shared-vectors', 'lockdep', 'memory-ordering',
      'packed-ring-and-index-wrap', 'counting']) {
      assert.ok(have.has(a), `no heading for #${a}`);
    }
  });

  it('resolves every docs/model.md#anchor cited in the repository, and its own links', () => {
    let git: string[];
    try { git = trackedFiles(); } catch { git = []; }
    const files = [...new Set([...git, 'README.md', 'docs/model.md'])]
      .filter(f => /\.(ts|mjs|md|json)$/.test(f) && !f.startsWith('test/fixtures/') && f !== 'test/docs/model.test.ts' && fs.existsSync(path.join(ROOT, f)));
    const missing: string[] = [];
    for (const f of files) {
      const body = fs.readFileSync(path.join(ROOT, f), 'utf8');
      for (const m of body.matchAll(/docs\/model\.md#([\w-]+)/g)) if (!have.has(m[1])) missing.push(`${f}: #${m[1]}`);
    }
    for (const m of text.matchAll(/\]\(#([\w-]+)\)/g)) if (!have.has(m[1])) missing.push(`docs/model.md: #${m[1]}`);
    assert.deepEqual(missing, []);
  });

  it('ships in the extension package', () => {
    const rules = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n').map(l => l.trim());
    assert.ok(rules.includes('!docs/**') || rules.includes('!docs/model.md'), '.vscodeignore must re-include docs/model.md');
    assert.match(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'), /\]\(docs\/model\.md(#[\w-]+)?\)/);
  });

  it('leaves no path of a development machine in committed text', function () {
    let files: string[];
    try { files = trackedFiles(); } catch { this.skip(); }
    const hits: string[] = [];
    for (const f of files!) {
      if (!/\.(ts|mjs|js|md|json|sh)$/.test(f) || f === 'package-lock.json') continue;
      const body = fs.readFileSync(path.join(ROOT, f), 'utf8');
      for (const m of body.matchAll(/(?<![\w.])\/(?:work|root|home)\/[\w.-]+/g)) hits.push(`${f}: ${m[0]}`);
    }
    assert.deepEqual(hits, []);
  });
});
