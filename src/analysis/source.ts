// Turning file bytes into text the parser can take, or a clear reason not to.

/** Files larger than this are not parsed (the kernel's largest C files are generated headers). */
export const MAX_PARSE_BYTES = 4 * 1024 * 1024;

export type Encoding = 'utf8' | 'utf8-bom' | 'utf16le' | 'utf16be' | 'latin1';

export type Decoded = { ok: true; text: string; encoding: Encoding; note?: string } | { ok: false; reason: string };

// ignoreBOM: the BOM is stripped here, by hand; a second one is text and must be kept.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf16le = new TextDecoder('utf-16le', { ignoreBOM: true });
const utf16be = new TextDecoder('utf-16be', { ignoreBOM: true });

/**
 * Decodes C source. UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such; other
 * bytes that are not valid UTF-8 are read as Latin-1, as old kernel files sometimes are, with a
 * note. A NUL byte in the first 8 KiB marks a binary file.
 */
export function decodeSource(bytes: Uint8Array): Decoded {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return { ok: true, text: utf16le.decode(bytes.subarray(2)), encoding: 'utf16le', note: 'decoded as UTF-16LE' };
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    return { ok: true, text: utf16be.decode(bytes.subarray(2)), encoding: 'utf16be', note: 'decoded as UTF-16BE' };
  }
  const head = bytes.subarray(0, Math.min(bytes.length, 8192));
  if (head.includes(0)) return { ok: false, reason: 'binary file (contains NUL bytes)' };
  let start = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  try {
    return { ok: true, text: utf8.decode(bytes.subarray(start)), encoding: start ? 'utf8-bom' : 'utf8' };
  } catch {
    // Buffer's 'latin1' is ISO-8859-1 both ways (TextDecoder's is windows-1252), so a fix
    // writes back exactly the bytes it read.
    return {
      ok: true,
      text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'),
      encoding: 'latin1',
      note: 'not valid UTF-8; read as Latin-1',
    };
  }
}

/** Encodes text back the way it was read, so a fix keeps the file's encoding and BOM. */
export function encodeSource(text: string, encoding: Encoding): Buffer {
  switch (encoding) {
    case 'utf8':
      return Buffer.from(text, 'utf8');
    case 'utf8-bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    case 'latin1':
      return Buffer.from(text, 'latin1');
    case 'utf16le':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    case 'utf16be': {
      const le = Buffer.from(text, 'utf16le');
      for (let i = 0; i + 1 < le.length; i += 2) {
        const a = le[i];
        le[i] = le[i + 1];
        le[i + 1] = a;
      }
      return Buffer.concat([Buffer.from([0xfe, 0xff]), le]);
    }
  }
}

/** A text edit in UTF-16 offsets of the decoded text (the shape of fix/irqsave's TextEdit). */
export interface OffsetEdit {
  start: number;
  end: number;
  newText: string;
}

/**
 * The edits applied to the file's own bytes: every byte outside an edit is kept as it was read
 * (a second BOM, a lone surrogate or odd trailing byte in UTF-16, which decoding and encoding
 * the whole text again would change). Offsets are mapped to bytes through the encoding; the
 * result decodes to the edited text, or this throws.
 */
export function applyEditsToBytes(bytes: Uint8Array, decoded: Decoded & { ok: true }, edits: OffsetEdit[]): Buffer {
  const { text, encoding } = decoded;
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  const bom = encoding === 'utf8-bom' || encoding === 'utf16le' || encoding === 'utf16be' ? (encoding === 'utf8-bom' ? 3 : 2) : 0;
  // Byte offset of a text offset, computed incrementally over the sorted edits.
  let lastText = 0;
  let lastByte = bom;
  const byteAt = (o: number): number => {
    if (o < lastText || o > text.length) throw new Error(`edit offset ${o} out of order or beyond the text`);
    const piece = text.slice(lastText, o);
    const n =
      encoding === 'utf8' || encoding === 'utf8-bom'
        ? Buffer.byteLength(piece, 'utf8')
        : encoding === 'latin1'
          ? piece.length
          : piece.length * 2;
    lastText = o;
    lastByte += n;
    return lastByte;
  };
  const parts: Buffer[] = [];
  let at = 0;
  for (const e of sorted) {
    if (e.start > e.end) throw new Error('edit with start after end');
    const s = byteAt(e.start);
    const t = byteAt(e.end);
    if (s < at) throw new Error('overlapping edits');
    parts.push(Buffer.from(bytes.subarray(at, s)), encodePiece(e.newText, encoding));
    at = t;
  }
  parts.push(Buffer.from(bytes.subarray(at)));
  const out = Buffer.concat(parts);
  let expect = '';
  let pos = 0;
  for (const e of sorted) {
    expect += text.slice(pos, e.start) + e.newText;
    pos = e.end;
  }
  expect += text.slice(pos);
  const back = decodeSource(out);
  if (!back.ok || back.text !== expect) throw new Error('the edited bytes do not decode to the edited text');
  return out;
}

function encodePiece(s: string, encoding: Encoding): Buffer {
  switch (encoding) {
    case 'utf8':
    case 'utf8-bom':
      return Buffer.from(s, 'utf8');
    case 'latin1': {
      // eslint-disable-next-line no-control-regex -- the Latin-1 range starts at NUL
      if (/[^\u0000-\u00ff]/.test(s)) throw new Error('the new text cannot be written in Latin-1');
      return Buffer.from(s, 'latin1');
    }
    case 'utf16le':
      return Buffer.from(s, 'utf16le');
    case 'utf16be': {
      const le = Buffer.from(s, 'utf16le');
      for (let i = 0; i + 1 < le.length; i += 2) {
        const a = le[i];
        le[i] = le[i + 1];
        le[i + 1] = a;
      }
      return le;
    }
  }
}
