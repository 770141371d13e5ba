// Paths checked, as the CLI's commands take them (check, fix, patch, simulate): the whole-tree
// analysis (checkPaths), the report formats, and the files with findings read again so that
// edits fit the bytes that are written back.
import { checkPaths, PathError, type CheckOptions, type CheckResult } from '../analysis/checkPaths';
import { readRegularFile, type FileSnapshot } from '../analysis/fileRead';
import { factsFromText } from '../analysis/fileFacts';
import type { FileFacts } from '../analysis/facts';
import type { Finding } from '../analysis/rules/rule';
import { decodeSource, type Decoded } from '../analysis/source';

export { applyEditsToBytes } from '../analysis/source';
export { hashBytes, realPath, type FileSnapshot } from '../analysis/fileRead';
export { errnoText, ripgrep } from '../analysis/scan';
export { formatText, relativePath, toJson, toSarif } from '../report/formats';
export { checkPaths, PathError, type CheckOptions, type CheckResult, type Decoded };

/** A file with findings, read again: its bytes, their decoding, the facts of that text and its findings. */
export interface RereadFile {
  file: string;
  snapshot: FileSnapshot;
  decoded: Decoded & { ok: true };
  facts?: FileFacts;
  findings: Finding[];
}

/**
 * Reads each file with findings once, re-extracts its facts from exactly those bytes and
 * re-links: the findings' offsets are then offsets into the text that is edited and written
 * back, even if the file changed after the analysis read it. `unread`: the files that could not
 * be read or decoded, in order, with the reason.
 */
export function rereadFilesWithFindings(result: CheckResult): { files: RereadFile[]; unread: { file: string; reason: string }[] } {
  const read = new Map<string, Omit<RereadFile, 'facts' | 'findings'>>();
  const unread: { file: string; reason: string }[] = [];
  for (const file of new Set(result.findings.map(f => f.file))) {
    const r = readRegularFile(file);
    const decoded = r.ok ? decodeSource(r.snapshot.bytes) : undefined;
    if (!r.ok || !decoded?.ok) {
      unread.push({ file, reason: !r.ok ? r.reason : decoded && !decoded.ok ? decoded.reason : '' });
      continue;
    }
    // With the driver's wrappers the analysis linked it with (Project.linkWrappers): re-read
    // alone, a file would lose the locks its header's wrappers take and drop.
    result.project.setFacts(factsFromText(file, decoded.text, false, result.project.index.get(file)?.driverWrappers));
    read.set(file, { file, snapshot: r.snapshot, decoded });
  }
  const byFile = new Map<string, Finding[]>();
  for (const f of result.project.findings()) if (read.has(f.file)) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);
  const files = [...byFile].map(([file, findings]) => ({ ...read.get(file)!, facts: result.project.index.get(file), findings }));
  return { files, unread };
}
