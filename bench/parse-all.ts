// Robustness over a whole tree: parses every .c and .h file and extracts its facts (not only the
// files the check needs), to show that no C in the kernel makes the analysis throw.
//   node out/bench/parse-all.js TREE     (after npm run build; takes tens of minutes)
import { scanPaths } from '../src/analysis/scan';

async function main(): Promise<void> {
  const tree = process.argv[2];
  if (!tree) throw new Error('usage: node out/bench/parse-all.js TREE');
  const t0 = performance.now();
  const r = await scanPaths([tree], [], { all: true, prefilter: 'builtin' });
  const failed = r.warnings.filter(w => /analysis failed/.test(w));
  let functions = 0;
  let lockOps = 0;
  let drains = 0;
  for (const f of r.facts) {
    functions += f.functions.length;
    for (const fn of f.functions) {
      lockOps += fn.lockOps.length;
      drains += fn.drains.length;
    }
  }
  console.log(
    `files read ${r.stats.filesRead}, parsed ${r.stats.filesParsed}, skipped with a warning ${r.warnings.length - failed.length}, analysis failures ${failed.length}`,
  );
  console.log(`functions ${functions}, lock operations ${lockOps}, drains ${drains}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  for (const w of r.warnings) console.log(`  ${w}`);
  if (failed.length) process.exitCode = 1;
}

main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
