import * as mp from '../lib';

const F = mp.nn.functional;
const f64 = (data: number[] | number[][]): mp.Tensor => mp.tensor(data, { dtype: 'float64' });
const int = (data: number[]): mp.Tensor => mp.tensor(data, { dtype: 'int32' });
const num = (t: mp.Tensor): number => Number(t.item());

const logits = [[1.0, -0.5, 2.0], [0.3, 0.8, -1.2], [-2.0, 0.1, 0.4], [0.0, 0.0, 0.0]];
const labels = [2, 0, 1, -100];

function logSoftmaxRow(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
}

/** PyTorch's cross-entropy formula in float64 JS. */
function crossEntropyReference(weight: number[] | undefined, ignoreIndex: number, smoothing: number, reduction: 'mean' | 'sum' | 'none'): number | number[] {
  const per: number[] = [];
  let totalWeight = 0;
  let nllSum = 0;
  let smoothSum = 0;
  logits.forEach((row, i) => {
    const y = labels[i];
    const logp = logSoftmaxRow(row);
    if (y === ignoreIndex) {
      per.push(0);
      return;
    }
    const w = weight ? weight[y] : 1;
    const nll = -logp[y] * w;
    const smooth = -logp.reduce((s, v, c) => s + v * (weight ? weight[c] : 1), 0);
    totalWeight += w;
    nllSum += nll;
    smoothSum += smooth;
    per.push((1 - smoothing) * nll + (smoothing / row.length) * smooth);
  });
  if (reduction === 'none') return per;
  if (reduction === 'sum') return (1 - smoothing) * nllSum + (smoothing / 3) * smoothSum;
  return ((1 - smoothing) * nllSum + (smoothing / 3) * smoothSum) / totalWeight;
}

