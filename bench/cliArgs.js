// The command-line flags the benchmarks share: `--json [FILE]`, bare flags (`--quick`) and `--name value` options.
'use strict';
const fs = require('node:fs');

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
/** The FILE of `--json FILE` (a next argument that is not a flag), else undefined. */
const jsonFile = jsonAt >= 0 && args[jsonAt + 1] !== undefined && !args[jsonAt + 1].startsWith('--') ? args[jsonAt + 1] : undefined;

module.exports = {
  /**
   * True when `--json` was given without a file: print JSON on stdout instead of the tables.
   * (`npm run bench -- --json` puts npm's banner on stdout first: use `npm run -s` to pipe it,
   * or `--json FILE`.)
   */
  json: jsonAt >= 0 && jsonFile === undefined,
  /** With `--json FILE` the tables print as usual and the JSON goes to FILE. */
  jsonFile,
  /** Writes `value` as JSON where `--json [FILE]` asked (stdout or FILE); nothing without `--json`. */
  printJson(value, indent = 2) {
    if (jsonAt < 0) return;
    const text = JSON.stringify(value, null, indent);
    if (jsonFile === undefined) {
      console.log(text);
      return;
    }
    fs.writeFileSync(jsonFile, text + '\n');
    process.stderr.write(`JSON written to ${jsonFile}\n`);
  },
  /** True when the bare flag `name` (e.g. `--quick`) was given. */
  flag(name) {
    return args.includes(name);
  },
  /** The number after `name` (e.g. `--repeats 15`), or `fallback`. */
  numberOption(name, fallback) {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  },
  /** The string after `name`, or `fallback`. */
  stringOption(name, fallback) {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  },
};
