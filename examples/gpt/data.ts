/**
 * The GPT example's data: the Brown corpus split by file, a byte-pair tokenizer trained on the
 * training split, the token streams, and seeded batches. The tokenizer and the tokens are cached
 * (a safetensors file and a JSON file under ~/.cache/mixprec, or $XDG_CACHE_HOME/mixprec), keyed
 * by a hash of the training text, so only the first run pays for training the tokenizer.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import * as mp from 'mixprec';

export interface GptData {
  tokenizer: mp.data.BytePairTokenizer;
  trainTokens: Int32Array;
  validationTokens: Int32Array;
  /** A seeded stream of random training windows: the same seed gives the same batches. */
  trainBatches(seed: number, batchSize: number, blockSize: number): { next(): mp.data.TokenBatch };
  /** `count` fixed validation batches (the same every call). */
  validationBatches(count: number, batchSize: number, blockSize: number): mp.data.TokenBatch[];
}

/** The seed of the validation windows, apart from every training seed's stream. */
const validationSeed = 1_000_003;

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mixprec');
}

/** Loads the corpus and the tokenizer of `vocabSize` tokens, training and caching it on first use. */
export function loadGptData(vocabSize: number, log: (line: string) => void = () => {}): GptData {
  const trainText = mp.data.brown({ split: 'train' });
  const validationText = mp.data.brown({ split: 'validation' });
  const key = createHash('sha256').update(trainText).update('\0').update(validationText).digest('hex').slice(0, 16);
  const dir = cacheDir();
  const tokenizerPath = join(dir, `brown-bpe${vocabSize}-${key}.json`);
  const tokensPath = join(dir, `brown-bpe${vocabSize}-${key}.safetensors`);

  let tokenizer: mp.data.BytePairTokenizer;
  let trainTokens: Int32Array;
  let validationTokens: Int32Array;
  if (existsSync(tokenizerPath) && existsSync(tokensPath)) {
    tokenizer = mp.data.BytePairTokenizer.fromJSON(JSON.parse(readFileSync(tokenizerPath, 'utf8')));
    const saved = mp.load(tokensPath);
    trainTokens = saved.train.dataSync() as Int32Array;
    validationTokens = saved.validation.dataSync() as Int32Array;
    mp.dispose(Object.values(saved));
    log(`gpt: loaded the ${tokenizer.vocabSize}-token tokenizer and the tokens from ${dir}`);
  } else {
    let start = performance.now();
    tokenizer = mp.data.BytePairTokenizer.train(trainText, { vocabSize });
    log(`gpt: trained a ${tokenizer.vocabSize}-token byte-pair tokenizer on ${trainText.length} characters in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    start = performance.now();
    trainTokens = tokenizer.encode(trainText);
    validationTokens = tokenizer.encode(validationText);
    log(`gpt: encoded ${trainTokens.length + validationTokens.length} tokens in ${((performance.now() - start) / 1000).toFixed(1)} s; cached in ${dir}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(tokenizerPath, JSON.stringify(tokenizer.toJSON()));
    const tensors = { train: mp.tensor(trainTokens), validation: mp.tensor(validationTokens) };
    mp.save(tensors, tokensPath);
    mp.dispose(Object.values(tensors));
  }

  return {
    tokenizer,
    trainTokens,
    validationTokens,
    trainBatches(seed, batchSize, blockSize) {
      const windows = new mp.data.TokenDataset(trainTokens, { blockSize, seed });
      return { next: () => windows.batch(batchSize) };
    },
    validationBatches(count, batchSize, blockSize) {
      const windows = new mp.data.TokenDataset(validationTokens, { blockSize, seed: validationSeed });
      return Array.from(windows.batches(count, batchSize));
    },
  };
}
