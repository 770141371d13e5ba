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
// built once, untimed, into .cache/cocci/ of this checkout). `--baseline OTHER/dist/cli.js` times
// another build of the CLI (an earlier commit) in the same loop, for a before/after in one run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPaths } from '../src/analysis/checkPaths';
import { AnalysedDocument } from '../src/analysis/document';
import { initParser } from '../src/analysis/parser';
import { defaultTree, median, pct, root } from './common';

/** CPU time (user + system) of this process's waited-for children so far, in ms (Linux /proc). */
function childrenCpuMs(): number {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 (cutime, cstime) are the 14th and 15th after the command name.
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return NaN;
  }
}

/** A command's wall time and CPU time (its own and its children's: rg's inside check). */
function timeCommand(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd?: string,
): { ms: number; cpu: number; stdout: string; stderr: string; status: number | null } {
  const c0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, cwd, maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return { ms, cpu: childrenCpuMs() - c0, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Wall and CPU times of the runs of one command. */
class Series {
  wall: number[] = [];
  cpu: number[] = [];
  add(r: { ms: number; cpu: number }): void {
    this.wall.push(r.ms);
    this.cpu.push(r.cpu);
  }
  get median(): number {
    return median(this.wall);
  }
  get cpuMedian(): number {
    return median(this.cpu);
  }
}

async function incremental(
  tree: string,
  runs: number,
): Promise<{ median: number; p90: number; parse: number; firstCheck: number; warmCheck: number }> {
  const file = path.join(tree, 'drivers/net/virtio_net.c');
  // The whole check in this process: the first run compiles and warms the code (as every CLI
  // run does), the later ones run it warm; the difference is what a one-shot process pays.
  const c0 = performance.now();
  const { project } = await checkPaths([tree]);
  const firstCheck = performance.now() - c0;
  const warmChecks: number[] = [];
  for (let i = 0; i < 3; i++) {
    const w0 = performance.now();
    await checkPaths([tree]);
    warmChecks.push(performance.now() - w0);
  }
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
    if (i % 2 === 0) doc.edit(anchor, anchor, line);
    else doc.edit(anchor, anchor + line.length, '');
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
  return { median: median(warm), p90: pct(warm, 0.9), parse: median(parseTimes.slice(5)), firstCheck, warmCheck: median(warmChecks) };
}

/** Coccinelle's settings for bench/vrl001.cocci over the tree, fastest last; or why there are none. */
function coccinelleSettings(tree: string): [setting: string, args: string[]][] | string {
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
      if (r.status === 0)
        console.log(`id-utils index built for Coccinelle in ${((performance.now() - t0) / 1000).toFixed(0)} s (untimed): ${idFile}`);
    }
    if (fs.existsSync(idFile)) settings.push(['--jobs N --no-includes --use-idutils', ['--use-idutils', idFile, ...base]]);
  }
  return settings;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
  const baseAt = args.indexOf('--baseline');
  const baseline = baseAt >= 0 ? path.resolve(args[baseAt + 1]) : undefined;
  const tree = path.resolve(
    args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs' && args[i - 1] !== '--baseline') ?? defaultTree(),
  );
  const cli = path.join(root, 'dist/cli.js');
  if (!fs.existsSync(cli)) throw new Error('dist/cli.js is missing: run npm run build first');
  console.log(`tree: ${tree}`);
  console.log(
    `runs: ${runs} (alternating rg, virtio-race-lint and spatch; page cache warmed by one untimed run of each; CPU: user + system, children included)`,
  );
  const rgAvailable = spawnSync('rg', ['--version']).status === 0;
  const rgArgs = ['-l', '--no-ignore', 'virtqueue', tree];
  if (rgAvailable) {
    const listed = spawnSync('rg', rgArgs, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
      .stdout.split('\n')
      .filter(Boolean).length;
    if (listed === 0) throw new Error(`rg lists no file containing "virtqueue" under ${tree}: not a kernel tree?`);
    console.log(`rg -l --no-ignore virtqueue lists ${listed} files`);
  }
  timeCommand(process.execPath, [cli, 'check', '--format', 'json', tree]);
  const rgT = new Series();
  const ourT = new Series();
  const builtinT = new Series();
  const cachedT = new Series();
  const baselineT = new Series();
  // The cache lives in a temporary directory, filled by one untimed run.
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-bench-cache-'));
  timeCommand(process.execPath, [cli, 'check', '--format', 'json', '--cache-location', cacheDir, tree]);
  type Stats = Record<string, number> & { ms?: Record<string, number> };
  let stats: Stats = {};
  let builtinStats: Stats = {};
  let cachedStats: Stats = {};
  const ours = (prefilter: string, into: Series, extra: string[] = []) => {
    const r = timeCommand(process.execPath, [cli, 'check', '--format', 'json', '--prefilter', prefilter, ...extra, tree], {
      ...process.env,
      VRL_STATS: '1',
    });
    if (r.status !== 0 && r.status !== 1) throw new Error(`check failed (${r.status}): ${r.stderr}`);
    into.add(r);
    const line = r.stderr.split('\n').find(l => l.startsWith('VRL_STATS '));
    return line ? JSON.parse(line.slice('VRL_STATS '.length)) : {};
  };
  // Coccinelle runs in the same loop (at most 3 runs of each setting: it is slow); spatch writes
  // its temporary files into its working directory.
  const cocciSettings = coccinelleSettings(tree);
  const cocciT = typeof cocciSettings === 'string' ? [] : cocciSettings.map(() => new Series());
  const cocciFiles: number[] = [];
  const cocciCwd = fs.mkdtempSync(path.join(os.tmpdir(), 'vrl-cocci-'));
  for (let i = 0; i < runs; i++) {
    if (rgAvailable) rgT.add(timeCommand('rg', rgArgs));
    stats = ours('auto', ourT);
    cachedStats = ours('auto', cachedT, ['--cache-location', cacheDir]);
    if (baseline) baselineT.add(timeCommand(process.execPath, [baseline, 'check', '--format', 'json', tree]));
    builtinStats = ours('builtin', builtinT);
    if (typeof cocciSettings !== 'string' && i < 3) {
      cocciSettings.forEach(([, args], k) => {
        const r = timeCommand('spatch', args, process.env, cocciCwd);
        if (r.status !== 0) throw new Error(`spatch failed (${r.status}): ${r.stderr}`);
        cocciT[k].add(r);
        cocciFiles[k] = r.stdout.split('\n').filter(l => l.startsWith('--- ')).length;
      });
    }
  }
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.rmSync(cocciCwd, { recursive: true, force: true });
  const inc = await incremental(tree, 60);
  const floor = rgAvailable ? rgT.median : NaN;
  const floorCpu = rgAvailable ? rgT.cpuMedian : NaN;
  const list = (xs: number[]) => `[${xs.map(t => t.toFixed(0)).join(', ')}]`;
  const show = (t: Series) => `${t.median.toFixed(0)} ms  ${list(t.wall)}; CPU ${t.cpuMedian.toFixed(0)} ms`;
  const ratio = (t: Series) =>
    rgAvailable ? `${(t.median / floor).toFixed(2)}x (CPU time: ${(t.cpuMedian / floorCpu).toFixed(2)}x)` : 'n/a';
  const ms = (st: Stats, k: string) => (st.ms?.[k] ?? NaN).toFixed(0);
  // Where the time of a check goes (the last run): from process start to the scan, the scan
  // (rg listing candidates while this thread parses them), the expansion, the rules.
  const phases = (st: Stats) =>
    `startup ${ms(st, 'start')} ms, scan ${ms(st, 'scan')} ms (rg ${ms(st, 'rg')} ms; parse + facts ${ms(st, 'parseScan')} ms of it), ` +
    `expand ${ms(st, 'expand')} ms, rules ${ms(st, 'findings')} ms`;
  const best = (t: Series) => Math.min(...t.wall);
  const cocciRows: [string, string][] =
    typeof cocciSettings === 'string'
      ? [['Coccinelle (spatch)', cocciSettings]]
      : cocciSettings.map(([setting], k) => [
          `wall time, spatch ${setting} (best)`,
          `${best(cocciT[k]).toFixed(0)} ms  ${list(cocciT[k].wall)}; CPU ${Math.min(...cocciT[k].cpu).toFixed(0)} ms; reports ${cocciFiles[k]} files`,
        ]);
  const cocciBest = cocciT.length ? Math.min(...cocciT.map(best)) : NaN;
  const rows: [string, string][] = [
    ['prefilter (default: ripgrep when installed)', String(stats.prefilter)],
    ['files read by virtio-race-lint', `${stats.filesRead} (built-in scan: ${builtinStats.filesRead}, every .c/.h)`],
    ['bytes read', `${(stats.bytes / 1e6).toFixed(1)} MB (built-in scan: ${(builtinStats.bytes / 1e6).toFixed(0)} MB)`],
    ['files parsed', String(stats.filesParsed)],
    ['findings', `${stats.findings} (built-in scan: ${builtinStats.findings})`],
    ['wall time, rg -l --no-ignore virtqueue (median, I/O floor)', rgAvailable ? show(rgT) : 'rg not installed'],
    ['wall time, check (median)', show(ourT)],
    ['  ratio to the rg floor (target <= 2x)', ratio(ourT)],
    ['  where the time goes (last run)', phases(stats)],
    ...(baseline
      ? ([
          [`wall time, baseline ${path.relative(root, baseline)} check (median)`, show(baselineT)],
          ['  ratio to the rg floor', ratio(baselineT)],
        ] as [string, string][])
      : []),
    ['wall time, check --cache, cache filled (median)', show(cachedT)],
    ['  ratio to the rg floor', ratio(cachedT)],
    ['  where the time goes (last run)', phases(cachedStats)],
    ...cocciRows,
    [
      '  Coccinelle best / check (target >= 2.5x)',
      Number.isNaN(cocciBest)
        ? 'n/a'
        : `${(cocciBest / ourT.median).toFixed(2)}x (check --cache: ${(cocciBest / cachedT.median).toFixed(2)}x)`,
    ],
    ['wall time, check --prefilter builtin (median)', show(builtinT)],
    ['  ratio to the rg floor', ratio(builtinT)],
    [
      'peak RSS (target < 400 MB)',
      `${(stats.maxRssBytes / 1048576).toFixed(0)} MB (built-in scan: ${(builtinStats.maxRssBytes / 1048576).toFixed(0)} MB; --cache: ${(cachedStats.maxRssBytes / 1048576).toFixed(0)} MB)`,
    ],
    [
      'check in one process: first run, warm runs (median of 3)',
      `${inc.firstCheck.toFixed(0)} ms, ${inc.warmCheck.toFixed(0)} ms (the difference: compiling and warming the code, paid by every CLI run)`,
    ],
    [
      'virtio_net.c one-line edit: re-parse + facts + re-link (median; target < 15 ms)',
      `${inc.median.toFixed(2)} ms (p90 ${inc.p90.toFixed(2)} ms; re-parse + facts alone ${inc.parse.toFixed(2)} ms)`,
    ],
  ];
  const w = Math.max(...rows.map(r => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
