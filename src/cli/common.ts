// Shared pieces of the CLI commands: I/O seams (so tests run commands in-process), errors with
// exit codes, a small option parser, and analyse(): the paths of a command line checked.
import * as path from 'node:path';
import { checkPaths, PathError, type CheckOptions, type CheckResult } from '../analysis/checkPaths';

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

export interface Io {
  out(s: string): void;
  err(s: string): void;
  cwd: string;
  /** Test seams: called after the analysis has read the files, and before a fixed file replaces the original. */
  hooks?: { afterAnalyse?(): void; beforeRename?(file: string): void };
}

export class CliError extends Error {
  constructor(message: string, readonly exitCode = EXIT_USAGE) {
    super(message);
  }
}

export interface OptionSpec {
  /** Options that take a value: `--format json` or `--format=json`. */
  values?: string[];
  /** Options that are flags. */
  flags?: string[];
  /** Short aliases: `-o` -> `--output`. */
  aliases?: Record<string, string>;
}

export interface ParsedArgs {
  options: Map<string, string>;
  flags: Set<string>;
  positional: string[];
}

export function parseArgs(args: string[], spec: OptionSpec): ParsedArgs {
  const out: ParsedArgs = { options: new Map(), flags: new Set(), positional: [] };
  const values = new Set(spec.values ?? []);
  const flags = new Set(spec.flags ?? []);
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    if (a === '--') { out.positional.push(...args.slice(i + 1)); break; }
    if (spec.aliases?.[a]) a = spec.aliases[a];
    else if (/^-[a-zA-Z]./.test(a) && spec.aliases?.[a.slice(0, 2)]) {
      // -oFILE: a short option with its value attached.
      args.splice(i + 1, 0, a.slice(2));
      a = spec.aliases[a.slice(0, 2)];
    }
    if (!a.startsWith('--') || a === '--') {
      if (a.startsWith('-') && a !== '-') throw new CliError(`unknown option '${a}'`);
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (values.has(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new CliError(`option '--${name}' needs a value`);
      out.options.set(name, v);
    } else if (flags.has(name)) {
      if (eq >= 0) throw new CliError(`option '--${name}' takes no value`);
      out.flags.add(name);
    } else {
      throw new CliError(`unknown option '--${name}'`);
    }
  }
  return out;
}

export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], def: T): T {
  if (value === undefined) return def;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError(`invalid value '${value}' for --${name} (expected ${allowed.join(', ')})`);
}

/**
 * The analysis every command that takes paths runs (check, fix, patch; simulate can too): `paths`
 * as given on the command line, resolved against `io.cwd`, through checkPaths(). A path that
 * cannot be read becomes a CliError that names it as the user wrote it.
 */
export async function analyse(paths: string[], io: Io, opts: CheckOptions = {}): Promise<CheckResult> {
  if (paths.length === 0) throw new CliError('no PATH given');
  const abs = paths.map(p => path.resolve(io.cwd, p));
  try {
    return await checkPaths(abs, opts);
  } catch (e) {
    if (e instanceof PathError) throw new CliError(`${paths[abs.indexOf(e.path)] ?? e.path}: ${e.reason}`);
    throw e;
  }
}
