/**
 * GPT-2's pre-tokenization: text is cut into pieces before byte-pair encoding, and merges never
 * cross a piece's edge. A piece is an English contraction suffix, a run of letters, a run of
 * digits or a run of other symbols (each with at most one leading space), or a run of whitespace
 * (which leaves its last space to the word after it).
 */

/** GPT-2's pattern (`encoder.py`), with JavaScript's `\p{...}` classes. */
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The name {@link BytePairTokenizer.toJSON} records for this pattern. */
export const PRE_TOKENIZER = 'gpt2';

/**
 * The pieces of `text`, in order; joined they give `text` back (every code point, lone
 * surrogates included, matches one of the pattern's classes, so nothing is skipped).
 */
export function preTokens(text: string): IterableIterator<string> {
  return (function* pieces() {
    for (const m of text.matchAll(GPT2_PATTERN)) yield m[0];
  })();
}
