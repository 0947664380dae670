/** Decoding Python source files as CPython does (PEP 263 encoding declarations, UTF-8 BOM). */

const COOKIE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;

/** The declared encoding of a file (from its first two lines), or 'utf-8'. */
export function declaredEncoding(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 400)).toString('latin1');
  const [first = '', second = ''] = head.split(/\r\n|\r|\n/, 2);
  let m = COOKIE.exec(first);
  // The second line counts only when the first is blank or a comment.
  if (!m && /^[ \t\f]*(#.*)?$/.test(first)) m = COOKIE.exec(second);
  const name = (m?.[1] ?? 'utf-8').toLowerCase().replace(/_/g, '-');
  // Python's aliases that WHATWG TextDecoder labels do not know.
  if (/^(utf-8|utf8)(-.*)?$/.test(name)) return 'utf-8';
  if (name === 'latin-1' || name === 'iso-latin-1' || name === 'l1') return 'latin1';
  return name;
}

/** The text of a source file, BOM removed. Throws when the declared encoding is unknown or the bytes do not decode. */
export function decodePython(bytes: Uint8Array): string {
  const encoding = declaredEncoding(bytes);
  const text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
