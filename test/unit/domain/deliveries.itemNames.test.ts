import { ApiError } from '../../../lib/errors';
import { contentDisposition, normalizeItemName } from '../../../lib/domain/deliveries/itemNames';

function refusal(name: string): ApiError {
  try {
    normalizeItemName(name);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error(`"${name}" was accepted`);
}

describe('item names', () => {
  test('ordinary and international names are kept, in NFC', () => {
    expect(normalizeItemName('statement-2026.pdf')).toBe('statement-2026.pdf');
    expect(normalizeItemName('報告書 (最終).pdf')).toBe('報告書 (最終).pdf');
    expect(normalizeItemName('Cafe\u0301.txt')).toBe('Caf\u00e9.txt');
    expect(normalizeItemName('a..b')).toBe('a..b');
    expect(normalizeItemName('CONSOLE.log')).toBe('CONSOLE.log');
    expect(normalizeItemName('é'.repeat(127))).toHaveLength(127); // 254 bytes
  });

  test.each([
    ['empty', ''],
    ['a path', '../x'],
    ['a slash', 'a/b'],
    ['a backslash', 'a\\b'],
    ['dot', '.'],
    ['dot dot', '..'],
    ['only dots', '...'],
    ['a NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['DEL', 'a\u007fb'],
    ['a C1 control', 'a\u0085b'],
    ['a right-to-left override', '\u202Eexe.pdf'],
    ['a left-to-right embedding', 'a\u202Ab'],
    ['a bidi isolate', 'a\u2067b'],
    ['a lone surrogate', 'a\ud800b'],
    ['leading whitespace', ' name'],
    ['trailing whitespace', 'name '],
    ['a trailing no-break space', 'name\u00a0'],
    ['a device name', 'CON'],
    ['a device name in lower case', 'nul'],
    ['a device name with an extension', 'com1.txt'],
    ['a superscript device name', 'LPT¹'],
    ['too many bytes', 'é'.repeat(128)],
  ])('%s is refused with a problem at path "name"', (_what, name) => {
    const error = refusal(name);
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.extra.errors?.[0]?.path).toBe('name');
  });
});

describe('Content-Disposition', () => {
  test('an ASCII name is sent as is, twice', () => {
    expect(contentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  });

  test('quotes, backslashes, percent signs and non-ASCII become _ in the fallback and are exact in filename*', () => {
    const header = contentDisposition('a"b\\c%d;e – ü.txt');
    expect(header).toBe(`attachment; filename="a_b_c_d_e _ _.txt"; filename*=UTF-8''a%22b%5Cc%25d%3Be%20%E2%80%93%20%C3%BC.txt`);
  });

  test("RFC 5987 attr-chars only: ' ( ) * are percent-encoded", () => {
    expect(contentDisposition("it's (1)*.txt")).toContain(`filename*=UTF-8''it%27s%20%281%29%2A.txt`);
  });
});
