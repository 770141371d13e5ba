// Kernel patches as both front ends build them: the patch for one analysed file (the CLI's
// `patch`, the server's "Create kernel patch"), the editor's patch file with the tree's tools, and
// `git am` of it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FileFacts } from '../analysis/facts';
import { readRegularFile, realPath } from '../analysis/fileRead';
import type { Finding } from '../analysis/rules/rule';
import { decodeSource } from '../analysis/source';
import { parseIdent, RepoCache, repoInfo } from '../fix/gitInfo';
import { applyKernelTools, CHECKPATCH, gitAm, isKernelTree, patchedPaths, writeNewFile, type PatchTree } from '../fix/kernelTools';
import { toMbox } from '../fix/mail';
import { patchMails, preparePatch, type PatchResult, type RepoInfo } from '../fix/patch';
import type { ApplyPatchResult, CreatePatchResult, Settings } from '../shared/protocol';
import { isPatched } from './fix';

export { applyKernelTools, parseIdent, patchMails, RepoCache, repoInfo, toMbox, type PatchResult, type PatchTree, type RepoInfo };

/**
 * The fixed text and commit message for one analysed file: the fixes of its findings whose rule
 * makes the patch (rule.ts `patch`), against `text` (the text the facts were extracted from).
 */
export function filePatch(input: { text: string; findings: readonly Finding[]; facts: FileFacts; repo: RepoInfo }): PatchResult {
  return preparePatch({ ...input, findings: input.findings.filter(isPatched) });
}

/**
 * The patch for a file, written as a `.patch` file. In a trusted workspace that is a kernel tree,
 * its scripts/checkpatch.pl and scripts/get_maintainer.pl run on it and `git blame` gives a
 * Fixes: line; in an untrusted one nothing runs (git neither: its config could name programs)
 * and, in a kernel tree, the patch's notes say what was skipped.
 */
export async function createPatch(
  file: string,
  text: string,
  findings: Finding[],
  facts: FileFacts,
  settings: Pick<Settings, 'patch'>,
  env: { trusted: boolean; folders?: string[] },
): Promise<CreatePatchResult | { error: string }> {
  // A patch names its file by a path in a tree, and is written next to it.
  if (!path.isAbsolute(file))
    return { error: 'the file is not on disk (an unsaved buffer): save it in its tree first, then create the patch' };
  const folder = (env.folders ?? [])
    .filter(f => file.startsWith(f.endsWith(path.sep) ? f : f + path.sep))
    .sort((a, b) => b.length - a.length)[0];
  const repo = repoInfo(file, folder ?? path.dirname(file), undefined, { runGit: env.trusted });
  const notes: string[] = [];
  if (!env.trusted)
    notes.push(
      'git was not run (untrusted workspace): the subject prefix comes from the built-in table and the author from virtioRaceLint.patch.signoff',
    );
  const p = filePatch({ text, findings, facts, repo });
  if (!p.ok) return { error: p.reason };
  const from = (settings.patch.signoff ? parseIdent(settings.patch.signoff) : undefined) ?? repo.ident;
  if (!from) {
    return {
      error: env.trusted
        ? 'no author for the patch: set virtioRaceLint.patch.signoff to "Name <mail>" or git config user.name and user.email'
        : 'no author for the patch: set virtioRaceLint.patch.signoff to "Name <mail>" in your user settings (git is not run in an untrusted workspace)',
    };
  }
  const date = new Date();
  // The tree's tools, in a kernel tree only (its checkpatch.pl and MAINTAINERS at the root).
  const kernel = isKernelTree(repo.root);
  const tools = await applyKernelTools(
    [p],
    [{ root: repo.root, git: !!repo.git }],
    { from, date, tzOffsetMinutes: -date.getTimezoneOffset() },
    { trusted: env.trusted, checkpatch: kernel, maintainers: kernel, fixes: kernel },
  );
  if (!kernel && env.trusted)
    tools.log.push(
      `${repo.root} is not a kernel tree (no ${CHECKPATCH} and MAINTAINERS there): checkpatch.pl, get_maintainer.pl and git blame not run`,
    );
  const [mail] = tools.mails;
  const check = tools.checkpatch[0];
  // `~/patches` is the user's; a relative folder is the tree root's.
  const dir = settings.patch.directory
    ? path.resolve(repo.root, settings.patch.directory.replace(/^~(?=$|[\\/])/, os.homedir()))
    : repo.root;
  let written: string | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
    written = writeNewFile(dir, mail.fileName, mail.text);
  } catch (e) {
    notes.push(
      `the patch could not be written to ${dir} (${(e as Error).message}); set virtioRaceLint.patch.directory to a writable folder`,
    );
  }
  return {
    fileName: written ? path.basename(written) : mail.fileName,
    ...(written ? { path: written } : {}),
    text: mail.text,
    ...(notes.length ? { note: notes.join('; ') } : {}),
    log: [...(written ? [`wrote ${written}`] : []), ...tools.log],
    ...(check
      ? { checkpatch: 'error' in check ? { error: check.error } : { total: check.total, clean: check.clean, messages: check.messages } }
      : {}),
    canApply: env.trusted && !!repo.git && !!written,
  };
}

/**
 * `git am` of a patch file in the repository of `source` (or, without it, of the patch file's
 * folder). Refused while a file the patch changes has unsaved edits (`unsaved`), and by gitAm()
 * while it has uncommitted ones. The caller checks the workspace is trusted.
 */
export async function applyPatch(
  patchFile: string,
  source: string | undefined,
  unsaved: (file: string) => boolean,
): Promise<ApplyPatchResult> {
  const read = readRegularFile(patchFile);
  if (!read.ok) return { ok: false, reason: `${patchFile}: ${read.reason}` };
  const decoded = decodeSource(read.snapshot.bytes);
  const files = decoded.ok ? patchedPaths(decoded.text) : [];
  if (!files.length) return { ok: false, reason: `${path.basename(patchFile)} changes no file (not a patch)` };
  const top = new RepoCache().top(path.dirname(source ? realPath(source) : realPath(patchFile)));
  if (!top) return { ok: false, reason: `${source ?? patchFile} is not in a git repository: git am needs one` };
  const open = files.filter(f => unsaved(path.join(top, ...f.split('/'))));
  if (open.length)
    return {
      ok: false,
      reason: `${open.join(', ')} ${open.length === 1 ? 'has' : 'have'} unsaved edits: save ${open.length === 1 ? 'it' : 'them'} (and commit) first`,
    };
  return gitAm(top, patchFile, files);
}
