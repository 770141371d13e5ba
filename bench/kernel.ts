// Whole-tree benchmark: `npm run bench [-- TREE] [--runs N]`.
//
// Side by side in one run, page cache warm: `rg -l --no-ignore virtqueue TREE` (the I/O floor:
// it reads every file too; `--no-ignore` because the default tree is unpacked under this
// checkout's ignored .cache/, where plain `rg` would skip everything and list nothing) and
// `virtio-race-lint check TREE` as a child process each, alternating, N times; then the re-analysis of drivers/net/virtio_net.c after a one-line edit (incremental
// re-parse + facts + re-link of the whole tree's index), in-process. Prints medians and ratios.
// Also, in the same run: `check --cache` with a cache filled by an untimed run (the facts of
// every file found on disk), and Coccinelle (`spatch`, when installed) with bench/vrl001.cocci
// (the same pattern, function by function), in its fastest settings: --jobs 2, --no-includes,
// --very-quiet, and --use-idutils with an id-utils index when `mkid` is installed (the index is
// built once, untimed, into .cache/cocci/ of this checkout).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPaths } from '../src/analysis/checkPaths';
import { AnalysedDocument } from '../src/analysis/document';
import { initParser } from '../src/analysis/parser';
import { defaultTree, median, pct, root } from './common';

function timeCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { ms: number; stderr: string; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return { ms, stderr: r.stderr, status: r.status };
}

async function incremental(tree: string, runs: number): Promise<{ median: number; p90: number; parse: number }> {
  const file = path.join(tree, 'drivers/net/virtio_net.c');
  const { project } = await checkPaths([tree]);
  await initParser();
  const text = fs.readFileSync(file, 'utf8');
  const doc = new AnalysedDocument(file, text);
  project.setFacts(doc.facts());
  project.findings();
  // A one-line edit inside a function in the middle of the file, then its undo, alternately.
  const anchor = text.indexOf('\n', text.indexOf('{', text.indexOf('static int virtnet_poll(')));
  const line = '\n\tint vrl_bench = 0;';
  const times: number[] = [];
  const parseTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    if (i % 2 === 0) doc.edit(anchor, anchor, line); else doc.edit(anchor, anchor + line.length, '');
    const facts = doc.facts();
    const t1 = performance.now();
    project.setFacts(facts);
    project.findings();
    times.push(performance.now() - t0);
    parseTimes.push(t1 - t0);
  }
  doc.dispose();
  // The first few runs warm the JIT; an editor session is warm.
  const warm = times.slice(5);
  // parse: the edit, the re-parse of the edited function and its facts (without the re-link).
  return { median: median(warm), p90: pct(warm, 0.9), parse: median(parseTimes.slice(5)) };
}

