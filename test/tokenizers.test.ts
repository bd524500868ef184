// The tokenizers of mp.data: CharTokenizer and the byte-level BytePairTokenizer (GPT-2's scheme),
// with the bytes layer under it (lib/data/wtf8.ts). References are independent of the code under
// test: TextEncoder / TextDecoder for UTF-8, bytes written out from the WTF-8 spec for lone
// surrogates, a hand-worked merge list, and a naive BPE (a full rescan per merge, each merge
// applied in order to every piece) written here. fast-check with fixed seeds; the file took 13-19 s
// wall clock (ts-jest compile and the corpus's first read included) on the shared 2-core machine
// at a load average of 10-15. The full 4k vocabulary is measured in bench/bpe.js, not here.
import fc from 'fast-check';

import * as mp from '../lib';
import { decodeWtf8, encodeWtf8 } from '../lib/data/wtf8';

const { BytePairTokenizer, CharTokenizer } = mp.data;

/** Any UTF-16 code unit: lone surrogates come up often, pairs now and then. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
/** Strings of arbitrary code units, well-formed or not. */
const anyString = fc.string({ unit: fc.oneof(codeUnit, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 60 });
/** Well-formed strings of any code points, astral ones included. */
const wellFormed = fc.string({ unit: 'binary', maxLength: 60 });
const bytesOf = (...b: number[]): Uint8Array => Uint8Array.from(b);
const runs = { seed: 14, numRuns: 300 };

describe('bytes: UTF-8, with lone surrogates in their 3-byte form', () => {
  test('a well-formed string encodes as TextEncoder does', () => {
    const utf8 = new TextEncoder();
    fc.assert(fc.property(wellFormed, (s) => {
      expect(encodeWtf8(s)).toEqual(utf8.encode(s));
    }), runs);
  });

  test('lone surrogates: the 3-byte form of their code point, written out from the spec', () => {
    expect(encodeWtf8('\ud800')).toEqual(bytesOf(0xed, 0xa0, 0x80));
    expect(encodeWtf8('\udfff')).toEqual(bytesOf(0xed, 0xbf, 0xbf));
    expect(encodeWtf8('a\udc00b')).toEqual(bytesOf(0x61, 0xed, 0xb0, 0x80, 0x62));
    // A low then a high surrogate are two lone ones; a high then a low are one astral character.
    expect(encodeWtf8('\udc00\ud800')).toEqual(bytesOf(0xed, 0xb0, 0x80, 0xed, 0xa0, 0x80));
    expect(encodeWtf8('\ud83d\ude00')).toEqual(bytesOf(0xf0, 0x9f, 0x98, 0x80));
    expect(decodeWtf8(bytesOf(0x61, 0xed, 0xb0, 0x80, 0x62))).toBe('a\udc00b');
  });

  test('every string round-trips', () => {
    fc.assert(fc.property(anyString, (s) => {
      expect(decodeWtf8(encodeWtf8(s))).toBe(s);
    }), { ...runs, numRuns: 2000 });
  });

  test('bytes without a surrogate form decode as TextDecoder does (U+FFFD per invalid subpart)', () => {
    const utf8 = new TextDecoder('utf-8');
    const noSurrogateForm = fc.uint8Array({ maxLength: 40 }).filter((b) => !b.some((x, i) => x === 0xed && b[i + 1] >= 0xa0 && b[i + 1] <= 0xbf));
    fc.assert(fc.property(noSurrogateForm, (b) => {
      expect(decodeWtf8(b)).toBe(utf8.decode(b));
    }), { ...runs, numRuns: 2000 });
  });

  test('invalid sequences around a surrogate form: one U+FFFD per maximal subpart', () => {
    // ED A0 is a valid prefix here, so a truncated form is one replacement, not two.
    expect(decodeWtf8(bytesOf(0xed, 0xa0))).toBe('\ufffd');
    expect(decodeWtf8(bytesOf(0xed, 0xa0, 0x41, 0xed, 0xa0, 0x80))).toBe('\ufffdA\ud800');
    expect(decodeWtf8(bytesOf(0xff, 0xed, 0xbf, 0xbf, 0xc0))).toBe('\ufffd\udfff\ufffd');
  });
});

describe('CharTokenizer', () => {
  test('fromText: the distinct code points sorted; encode/decode', () => {
    const tok = CharTokenizer.fromText('hello, wörld 😀!');
    expect(tok.chars).toEqual([' ', '!', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w', 'ö', '😀']);
    expect(tok.vocabSize).toBe(12);
    expect(Array.from(tok.encode('löw 😀'))).toEqual([6, 10, 9, 0, 11]);
    expect(tok.decode([5, 4, 6, 6, 7])).toBe('hello');
    expect(tok.decode(new Int32Array([11, 1]))).toBe('😀!');
  });

  test('decode(encode(s)) === s for every string, with its own vocabulary', () => {
    fc.assert(fc.property(anyString, (s) => {
      const tok = CharTokenizer.fromText(s);
      const ids = tok.encode(s);
      expect(ids).toBeInstanceOf(Int32Array);
      expect(ids.length).toBe([...s].length);
      expect(tok.decode(ids)).toBe(s);
      expect(CharTokenizer.fromJSON(JSON.parse(JSON.stringify(tok))).chars).toEqual(tok.chars);
    }), runs);
  });

  test('toJSON / fromJSON', () => {
    const tok = new CharTokenizer(['b', 'a', '\n']);
    expect(tok.toJSON()).toEqual({ type: 'CharTokenizer', version: 1, chars: ['b', 'a', '\n'] });
    const back = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
    expect(Array.from(back.encode('ab\n'))).toEqual([1, 0, 2]);
  });

  test('errors name the character, its code point and its index; bad ids and vocabularies are refused', () => {
    const tok = CharTokenizer.fromText('abc');
    expect(() => tok.encode('abé')).toThrow("CharTokenizer.encode: argument 'text' must hold only the vocabulary's 3 characters, got \"é\" (U+00E9) at index 2");
    // The index counts UTF-16 code units, as String.prototype indices do: the emoji takes two.
    expect(() => CharTokenizer.fromText('a😀').encode('a😀x')).toThrow(/got "x" \(U\+0078\) at index 3/);
    expect(() => tok.encode(5 as never)).toThrow(mp.MixprecTypeError);
    expect(() => tok.decode([0, 3])).toThrow("CharTokenizer.decode: argument 'ids' must hold token ids in [0, 3), got 3 at index 1");
    expect(() => tok.decode([1.5])).toThrow(mp.MixprecRangeError);
    expect(() => tok.decode('ab' as never)).toThrow(mp.MixprecTypeError);
    expect(() => new CharTokenizer(['a', 'a'])).toThrow("CharTokenizer: argument 'chars[1]' must be a character not listed before (chars[0] is the same), got \"a\"");
    expect(() => new CharTokenizer(['ab'])).toThrow(/chars\[0\]' must be a string of one character/);
    expect(() => new CharTokenizer('abc' as never)).toThrow(mp.MixprecTypeError);
    expect(() => CharTokenizer.fromJSON({ type: 'BytePairTokenizer', version: 1, chars: [] } as never)).toThrow(/json.type' must be 'CharTokenizer'/);
  });
});

// ---- A naive byte-level BPE, the reference for training and encoding ----------------------------

/** GPT-2's pre-tokenization pattern (encoder.py), written out again for the reference. */
const gpt2Pieces = (text: string): string[] => text.match(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) ?? [];

function mergeEverywhere(ids: number[], pair: readonly [number, number], id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; ++i) {
    if (i + 1 < ids.length && ids[i] === pair[0] && ids[i + 1] === pair[1]) {
      out.push(id);
      ++i;
    } else {
      out.push(ids[i]);
    }
  }
  return out;
}

/** Merges by rescanning every piece for every merge: most frequent pair, ties to the smallest. */
function naiveMerges(text: string, vocabSize: number): [number, number][] {
  const counts = new Map<string, number>();
  for (const p of gpt2Pieces(text)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const words = [...counts].map(([p, c]) => ({ ids: Array.from(new TextEncoder().encode(p)), c }));
  const merges: [number, number][] = [];
  while (256 + merges.length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.ids.length; ++i) pairs.set(`${w.ids[i]},${w.ids[i + 1]}`, (pairs.get(`${w.ids[i]},${w.ids[i + 1]}`) ?? 0) + w.c);
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [key, c] of pairs) {
      const pair = key.split(',').map(Number) as [number, number];
      const smaller = best === undefined || pair[0] < best[0] || (pair[0] === best[0] && pair[1] < best[1]);
      if (c > bestCount || (c === bestCount && smaller)) [best, bestCount] = [pair, c];
    }
    if (best === undefined) break;
    const id = 256 + merges.length;
    merges.push(best);
    for (const w of words) w.ids = mergeEverywhere(w.ids, best, id);
  }
  return merges;
}

/** Encoding by applying every merge, in order, to every piece. */
function naiveEncode(merges: readonly (readonly [number, number])[], text: string): number[] {
  return gpt2Pieces(text).flatMap((p) => merges.reduce((ids, pair, i) => mergeEverywhere(ids, pair, 256 + i), Array.from(new TextEncoder().encode(p))));
}

describe('BytePairTokenizer', () => {
  test("the hand-worked example: 'aaabdaaabac' merges aa, then ab, then aa+ab", () => {
    // Counts: aa 4 (overlapping), ab 2 ... -> Z = aa; then ab and Za both 2, the smaller pair
    // (97, 98) wins -> Y = ab; then ZY 2 -> X; the text becomes X d X a c.
    const tok = BytePairTokenizer.train('aaabdaaabac', { vocabSize: 259 });
    expect(tok.merges).toEqual([[97, 97], [97, 98], [256, 257]]);
    expect(Array.from(tok.encode('aaabdaaabac'))).toEqual([258, 100, 258, 97, 99]);
    expect(tok.vocabSize).toBe(259);
    expect(Array.from(tok.tokenBytes(258))).toEqual([97, 97, 97, 98]);
  });

  test('merges never cross a pre-tokenization piece: " the" can merge, "e t" cannot', () => {
    const tok = BytePairTokenizer.train('the the the', { vocabSize: 300 });
    // Pieces: 'the', ' the', ' the'. Pairs t-h 3, h-e 3, ' '-t 2; never 'e'-' '.
    expect(tok.merges.some(([a, b]) => a === 101 && b === 32)).toBe(false);
    expect(tok.merges[0]).toEqual([104, 101]); // 'he' ties with 'th' at 3; (104, 101) < (116, 104)
    expect(tok.decode(tok.encode('the the'))).toBe('the the');
  });

  test('training and encoding match the naive rescanning reference on random texts', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', 'ab', ' ', '  ', 'é', '😀', '\n', '1', '23', '.', "'s", 'the');
    fc.assert(fc.property(fc.array(alphabet, { maxLength: 80 }).map((a) => a.join('')), fc.integer({ min: 256, max: 300 }), fc.array(alphabet, { maxLength: 30 }).map((a) => a.join('')), (text, vocabSize, other) => {
      const tok = BytePairTokenizer.train(text, { vocabSize });
      const expected = naiveMerges(text, vocabSize);
      expect(tok.merges).toEqual(expected);
      expect(tok.vocabSize).toBe(256 + expected.length);
      expect(Array.from(tok.encode(text))).toEqual(naiveEncode(expected, text));
      expect(Array.from(tok.encode(other))).toEqual(naiveEncode(expected, other));
    }), { seed: 14, numRuns: 150 });
  });

  test('long pieces (over 64 bytes, merged through a heap) encode as the naive reference does', () => {
    // Letters only: each text is one piece of 40-600 bytes; 'é' adds 2-byte characters.
    const letters = fc.array(fc.constantFrom('a', 'b', 'ab', 'ba', 'aab', 'c', 'é'), { minLength: 40, maxLength: 300 }).map((a) => a.join(''));
    fc.assert(fc.property(letters, fc.integer({ min: 260, max: 320 }), letters, (text, vocabSize, other) => {
      const tok = BytePairTokenizer.train(text, { vocabSize });
      expect(Array.from(tok.encode(text))).toEqual(naiveEncode(tok.merges, text));
      expect(Array.from(tok.encode(other))).toEqual(naiveEncode(tok.merges, other));
      expect(Array.from(tok.encode(` ${other}`))).toEqual(naiveEncode(tok.merges, ` ${other}`));
    }), { seed: 14, numRuns: 100 });
  });

  test('documents: train(array) never merges across two documents', () => {
    // 'badc' as one text holds the pair (97 'a', 100 'd'), the smallest of three tied pairs.
    expect(BytePairTokenizer.train('badc', { vocabSize: 257 }).merges).toEqual([[97, 100]]);
    expect(BytePairTokenizer.train(['ba', 'dc'], { vocabSize: 258 }).merges).toEqual([[98, 97], [100, 99]]);
  });

  describe('trained on 100,000 characters of the Brown corpus', () => {
    const sample = mp.data.brown({ split: 'train' }).slice(0, 100_000);
    const tok = BytePairTokenizer.train(sample, { vocabSize: 512 });

    test('reaches the vocabulary size, compresses English, and equals the naive encoding', () => {
      expect(tok.vocabSize).toBe(512);
      const ids = tok.encode(sample);
      // 256 merges on English text: more than 2 characters per token (2.13 measured).
      expect(sample.length / ids.length).toBeGreaterThan(2);
      const paragraph = sample.slice(0, 2000);
      expect(Array.from(tok.encode(paragraph))).toEqual(naiveEncode(tok.merges, paragraph));
      expect(tok.decode(ids)).toBe(sample);
    });

    test('decode(encode(s)) === s for random Unicode, astral characters and lone surrogates included', () => {
      fc.assert(fc.property(fc.oneof(anyString, wellFormed), (s) => {
        const ids = tok.encode(s);
        expect(ids).toBeInstanceOf(Int32Array);
        expect(tok.decode(ids)).toBe(s);
      }), { ...runs, numRuns: 3000 });
    });

    test('any id sequence decodes to the UTF-8 decoding of its tokens\' bytes', () => {
      const utf8 = new TextDecoder('utf-8');
      fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 511 }), { maxLength: 20 }), (ids) => {
        const bytes = Uint8Array.from(ids.flatMap((id) => Array.from(tok.tokenBytes(id))));
        const hasForm = bytes.some((x, i) => x === 0xed && bytes[i + 1] >= 0xa0 && bytes[i + 1] <= 0xbf);
        if (!hasForm) expect(tok.decode(ids)).toBe(utf8.decode(bytes));
      }), runs);
    });

    test('toJSON / fromJSON give the same tokenizer', () => {
      const json = JSON.parse(JSON.stringify(tok));
      expect(json.type).toBe('BytePairTokenizer');
      expect(json.preTokenizer).toBe('gpt2');
      expect(json.merges).toHaveLength(256);
      const back = BytePairTokenizer.fromJSON(json);
      expect(back.merges).toEqual(tok.merges);
      const text = sample.slice(5000, 9000);
      expect(back.encode(text)).toEqual(tok.encode(text));
      expect(new BytePairTokenizer(tok.merges).toJSON()).toEqual(tok.toJSON());
    });
  });

  test('bad arguments: clear errors naming the argument', () => {
    expect(() => BytePairTokenizer.train('abc', { vocabSize: 255 })).toThrow("BytePairTokenizer.train: argument 'options.vocabSize' must be an integer in [256, 16777216] (the 256 byte tokens plus merges), got 255");
    expect(() => BytePairTokenizer.train('abc', { vocabSize: 1.5 })).toThrow(mp.MixprecRangeError);
    expect(() => BytePairTokenizer.train('abc', {} as never)).toThrow(/options.vocabSize' must be a positive integer, got undefined/);
    expect(() => BytePairTokenizer.train('abc', { vocabSize: 300, minFrequency: 2 } as never)).toThrow("BytePairTokenizer.train: unknown option 'minFrequency' (expected 'vocabSize')");
    expect(() => BytePairTokenizer.train(42 as never, { vocabSize: 300 })).toThrow(/argument 'text' must be a string or an array of strings, got 42/);
    expect(() => BytePairTokenizer.train(['a', 1] as never, { vocabSize: 300 })).toThrow(mp.MixprecTypeError);
    expect(() => new BytePairTokenizer([[97, 256]])).toThrow("BytePairTokenizer: argument 'merges[0]' must be a pair of token ids below 256 (bytes and earlier merges), got an array of length 2");
    expect(() => new BytePairTokenizer([[97, 98], [97, 98]])).toThrow(/merges\[1\]' must be a pair not merged before \(merges\[0\] is the same\)/);
    expect(() => new BytePairTokenizer([[97]] as never)).toThrow(mp.MixprecRangeError);
    const tok = new BytePairTokenizer([[104, 105]]);
    expect(() => tok.decode([104, 257])).toThrow("BytePairTokenizer.decode: argument 'ids' must hold token ids in [0, 257), got 257 at index 1");
    expect(() => tok.decode([-1])).toThrow(mp.MixprecRangeError);
    expect(() => tok.encode(null as never)).toThrow("BytePairTokenizer.encode: argument 'text' must be a string, got null");
    expect(() => tok.tokenBytes(300)).toThrow(/tokenBytes: argument 'id' must be a token id in \[0, 257\), got 300/);
    expect(() => BytePairTokenizer.fromJSON({ ...tok.toJSON(), preTokenizer: 'bert' })).toThrow("BytePairTokenizer.fromJSON: argument 'json.preTokenizer' must be 'gpt2', got \"bert\"");
    expect(() => BytePairTokenizer.fromJSON({ ...tok.toJSON(), version: 2 as never })).toThrow(/json.version' must be 1, got 2/);
    expect(() => BytePairTokenizer.fromJSON('{}' as never)).toThrow(mp.MixprecTypeError);
  });
});
