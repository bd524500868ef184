/**
 * A byte-level byte-pair-encoding tokenizer as GPT-2's: the 256 byte values are the first tokens,
 * merges learned on a text add one token each, and text is cut into GPT-2's pre-tokenization
 * pieces first, so no token spans two words.
 */
import { argRangeError, argTypeError, MixprecRangeError } from '../errors';
import { checkOptions, isOptionsObject, positiveInteger } from '../validate';
import { mergePiece, type MergeTable } from './bpeEncoding';
import { KEY_BASE, learnMerges } from './bpeTraining';
import { preTokens, PRE_TOKENIZER } from './preTokenize';
import { decodeWtf8, encodeWtf8 } from './wtf8';

/** Options of {@link BytePairTokenizer.train}. */
export interface BytePairTrainOptions {
  /** The vocabulary size to reach: 256 byte tokens plus `vocabSize - 256` merges (at least 256). */
  vocabSize: number;
}

/** {@link BytePairTokenizer.toJSON}'s result: plain JSON data. */
export interface BytePairTokenizerJSON {
  type: 'BytePairTokenizer';
  version: 1;
  /** The pre-tokenization pattern: `'gpt2'`. */
  preTokenizer: string;
  /** Merge `i` joins tokens `merges[i][0]` and `merges[i][1]` into token `256 + i`. */
  merges: [number, number][];
}

const BYTE_TOKENS = 256;
/** Pair keys must stay exact (see bpeTraining.ts), so ids stay below 2^24. */
const MAX_VOCAB = KEY_BASE;
/** Pieces whose encoding is remembered; past this the memo starts afresh (text of a million distinct words). */
const MEMO_LIMIT = 1 << 18;

/**
 * A byte-level BPE tokenizer (GPT-2's scheme). Token ids 0-255 are the bytes; token `256 + i` is
 * merge `i`, the concatenation of the two tokens it joins. Encoding cuts the text into GPT-2's
 * pre-tokenization pieces (a word with its leading space, a number, a run of symbols, whitespace),
 * turns each piece into bytes and applies the merges in the order they were learned (GPT-2's
 * `bpe()`; `bpeEncoding.ts`).
 *
 * **Every string round-trips:** `decode(encode(s)) === s`. Text is encoded as UTF-8; a lone
 * surrogate, which a JS string may hold and UTF-8 cannot, is encoded as the 3-byte form of its
 * code point (generalized UTF-8, as WTF-8 defines it) and decoded back to itself. Ids that do not
 * form valid UTF-8 (a model's sample cut mid-character) decode as `TextDecoder` does: U+FFFD for
 * each invalid sequence.
 *
 * @example
 * ```ts
 * const tok = mp.data.BytePairTokenizer.train('the cat sat on the mat with the hat', { vocabSize: 270 });
 * const ids = tok.encode('the hat');  // Int32Array of token ids
 * tok.decode(ids);                    // 'the hat'
 * const copy = mp.data.BytePairTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
 * ```
 */
export class BytePairTokenizer {
  /** The merges in learning order: merge `i` makes token `256 + i`. */
  readonly merges: readonly (readonly [number, number])[];
  /** Merge rank of each pair key, and the merges, for {@link mergePiece}. */
  private readonly table: MergeTable;
  /** The bytes of each token. */
  private readonly bytes: Uint8Array[];
  private readonly memo = new Map<string, Int32Array>();

