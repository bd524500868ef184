// A jest reporter beside the default one (jest.config.js), for the two things the default one
// does not say:
// - progress in long test files: once a file has run 20 s (MIXPREC_TEST_PROGRESS_AFTER_S), a test
//   that finishes gets one line on stderr (file, time so far, tests done, the test), at most one
//   line per 10 s, so a suite like casts.exhaustive.test.ts (minutes of 2^32-pattern checks) shows
//   it is alive in CI logs, where the default reporter prints nothing until the file ends. Tests
//   run in this process (maxWorkers 1), so a line can only come between two tests;
// - why tests were skipped: the run's skipped tests grouped by the reason their title carries
//   (`[skipped: reason]`, from test/helpers/skipReason.ts), then by file and describe block.
'use strict';
const path = require('node:path');

// MIXPREC_TEST_PROGRESS_AFTER_S changes the 20 s (0: from the first test on).
const PROGRESS_AFTER_MS = 1000 * Number(process.env.MIXPREC_TEST_PROGRESS_AFTER_S ?? 20);
const PROGRESS_EVERY_MS = 10_000;
const marker = /\s*\[skipped: ([^\]]+)\]/;

const seconds = (ms) => (ms < 60_000 ? `${(ms / 1000).toFixed(0)} s` : `${Math.floor(ms / 60_000)} min ${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')} s`);

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.files = new Map();
  }

  relative(file) {
    return path.relative(this.rootDir, file);
  }

  onTestFileStart(test) {
    this.files.set(test.path, { startedAt: Date.now(), printedAt: 0, done: 0 });
  }

  onTestCaseResult(test, result) {
    const file = this.files.get(test.path);
    if (!file) return;
    file.done += 1;
    const now = Date.now();
    const elapsed = now - file.startedAt;
    // At most one line per PROGRESS_EVERY_MS, so a file of many quick tests does not flood the log.
    if (elapsed < PROGRESS_AFTER_MS || now - file.printedAt < PROGRESS_EVERY_MS) return;
    file.printedAt = now;
    const took = result.duration == null ? '' : ` (${seconds(result.duration)})`;
    process.stderr.write(`  … ${this.relative(test.path)}, ${seconds(elapsed)} in, ${file.done} test${file.done === 1 ? '' : 's'} done: ${result.status} ${result.fullName}${took}\n`);
  }

  onTestFileResult(test) {
    this.files.delete(test.path);
  }

  onRunComplete(_contexts, results) {
    // reason -> group ("file › describe") -> count
    const byReason = new Map();
    let total = 0;
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        if (t.status !== 'pending' && t.status !== 'skipped' && t.status !== 'todo') continue;
        total += 1;
        const titles = [...t.ancestorTitles, t.title];
        const found = titles.map((s) => marker.exec(s)).find((m) => m);
        const reason = t.status === 'todo' ? 'todo' : found ? found[1] : 'no reason in its title (see test/helpers/skipReason.ts)';
        const group = [this.relative(file.testFilePath), ...t.ancestorTitles.map((s) => s.replace(marker, ''))].join(' › ');
        if (!byReason.has(reason)) byReason.set(reason, new Map());
        const groups = byReason.get(reason);
        groups.set(group, (groups.get(group) ?? 0) + 1);
      }
    }
    if (total === 0) return;
    const lines = [`\nskipped: ${total} test${total === 1 ? '' : 's'}`];
    for (const [reason, groups] of byReason) {
      const n = [...groups.values()].reduce((a, b) => a + b, 0);
      lines.push(`  ${n} (${reason}):`);
      for (const [group, count] of groups) lines.push(`    ${String(count).padStart(4)}  ${group}`);
    }
    process.stderr.write(lines.join('\n') + '\n');
  }
}

module.exports = SummaryReporter;
