// Shared pieces of the CLI commands: I/O seams (so tests run commands in-process), errors with
// exit codes, a small option parser, and analyse(): the paths of a command line checked.
import * as path from 'node:path';
import { checkPaths, PathError, type CheckOptions, type CheckResult } from '../api/check';
import { parseRuleSetting, type RuleSettings } from '../api/rules';

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
  constructor(
    message: string,
    readonly exitCode = EXIT_USAGE,
  ) {
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
  /** Options that may be given more than once: the values are joined with commas (`--rule`). */
  lists?: string[];
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
    if (a === '--') {
      out.positional.push(...args.slice(i + 1));
      break;
    }
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
      const prev = out.options.get(name);
      out.options.set(name, prev !== undefined && spec.lists?.includes(name) ? `${prev},${v}` : v);
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

/** `--rule VRL002=warning,VRL001=off`: rule levels, comma-separated; a later setting of a rule wins. */
export function ruleOption(value: string | undefined): RuleSettings | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, RuleSettings[string]> = {};
  for (const part of value.split(',')) {
    const r = parseRuleSetting(part);
    if ('error' in r) throw new CliError(`--rule: ${r.error}`);
    out[r.id] = r.level;
  }
  return out;
}

/**
 * A whole number in decimal, no sign, no spaces, no `0x`, no exponent, from `min` to `max`;
 * undefined when the option is absent.
 */
export function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^(?:0|[1-9][0-9]{0,15})$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new CliError(`--${name} takes a whole number from ${min} to ${max}, not '${value}'`);
  return n;
}

const ISO_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?$/;
const RFC2822_DATE = /^(?:[A-Z][a-z]{2}, )?[0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}(?::[0-9]{2})? (?:[+-][0-9]{4}|GMT|UTC)$/;

/** The latest date a mail's Date: line can carry (9999-12-31T23:59:59Z), in seconds. */
const MAX_EPOCH = 253402300799;

/**
 * A date for --date or SOURCE_DATE_EPOCH: seconds since the epoch (digits only), or a date and
 * time JavaScript reads (ISO 8601, RFC 2822), from 1970 to 9999. A signed number is neither.
 */
export function parseDate(name: string, text: string): Date {
  let d: Date;
  if (/^[0-9]+$/.test(text)) {
    const secs = Number(text);
    d = new Date(secs <= MAX_EPOCH ? secs * 1000 : NaN);
  } else if (ISO_DATE.test(text) || RFC2822_DATE.test(text)) {
    d = new Date(text);
  } else {
    // JavaScript's own parser takes anything (`-0001-01-01` is 2001): only these two forms.
    d = new Date(NaN);
  }
  const y = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || y < 1970 || y > 9999)
    throw new CliError(
      `${name}: cannot read '${text}' as a date (seconds since 1970, or a date such as 2026-01-02T03:04:05Z or Fri, 2 Jan 2026 03:04:05 +0000)`,
    );
  return d;
}

/**
 * Says, one line each, which files or directories could not be read; true if any (the command
 * then exits 2, as README promises, after doing what it could with the rest).
 */
export function reportReadErrors(result: CheckResult, io: Io): boolean {
  for (const e of result.errors) io.err(`virtio-race-lint: ${e.startsWith(io.cwd + '/') ? e.slice(io.cwd.length + 1) : e}\n`);
  return result.errors.length > 0;
}

/**
 * The analysis every command that takes paths runs (check, fix, patch; simulate can too): `paths`
 * as given on the command line, resolved against `io.cwd`, through checkPaths(). A path that
 * cannot be read becomes a CliError that names it as the user wrote it.
 */
export async function analyse(paths: string[], io: Io, opts: CheckOptions = {}): Promise<CheckResult> {
  if (paths.length === 0) throw new CliError('no PATH given');
  // An unset variable ("$DIR") is not the current directory, which path.resolve() would make it.
  if (paths.includes('')) throw new CliError("'': No such file or directory");
  const abs = paths.map(p => path.resolve(io.cwd, p));
  try {
    return await checkPaths(abs, opts);
  } catch (e) {
    if (e instanceof PathError) throw new CliError(`${paths[abs.indexOf(e.path)] ?? e.path}: ${e.reason}`);
    throw e;
  }
}
