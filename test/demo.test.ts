// The demo's words about the machine (examples/demo/verdict.ts), its report's loss-scale note and
// narrow-window layout (report.ts), and its `--json [FILE]` flag (args.ts), on hand-made results
// whose numbers are known. Under a second: nothing trains.
import { parseArgs } from '../examples/demo/args';
import { renderReport, type ReportMeta } from '../examples/demo/report';
import { compare, MB } from '../examples/demo/table';
import type { RunResult } from '../examples/demo/train';
import { speedNotes } from '../examples/demo/verdict';
import { compareGpt, formatGptTable } from '../examples/gpt/results';
import type { TrainResult } from '../examples/gpt/train';

/** A finished run with the given seconds per epoch and peak training bytes above a 30 MB baseline. */
function run(variant: RunResult['variant'], secondsPerEpoch: number, trainingMB: number, scales: number[] = []): RunResult {
  return {
    seed: 0,
    variant,
    epochs: [{ epoch: 1, loss: 0.5, accuracy: 0.9, seconds: secondsPerEpoch }],
    finalAccuracy: 0.9,
    secondsPerEpoch,
    peakBytes: (30 + trainingMB) * MB,
    baselineBytes: 30 * MB,
    steps: 63,
    skippedSteps: variant === 'float16' ? 0 : null,
    finalScale: variant === 'float16' ? 65536 : null,
    growthInterval: variant === 'float16' ? 2000 : null,
    lossCurve: [{ step: 10, loss: 0.9 }, { step: 63, loss: 0.5 }],
    scaleCurve: scales.map((scale, i) => ({ step: i * 10, scale })),
  };
}

const meta = (notes: string[]): ReportMeta => ({
  model: 'mlp', device: 'cpu', epochs: 1, seeds: [0], variants: ['float32', 'bfloat16', 'float16'], batchSize: 128, lr: 1e-3,
  lossEvery: 10, trainDigits: 7996, testDigits: 2004, date: '2026-12-07T00:00:00Z', backend: 'backend: training on cpu; CPU SIMD path f16c, 2 threads', notes,
});

describe('verdict: why AMP is slower here, and the memory it saved', () => {
  const results = [run('float32', 1.0, 20), run('bfloat16', 1.25, 15), run('float16', 2.0, 15, [65536, 65536])];
  const rows = compare(results);

  test('on an AVX2-only CPU (f16c) it names the missing dot-product instructions, the speed-ups and the memory', () => {
    const [why, memory] = speedNotes(rows, results, 'cpu', 'f16c');
    expect(why).toContain('AMP bfloat16 (0.80x the float32 speed); AMP float16 (0.50x the float32 speed)');
    expect(why).toContain('no 16-bit dot-product instructions (SIMD path f16c');
    expect(why).toContain('emulated');
    // 15 MB against 20 MB above the baseline: 25% less.
    expect(memory).toContain('20.0 MB in float32, AMP bfloat16 15.0 MB (−25%), AMP float16 15.0 MB (−25%)');
  });

  test('on an AVX-512-BF16 CPU it blames the model size, not the instructions', () => {
    const [why] = speedNotes(rows, results, 'cpu', 'avx512bf16');
    expect(why).toContain('VDPBF16PS');
    expect(why).toContain('this model is small');
    expect(why).not.toContain('no 16-bit dot-product instructions (SIMD');
  });

  test('says nothing when every AMP variant is at least as fast, and reports growth in memory as growth', () => {
    const fast = [run('float32', 1.0, 20), run('bfloat16', 0.5, 22)];
    expect(speedNotes(compare(fast), fast, 'cpu', 'f16c')).toEqual([]);
    const slow = [run('float32', 1.0, 20), run('bfloat16', 2.0, 22)];
    expect(speedNotes(compare(slow), slow, 'cpu', 'f16c')[1]).toContain('AMP bfloat16 22.0 MB (+10%)');
  });
});

