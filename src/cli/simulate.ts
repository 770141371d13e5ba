import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoText, relativePath } from '../api/check';
import {
  type CodeSimulation,
  DRAIN_SHAPES,
  LOCKS,
  MAX_N,
  NOTIFY_MODES,
  renderSimulationText,
  simulateCode,
  simulationJson,
  type SimulateOptions,
  simulationTargets,
  STALES,
  TARGETS,
  WQ_LOCALITIES,
} from '../api/simulate';
import { analyse, CliError, EXIT_OK, intOption, oneOf, parseArgs, type Io } from './common';
import { parserSpec } from './specs';

/**
 * `simulate FILE[:LINE]`: the finding at LINE (or the function around it), or every finding in
 * FILE; the model's lock, loop shape and callback locking come from the code, flags override.
 */
export async function simulateCommand(args: string[], io: Io): Promise<number> {
  const a = parseArgs(args, parserSpec('simulate'));
  if (a.flags.has('event-idx') && a.options.has('notify') && a.options.get('notify') !== 'event-idx') {
    throw new CliError('--event-idx is --notify event-idx: it contradicts --notify ' + a.options.get('notify'));
  }
  const opt = <T extends string>(name: string, allowed: readonly T[]): T | undefined =>
    a.options.has(name) ? oneOf(name, a.options.get(name), allowed, allowed[0]) : undefined;
  if (a.positional.length !== 1)
    throw new CliError('simulate: give one FILE or FILE:LINE (try: virtio-race-lint simulate fs/fuse/virtio_fs.c:816)');
  const m = /^(.*?)(?::(\d+))?$/.exec(a.positional[0])!;
  const file = path.resolve(io.cwd, m[1]);
  const line = m[2] !== undefined ? Number(m[2]) : undefined;
  const opts: SimulateOptions = {
    lock: opt('lock', LOCKS),
    irq: opt('irq', TARGETS),
    wq: opt('wq', WQ_LOCALITIES),
    drain: opt('drain', DRAIN_SHAPES),
    notify: opt('notify', NOTIFY_MODES) ?? (a.flags.has('event-idx') ? 'event-idx' : undefined),
    device: opt('device', STALES),
    latency: a.flags.has('latency') || undefined,
    callbackLocks: a.flags.has('callback-locks') || undefined,
    napi: a.flags.has('napi') || undefined,
    buffers: intOption('buffers', a.options.get('buffers'), 1, MAX_N),
    ring: intOption('ring', a.options.get('ring'), 1, 32768),
    maxStates: intOption('max-states', a.options.get('max-states'), 1000, 100_000_000),
    completions: intOption('completions', a.options.get('completions'), 1, 100_000_000),
    timed: a.flags.has('timed'),
  };
  let st: fs.Stats | undefined;
  try {
    st = m[1] ? fs.statSync(file, { throwIfNoEntry: false }) : undefined;
  } catch (e) {
    throw new CliError(`${m[1]}: ${errnoText(e)}`);
  }
  if (!st) throw new CliError(`${m[1] ? m[1] : "''"}: No such file or directory`);
  if (!st.isFile())
    throw new CliError(`${m[1]}: ${st.isDirectory() ? 'Is a directory' : 'Not a regular file'} (simulate takes FILE or FILE:LINE)`);
  const { project, findings } = await analyse([m[1]], io, { workers: 0 });
  const targets = simulationTargets(findings, project.index, file, line !== undefined ? line - 1 : undefined);
  if ('error' in targets) throw new CliError(`simulate: ${m[1]}${line !== undefined ? `:${line}` : ''}: ${targets.error}`);
  const models = targets.models;
  for (const s of targets.skipped) io.err(`virtio-race-lint: not simulated: ${s}\n`);
  let sims: CodeSimulation[];
  try {
    sims = models.map(mm => simulateCode(mm, opts));
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(`simulate: ${e.message}`);
    throw e;
  }
  const rel = (f: string) => relativePath(f, io.cwd);
  if (a.flags.has('json')) {
    io.out(
      JSON.stringify(
        sims.map(s => simulationJson(s, rel)),
        null,
        2,
      ) + '\n',
    );
  } else {
    io.out(sims.map(s => renderSimulationText(s, rel)).join('\n'));
  }
  for (const s of sims) {
    for (const r of [s.comparison.before, s.comparison.after]) if (r.capped) io.err(`virtio-race-lint: warning: ${r.message}\n`);
  }
  return EXIT_OK;
}