/** Coccinelle's runs of bench/vrl001.cocci over the tree: per setting, the times and the files it reports. */
function coccinelle(tree: string, runs: number): { setting: string; times: number[]; files: number }[] | string {
  if (spawnSync('spatch', ['--version']).status !== 0) return 'spatch not installed (apt-get install coccinelle): skipped';
  const cocci = path.join(root, 'bench/vrl001.cocci');
  const base = ['--very-quiet', '--no-includes', '--jobs', String(Math.max(1, os.cpus().length)), '--sp-file', cocci, '--dir', tree];
  const settings: [string, string[]][] = [['--jobs N --no-includes', base]];
  if (spawnSync('mkid', ['--version']).status === 0) {
    const idFile = path.join(root, '.cache/cocci', tree.replace(/[^A-Za-z0-9.-]+/g, '_'), 'ID');
    if (!fs.existsSync(idFile)) {
      fs.mkdirSync(path.dirname(idFile), { recursive: true });
      const t0 = performance.now();
      const r = spawnSync('mkid', ['-o', idFile, '-s', '--include=C', '.'], { cwd: tree, stdio: 'ignore' });
      if (r.status === 0) console.log(`id-utils index built for Coccinelle in ${((performance.now() - t0) / 1000).toFixed(0)} s (untimed): ${idFile}`);
    }
    if (fs.existsSync(idFile)) settings.push(['--jobs N --no-includes --use-idutils', ['--use-idutils', idFile, ...base]]);
  }
  // spatch writes its temporary files into the working directory.
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-cocci-'));
  try {
    return settings.map(([setting, args]) => {
      const times: number[] = [];
      let files = 0;
      for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        const r = spawnSync('spatch', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.status !== 0) throw new Error(`spatch failed (${r.status}): ${r.stderr}`);
        files = r.stdout.split('\n').filter(l => l.startsWith('--- ')).length;
      }
      return { setting, times, files };
    });
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
  const tree = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs') ?? defaultTree();
  const cli = path.join(root, 'dist/cli.js');
  if (!fs.existsSync(cli)) throw new Error('dist/cli.js is missing: run npm run build first');
  console.log(`tree: ${tree}`);
  console.log(`runs: ${runs} (alternating rg and virtio-race-lint; page cache warmed by one untimed run of each)`);
  const rgAvailable = spawnSync('rg', ['--version']).status === 0;
  const rgArgs = ['-l', '--no-ignore', 'virtqueue', tree];
  if (rgAvailable) {
    const listed = spawnSync('rg', rgArgs, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout.split('\n').filter(Boolean).length;
    if (listed === 0) throw new Error(`rg lists no file containing "virtqueue" under ${tree}: not a kernel tree?`);
    console.log(`rg -l --no-ignore virtqueue lists ${listed} files`);
  }
  timeCommand(process.execPath, [cli, 'check', '--format', 'json', tree]);
  const rgTimes: number[] = [];
  const ourTimes: number[] = [];
  const builtinTimes: number[] = [];
  const cachedTimes: number[] = [];
  // The cache lives in a temporary directory, filled by one untimed run.
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-bench-cache-'));
  timeCommand(process.execPath, [cli, 'check', '--format', 'json', '--cache-location', cacheDir, tree]);
  type Stats = Record<string, number> & { ms?: Record<string, number> };
  let stats: Stats = {};
  let builtinStats: Stats = {};
  let cachedStats: Stats = {};
  const ours = (prefilter: string, into: number[], extra: string[] = []) => {
    const r = timeCommand(process.execPath, [cli, 'check', '--format', 'json', '--prefilter', prefilter, ...extra, tree], { ...process.env, VRL_STATS: '1' });
    if (r.status !== 0 && r.status !== 1) throw new Error(`check failed (${r.status}): ${r.stderr}`);
    into.push(r.ms);
    const line = r.stderr.split('\n').find(l => l.startsWith('VRL_STATS '));
    return line ? JSON.parse(line.slice('VRL_STATS '.length)) : {};
  };
  for (let i = 0; i < runs; i++) {
    if (rgAvailable) rgTimes.push(timeCommand('rg', rgArgs).ms);
    stats = ours('auto', ourTimes);
    builtinStats = ours('builtin', builtinTimes);
    cachedStats = ours('auto', cachedTimes, ['--cache-location', cacheDir]);
  }
  fs.rmSync(cacheDir, { recursive: true, force: true });
  const cocci = coccinelle(tree, Math.min(runs, 3));
  const inc = await incremental(tree, 60);
  const oursMedian = median(ourTimes);
  const builtinMedian = median(builtinTimes);
  const cachedMedian = median(cachedTimes);
  const list = (xs: number[]) => `[${xs.map(t => t.toFixed(0)).join(', ')}]`;
  const ms = (st: Stats, k: string) => (st.ms?.[k] ?? NaN).toFixed(0);
  // Where the time of a check goes (the last run): from process start to the scan, the scan
  // (rg listing candidates while this thread parses them), the expansion, the rules.
  const phases = (st: Stats) => `startup ${ms(st, 'start')} ms, scan ${ms(st, 'scan')} ms (rg ${ms(st, 'rg')} ms; parse + facts ${ms(st, 'parseScan')} ms of it), `
    + `expand ${ms(st, 'expand')} ms, rules ${ms(st, 'findings')} ms`;
  const cocciRows: [string, string][] = typeof cocci === 'string' ? [['Coccinelle (spatch)', cocci]] : cocci.map(c => [
    `wall time, spatch ${c.setting} (best)`, `${Math.min(...c.times).toFixed(0)} ms  ${list(c.times)}; reports ${c.files} files`]);
  const cocciBest = typeof cocci === 'string' ? NaN : Math.min(...cocci.flatMap(c => c.times));
  const floor = rgAvailable ? median(rgTimes) : NaN;
  const rows: [string, string][] = [
    ['prefilter (default: ripgrep when installed)', String(stats.prefilter)],
    ['files read by virtio-race-lint', `${stats.filesRead} (built-in scan: ${builtinStats.filesRead}, every .c/.h)`],
    ['bytes read', `${(stats.bytes / 1e6).toFixed(1)} MB (built-in scan: ${(builtinStats.bytes / 1e6).toFixed(0)} MB)`],
    ['files parsed', String(stats.filesParsed)],
    ['findings', `${stats.findings} (built-in scan: ${builtinStats.findings})`],
    ['wall time, rg -l --no-ignore virtqueue (median, I/O floor)', rgAvailable ? `${floor.toFixed(0)} ms  ${list(rgTimes)}` : 'rg not installed'],
    ['wall time, check (median)', `${oursMedian.toFixed(0)} ms  ${list(ourTimes)}`],
    ['  ratio to the rg floor (target <= 2x)', rgAvailable ? `${(oursMedian / floor).toFixed(2)}x` : 'n/a'],
    ['  where the time goes (last run)', phases(stats)],
    ['wall time, check --cache, cache filled (median)', `${cachedMedian.toFixed(0)} ms  ${list(cachedTimes)}`],
    ['  ratio to the rg floor', rgAvailable ? `${(cachedMedian / floor).toFixed(2)}x` : 'n/a'],
    ['  where the time goes (last run)', phases(cachedStats)],
    ...cocciRows,
    ['  Coccinelle best / check (target >= 2.5x)', Number.isNaN(cocciBest) ? 'n/a' : `${(cocciBest / oursMedian).toFixed(2)}x (check --cache: ${(cocciBest / cachedMedian).toFixed(2)}x)`],
    ['wall time, check --prefilter builtin (median)', `${builtinMedian.toFixed(0)} ms  ${list(builtinTimes)}`],
    ['  ratio to the rg floor', rgAvailable ? `${(builtinMedian / floor).toFixed(2)}x` : 'n/a'],
    ['peak RSS (target < 400 MB)', `${(stats.maxRssBytes / 1048576).toFixed(0)} MB (built-in scan: ${(builtinStats.maxRssBytes / 1048576).toFixed(0)} MB; --cache: ${(cachedStats.maxRssBytes / 1048576).toFixed(0)} MB)`],
    ['virtio_net.c one-line edit: re-parse + facts + re-link (median; target < 15 ms)', `${inc.median.toFixed(2)} ms (p90 ${inc.p90.toFixed(2)} ms; re-parse + facts alone ${inc.parse.toFixed(2)} ms)`],
  ];
  const w = Math.max(...rows.map(r => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

main().catch(e => { console.error(e); process.exitCode = 1; });
