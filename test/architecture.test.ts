// The layering of ARCHITECTURE.md as a test: the core (analysis, fix, sim) imports neither
// vscode nor an LSP package, nor the front ends; only the client imports vscode; the CLI does not
// import the server or the client; the server and the CLI reach the core only through src/api.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '../../src');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers of static imports, re-exports, dynamic imports and require() calls. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

function offenders(layer: string, banned: (spec: string, file: string) => boolean): string[] {
  const bad: string[] = [];
  for (const f of sources(path.join(SRC, layer))) {
    for (const spec of importsOf(fs.readFileSync(f, 'utf8'))) {
      if (banned(spec, f)) bad.push(`${path.relative(SRC, f)} imports ${spec}`);
    }
  }
  return bad;
}

const isEditorOrLsp = (spec: string) =>
  spec === 'vscode' ||
  spec.startsWith('vscode-languageserver') ||
  spec.startsWith('vscode-languageclient') ||
  spec.startsWith('vscode-jsonrpc');
const reaches = (from: string, spec: string, layer: string) =>
  spec.startsWith('.') && path.resolve(path.dirname(from), spec).startsWith(path.join(SRC, layer) + path.sep);
const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec);

/**
 * An import of a front end (`layer`) that goes past the API layer: anything but node's own
 * modules, `packages`, src/api, src/shared, the layer's own files and `alsoAllowed` (paths under
 * src without .ts, and the importing file's).
 */
function pastTheApi(layer: string, packages: (spec: string) => boolean, alsoAllowed: (target: string, from: string) => boolean) {
  return (spec: string, f: string): boolean => {
    if (isBuiltin(spec) || packages(spec)) return false;
    if (!spec.startsWith('.')) return true;
    if (['api', 'shared', layer].some(l => reaches(f, spec, l))) return false;
    return !alsoAllowed(path.relative(SRC, path.resolve(path.dirname(f), spec)), path.relative(SRC, f));
  };
}
const serverPastTheApi = pastTheApi(
  'server',
  spec => spec === 'vscode-languageserver' || spec.startsWith('vscode-languageserver/'),
  () => false,
);
const cliPastTheApi = pastTheApi(
  'cli',
  () => false,
  (target, from) => target === 'version' || (from === path.join('cli', 'lsp.ts') && target === path.join('server', 'main')),
);

describe('architecture', () => {
  it('finds imports in every form it checks (the checker itself)', () => {
    assert.deepEqual(
      importsOf(
        "import * as v from 'vscode';\nexport { x } from \"../server/a\";\nconst m = require('vscode-languageserver/node');\nimport 'side';\nawait import('./dyn');",
      ),
      ['vscode', '../server/a', 'vscode-languageserver/node', 'side', './dyn'],
    );
  });

  for (const layer of ['analysis', 'fix', 'sim', 'api']) {
    it(`src/${layer} imports neither vscode, an LSP package, nor a front end`, () => {
      assert.deepEqual(
        offenders(layer, (spec, f) => isEditorOrLsp(spec) || ['server', 'client', 'cli'].some(l => reaches(f, spec, l))),
        [],
      );
    });
  }

  it("only gitInfo.ts and scan.ts import child_process; only kernelTools.ts starts processes through gitInfo's runner", () => {
    // ARCHITECTURE.md: the core modules that may start processes. gitInfo.ts runs git and holds
    // the hardened runner (runProgram); kernelTools.ts runs the kernel tree's scripts and git
    // through it; scan.ts may start ripgrep. The front ends start none themselves.
    const starters: string[] = [];
    const runners: string[] = [];
    for (const f of sources(SRC)) {
      const text = fs.readFileSync(f, 'utf8');
      if (importsOf(text).some(s => s === 'child_process' || s === 'node:child_process')) starters.push(path.relative(SRC, f));
      if (/\brunProgram\b/.test(text)) runners.push(path.relative(SRC, f));
    }
    assert.deepEqual(starters.sort(), ['analysis/scan.ts', 'fix/gitInfo.ts']);
    assert.deepEqual(runners.sort(), ['fix/gitInfo.ts', 'fix/kernelTools.ts']);
  });

  it("the simulator does not import the view's types (src/shared): src/api converts its results", () => {
    assert.deepEqual(
      offenders('sim', (spec, f) => reaches(f, spec, 'shared') || reaches(f, spec, 'api')),
      [],
    );
  });

  it('only src/client imports vscode; the CLI imports neither the server nor the client', () => {
    for (const layer of ['analysis', 'fix', 'sim', 'api', 'server', 'cli', 'shared', 'report']) {
      assert.deepEqual(
        offenders(layer, spec => spec === 'vscode'),
        [],
        layer,
      );
    }
    assert.deepEqual(
      offenders('cli', (spec, f) => (reaches(f, spec, 'server') && !/\/lsp\.ts$/.test(f)) || reaches(f, spec, 'client')),
      [],
    );
  });

  it('the server imports nothing past the API layer: src/api, src/shared, its own files, node and vscode-languageserver only', () => {
    // The server is protocol handlers and conversion over src/api (session, fix, patch, rules,
    // simulate); analysis, fix, sim and report are reached through it.
    assert.deepEqual(offenders('server', serverPastTheApi), []);
  });

  it('the CLI imports nothing past the API layer: src/api, src/shared, its own files and node only (lsp.ts starts the server)', () => {
    assert.deepEqual(offenders('cli', cliPastTheApi), []);
  });

  it('the front-end checks catch an import past the API layer (the checker itself)', () => {
    const server = path.join(SRC, 'server', 'x.ts');
    const specs = [
      '../analysis/project',
      '../api/session',
      './paths',
      'node:fs',
      'path',
      'vscode-languageserver/node',
      '../fix/irqsave',
      '../report/formats',
      '../sim/model',
      'left-pad',
    ];
    assert.deepEqual(
      specs.filter(s => serverPastTheApi(s, server)),
      ['../analysis/project', '../fix/irqsave', '../report/formats', '../sim/model', 'left-pad'],
    );
    const cli = path.join(SRC, 'cli', 'x.ts');
    assert.deepEqual(
      ['../server/main', '../version', '../api/check', 'vscode-languageserver/node', '../analysis/scan'].filter(s => cliPastTheApi(s, cli)),
      ['../server/main', 'vscode-languageserver/node', '../analysis/scan'],
    );
    assert.deepEqual(
      ['../server/main', '../server/server'].filter(s => cliPastTheApi(s, path.join(SRC, 'cli', 'lsp.ts'))),
      ['../server/server'],
    );
  });
});
