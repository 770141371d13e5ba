// URI <-> path conversion lives here only (vscode-eslint's paths.ts rule): the index is keyed by
// file paths for files on disk and by the URI itself for anything else (untitled buffers).
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function uriToKey(uri: string): string {
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri);
    } catch {
      return uri;
    }
  }
  return uri;
}

export function keyToUri(key: string, known?: Map<string, string>): string {
  const k = known?.get(key);
  if (k) return k;
  return isFileKey(key) ? pathToFileURL(key).href : key;
}

/** A path on disk (absolute, as uriToKey makes it), not a URI kept as the key. */
export function isFileKey(key: string): boolean {
  return path.isAbsolute(key);
}
