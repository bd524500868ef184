// The command-line flags the benchmarks share: `--json`, bare flags (`--quick`) and `--name value` options.
'use strict';

const args = process.argv.slice(2);

module.exports = {
  /** True when `--json` was given: print JSON instead of a table. */
  json: args.includes('--json'),
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