describe('losses against float64 references', () => {
  test.each([
    [undefined, 0, 'mean'],
    [undefined, 0.1, 'mean'],
    [[0.2, 1.0, 3.0], 0, 'mean'],
    [[0.2, 1.0, 3.0], 0.25, 'sum'],
    [undefined, 0.1, 'none'],
  ] as const)('crossEntropy weight=%p smoothing=%p reduction=%p', (weight, smoothing, reduction) => {
    const out = F.crossEntropy(f64(logits), int(labels), { weight: weight ? f64([...weight]) : undefined, labelSmoothing: smoothing, reduction });
    const expected = crossEntropyReference(weight ? [...weight] : undefined, -100, smoothing, reduction);
    if (Array.isArray(expected)) {
      Array.from(out.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    } else {
      expect(num(out)).toBeCloseTo(expected, 12);
    }
  });

  test('crossEntropy over [N, C, d] inputs equals the flattened computation', () => {
    mp.manualSeed(3);
    const x = mp.randn([2, 3, 4], { dtype: 'float64' });
    const y = mp.randint(0, 3, [2, 4]);
    const flat = F.crossEntropy(x.permute([0, 2, 1]).reshape([8, 3]), y.reshape([8]));
    expect(num(F.crossEntropy(x, y))).toBeCloseTo(num(flat), 12);
  });

  test('nllLoss picks -logp[target], ignoring ignoreIndex in the mean', () => {
    const logp = f64([[-0.1, -2.3], [-1.2, -0.4], [-0.7, -0.7]]);
    expect(num(F.nllLoss(logp, int([0, 1, 1]), { ignoreIndex: 1 }))).toBeCloseTo(0.1, 12);
    expect(num(F.nllLoss(logp, int([0, 1, 1]), { reduction: 'sum' }))).toBeCloseTo(0.1 + 0.4 + 0.7, 12);
  });

  test('regression losses', () => {
    const a = f64([0.5, -1.0, 3.0]);
    const b = f64([1.0, 1.0, 0.5]);
    expect(num(F.mseLoss(a, b))).toBeCloseTo((0.25 + 4 + 6.25) / 3, 12);
    expect(num(F.l1Loss(a, b, { reduction: 'sum' }))).toBeCloseTo(0.5 + 2 + 2.5, 12);
    // beta 1: 0.5·0.25 for |d| = 0.5, |d| - 0.5 above
    expect(num(F.smoothL1Loss(a, b))).toBeCloseTo((0.125 + 1.5 + 2.0) / 3, 12);
    const expected = [0.5 * 0.25 / 3, 0.5 * 4 / 3, 0.5 * 6.25 / 3];
    Array.from(F.smoothL1Loss(a, b, { beta: 3, reduction: 'none' }).dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 14));
  });

  test('binary cross-entropy, on probabilities and on logits (with posWeight)', () => {
    const p = f64([0.2, 0.9, 0.5]);
    const y = f64([0, 1, 1]);
    const bce = -(Math.log(0.8) + Math.log(0.9) + Math.log(0.5)) / 3;
    expect(num(F.binaryCrossEntropy(p, y))).toBeCloseTo(bce, 12);
    expect(num(F.binaryCrossEntropy(f64([0, 1]), f64([1, 0]), { reduction: 'sum' }))).toBe(200); // logs clamp at -100
    const x = f64([-1.5, 30, 0.2]);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const pw = 2.5;
    const expected = [0, 1, 2].map((i) => {
      const xi = [-1.5, 30, 0.2][i];
      const yi = [0, 1, 1][i];
      return -(pw * yi * Math.log(sig(xi)) + (1 - yi) * Math.log(1 - sig(xi)));
    });
    const out = F.binaryCrossEntropyWithLogits(x, y, { posWeight: f64([pw]), reduction: 'none' });
    Array.from(out.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    // Large logits stay finite (no exp overflow).
    expect(num(F.binaryCrossEntropyWithLogits(f64([800, -800]), f64([0, 1]), { reduction: 'sum' }))).toBe(1600);
  });

  test('klDiv: zero targets contribute 0; batchmean, logTarget', () => {
    const logq = f64([[Math.log(0.5), Math.log(0.25), Math.log(0.25)], [Math.log(0.2), Math.log(0.3), Math.log(0.5)]]);
    const p = f64([[0.5, 0.5, 0], [0.1, 0.1, 0.8]]);
    const kl = (pi: number[], qi: number[]) => pi.reduce((s, v, i) => s + (v > 0 ? v * Math.log(v / qi[i]) : 0), 0);
    const total = kl([0.5, 0.5, 0], [0.5, 0.25, 0.25]) + kl([0.1, 0.1, 0.8], [0.2, 0.3, 0.5]);
    expect(num(F.klDiv(logq, p, { reduction: 'batchmean' }))).toBeCloseTo(total / 2, 12);
    expect(num(F.klDiv(logq, p, { reduction: 'sum' }))).toBeCloseTo(total, 12);
    expect(num(F.klDiv(logq, p))).toBeCloseTo(total / 6, 12);
    const logp = f64([[Math.log(0.5), Math.log(0.5), -30]]);
    expect(num(F.klDiv(logq.slice(0, 0, 1), logp, { logTarget: true, reduction: 'sum' }))).toBeCloseTo(kl([0.5, 0.5, Math.exp(-30)], [0.5, 0.25, 0.25]), 10);
  });
});

describe('nn ops', () => {
  test('conv2d equals a direct convolution loop (stride, padding, dilation, groups)', () => {
    mp.manualSeed(1);
    const x = mp.randn([2, 4, 6, 5], { dtype: 'float64' });
    const w = mp.randn([6, 2, 3, 2], { dtype: 'float64' });
    const b = mp.randn([6], { dtype: 'float64' });
    const out = F.conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 });
    const xs = x.dataSync();
    const ws = w.dataSync();
    const bs = b.dataSync();
    const [outH, outW] = [Math.floor((6 + 2 - 2 - 1) / 2) + 1, Math.floor((5 + 4 - 2 - 1) / 1) + 1];
    expect(out.shape).toEqual([2, 6, outH, outW]);
    const got = out.dataSync();
    for (let n = 0; n < 2; ++n) for (let o = 0; o < 6; ++o) for (let i = 0; i < outH; ++i) for (let j = 0; j < outW; ++j) {
      const g = Math.floor(o / 3);
      let s = bs[o];
      for (let c = 0; c < 2; ++c) for (let ki = 0; ki < 3; ++ki) for (let kj = 0; kj < 2; ++kj) {
        const r = i * 2 - 1 + ki;
        const q = j - 2 + kj * 2;
        if (r < 0 || r >= 6 || q < 0 || q >= 5) continue;
        s += xs[((n * 4 + g * 2 + c) * 6 + r) * 5 + q] * ws[((o * 2 + c) * 3 + ki) * 2 + kj];
      }
      expect(got[((n * 6 + o) * outH + i) * outW + j]).toBeCloseTo(s, 10);
    }
  });

  test('batchNorm updates running statistics with the unbiased variance', () => {
    const x = f64([[1, 10], [3, 20], [5, 60]]);
    const rm = mp.zeros([2], { dtype: 'float64' });
    const rv = mp.ones([2], { dtype: 'float64' });
    const y = F.batchNorm(x, rm, rv, undefined, undefined, { training: true, momentum: 0.5 });
    expect(Array.from(rm.dataSync())).toEqual([1.5, 15]);
    expect(rv.dataSync()[0]).toBeCloseTo(0.5 + 0.5 * 4, 12);
    expect(y.dataSync()[0]).toBeCloseTo((1 - 3) / Math.sqrt(8 / 3 + 1e-5), 10);
    const evalOut = F.batchNorm(x, rm, rv, undefined, undefined, { training: false });
    expect(evalOut.dataSync()[0]).toBeCloseTo((1 - 1.5) / Math.sqrt(2.5 + 1e-5), 10);
  });

  test('dropout: seeded masks, scaling, identity in eval', () => {
    const x = mp.ones([1000], { dtype: 'float64' });
    mp.manualSeed(7);
    const a = F.dropout(x, 0.3, true).dataSync();
    mp.manualSeed(7);
    const b = F.dropout(x, 0.3, true).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const kept = Array.from(a).filter((v) => v !== 0);
    kept.forEach((v) => expect(v).toBeCloseTo(1 / 0.7, 12));
    expect(kept.length).toBeGreaterThan(620);
    expect(kept.length).toBeLessThan(780);
    expect(Array.from(F.dropout(x, 0.3, false).dataSync()).every((v) => v === 1)).toBe(true);
  });

  test('embedding rows, and no gradient for the padding row', () => {
    const w = mp.tensor([[1, 2], [3, 4], [5, 6]], { dtype: 'float64', requiresGrad: true });
    const out = F.embedding(int([2, 0, 2]), w, { paddingIdx: 0 });
    expect(out.toArray()).toEqual([[5, 6], [1, 2], [5, 6]]);
    out.sum().backward();
    expect(w.grad!.toArray()).toEqual([[0, 0], [0, 0], [2, 2]]);
  });

  test('maxPool2d sends each window gradient to its first maximum (PyTorch), NaN wins', () => {
    const x = mp.tensor([[[[1, 3, 2, 2], [3, 0, 2, 1]]]], { dtype: 'float64', requiresGrad: true });
    const y = F.maxPool2d(x, 2);
    expect(y.toArray()).toEqual([[[[3, 2]]]]);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([[[[0, 1, 1, 0], [0, 0, 0, 0]]]]);
    const withNaN = F.maxPool2d(mp.tensor([[[[1, NaN], [5, 2]]]]), 2);
    expect(Number.isNaN(withNaN.item() as number)).toBe(true);
  });

  test('adaptiveAvgPool2d uses PyTorch windows (overlapping for non-divisible sizes)', () => {
    const x = mp.arange(5, { dtype: 'float64' }).reshape([1, 1, 1, 5]);
    const out = F.adaptiveAvgPool2d(x, [1, 3]);
    // windows [0,2), [1,4), [3,5)
    expect(Array.from(out.dataSync())).toEqual([0.5, 2, 3.5]);
  });
});