describe('report', () => {
  test('shows the backend and the notes, explains a flat loss-scale line, and reflows on a narrow window', () => {
    const results = [run('float32', 1.0, 20), run('float16', 2.0, 15, [65536, 65536, 65536])];
    const html = renderReport(meta(['Slower than float32 on this machine: x.']), results, compare(results));
    expect(html).toContain('<p class="backend">backend: training on cpu; CPU SIMD path f16c, 2 threads</p>');
    expect(html).toContain('<p class="verdict">Slower than float32 on this machine: x.</p>');
    expect(html).toContain('The line is flat for seed 0 (at 65536): the scale doubles only after growthInterval = 2000 consecutive steps without an inf/NaN gradient, and the run took 63 steps, fewer than 2000; it halves only on a step whose gradients overflow, and none did.');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
    expect(html).toMatch(/<div class="table-wrap">\s*<table>/);
    expect(html).toMatch(/\.table-wrap \{[^}]*overflow-x: auto/);
    expect(html).toMatch(/svg \{[^}]*max-width: 100%; height: auto;/);
  });

  test('a loss scale that moved gets no flat-line note', () => {
    const results = [run('float16', 2.0, 15, [65536, 32768])];
    expect(renderReport(meta([]), results, compare(results))).not.toContain('The line is flat');
  });
});

test('--json prints JSON, --json FILE writes it and keeps the table, and --json= needs a path', () => {
  expect([parseArgs(['--json']).json, parseArgs(['--json']).jsonFile]).toEqual([true, undefined]);
  expect([parseArgs(['--json', 'out.json', '--epochs', '1']).json, parseArgs(['--json', 'out.json']).jsonFile]).toEqual([false, 'out.json']);
  expect(parseArgs(['--json=out.json']).jsonFile).toBe('out.json');
  expect(parseArgs(['--json', '--epochs', '2'])).toMatchObject({ json: true, jsonFile: undefined, epochs: 2 });
  expect(() => parseArgs(['--json='])).toThrow('--json FILE needs a file path');
});

test('--model gpt takes --preset and --init-scale, refuses --epochs, and the MNIST models refuse the GPT flags', () => {
  expect(parseArgs(['--model', 'gpt'])).toMatchObject({ model: 'gpt', preset: 'small', initScale: undefined });
  expect(parseArgs(['--model', 'gpt', '--preset', 'tiny', '--init-scale', '16777216'])).toMatchObject({ preset: 'tiny', initScale: 2 ** 24 });
  expect(() => parseArgs(['--model', 'gpt', '--epochs', '2'])).toThrow('--epochs does not apply to --model gpt');
  expect(() => parseArgs(['--preset', 'tiny'])).toThrow('--preset and --init-scale apply to --model gpt only');
  expect(() => parseArgs(['--model', 'gpt', '--preset', 'huge'])).toThrow("--preset needs one of tiny, small, medium, got 'huge'");
  expect(() => parseArgs(['--model', 'gpt', '--init-scale', '-1'])).toThrow("--init-scale needs a positive number, got '-1'");
});

describe('GPT demo table', () => {
  const result = (variant: TrainResult['variant'], finalValLoss: number, tokensPerSecond: number): TrainResult => ({
    variant, seed: 0, valCurve: [{ step: 0, loss: 8.3 }, { step: 150, loss: finalValLoss }], lossCurve: [], scaleCurve: [],
    finalValLoss, bestValLoss: finalValLoss, tokensPerSecond, peakBytes: 100 * MB, baselineBytes: 0,
    skippedSteps: variant === 'float16' ? 2 : null, finalScale: variant === 'float16' ? 32768 : null, model: undefined as never,
  });

  test('perplexity, Δ in percent and speed-up are against the float32 run of the seed', () => {
    const rows = compareGpt([result('float32', 5, 1000), result('bfloat16', 5.05, 800), result('float16', 4.95, 500)]);
    expect(rows.map((r) => [r.variant, r.perplexity, r.deltaPercent, r.speedup])).toEqual([
      ['float32', Math.exp(5), null, 1],
      ['bfloat16', Math.exp(5.05), expect.closeTo(1, 12), 0.8],
      ['float16', Math.exp(4.95), expect.closeTo(-1, 12), 0.5],
    ]);
    const table = formatGptTable(rows).split('\n');
    expect(table[0]).toMatch(/^seed\s+variant\s+val loss\s+perplexity\s+Δ vs fp32\s+tokens\/s\s+speed-up\s+peak MB\s+skipped\s+final scale$/);
    expect(table[3]).toMatch(/bfloat16\s+5\.0500\s+156\.0\s+\+1\.00%\s+800\s+0\.80x\s+100\.0\s+-\s+-$/);
    expect(table[4]).toMatch(/float16\s+4\.9500\s+141\.2\s+-1\.00%\s+500\s+0\.50x\s+100\.0\s+2\s+32768$/);
  });
});
