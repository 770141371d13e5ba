// Builds the bundles in dist/ (CLI, language server, extension, simulator worker) and a
// transpiled copy of src/ and test/ in out/ for mocha. esbuild does not type-check;
// `npm run typecheck` (tsc --noEmit) does.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const production = process.argv.includes('--production');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const define = { __VRL_VERSION__: JSON.stringify(pkg.version) };

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const wasm = [require.resolve('web-tree-sitter/tree-sitter.wasm'), require.resolve('tree-sitter-c/tree-sitter-c.wasm')];

const entries = [
  ['src/cli/main.ts', 'dist/cli.js', { banner: { js: '#!/usr/bin/env node' } }],
  ['src/server/stdio.ts', 'dist/server.js', {}],
  ['src/analysis/scanWorker.ts', 'dist/scanWorker.js', {}],
  ['src/server/simWorker.ts', 'dist/simWorker.js', {}],
  ['src/client/extension.ts', 'dist/extension.js', { external: ['vscode'] }],
];

mkdirSync(path.join(root, 'dist'), { recursive: true });
await Promise.all(
  entries
    .filter(([src]) => existsSync(path.join(root, src)))
    .map(([src, out, extra]) =>
      esbuild.build({
        entryPoints: [path.join(root, src)],
        outfile: path.join(root, out),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        sourcemap: production ? false : 'linked',
        minify: production,
        logLevel: 'warning',
        define,
        // The CommonJS build of web-tree-sitter: its ES module reads import.meta.url, which a CJS
        // bundle does not have.
        alias: { 'web-tree-sitter': require.resolve('web-tree-sitter') },
        ...extra,
      }),
    ),
);
for (const f of wasm) copyFileSync(f, path.join(root, 'dist', path.basename(f)));

if (!production) {
  rmSync(path.join(root, 'out'), { recursive: true, force: true });
  const sources = [
    ...walk(path.join(root, 'src')),
    ...walk(path.join(root, 'test')),
    ...(existsSync(path.join(root, 'bench')) ? walk(path.join(root, 'bench')) : []),
  ];
  await esbuild.build({
    entryPoints: sources,
    outdir: path.join(root, 'out'),
    outbase: root,
    bundle: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'warning',
    define,
  });
}
