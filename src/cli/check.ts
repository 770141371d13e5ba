import * as path from 'node:path';
import { formatText, ripgrep, toJson, toSarif } from '../api/check';
import {
  analyse,
  CliError,
  EXIT_FINDINGS,
  EXIT_OK,
  EXIT_USAGE,
  intOption,
  oneOf,
  parseArgs,
  ruleOption,
  reportReadErrors,
  type Io,
} from './common';
import { parserSpec } from './specs';
import { VERSION } from './help';

export async function checkCommand(args: string[], io: Io): Promise<number> {
  const a = parseArgs(args, parserSpec('check'));
  const format = oneOf('format', a.options.get('format'), ['text', 'json', 'sarif'] as const, 'text');
  const prefilter = oneOf('prefilter', a.options.get('prefilter'), ['auto', 'ripgrep', 'builtin'] as const, 'auto');
  if (a.positional.length === 0) throw new CliError('check: no PATH given (try: virtio-race-lint check drivers/)');
  if (prefilter === 'ripgrep' && !ripgrep())
    throw new CliError('--prefilter ripgrep: ripgrep (rg) is not installed (install it, or use --prefilter builtin)');
  const workers = intOption('workers', a.options.get('workers'), 0, 64);
  const cacheDir = a.options.get('cache-location');
  const cache = cacheDir !== undefined ? path.resolve(io.cwd, cacheDir) : a.flags.has('cache');
  const rules = ruleOption(a.options.get('rule'));
  const result = await analyse(a.positional, io, { workers, prefilter, cache, ...(rules ? { rules } : {}) });
  for (const w of result.warnings) io.err(`virtio-race-lint: warning: ${w.startsWith(io.cwd + '/') ? w.slice(io.cwd.length + 1) : w}\n`);
  const { findings } = result;
  if (process.env.VRL_STATS) {
    // For bench/: one JSON line on stderr with what this run read and parsed and its peak RSS.
    io.err(
      `VRL_STATS ${JSON.stringify({ ...result.stats, findings: findings.length, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
    );
  }
  switch (format) {
    case 'text':
      io.out(formatText(findings, io.cwd, a.flags.has('related')));
      break;
    case 'json':
      io.out(JSON.stringify(toJson(findings, io.cwd), null, 2) + '\n');
      break;
    case 'sarif':
      io.out(JSON.stringify(toSarif(findings, io.cwd, VERSION), null, 2) + '\n');
      break;
  }
  if (reportReadErrors(result, io)) return EXIT_USAGE;
  // Findings reported as information (VRL002 by default) are a map, not a failure.
  return findings.some(f => f.severity === 'warning' || f.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
}
