// V8 settings for the one-shot batch commands (check, fix, patch), by V8 version.
//
// Such a run spends about as much CPU compiling as analysing: on the 6.12 tree under Node 20 the
// background threads took 0.75 s of CPU (the main thread 0.8 s), mostly TurboFan optimising
// JavaScript that a 1-second run barely reuses, and the parser's wasm tiering up. On two cores,
// beside ripgrep, that CPU is taken from the analysis. So the wasm parser stays on the baseline
// compiler (Liftoff), JavaScript is inlined less and, on Node 20, optimised later
// (README.md#performance). The language server and the simulator run long and keep V8's defaults.
//
// V8 prints "Error: unrecognized flag" on stderr for a flag it does not know, so flags are set
// only on the V8 major versions they were measured on, 11, 12 and 13 (Node 20, 22 and 24, and
// the odd releases between); any other V8 gets its defaults. `--interrupt-budget` is set up to
// V8 11.3 (Node 20) only: V8 12 has no such flag, and its successor there
// (`--invocation-count-for-turbofan`) showed no gain in 8 alternating runs on Node 22 and 24.

/** The flags to set for a batch command under V8 `version` (`process.versions.v8`). */
export function batchV8Flags(version: string): string[] {
  const m = /^(\d+)\.(\d+)\./.exec(version);
  if (!m) return [];
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major < 11 || major > 13) return [];
  const flags = ['--liftoff-only', '--max-inlined-bytecode-size-cumulative=200'];
  if (major === 11 && minor <= 3) flags.push('--interrupt-budget=300000');
  return flags;
}
