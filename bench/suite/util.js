// Timing, statistics and formatting shared by the bench/suite sections.
'use strict';

/** Milliseconds `fn` takes (one call). */
function timeMs(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The fastest of `repeats` calls of `fn` in milliseconds, after one untimed call. */
function bestMs(fn, repeats) {
  fn();
  let best = Infinity;
  for (let r = 0; r < repeats; ++r) best = Math.min(best, timeMs(fn));
  return best;
}

/** The q-quantile of `xs` (linear interpolation); median(xs) = quantile(xs, 0.5). */
function quantile(xs, q) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}

const median = (xs) => quantile(xs, 0.5);

const fixed = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

/** Prints rows (arrays of strings) as aligned columns; `right` holds the indices aligned right. */
function table(header, rows, right = []) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (right.includes(i) ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

module.exports = { timeMs, bestMs, median, quantile, fixed, mb, table };
