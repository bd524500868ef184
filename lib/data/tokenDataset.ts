/**
 * Language-model training windows over a token stream: nanoGPT's `get_batch`, as a dataset with
 * its own seeded random stream, so every run given the same seed sees the same batches.
 */
import { tensor } from '../creation';
import { argRangeError, argTypeError, describe, MixprecRangeError } from '../errors';
import { Generator, randint } from '../random';
import type { Tensor } from '../tensor';
import { checkOptions, isOptionsObject, nonNegativeInteger, positiveInteger } from '../validate';
import type { Dataset } from './dataset';

/** Options of {@link TokenDataset}. */
export interface TokenDatasetOptions {
  /** Tokens of context per sample (`T`): a window holds `blockSize + 1` tokens. */
  blockSize: number;
  /** Seed of the dataset's random stream (default 0): the same seed gives the same batches. */
  seed?: number | bigint;
}

/** A batch of windows: `y` is `x` shifted left by one token (each position's next token). */
export interface TokenBatch {
  /** int32 `[batchSize, blockSize]`: the inputs. */
  x: Tensor;
  /** int32 `[batchSize, blockSize]`: the targets, `y[b][t]` = the token after `x[b][t]`. */
  y: Tensor;
}

function checkTokens(op: string, tokens: unknown): Int32Array {
  if (!(tokens instanceof Int32Array) && !Array.isArray(tokens)) throw argTypeError(op, 'tokens', 'an Int32Array or array of token ids', tokens);
  const copy = Int32Array.from(tokens as ArrayLike<number>);
  for (let i = 0; i < tokens.length; ++i) {
    const v = (tokens as ArrayLike<number>)[i];
    if (!Number.isInteger(v) || v < 0 || v !== copy[i]) {
      throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: argument 'tokens' must hold non-negative int32 token ids, got ${describe(v)} at index ${i}`);
    }
  }
  return copy;
}

/**
 * Random windows of `blockSize + 1` consecutive tokens from one token stream, for next-token
 * prediction: a window starting at `s` gives the input `x = tokens[s .. s+blockSize)` and the
 * target `y = tokens[s+1 .. s+blockSize]`.
 *
 * {@link batch} draws `batchSize` starts uniformly from the `length = tokens.length - blockSize`
 * possible ones with `mp.randint` on the dataset's own {@link generator} (seeded by
 * `options.seed`), as nanoGPT's `get_batch` does with `torch.randint`. The draws use
 * counter-based random numbers, so two datasets built with the same tokens and seed yield the same
 * batch sequence, whatever else the program draws: the float32, bfloat16 and float16 runs of one
 * experiment train on the same data. `generator.getState()` / `setState()` save and restore the
 * position in that sequence.
 *
 * As a {@link Dataset}, sample `i` is the window starting at token `i` (`[x, y]`, each
 * `[blockSize]`), so a {@link DataLoader} can also walk every window in order or shuffled.
 *
 * Batches are new CPU tensors owned by the caller: dispose them (or create them in a `tidy`).
 *
 * @example
 * ```ts
 * const tok = mp.data.CharTokenizer.fromText('to be or not to be, that is the question');
 * const data = new mp.data.TokenDataset(tok.encode('to be or not to be, that is the question'), { blockSize: 8, seed: 1 });
 * const { x, y } = data.batch(4); // int32 [4, 8] each; y is x shifted by one token
 * mp.dispose([x, y]);
 * ```
 */
export class TokenDataset implements Dataset {
  /** The token stream (the dataset's own copy). */
  readonly tokens: Int32Array;
  /** Tokens of context per sample. */
  readonly blockSize: number;
  /** The random stream {@link batch} draws window starts from. */
  readonly generator: Generator;

  constructor(tokens: Int32Array | readonly number[], options: TokenDatasetOptions) {
    const op = 'TokenDataset';
    if (!isOptionsObject(options)) throw argTypeError(op, 'options', 'an options object {blockSize, seed}', options);
    const { blockSize, seed = 0 } = checkOptions(op, options, ['blockSize', 'seed']);
    this.blockSize = positiveInteger(op, 'options.blockSize', blockSize);
    if (!(typeof seed === 'bigint' || Number.isSafeInteger(seed))) throw argTypeError(op, 'options.seed', 'a safe integer or a bigint', seed);
    this.tokens = checkTokens(op, tokens);
    if (this.tokens.length <= this.blockSize) {
      throw argRangeError(op, 'tokens', `at least blockSize + 1 = ${this.blockSize + 1} tokens (one window)`, tokens);
    }
    this.generator = new Generator(seed as number | bigint);
  }

  /** The number of windows: `tokens.length - blockSize`. @example `new mp.data.TokenDataset([1, 2, 3, 4, 5], { blockSize: 2 }).length // 3` */
  get length(): number {
    return this.tokens.length - this.blockSize;
  }

  /**
   * The window starting at token `index`: `[x, y]`, int32 `[blockSize]` each.
   *
   * @example
   * ```ts
   * const [x, y] = new mp.data.TokenDataset([5, 6, 7, 8], { blockSize: 2 }).get(1); // [6, 7] and [7, 8]
   * ```
   */
  get(index: number): Tensor[] {
    const n = this.length;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n) {
      throw argRangeError('TokenDataset.get', 'index', `an integer in [0, ${n})`, index, 'ERR_OUT_OF_BOUNDS');
    }
    const t = this.blockSize;
    return [tensor(this.tokens.slice(index, index + t)), tensor(this.tokens.slice(index + 1, index + t + 1))];
  }

  /**
   * `batchSize` windows at starts drawn from {@link generator}: `{x, y}`, int32
   * `[batchSize, blockSize]` each.
   *
   * @example
   * ```ts
   * const data = new mp.data.TokenDataset(mp.data.CharTokenizer.fromText('abcdefgh').encode('abcdefghabcdefgh'), { blockSize: 4 });
   * const { x, y } = data.batch(2);
   * mp.dispose([x, y]);
   * ```
   */
  batch(batchSize: number): TokenBatch {
    const b = positiveInteger('TokenDataset.batch', 'batchSize', batchSize);
    const draw = randint(0, this.length, [b], { generator: this.generator });
    const starts = draw.dataSync() as Int32Array;
    draw.dispose();
    const t = this.blockSize;
    const x = new Int32Array(b * t);
    const y = new Int32Array(b * t);
    for (let i = 0; i < b; ++i) {
      x.set(this.tokens.subarray(starts[i], starts[i] + t), i * t);
      y.set(this.tokens.subarray(starts[i] + 1, starts[i] + t + 1), i * t);
    }
    const xs = tensor(x, { shape: [b, t] });
    try {
      return { x: xs, y: tensor(y, { shape: [b, t] }) };
    } catch (e) {
      xs.dispose();
      throw e;
    }
  }

  /**
   * `count` batches of `batchSize` windows, drawn one at a time as the iteration asks: the same
   * sequence as `count` calls of {@link batch}.
   *
   * @example
   * ```ts
   * const data = new mp.data.TokenDataset(Int32Array.from({ length: 100 }, (_, i) => i % 7), { blockSize: 8, seed: 3 });
   * for (const { x, y } of data.batches(5, 4)) {
   *   mp.dispose([x, y]); // a training step on x, y
   * }
   * ```
   */
  batches(count: number, batchSize: number): IterableIterator<TokenBatch> {
    // Checked here, not in the generator body, which would run only at the first next().
    const n = nonNegativeInteger('TokenDataset.batches', 'count', count);
    const b = positiveInteger('TokenDataset.batches', 'batchSize', batchSize);
    return (function* draw(dataset: TokenDataset) {
      for (let i = 0; i < n; ++i) yield dataset.batch(b);
    })(this);
  }
}
