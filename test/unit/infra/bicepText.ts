/**
 * Just enough Bicep reading for tests that guard infra/ without the Bicep CLI (which downloads a binary): comments
 * and string contents are masked so braces and keywords are found only in code, then resource blocks, params,
 * outputs and object literals are cut out by brace matching. Not a Bicep parser; it reads the files we write.
 */
import fs from 'node:fs';
import path from 'node:path';

export const INFRA_DIR = path.join(__dirname, '..', '..', '..', 'infra');

export interface BicepFile {
  /** Path relative to infra/, e.g. 'modules/storage.bicep'. */
  readonly name: string;
  readonly text: string;
  /** Same length as text, comments blanked: what Bicep compiles. */
  readonly clean: string;
  /** Same length as text, comments blanked and string contents replaced by spaces (quotes kept): structure only. */
  readonly code: string;
}

export interface BicepResource {
  readonly file: string;
  readonly symbol: string;
  /** e.g. 'Microsoft.Storage/storageAccounts' */
  readonly type: string;
  readonly existing: boolean;
  /** The text of the resource body, from its opening brace to the matching closing brace, comments removed. */
  readonly body: string;
}

/** Every .bicep file under infra/, by relative path. */
export function readInfra(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (directory: string): void => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.bicep')) files.set(path.relative(INFRA_DIR, full).split(path.sep).join('/'), fs.readFileSync(full, 'utf8'));
    }
  };
  walk(INFRA_DIR);
  return files;
}

export function parseFile(name: string, text: string): BicepFile {
  return { name, text, clean: mask(text, false), code: mask(text, true) };
}

/** Blanks comments, and with `strings` string contents too (including '''multi-line''' strings and interpolations). */
export function mask(text: string, strings: boolean): string {
  const out = text.split('');
  const blank = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (out[i] !== '\n') out[i] = ' ';
  };
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      const stop = end === -1 ? text.length : end;
      if (strings) blank(i + 3, stop);
      i = stop + 3;
    } else if (text[i] === "'") {
      const stop = endOfString(text, i);
      if (strings) blank(i + 1, stop);
      i = stop + 1;
    } else i++;
  }
  return out.join('');
}

/** Index of the closing quote of the single-quoted string opening at `start`, across nested interpolations. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === "'") return i;
    else if (text.startsWith('${', i)) {
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        if (text[i] === "'") i = endOfString(text, i) + 1;
        else {
          if (text[i] === '{') depth++;
          else if (text[i] === '}') depth--;
          i++;
        }
      }
    } else i++;
  }
  return text.length;
}

/** Index just past the bracket matching the one at `open` ({ or [), read on masked code. */
export function matchBracket(code: string, open: number): number {
  const opener = code[open];
  const closer = opener === '{' ? '}' : opener === '[' ? ']' : opener === '(' ? ')' : undefined;
  if (!closer) throw new Error(`No bracket at ${open}`);
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === opener) depth++;
    else if (code[i] === closer) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error('Unbalanced brackets');
}

export function resources(file: BicepFile): BicepResource[] {
  const found: BicepResource[] = [];
  const declaration = /^\s*resource\s+(\w+)\s+'/gm;
  let match: RegExpExecArray | null;
  while ((match = declaration.exec(file.code)) !== null) {
    const quote = match.index + match[0].length - 1;
    const closing = file.code.indexOf("'", quote + 1);
    const [type = ''] = file.text.slice(quote + 1, closing).split('@');
    const equals = file.code.indexOf('=', closing);
    const existing = /\bexisting\b/.test(file.code.slice(closing + 1, equals));
    const open = file.code.indexOf('{', equals);
    const close = matchBracket(file.code, open);
    found.push({ file: file.name, symbol: match[1] ?? '', type, existing, body: file.clean.slice(open, close) });
  }
  return found;
}

export interface BicepParam {
  readonly name: string;
  readonly type: string;
  /** Default value text (first line), or null when the param is required. */
  readonly defaultValue: string | null;
  /** Decorator lines directly above the declaration. */
  readonly decorators: readonly string[];
}

