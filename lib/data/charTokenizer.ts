/**
 * A character-level tokenizer: one token per character (Unicode code point) of a fixed
 * vocabulary, as nanoGPT's Shakespeare-char example builds it.
 */
import { argRangeError, argTypeError, describe, MixprecRangeError } from '../errors';
import { checkOptions, isOptionsObject } from '../validate';

/** {@link CharTokenizer.toJSON}'s result: plain JSON data. */
export interface CharTokenizerJSON {
  type: 'CharTokenizer';
  version: 1;
  /** The vocabulary: token `i` is `chars[i]`. */
  chars: string[];
}

function codePointName(ch: string): string {
  return `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Maps each character (Unicode code point; a lone surrogate counts as one) of a vocabulary to its
 * index. {@link fromText} builds the vocabulary from a text: its distinct characters sorted by
 * code point. Encoding a character outside the vocabulary is an error naming it, its code point
 * and its position (a UTF-16 index, as string indices count).
 *
 * @example
 * ```ts
 * const tok = mp.data.CharTokenizer.fromText('hello world');
 * tok.chars;               // [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
 * const ids = tok.encode('hold'); // Int32Array [3, 5, 4, 1]
 * tok.decode(ids);         // 'hold'
 * ```
 */
export class CharTokenizer {
  /** The vocabulary: token `i` is `chars[i]`. */
  readonly chars: readonly string[];
  private readonly ids: Map<string, number>;

  /**
   * A tokenizer over `chars`, each one character (code point), none twice.
   *
   * @example
   * ```ts
   * const tok = new mp.data.CharTokenizer(['a', 'b', '\n']);
   * tok.encode('ab\n'); // Int32Array [0, 1, 2]
   * ```
   */
  constructor(chars: readonly string[]) {
    const op = 'CharTokenizer';
    if (!Array.isArray(chars)) throw argTypeError(op, 'chars', 'an array of single characters', chars);
    const ids = new Map<string, number>();
    chars.forEach((ch, i) => {
      if (typeof ch !== 'string' || ch.length === 0 || [...ch].length !== 1) throw argTypeError(op, `chars[${i}]`, 'a string of one character (code point)', ch);
      if (ids.has(ch)) throw argRangeError(op, `chars[${i}]`, `a character not listed before (chars[${ids.get(ch)}] is the same)`, ch);
      ids.set(ch, i);
    });
    this.chars = Object.freeze(chars.slice());
    this.ids = ids;
  }

  /**
   * A tokenizer whose vocabulary is the distinct characters of `text`, sorted by code point.
   *
   * @example
   * ```ts
   * mp.data.CharTokenizer.fromText('banana').vocabSize; // 3
   * ```
   */
  static fromText(text: string): CharTokenizer {
    if (typeof text !== 'string') throw argTypeError('CharTokenizer.fromText', 'text', 'a string', text);
    const distinct = [...new Set(text)];
    return new CharTokenizer(distinct.sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number)));
  }

  /**
   * A tokenizer from {@link toJSON}'s data.
   *
   * @example
   * ```ts
   * mp.data.CharTokenizer.fromJSON({ type: 'CharTokenizer', version: 1, chars: ['a', 'b'] }).encode('ba'); // Int32Array [1, 0]
   * ```
   */
  static fromJSON(json: CharTokenizerJSON): CharTokenizer {
    const op = 'CharTokenizer.fromJSON';
    if (!isOptionsObject(json)) throw argTypeError(op, 'json', 'an object from CharTokenizer.toJSON()', json);
    const { type, version, chars } = checkOptions(op, json, ['type', 'version', 'chars']);
    if (type !== 'CharTokenizer') throw argRangeError(op, 'json.type', "'CharTokenizer'", type);
    if (version !== 1) throw argRangeError(op, 'json.version', '1', version);
    return new CharTokenizer(chars as string[]);
  }

  /** The number of tokens. @example `mp.data.CharTokenizer.fromText('abc').vocabSize // 3` */
  get vocabSize(): number {
    return this.chars.length;
  }

  /**
   * The ids of `text`'s characters.
   *
   * @example
   * ```ts
   * mp.data.CharTokenizer.fromText('abc').encode('cab'); // Int32Array [2, 0, 1]
   * ```
   */
  encode(text: string): Int32Array {
    const op = 'CharTokenizer.encode';
    if (typeof text !== 'string') throw argTypeError(op, 'text', 'a string', text);
    const out = new Int32Array(text.length);
    let n = 0;
    let at = 0;
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id === undefined) {
        throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: argument 'text' must hold only the vocabulary's ${this.chars.length} characters, got ${describe(ch)} (${codePointName(ch)}) at index ${at}`);
      }
      out[n++] = id;
      at += ch.length;
    }
    return out.slice(0, n);
  }

  /**
   * The text of token ids.
   *
   * @example
   * ```ts
   * mp.data.CharTokenizer.fromText('abc').decode([2, 0, 1]); // 'cab'
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    const op = 'CharTokenizer.decode';
    if (typeof ids !== 'object' || ids === null || typeof ids.length !== 'number') throw argTypeError(op, 'ids', 'an array or typed array of token ids', ids);
    const parts = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; ++i) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.chars.length) {
        throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: argument 'ids' must hold token ids in [0, ${this.chars.length}), got ${String(id)} at index ${i}`);
      }
      parts[i] = this.chars[id];
    }
    return parts.join('');
  }

  /**
   * The tokenizer as plain JSON data (`JSON.stringify(tok)` calls this); {@link fromJSON} reads it.
   *
   * @example
   * ```ts
   * mp.data.CharTokenizer.fromText('ab').toJSON(); // { type: 'CharTokenizer', version: 1, chars: ['a', 'b'] }
   * ```
   */
  toJSON(): CharTokenizerJSON {
    return { type: 'CharTokenizer', version: 1, chars: this.chars.slice() };
  }
}
