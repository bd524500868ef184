/**
 * A JSON parser for untrusted safetensors headers. `JSON.parse` keeps the last of duplicate
 * keys silently and turns `1e400` or `9007199254740993` into numbers that no longer say what
 * the file said; this parser rejects duplicates (naming the key's path) and hands numbers back
 * as their source text, so the caller decides what a valid integer is.
 */

/** A number as written in the JSON text. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** A parsed JSON value: objects keep key order in a Map. */
export type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | Map<string, JsonValue>;

/** Why the text is not acceptable JSON: `duplicate` for a repeated key, `syntax` otherwise. */
export class StrictJsonError extends Error {
  constructor(
    readonly kind: 'syntax' | 'duplicate',
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** Nesting deeper than this is refused (a header never nests past 4; this bounds the recursion). */
const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Parses `text` as one JSON value (RFC 8259), refusing duplicate keys within an object. */
export function parseStrictJson(text: string): JsonValue {
  let i = 0;
  const fail = (what: string, path: string): never => {
    throw new StrictJsonError('syntax', `${what} at character ${i}`, path);
  };
  const skipSpace = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      ++i;
    }
  };
  const parseString = (path: string): string => {
    ++i; // the opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string', path);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i++);
        return out;
      }
      if (c < 0x20) fail('control character in a string', path);
      if (c !== 0x5c) {
        ++i;
        continue;
      }
      out += text.slice(start, i);
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape', path);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
        i += 2;
      } else {
        fail('bad escape', path);
      }
      start = i;
    }
  };
  const parseValue = (path: string, depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`, path);
    skipSpace();
    const c = text[i];
    if (c === '{') {
      ++i;
      const out = new Map<string, JsonValue>();
      skipSpace();
      if (text[i] === '}') {
        ++i;
        return out;
      }
      for (;;) {
        skipSpace();
        if (text[i] !== '"') fail('expected a string key', path);
        const key = parseString(path);
        const keyPath = path === '' ? key : `${path}.${key}`;
        if (out.has(key)) throw new StrictJsonError('duplicate', `duplicate key '${key}'`, keyPath);
        skipSpace();
        if (text[i] !== ':') fail("expected ':'", keyPath);
        ++i;
        out.set(key, parseValue(keyPath, depth + 1));
        skipSpace();
        if (text[i] === ',') {
          ++i;
          continue;
        }
        if (text[i] === '}') {
          ++i;
          return out;
        }
        fail("expected ',' or '}'", path);
      }
    }
    if (c === '[') {
      ++i;
      const out: JsonValue[] = [];
      skipSpace();
      if (text[i] === ']') {
        ++i;
        return out;
      }
      for (;;) {
        out.push(parseValue(`${path}[${out.length}]`, depth + 1));
        skipSpace();
        if (text[i] === ',') {
          ++i;
          continue;
        }
        if (text[i] === ']') {
          ++i;
          return out;
        }
        fail("expected ',' or ']'", path);
      }
    }
    if (c === '"') return parseString(path);
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) fail('unexpected character', path);
    i += m![0].length;
    return new JsonNumber(m![0]);
  };
  const value = parseValue('', 0);
  skipSpace();
  if (i !== text.length) fail('unexpected text after the JSON value', '');
  return value;
}
