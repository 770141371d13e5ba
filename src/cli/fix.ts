import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  applyEditsToBytes,
  errnoText,
  realPath,
  relativePath,
  rereadFilesWithFindings,
  type CheckResult,
  type RereadFile,
} from '../api/check';
import { applyEdits, fixAllEdits, unifiedDiff } from '../api/fix';
import {
  applyKernelTools,
  filePatch,
  parseIdent,
  patchMails,
  RepoCache,
  repoInfo,
  toMbox,
  type PatchResult,
  type PatchTree,
} from '../api/patch';
import { analyse, CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, parseArgs, parseDate, reportReadErrors, type Io } from './common';
import { parserSpec } from './specs';
import { FileChangedError, writeFileAtomic } from './fileWrite';

/**
 * The files with findings read again (api/check.ts), each file that cannot be read reported in
 * one line and counted.
 */
function snapshotFiles(result: CheckResult, io: Io, what: string): { files: (RereadFile & { rel: string })[]; errors: number } {
  const { files, unread } = rereadFilesWithFindings(result);
  for (const u of unread) io.err(`virtio-race-lint: ${relativePath(u.file, io.cwd)}: cannot be ${what}: ${u.reason}\n`);
  return { files: files.map(f => ({ ...f, rel: relativePath(f.file, io.cwd) })), errors: unread.length };
}

/** `fix [--dry-run] PATH...`: applies the irqsave fix in place, keeping each file's encoding. */
export async function fixCommand(args: string[], io: Io): Promise<number> {
  const a = parseArgs(args, parserSpec('fix'));
  const result = await analyse(a.positional, io);
  for (const w of result.warnings) io.err(`virtio-race-lint: warning: ${w}\n`);
  io.hooks?.afterAnalyse?.();
  const unread = reportReadErrors(result, io) ? result.errors.length : 0;
  const { files: current, errors: readErrors } = snapshotFiles(result, io, 'fixed');
  let errors = readErrors + unread;
  let fixedCount = 0;
  let refusedCount = 0;
  let files = 0;
  for (const { file, rel, snapshot, decoded, facts, findings } of current) {
    if (!facts) {
      io.err(`virtio-race-lint: ${rel}: cannot be fixed: no facts\n`);
      errors++;
      continue;
    }
    const res = fixAllEdits(findings, facts, decoded.text);
    for (const r of res.refused) {
      refusedCount++;
      io.err(`virtio-race-lint: ${rel}:${r.finding.span.line + 1}: not fixed: ${r.reason}\n`);
    }
    if (res.edits.length === 0) continue;
    const newText = applyEdits(decoded.text, res.edits);
    if (a.flags.has('dry-run')) {
      io.out(unifiedDiff(decoded.text, newText, { oldPath: rel, newPath: rel, funcname: 'cpp' }));
    } else {
      try {
        writeFileAtomic(file, applyEditsToBytes(snapshot.bytes, decoded, res.edits), snapshot, { beforeRename: io.hooks?.beforeRename });
      } catch (e) {
        const why = e instanceof FileChangedError ? `${e.message}; not written (run fix again)` : errnoText(e);
        io.err(`virtio-race-lint: ${rel}: not fixed: ${why}\n`);
        errors++;
        continue;
      }
    }
    fixedCount += res.fixed.length;
    files++;
  }
  io.err(
    `virtio-race-lint: ${a.flags.has('dry-run') ? 'would fix' : 'fixed'} ${fixedCount} finding${fixedCount === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}` +
      (refusedCount ? `; ${refusedCount} left as they are (see above)` : '') +
      (errors ? `; ${errors} file${errors === 1 ? '' : 's'} not written (see above)` : '') +
      '\n',
  );
  return errors ? EXIT_USAGE : refusedCount ? EXIT_FINDINGS : EXIT_OK;
}

/**
 * `patch [-o FILE] [--signoff "Name <mail>"] [--date DATE] [--checkpatch] [--to-maintainers]
 * [--fixes] PATH...`: git format-patch mails; the last three run the tree's own
 * scripts/checkpatch.pl --strict, scripts/get_maintainer.pl and git blame (kernelTools.ts).
 */
