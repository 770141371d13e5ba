// Language server benchmark, through the protocol: `npm run bench:lsp [-- TREE]`.
//
// Starts dist/server.js over stdio on a workspace holding the whole kernel tree, as VS Code's
// client does (files.exclude with VS Code's defaults, a workspace/didChangeConfiguration right
// after `initialized`), and opens drivers/gpu/drm/virtio/virtgpu_vq.c at once. Measures the
// initial index (how many times it ran, and meanwhile how long the server takes to answer a
// request every 100 ms: the editor stays responsive if that stays small), the time from
// `initialized` to the first VRL001 diagnostics of virtgpu_vq.c (its callbacks are registered in
// virtgpu_kms.c), then the time from a one-line edit in drivers/net/virtio_net.c to the
// diagnostics published for the edited version. The server gets a facts cache directory (new,
// temporary, as the editor's global storage is on a first start): the first start indexes cold
// and fills the cache; a second start, with the cache warm, is measured after it side by side.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { defaultTree, median, pct, root } from './common';

async function main(): Promise<void> {
  const tree = process.argv[2] ?? defaultTree();
  // Warm the page cache as an editor session would find it (and as bench/kernel.ts does).
  spawnSync('rg', ['-l', '--no-ignore', 'virtqueue', tree], { stdio: 'ignore' });
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-bench-cache-'));
  try {
    console.log('first start (facts cache empty):');
    const cold = await start(tree, cacheDir, true);
    console.log('second start (facts cache filled by the first):');
    const warm = await start(tree, cacheDir, false);
    console.log(
      `initial index, cold / with the facts cache warm (target <= 3 s): ${(cold.indexMs / 1000).toFixed(2)} s / ${(warm.indexMs / 1000).toFixed(2)} s`,
    );
    console.log(`virtgpu_vq.c's VRL001 published, cold / warm:                   ${sec(cold.gpuMs)} / ${sec(warm.gpuMs)}`);
    console.log(
      `VRL001 findings, cold / warm:                                    ${cold.findings} / ${warm.findings}${cold.findings === warm.findings ? '' : '  (DIFFER)'}`,
    );
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

function sec(ms: number | undefined): string {
  return ms === undefined ? 'never' : `${(ms / 1000).toFixed(2)} s`;
}

/** One server start: the index, and with `edits` the one-line edits after it. */
async function start(tree: string, cacheDir: string, withEdits: boolean): Promise<{ indexMs: number; gpuMs?: number; findings: number }> {
  // VRL_BENCH_SERVER: another build's dist/server.js, to compare side by side.
  const serverJs = process.env.VRL_BENCH_SERVER ?? path.join(root, 'dist/server.js');
  const server = spawn(process.execPath, [serverJs, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  let indexed: () => void = () => {};
  const indexDone = new Promise<void>(r => {
    indexed = r;
  });
  let sawIndexing = false;
  const published = new Map<string, { version?: number; at: number }>();
  let onPublish: (() => void) | undefined;
  conn.onNotification('virtioRaceLint/status', (p: { indexing: boolean }) => {
    if (p.indexing) sawIndexing = true;
    else if (sawIndexing) indexed();
  });
  const gpu = pathToFileURL(path.join(tree, 'drivers/gpu/drm/virtio/virtgpu_vq.c')).href;
  let gpuFirst: number | undefined;
  let gpuFindings = 0;
  conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; version?: number; diagnostics: { code?: unknown }[] }) => {
    published.set(p.uri, { version: p.version, at: performance.now() });
    if (p.uri === gpu && gpuFirst === undefined && p.diagnostics.some(d => d.code === 'VRL001')) {
      gpuFirst = performance.now();
      gpuFindings = p.diagnostics.filter(d => d.code === 'VRL001').length;
    }
    onPublish?.();
  });
  conn.onNotification('window/logMessage', (p: { message: string }) => {
    if (/indexed|scanned|failed/.test(p.message)) console.log(`  server: ${p.message}`);
  });
  // Progress as the editor shows it; each index reports under a token of its own.
  const progress: { at: number; message?: string; percentage?: number }[] = [];
  let indexRuns = 0;
  conn.onNotification('$/progress', (p: { value: { kind: string; title?: string; message?: string; percentage?: number } }) => {
    if (p.value.kind === 'begin' && /indexing/.test(p.value.title ?? '')) indexRuns++;
    if (p.value.kind !== 'end') progress.push({ at: performance.now(), message: p.value.message, percentage: p.value.percentage });
  });
  conn.onRequest('window/workDoneProgress/create', () => null);
  // VS Code's default files.exclude.
  const filesSection = {
    exclude: { '**/.git': true, '**/.svn': true, '**/.hg': true, '**/CVS': true, '**/.DS_Store': true, '**/Thumbs.db': true },
  };
  conn.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
    p.items.map(i => (i.section === 'files' ? filesSection : null)),
  );
  conn.listen();
  const rootUri = pathToFileURL(tree).href;
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: 'linux' }],
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true } },
    initializationOptions: { cacheDir },
  });
  const t0 = performance.now();
  await conn.sendNotification('initialized', {});
  // What vscode-languageclient sends at once (synchronize.configurationSection), and a file
  // opened while the tree is indexed.
  await conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
  // VRL_BENCH_NO_OPEN=1: nothing open while indexing (what reading open files' directories first costs).
  if (!process.env.VRL_BENCH_NO_OPEN)
    await conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: gpu, languageId: 'c', version: 1, text: fs.readFileSync(new URL(gpu), 'utf8') },
    });
  // Responsiveness while indexing: a request every 100 ms.
  const latencies: number[] = [];
  let indexing = true;
  const probe = (async () => {
    while (indexing) {
      const s = performance.now();
      await conn.sendRequest('workspace/executeCommand', { command: 'virtioRaceLint.server.listFindings', arguments: [] });
      latencies.push(performance.now() - s);
      await new Promise(r => setTimeout(r, 100));
    }
  })();
  await indexDone;
  const indexMs = performance.now() - t0;
  indexing = false;
  await probe;
  // A second index would show here (a begin after the first).
  await new Promise(r => setTimeout(r, 500));
  const findings = (await conn.sendRequest('workspace/executeCommand', {
    command: 'virtioRaceLint.server.listFindings',
    arguments: [],
  })) as { uri: string; line: number; handler: string }[];
  if (process.env.VRL_BENCH_FINDINGS)
    fs.writeFileSync(process.env.VRL_BENCH_FINDINGS, JSON.stringify(findings.map(f => `${f.uri}:${f.line} ${f.handler}`).sort(), null, 1));
  const result = { indexMs, gpuMs: gpuFirst === undefined ? undefined : gpuFirst - t0, findings: findings.length };
  if (!withEdits) {
    console.log(
      `initial index of the workspace: ${(indexMs / 1000).toFixed(2)} s (${indexRuns} index run${indexRuns === 1 ? '' : 's'}); virtgpu_vq.c's VRL001: ${sec(result.gpuMs)}`,
    );
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
    server.kill();
    return result;
  }

  const file = path.join(tree, 'drivers/net/virtio_net.c');
  const uri = pathToFileURL(file).href;
  const text = fs.readFileSync(file, 'utf8');
  const waitVersion = (v: number) =>
    new Promise<number>(resolve => {
      const check = () => {
        const p = published.get(uri);
        if (p && p.version === v) {
          onPublish = undefined;
          resolve(p.at);
        }
      };
      onPublish = check;
      check();
    });
  await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
  await waitVersion(1);
  const lines = text.split('\n');
  const line = lines.findIndex(l => l.startsWith('static int virtnet_poll(')) + 2;
  const edits: number[] = [];
  for (let v = 2; v < 62; v++) {
    const insert = v % 2 === 0;
    const change = insert
      ? { range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: '\tint vrl_bench = 0;\n' }
      : { range: { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, text: '' };
    const s = performance.now();
    await conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: v }, contentChanges: [change] });
    const at = await waitVersion(v);
    edits.push(at - s);
  }
  const warm = edits.slice(5);
  console.log(`tree: ${tree}`);
  console.log(`VRL001 findings in the workspace after the index: ${findings.length}`);
  console.log(
    `initial index of the workspace (target <= 3 s):        ${(indexMs / 1000).toFixed(2)} s (${indexRuns} index run${indexRuns === 1 ? '' : 's'})`,
  );
  console.log(
    `virtgpu_vq.c opened at initialized -> its VRL001 published: ${gpuFirst === undefined ? 'never' : `${((gpuFirst - t0) / 1000).toFixed(2)} s (${gpuFindings} findings)`}, whole index ${(indexMs / 1000).toFixed(2)} s`,
  );
  const shown = progress.filter(p => p.message);
  console.log(
    `progress reports: ${shown.length}: ${shown.map(p => `${((p.at - t0) / 1000).toFixed(2)} s "${p.message}" ${p.percentage ?? ''}%`).join('; ')}`,
  );
  console.log(
    `request latency while indexing (median / p95 / max):   ${median(latencies).toFixed(1)} / ${pct(latencies, 0.95).toFixed(1)} / ${Math.max(...latencies).toFixed(1)} ms over ${latencies.length} requests`,
  );
  console.log(
    `one-line edit in virtio_net.c -> diagnostics published (median, target < 30 ms): ${median(warm).toFixed(1)} ms (p90 ${pct(warm, 0.9).toFixed(1)} ms, ${warm.length} edits)`,
  );
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  server.kill();
  return result;
}

main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
