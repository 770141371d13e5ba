// Language server benchmark, through the protocol: `npm run bench:lsp [-- TREE]`.
//
// Starts dist/server.js over stdio on a workspace holding the whole kernel tree, measures the
// initial index (and, meanwhile, how long the server takes to answer a request every 100 ms:
// the editor stays responsive if that stays small), then the time from a one-line edit in
// drivers/net/virtio_net.c to the diagnostics published for the edited version.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { defaultTree, median, pct, root } from './common';

async function main(): Promise<void> {
  const tree = process.argv[2] ?? defaultTree();
  // Warm the page cache as an editor session would find it (and as bench/kernel.ts does).
  spawnSync('rg', ['-l', '--no-ignore', 'virtqueue', tree], { stdio: 'ignore' });
  const server = spawn(process.execPath, [path.join(root, 'dist/server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  let indexed: () => void = () => {};
  const indexDone = new Promise<void>(r => { indexed = r; });
  let sawIndexing = false;
  const published = new Map<string, { version?: number; at: number }>();
  let onPublish: (() => void) | undefined;
  conn.onNotification('virtioRaceLint/status', (p: { indexing: boolean }) => {
    if (p.indexing) sawIndexing = true;
    else if (sawIndexing) indexed();
  });
  conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; version?: number }) => {
    published.set(p.uri, { version: p.version, at: performance.now() });
    onPublish?.();
  });
  conn.onNotification('window/logMessage', (p: { message: string }) => { if (/indexed|scanned|failed/.test(p.message)) console.log(`  server: ${p.message}`); });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => null));
  conn.listen();
  const rootUri = pathToFileURL(tree).href;
  await conn.sendRequest('initialize', { processId: process.pid, rootUri, workspaceFolders: [{ uri: rootUri, name: 'linux' }],
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true } } });
  const t0 = performance.now();
  await conn.sendNotification('initialized', {});
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

  const file = path.join(tree, 'drivers/net/virtio_net.c');
  const uri = pathToFileURL(file).href;
  const text = fs.readFileSync(file, 'utf8');
  const waitVersion = (v: number) => new Promise<number>(resolve => {
    const check = () => { const p = published.get(uri); if (p && p.version === v) { onPublish = undefined; resolve(p.at); } };
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
  console.log(`initial index of the workspace (target < 10 s):        ${(indexMs / 1000).toFixed(2)} s`);
  console.log(`request latency while indexing (median / p95 / max):   ${median(latencies).toFixed(1)} / ${pct(latencies, 0.95).toFixed(1)} / ${Math.max(...latencies).toFixed(1)} ms over ${latencies.length} requests`);
  console.log(`one-line edit in virtio_net.c -> diagnostics published (median, target < 30 ms): ${median(warm).toFixed(1)} ms (p90 ${pct(warm, 0.9).toFixed(1)} ms, ${warm.length} edits)`);
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  server.kill();
}

main().catch(e => { console.error(e); process.exitCode = 1; });