export function params(file: BicepFile): BicepParam[] {
  const lines = file.text.split('\n');
  const cleanLines = file.clean.split('\n');
  const codeLines = file.code.split('\n');
  const found: BicepParam[] = [];
  codeLines.forEach((codeLine, index) => {
    const match = /^param\s+(\w+)\s+(\w+)(\s*=)?/.exec(codeLine);
    if (!match) return;
    const line = cleanLines[index] ?? '';
    const defaultValue = match[3] ? line.slice(codeLine.indexOf('=') + 1).trim() : null;
    const decorators: string[] = [];
    for (let above = index - 1; above >= 0 && (lines[above] ?? '').trim().startsWith('@'); above--) {
      decorators.unshift((lines[above] ?? '').trim());
    }
    found.push({ name: match[1] ?? '', type: match[2] ?? '', defaultValue, decorators });
  });
  return found;
}

export function outputs(file: BicepFile): Map<string, string> {
  const found = new Map<string, string>();
  const lines = file.clean.split('\n');
  file.code.split('\n').forEach((codeLine, index) => {
    const match = /^output\s+(\w+)\s+\w+\s*=/.exec(codeLine);
    if (match) found.set(match[1] ?? '', (lines[index] ?? '').slice(codeLine.indexOf('=') + 1).trim());
  });
  return found;
}

/**
 * The top-level keys (and their value text) of the object literal assigned to `var <name> = {` or found as
 * `<name>: {` — one key per line, as we write them.
 */
export function objectLiteral(file: BicepFile, name: string): Map<string, string> {
  const start = new RegExp(`(^|\\n)\\s*(var\\s+${name}\\s*=|${name}\\s*:)\\s*\\{`).exec(file.code);
  if (!start) throw new Error(`No object literal "${name}" in ${file.name}`);
  const open = start.index + start[0].length - 1;
  const close = matchBracket(file.code, open);
  const entries = new Map<string, string>();
  let depth = 0;
  let lineStart = open + 1;
  for (let i = open + 1; i < close - 1; i++) {
    const c = file.code[i];
    if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']' || c === ')') depth--;
    else if (c === '\n' && depth === 0) {
      // An entry spans lines while its value's brackets are open.
      addEntry(file, lineStart, i, entries);
      lineStart = i + 1;
    }
  }
  addEntry(file, lineStart, close - 1, entries);
  return entries;
}

function addEntry(file: BicepFile, from: number, to: number, entries: Map<string, string>): void {
  const match = /^\s*(?:'([^']*)'|(\w+))\s*:/.exec(file.clean.slice(from, to));
  if (!match) return;
  const colon = from + match[0].length - 1;
  entries.set(match[1] ?? match[2] ?? '', file.clean.slice(colon + 1, findValueEnd(file, colon + 1)).trim());
}

function findValueEnd(file: BicepFile, from: number): number {
  // A value ends at the end of its line, or, when it opens a bracket, where that bracket closes.
  for (let i = from; i < file.code.length; i++) {
    const c = file.code[i];
    if (c === '\n') return i;
    if (c === '{' || c === '[' || c === '(') {
      const end = matchBracket(file.code, i);
      const nextLine = file.code.indexOf('\n', end);
      return nextLine === -1 ? file.code.length : nextLine;
    }
  }
  return file.code.length;
}

/** `module <symbol> '<path>' = { ... }` blocks of a file, with their params object. */
export function modules(file: BicepFile): { symbol: string; path: string; params: Map<string, string>; body: string }[] {
  const found: { symbol: string; path: string; params: Map<string, string>; body: string }[] = [];
  const declaration = /^\s*module\s+(\w+)\s+'/gm;
  let match: RegExpExecArray | null;
  while ((match = declaration.exec(file.code)) !== null) {
    const quote = match.index + match[0].length - 1;
    const closing = file.code.indexOf("'", quote + 1);
    const modulePath = file.text.slice(quote + 1, closing);
    const open = file.code.indexOf('{', file.code.indexOf('=', closing));
    const close = matchBracket(file.code, open);
    const body = file.clean.slice(open, close);
    const sub = parseFile(`${file.name}#${match[1]}`, file.text.slice(open, close));
    found.push({ symbol: match[1] ?? '', path: modulePath, params: objectLiteral(sub, 'params'), body });
  }
  return found;
}
