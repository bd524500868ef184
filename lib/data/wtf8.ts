/**
 * Strings to bytes and back for the byte-level tokenizer, so that every JavaScript string
 * round-trips. A well-formed string is plain UTF-8. A lone surrogate (a JS string may hold one;
 * UTF-8 cannot) is written as the 3-byte form of its code point (`ED A0..BF 80..BF`), the
 * generalized UTF-8 that WTF-8 defines. Decoding follows the WHATWG UTF-8 decoder (what
 * `TextDecoder` does: each maximal invalid subpart becomes one U+FFFD) except that it accepts those
 * surrogate forms back.
 */

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');
/** A lone surrogate: in a `u` regex a surrogate pair is one code point, so only lone halves match. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The bytes of `text`: UTF-8, with each lone surrogate as its 3-byte generalized-UTF-8 form
 * (`'é\ud800'` is `C3 A9 ED A0 80`).
 */
export function encodeWtf8(text: string): Uint8Array {
  if (!LONE_SURROGATE.test(text)) return utf8Encoder.encode(text);
  const bytes: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(bytes);
}

/** Whether `bytes` holds a 3-byte surrogate form (`ED` then `A0..BF`), which `TextDecoder` refuses. */
function hasSurrogateForm(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(0xed); i >= 0 && i + 1 < bytes.length; i = bytes.indexOf(0xed, i + 1)) {
    if (bytes[i + 1] >= 0xa0 && bytes[i + 1] <= 0xbf) return true;
  }
  return false;
}

/**
 * The text of `bytes`: UTF-8 decoded as `TextDecoder` does (an invalid sequence becomes U+FFFD per
 * maximal subpart), and a 3-byte surrogate form becomes that lone surrogate, so
 * `decodeWtf8(encodeWtf8(s)) === s` for every string `s` (`68 69 FF` is `'hi\ufffd'`).
 */
export function decodeWtf8(bytes: Uint8Array): string {
  if (!hasSurrogateForm(bytes)) return utf8Decoder.decode(bytes);
  const units: number[] = [];
  const emit = (cp: number): void => {
    if (cp < 0x10000) units.push(cp);
    else units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
  };
  // The WHATWG UTF-8 decoder's state, with `ED`'s upper bound widened from 9F to BF.
  let codePoint = 0;
  let needed = 0;
  let seen = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let i = 0; i < bytes.length; ++i) {
    const byte = bytes[i];
    if (needed === 0) {
      if (byte <= 0x7f) {
        units.push(byte);
      } else if (byte >= 0xc2 && byte <= 0xdf) {
        needed = 1;
        codePoint = byte & 0x1f;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) lower = 0xa0;
        needed = 2;
        codePoint = byte & 0x0f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) lower = 0x90;
        if (byte === 0xf4) upper = 0x8f;
        needed = 3;
        codePoint = byte & 0x07;
      } else {
        units.push(0xfffd);
      }
      continue;
    }
    if (byte < lower || byte > upper) {
      // The sequence so far is one maximal invalid subpart; this byte starts afresh.
      codePoint = needed = seen = 0;
      lower = 0x80;
      upper = 0xbf;
      units.push(0xfffd);
      --i;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    codePoint = (codePoint << 6) | (byte & 0x3f);
    if (++seen === needed) {
      emit(codePoint);
      codePoint = needed = seen = 0;
    }
  }
  if (needed !== 0) units.push(0xfffd);
  let out = '';
  // In slices: fromCharCode's arguments live on the stack.
  for (let i = 0; i < units.length; i += 8192) out += String.fromCharCode(...units.slice(i, i + 8192));
  return out;
}