describe('bad input', () => {
  const expectError = (fn: () => unknown, code: string, message: RegExp) => {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    // MixprecError, MixprecTypeError and MixprecRangeError all carry a code.
    expect(caught).toBeInstanceOf(Error);
    expect((caught as mp.MixprecError).code).toBe(code);
    expect((caught as Error).message).toMatch(message);
  };

  test('losses: target dtype and shape', () => {
    const x = mp.randn([4, 3]);
    // A float target is taken as class probabilities (PyTorch's rule), so it needs the input's shape.
    expectError(() => F.crossEntropy(x, mp.tensor([0, 1, 2, 0])), 'ERR_SHAPE_MISMATCH', /crossEntropy: a float target holds class probabilities and must have the input's shape \[4, 3\].*got \[4\] \(class indices must be int32\)/);
    expectError(() => F.nllLoss(x, mp.tensor([0, 1, 2, 0])), 'ERR_INVALID_DTYPE', /nllLoss: target must hold class indices as int32, got float32/);
    expectError(() => F.crossEntropy(x, int([0, 1, 2])), 'ERR_SHAPE_MISMATCH', /crossEntropy: input \[4, 3\] .* needs a target of shape \[4\], got \[3\]/);
    expectError(() => F.crossEntropy(x, int([0, 1, 5, 0])), 'ERR_INDEX_OUT_OF_RANGE', /crossEntropy: argument 'target' holds a class index out of range for 3 classes .*5/);
    expectError(() => F.mseLoss(x, mp.zeros([4, 2])), 'ERR_SHAPE_MISMATCH', /mseLoss: target shape \[4, 2\] must match input shape \[4, 3\]/);
    expectError(() => F.mseLoss(x, x, { reduction: 'avg' as never }), 'ERR_INVALID_ARG', /options.reduction/);
    expectError(() => F.crossEntropy(x, int([0, 1, 2, 0]), { labelSmoothing: 2 }), 'ERR_INVALID_ARG', /labelSmoothing/);
  });

  test('conv2d, norms, embedding, matmul', () => {
    expectError(() => F.conv2d(mp.zeros([1, 3, 5, 5]), mp.zeros([4, 2, 3, 3])), 'ERR_SHAPE_MISMATCH', /conv2d: weight \[4, 2, 3, 3\] with groups=1 expects 2 input channels/);
    expectError(() => F.conv2d(mp.zeros([1, 2, 5, 5]), mp.zeros([4, 2, 3, 3], { dtype: 'float16' })), 'ERR_DTYPE_MISMATCH', /conv2d: input and weight must have the same dtype/);
    expectError(() => F.conv2d(mp.zeros([2, 5, 5]), mp.zeros([4, 2, 3, 3])), 'ERR_INVALID_SHAPE', /conv2d: argument 'input'/);
    expectError(() => F.conv2d(mp.zeros([1, 2, 2, 2]), mp.zeros([4, 2, 3, 3])), 'ERR_INVALID_SHAPE', /does not fit the spatial size \[2, 2\]/);
    expectError(() => F.layerNorm(mp.zeros([2, 3]), [4]), 'ERR_SHAPE_MISMATCH', /layerNorm: normalizedShape \[4\]/);
    expectError(() => F.batchNorm(mp.zeros([2, 3]), mp.zeros([2]), mp.ones([3])), 'ERR_SHAPE_MISMATCH', /batchNorm: runningMean must have shape \[3\]/);
    expectError(() => F.batchNorm(mp.zeros([1, 3]), undefined, undefined, undefined, undefined, { training: true }), 'ERR_INVALID_SHAPE', /more than 1 value per channel/);
    expectError(() => F.groupNorm(mp.zeros([2, 6, 4]), 4), 'ERR_INVALID_ARG', /groupNorm: argument 'numGroups'/);
    expectError(() => F.embedding(mp.tensor([0, 1]), mp.zeros([3, 2])), 'ERR_INVALID_DTYPE', /embedding: indices must be int32, got float32/);
    expectError(() => mp.matmul(mp.zeros([2, 3]), mp.zeros([4, 2])), 'ERR_SHAPE_MISMATCH', /matmul: cannot multiply \[2, 3\] by \[4, 2\]/);
    expectError(() => mp.linear(mp.zeros([2, 3]), mp.zeros([4, 3]), mp.zeros([3])), 'ERR_SHAPE_MISMATCH', /linear: bias must have shape \[4\], got \[3\]/);
    expectError(() => F.maxPool2d(mp.zeros([1, 1, 4, 4]), 2, { padding: 2 }), 'ERR_INVALID_ARG', /maxPool2d: argument 'options.padding'/);
    expectError(() => F.dropout(mp.zeros([2]), 1.5), 'ERR_INVALID_ARG', /dropout: argument 'p'/);
  });
});
