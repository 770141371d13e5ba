import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Finding } from '../analysis/rules/rule';
import { decodeSource, encodeSource } from '../analysis/source';
import { unifiedDiff } from '../fix/diff';
import { parseIdent, RepoCache, repoInfo } from '../fix/gitInfo';
import { applyEdits, fixAll } from '../fix/irqsave';
import { toMbox } from '../fix/mail';
import { patchMails, preparePatch, type PatchResult } from '../fix/patch';
import { relativePath } from '../report/formats';
import { analyse, CliError, EXIT_FINDINGS, EXIT_OK, parseArgs, type Io } from './common';

function byFile(findings: Finding[]): Map<string, Finding[]> {
  const m = new Map<string, Finding[]>();
  for (const f of findings) m.set(f.file, [...(m.get(f.file) ?? []), f]);
  return m;
}

/** `fix [--dry-run] PATH...`: applies the irqsave fix in place, keeping each file's encoding. */
export async function fixCommand(args: string[], io: Io): Promise<number> {
  const a = parseArgs(args, { flags: ['dry-run'] });
  const result = await analyse(a.positional, io);
  for (const w of result.warnings) io.err(`virtio-race-lint: warning: ${w}\n`);
  let fixedCount = 0;
  let refusedCount = 0;
  let files = 0;
  for (const [file, findings] of byFile(result.findings)) {
    const rel = relativePath(file, io.cwd);
    const decoded = decodeSource(fs.readFileSync(file));
    const facts = result.project.index.get(file);
    if (!decoded.ok || !facts) { io.err(`virtio-race-lint: ${rel}: cannot be fixed: ${decoded.ok ? 'no facts' : decoded.reason}\n`); continue; }
    const res = fixAll(findings, facts, decoded.text);
    for (const r of res.refused) {
      refusedCount++;
      io.err(`virtio-race-lint: ${rel}:${r.finding.span.line + 1}: not fixed: ${r.reason}\n`);
    }
    if (res.edits.length === 0) continue;
    const newText = applyEdits(decoded.text, res.edits);
    fixedCount += res.fixed.length;
    files++;
    if (a.flags.has('dry-run')) io.out(unifiedDiff(decoded.text, newText, { oldPath: rel, newPath: rel, funcname: 'cpp' }));
    else fs.writeFileSync(file, encodeSource(newText, decoded.encoding));
  }
  io.err(`virtio-race-lint: ${a.flags.has('dry-run') ? 'would fix' : 'fixed'} ${fixedCount} finding${fixedCount === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}` +
    (refusedCount ? `; ${refusedCount} left as they are (see above)` : '') + '\n');
  return refusedCount ? EXIT_FINDINGS : EXIT_OK;
}

/** `patch [-o FILE] [--signoff "Name <mail>"] [--date DATE] PATH...`: git format-patch mails. */
export async function patchCommand(args: string[], io: Io): Promise<number> {
  const a = parseArgs(args, { values: ['output', 'signoff', 'date'], aliases: { '-o': '--output', '-s': '--signoff' } });
  const signoff = a.options.get('signoff');
  const given = signoff !== undefined ? parseIdent(signoff) : undefined;
  if (signoff !== undefined && !given) throw new CliError(`--signoff takes "Name <mail@example.org>", not '${signoff}'`);
  const dateText = a.options.get('date') ?? process.env.SOURCE_DATE_EPOCH;
  const date = dateText === undefined ? new Date() : /^\d+$/.test(dateText) ? new Date(Number(dateText) * 1000) : new Date(dateText);
  if (Number.isNaN(date.getTime())) throw new CliError(`--date: cannot read '${dateText}' as a date`);
  const result = await analyse(a.positional, io);
  for (const w of result.warnings) io.err(`virtio-race-lint: warning: ${w}\n`);
  const prepared: (PatchResult & { ok: true })[] = [];
  let ident = given;
  const repos = new RepoCache();
  for (const [file, findings] of byFile(result.findings)) {
    const rel = relativePath(file, io.cwd);
    const decoded = decodeSource(fs.readFileSync(file));
    const facts = result.project.index.get(file);
    if (!decoded.ok || !facts) continue;
    if (decoded.encoding !== 'utf8') {
      io.err(`virtio-race-lint: ${rel}: not patched: the file is not plain UTF-8 (${decoded.encoding}); use fix instead\n`);
      continue;
    }
    const repo = repoInfo(file, io.cwd, repos);
    ident ??= repo.ident;
    const p = preparePatch({ text: decoded.text, findings, facts, repo });
    if (!p.ok) { io.err(`virtio-race-lint: ${rel}: not patched: ${p.reason}\n`); continue; }
    for (const r of p.refused) io.err(`virtio-race-lint: ${rel}: left as it is: ${r}\n`);
    prepared.push(p);
  }
  if (prepared.length === 0) {
    io.err('virtio-race-lint: no patch to write (no VRL001 finding that can be fixed)\n');
    return result.findings.length ? EXIT_FINDINGS : EXIT_OK;
  }
  if (!ident) throw new CliError('no author for the patch: pass --signoff "Name <mail>" or set git config user.name and user.email');
  const mails = patchMails(prepared, { from: ident, date, tzOffsetMinutes: -date.getTimezoneOffset() });
  const mbox = toMbox(mails);
  const out = a.options.get('output');
  if (out) {
    fs.writeFileSync(path.resolve(io.cwd, out), mbox);
    io.err(`virtio-race-lint: wrote ${mails.length} patch${mails.length === 1 ? '' : 'es'} to ${out}\n`);
  } else {
    io.out(mbox);
  }
  return EXIT_OK;
}