  /**
   * A tokenizer from a merge list (as {@link merges} or `toJSON().merges` give it): merge `i` may
   * join only byte tokens and tokens of earlier merges, and no pair twice.
   *
   * @example
   * ```ts
   * const tok = new mp.data.BytePairTokenizer([[104, 105]]); // 'h' + 'i' -> token 256
   * tok.encode('hi hi'); // Int32Array [256, 32, 256]
   * ```
   */
  constructor(merges: readonly (readonly [number, number])[]) {
    const op = 'BytePairTokenizer';
    if (!Array.isArray(merges)) throw argTypeError(op, 'merges', 'an array of [left, right] token id pairs', merges);
    if (merges.length > MAX_VOCAB - BYTE_TOKENS) throw argRangeError(op, 'merges', `at most ${MAX_VOCAB - BYTE_TOKENS} merges`, merges);
    const ranks = new Map<number, number>();
    this.bytes = Array.from({ length: BYTE_TOKENS }, (_, b) => Uint8Array.of(b));
    const checked: (readonly [number, number])[] = [];
    merges.forEach((pair, i) => {
      const limit = BYTE_TOKENS + i;
      const ok = Array.isArray(pair) && pair.length === 2 && pair.every((id) => Number.isInteger(id) && id >= 0 && id < limit);
      if (!ok) throw argRangeError(op, `merges[${i}]`, `a pair of token ids below ${limit} (bytes and earlier merges)`, pair);
      const key = pair[0] * KEY_BASE + pair[1];
      if (ranks.has(key)) throw argRangeError(op, `merges[${i}]`, `a pair not merged before (merges[${ranks.get(key)}] is the same)`, pair);
      ranks.set(key, i);
      const [a, b] = [this.bytes[pair[0]], this.bytes[pair[1]]];
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      this.bytes.push(joined);
      checked.push(Object.freeze([pair[0], pair[1]] as const));
    });
    this.merges = Object.freeze(checked);
    this.table = { ranks, merges: this.merges, firstId: BYTE_TOKENS };
  }

  /**
   * Learns merges on `text` (a string, or several documents: no piece spans two) until the
   * vocabulary holds `vocabSize` tokens, or fewer when no two adjacent tokens are left to merge.
   * Each merge joins the most frequent adjacent pair in the pre-tokenized text, ties going to the
   * pair with the smallest first id, then the smallest second id; deterministic for a given text.
   *
   * @example
   * ```ts
   * const tok = mp.data.BytePairTokenizer.train('aaabdaaabac', { vocabSize: 259 });
   * tok.merges; // [[97, 97], [97, 98], [256, 257]]: 'aa', 'ab', then 'aa' + 'ab'
   * ```
   */
  static train(text: string | readonly string[], options: BytePairTrainOptions): BytePairTokenizer {
    const op = 'BytePairTokenizer.train';
    const documents = typeof text === 'string' ? [text] : text;
    if (!Array.isArray(documents) || !documents.every((d) => typeof d === 'string')) throw argTypeError(op, 'text', 'a string or an array of strings', text);
    if (!isOptionsObject(options)) throw argTypeError(op, 'options', 'an options object {vocabSize}', options);
    const { vocabSize } = checkOptions(op, options, ['vocabSize']);
    const size = positiveInteger(op, 'options.vocabSize', vocabSize);
    if (size < BYTE_TOKENS || size > MAX_VOCAB) throw argRangeError(op, 'options.vocabSize', `an integer in [${BYTE_TOKENS}, ${MAX_VOCAB}] (the 256 byte tokens plus merges)`, vocabSize);
    const pieceCounts = new Map<string, number>();
    for (const doc of documents) {
      for (const piece of preTokens(doc)) pieceCounts.set(piece, (pieceCounts.get(piece) ?? 0) + 1);
    }
    const words: Int32Array[] = [];
    const counts: number[] = [];
    for (const [piece, count] of pieceCounts) {
      words.push(Int32Array.from(encodeWtf8(piece)));
      counts.push(count);
    }
    return new BytePairTokenizer(learnMerges(words, counts, BYTE_TOKENS, size - BYTE_TOKENS));
  }