export async function patchCommand(args: string[], io: Io): Promise<number> {
  const a = parseArgs(args, parserSpec('patch'));
  const signoff = a.options.get('signoff');
  const given = signoff !== undefined ? parseIdent(signoff) : undefined;
  if (signoff !== undefined && !given) throw new CliError(`--signoff takes "Name <mail@example.org>", not '${signoff}'`);
  const dateOpt = a.options.get('date');
  const dateText = dateOpt ?? process.env.SOURCE_DATE_EPOCH;
  const date = dateText === undefined ? new Date() : parseDate(dateOpt !== undefined ? '--date' : 'SOURCE_DATE_EPOCH', dateText);
  // `-o -` is standard output, as for most tools (not a file named "-" among the sources).
  const out = a.options.get('output') === '-' ? undefined : a.options.get('output');
  const outPath = out !== undefined ? path.resolve(io.cwd, out) : undefined;
  if (out === '') throw new CliError('--output needs a file name');
  const result = await analyse(a.positional, io);
  // The mail must not replace a source file (`patch -o race.c race.c`): not one the analysis
  // read, nor one named on the command line.
  if (outPath) {
    // All absolute: the paths the analysis read, and the command line's resolved.
    const target = realPath(outPath);
    const sources = new Set(
      [...result.files, ...[...result.project.index.allFiles()].map(f => f.file), ...a.positional.map(p => path.resolve(io.cwd, p))].map(
        realPath,
      ),
    );
    if (sources.has(target)) throw new CliError(`--output ${out}: is a source file being patched; refusing to overwrite it`);
    if (fs.existsSync(outPath) && fs.statSync(outPath).isDirectory()) throw new CliError(`--output ${out}: Is a directory`);
  }
  for (const w of result.warnings) io.err(`virtio-race-lint: warning: ${w}\n`);
  const prepared: (PatchResult & { ok: true })[] = [];
  const trees: PatchTree[] = [];
  let ident = given;
  const repos = new RepoCache();
  const unread = reportReadErrors(result, io);
  const { files: current } = snapshotFiles(result, io, 'patched');
  for (const { file, rel, decoded, facts, findings } of current) {
    if (!facts) continue;
    if (decoded.encoding !== 'utf8') {
      io.err(`virtio-race-lint: ${rel}: not patched: the file is not plain UTF-8 (${decoded.encoding}); use fix instead\n`);
      continue;
    }
    const repo = repoInfo(file, io.cwd, repos);
    ident ??= repo.ident;
    const p = filePatch({ text: decoded.text, findings, facts, repo });
    if (!p.ok) {
      io.err(`virtio-race-lint: ${rel}: not patched: ${p.reason}\n`);
      continue;
    }
    for (const r of p.refused) io.err(`virtio-race-lint: ${rel}: left as it is: ${r}\n`);
    prepared.push(p);
    trees.push({ root: repo.root, git: !!repo.git });
  }
  if (prepared.length === 0) {
    io.err('virtio-race-lint: no patch to write (no VRL001 finding that can be fixed)\n');
    return unread ? EXIT_USAGE : result.findings.length ? EXIT_FINDINGS : EXIT_OK;
  }
  if (!ident) throw new CliError('no author for the patch: pass --signoff "Name <mail>" or set git config user.name and user.email');
  const mailOpts = { from: ident, date, tzOffsetMinutes: -date.getTimezoneOffset() };
  const tools = { checkpatch: a.flags.has('checkpatch'), maintainers: a.flags.has('to-maintainers'), fixes: a.flags.has('fixes') };
  let mails = patchMails(prepared, mailOpts);
  let checkFailed = false;
  let toolError = false;
  if (tools.checkpatch || tools.maintainers || tools.fixes) {
    // The command line trusts the tree it is pointed at: the user runs its scripts by asking.
    const res = await applyKernelTools(prepared, trees, mailOpts, { trusted: true, ...tools });
    mails = res.mails;
    for (const l of res.log) io.err(`virtio-race-lint: ${l}\n`);
    toolError = res.failed.length > 0;
    checkFailed = res.checkpatch.some(c => c && !('error' in c) && !c.clean);
  }
  const mbox = toMbox(mails);
  if (outPath) {
    try {
      fs.writeFileSync(outPath, mbox);
    } catch (e) {
      throw new CliError(`--output ${out}: ${errnoText(e)}`);
    }
    io.err(`virtio-race-lint: wrote ${mails.length} patch${mails.length === 1 ? '' : 'es'} to ${out}\n`);
  } else {
    io.out(mbox);
  }
  return unread || toolError ? EXIT_USAGE : checkFailed ? EXIT_FINDINGS : EXIT_OK;
}
