/**
 * Item names come from the URL and end up as a filename on the requester's disk, so they are checked for
 * every trick that could make that filename mean something else: path separators and dot segments, control
 * characters, bidirectional overrides that disguise an extension ("\u202Efdp.exe" shows as "exe.pdf"), and
 * Windows device names. Any other Unicode is kept. Names are stored column-encrypted (DESIGN §4: filenames).
 */
import { errors } from '../../errors';

export const MAX_ITEM_NAME_BYTES = 255;

// C0, DEL, C1; bidi embeddings and overrides (U+202A–202E) and isolates (U+2066–2069); lone surrogates.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
// Windows opens the device instead of the file, with or without an extension ("CON.txt").
const WINDOWS_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\s*\..*)?$/i;

/** The NFC form of `raw`, or a 400 naming what is wrong with it (field path `name`). */
export function normalizeItemName(raw: string): string {
  const name = raw.normalize('NFC');
  const problem = problemWith(name);
  if (problem) throw errors.invalidRequest('The item name is not allowed', [{ path: 'name', message: problem }]);
  return name;
}

function problemWith(name: string): string | null {
  if (name.length === 0) return 'Must not be empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_ITEM_NAME_BYTES) return `Must be at most ${MAX_ITEM_NAME_BYTES} bytes in UTF-8`;
  if (name.includes('/') || name.includes('\\')) return 'Must not contain "/" or "\\"';
  if (/^\.+$/.test(name)) return 'Must not be "." or ".."';
  if (FORBIDDEN_CHARACTERS.test(name)) return 'Must not contain control characters or bidirectional overrides';
  if (/^\s|\s$/u.test(name)) return 'Must not start or end with whitespace';
  if (WINDOWS_DEVICE_NAME.test(name)) return 'Must not be a reserved device name';
  return null;
}

// What survives unchanged in the quoted ASCII fallback: no quote, backslash, percent (some browsers decode it)
// or separators that naive parsers split on.
const SAFE_ASCII = /[A-Za-z0-9 ._\-()+=@!#$&'{}[\]^~]/;

/**
 * `attachment` with an ASCII fallback and the exact name in RFC 5987 / RFC 6266 form, so every browser saves
 * the file under its name and none can be tricked by the header's syntax.
 */
export function contentDisposition(name: string): string {
  const fallback = Array.from(name, (char) => (SAFE_ASCII.test(char) ? char : '_')).join('');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