  /**
   * A tokenizer from {@link toJSON}'s data, checked field by field.
   *
   * @example
   * ```ts
   * const tok = mp.data.BytePairTokenizer.fromJSON({ type: 'BytePairTokenizer', version: 1, preTokenizer: 'gpt2', merges: [[32, 116]] });
   * tok.vocabSize; // 257
   * ```
   */
  static fromJSON(json: BytePairTokenizerJSON): BytePairTokenizer {
    const op = 'BytePairTokenizer.fromJSON';
    if (!isOptionsObject(json)) throw argTypeError(op, 'json', 'an object from BytePairTokenizer.toJSON()', json);
    const { type, version, preTokenizer, merges } = checkOptions(op, json, ['type', 'version', 'preTokenizer', 'merges']);
    if (type !== 'BytePairTokenizer') throw argRangeError(op, 'json.type', "'BytePairTokenizer'", type);
    if (version !== 1) throw argRangeError(op, 'json.version', '1', version);
    if (preTokenizer !== PRE_TOKENIZER) throw argRangeError(op, 'json.preTokenizer', `'${PRE_TOKENIZER}'`, preTokenizer);
    return new BytePairTokenizer(merges as [number, number][]);
  }

  /** The number of tokens: 256 bytes plus one per merge. @example `new mp.data.BytePairTokenizer([]).vocabSize // 256` */
  get vocabSize(): number {
    return this.bytes.length;
  }

  /**
   * The token ids of `text` (any string; see the class notes on lone surrogates).
   *
   * @example
   * ```ts
   * const tok = mp.data.BytePairTokenizer.train('low lower lowest', { vocabSize: 260 });
   * tok.encode('lowest'); // Int32Array, fewer ids than the 6 bytes
   * ```
   */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') throw argTypeError('BytePairTokenizer.encode', 'text', 'a string', text);
    let out = new Int32Array(Math.max(16, text.length));
    let n = 0;
    for (const piece of preTokens(text)) {
      const ids = this.encodePiece(piece);
      if (n + ids.length > out.length) {
        const grown = new Int32Array(Math.max(2 * out.length, n + ids.length));
        grown.set(out.subarray(0, n));
        out = grown;
      }
      out.set(ids, n);
      n += ids.length;
    }
    return out.slice(0, n);
  }

  /**
   * The text of token ids: their bytes, decoded as UTF-8 (see the class notes).
   *
   * @example
   * ```ts
   * const tok = new mp.data.BytePairTokenizer([]);
   * tok.decode([104, 105]); // 'hi'
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    const op = 'BytePairTokenizer.decode';
    if (typeof ids !== 'object' || ids === null || typeof ids.length !== 'number') throw argTypeError(op, 'ids', 'an array or typed array of token ids', ids);
    let total = 0;
    for (let i = 0; i < ids.length; ++i) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.bytes.length) {
        throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: argument 'ids' must hold token ids in [0, ${this.bytes.length}), got ${String(id)} at index ${i}`);
      }
      total += this.bytes[id].length;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; ++i) {
      const b = this.bytes[ids[i]];
      bytes.set(b, at);
      at += b.length;
    }
    return decodeWtf8(bytes);
  }

  /**
   * The bytes token `id` stands for (a copy).
   *
   * @example
   * ```ts
   * new mp.data.BytePairTokenizer([[104, 105]]).tokenBytes(256); // Uint8Array [104, 105]
   * ```
   */
  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.bytes.length) throw argRangeError('BytePairTokenizer.tokenBytes', 'id', `a token id in [0, ${this.bytes.length})`, id);
    return this.bytes[id].slice();
  }

  /**
   * The tokenizer as plain JSON data (`JSON.stringify(tok)` calls this); {@link fromJSON} reads it.
   *
   * @example
   * ```ts
   * new mp.data.BytePairTokenizer([[104, 105]]).toJSON(); // { type: 'BytePairTokenizer', version: 1, preTokenizer: 'gpt2', merges: [[104, 105]] }
   * ```
   */
  toJSON(): BytePairTokenizerJSON {
    return { type: 'BytePairTokenizer', version: 1, preTokenizer: PRE_TOKENIZER, merges: this.merges.map(([a, b]) => [a, b]) };
  }

  /** One piece's ids (remembered: a text repeats its words). */
  private encodePiece(piece: string): Int32Array {
    const known = this.memo.get(piece);
    if (known !== undefined) return known;
    const ids = mergePiece(Int32Array.from(encodeWtf8(piece)), this.table);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(piece, ids);
    return ids;
  }
}
