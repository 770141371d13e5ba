// Writing a fixed source file back: atomically (a temporary file in the same directory, fsync,
// rename over the original, mode kept), and only if the file is still what was read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashBytes, type FileSnapshot } from '../api/check';

export class FileChangedError extends Error {}

/**
 * Replaces `file` (a symbolic link: its target) with `bytes`, provided its content still hashes
 * to `snapshot.hash`. A crash or a full disk leaves either the old file or the new one, and
 * perhaps a temporary file, never a truncated source. Throws FileChangedError, or the I/O error.
 */
export function writeFileAtomic(
  file: string,
  bytes: Uint8Array,
  snapshot: FileSnapshot,
  hooks?: { beforeRename?(file: string): void },
): void {
  const target = fs.realpathSync(file);
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.vrl-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`);
  const st = fs.statSync(target);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  let renamed = false;
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fchmodSync(fd, st.mode & 0o7777);
      try {
        fs.fchownSync(fd, st.uid, st.gid);
      } catch {
        /* not ours to give away: keep our ownership */
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    hooks?.beforeRename?.(target);
    // The last moment to notice a writer that came in between (an editor's save, a checkout).
    let now: Buffer;
    try {
      now = fs.readFileSync(target);
    } catch {
      throw new FileChangedError('the file was removed or became unreadable since it was read');
    }
    if (now.length !== snapshot.size || hashBytes(now) !== snapshot.hash)
      throw new FileChangedError('the file changed on disk since it was read');
    fs.renameSync(tmp, target);
    renamed = true;
    try {
      const dfd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch {
      /* directories cannot be fsynced everywhere */
    }
  } finally {
    if (!renamed) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* gone already */
      }
    }
  }
}
