// Reading a source file safely: regular files only (a FIFO would block the reader for good, a
// device such as /dev/zero would never end), the size checked before any byte is read, and a
// content hash so a writer can tell whether the file changed since.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_PARSE_BYTES } from './source';

export interface FileSnapshot {
  bytes: Buffer;
  /** sha256 of `bytes`. */
  hash: string;
  mode: number;
  size: number;
  mtimeMs: number;
}

/** Opens for reading without blocking on a FIFO or taking a terminal (the type is checked after). */
export const OPEN_FOR_READ = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);

/** `p` with symbolic links resolved; `p` itself if it cannot be (it does not exist). */
export function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

export type ReadResult = { ok: true; snapshot: FileSnapshot } | { ok: false; reason: string; code: 'not-regular' | 'too-large' | 'io' };

export function hashBytes(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Reads `file` if it is a regular file of at most `limit` bytes. The type is checked with stat
 * before opening (opening some devices has effects) and again with fstat on the descriptor,
 * which is opened non-blocking so that a FIFO swapped in meanwhile cannot block; the size is
 * checked before reading, and the read stops at `limit` + 1 bytes should the file grow.
 */
export function readRegularFile(file: string, limit = MAX_PARSE_BYTES): ReadResult {
  let fd: number | undefined;
  try {
    const pre = fs.statSync(file);
    if (!pre.isFile()) return { ok: false, reason: 'not a regular file', code: 'not-regular' };
    if (pre.size > limit) return tooLarge(pre.size, limit);
    fd = fs.openSync(file, OPEN_FOR_READ);
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: 'not a regular file', code: 'not-regular' };
    if (st.size > limit) return tooLarge(st.size, limit);
    const buf = Buffer.allocUnsafe(Math.min(st.size, limit) + 1);
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > limit) return tooLarge(n, limit);
      if (n === buf.length) break;
    }
    const bytes = buf.subarray(0, n);
    return { ok: true, snapshot: { bytes, hash: hashBytes(bytes), mode: st.mode, size: n, mtimeMs: st.mtimeMs } };
  } catch (e) {
    return { ok: false, reason: errnoReason(e), code: 'io' };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function tooLarge(size: number, limit: number): ReadResult {
  return { ok: false, reason: `too large to analyse (${size} bytes, limit ${limit})`, code: 'too-large' };
}

function errnoReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    default:
      return err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '')}` : String(err.message ?? e);
  }
}

/** Why a file that exists cannot be analysed: see notUtf8Name(). */
export const NOT_UTF8_NAME = 'cannot be analysed: the path is not valid UTF-8';

/**
 * Whether `file`, which could not be found, exists under a name that is not valid UTF-8: Node
 * decodes such a name (from a directory listing, ripgrep's output or the command line) with
 * U+FFFD in place of the bad bytes, and the string no longer names the file. Checked against the
 * directory's raw listing, so a name that really holds U+FFFD and is gone is still "not found".
 */
export function notUtf8Name(file: string): boolean {
  if (!file.includes('\uFFFD')) return false;
  const dir = path.dirname(file);
  const base = path.basename(file);
  try {
    return fs.readdirSync(dir, { encoding: 'buffer' }).some(n => !isUtf8(n) && n.toString() === base);
  } catch {
    return dir !== file && notUtf8Name(dir);
  }
}
