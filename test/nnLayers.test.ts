// Forward passes of the nn layers built on nn.functional (conv, norms, embedding, dropout,
// activations, flatten, pooling), against PyTorch's semantics computed in plain JS on small inputs.
import * as mp from '../lib';

const { nn } = mp;

afterEach(() => expect(mp.memory().numTensors).toBe(0));

const values = (t: mp.Tensor): number[] => Array.from(t.dataSync());

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; ++i) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i])));
}

/** Row-major index into a 4-d array of shape [, b, c, d]. */
const at4 = (b: number, c: number, d: number) => (i: number, j: number, k: number, l: number) => ((i * b + j) * c + k) * d + l;

test('Conv2d: stride, padding, dilation, groups and bias', () => {
  mp.manualSeed(10);
  const [n, c, h, w] = [2, 4, 7, 6];
  const conv = new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 });
  mp.tidy(() => {
    const x = mp.randn([n, c, h, w]);
    const xs = x.dataSync();
    const ws = conv.weight.dataSync();
    const bs = conv.bias!.dataSync();
    const [kh, kw] = [3, 2];
    const oh = Math.floor((h + 2 * 1 - 1 * (kh - 1) - 1) / 2) + 1;
    const ow = Math.floor((w + 2 * 2 - 2 * (kw - 1) - 1) / 1) + 1;
    const cg = c / 2;
    const og = 6 / 2;
    const xi = at4(c, h, w);
    const wi = at4(cg, kh, kw);
    const want: number[] = [];
    for (let b = 0; b < n; ++b) {
      for (let o = 0; o < 6; ++o) {
        const g = Math.floor(o / og);
        for (let y = 0; y < oh; ++y) {
          for (let z = 0; z < ow; ++z) {
            let s = bs[o];
            for (let ci = 0; ci < cg; ++ci) {
              for (let p = 0; p < kh; ++p) {
                for (let q = 0; q < kw; ++q) {
                  const iy = y * 2 - 1 + p * 1;
                  const iz = z * 1 - 2 + q * 2;
                  if (iy < 0 || iy >= h || iz < 0 || iz >= w) continue;
                  s += xs[xi(b, g * cg + ci, iy, iz)] * ws[wi(o, ci, p, q)];
                }
              }
            }
            want.push(s);
          }
        }
      }
    }
    const y = conv.forward(x);
    expect(y.shape).toEqual([n, 6, oh, ow]);
    expectClose(y.dataSync(), want, 1e-5);
  });
  conv.dispose();
});

/** Per-channel mean and biased/unbiased variance of [N, C, L] data. */
function channelStats(xs: ArrayLike<number>, n: number, c: number, l: number): { mean: number[]; biased: number[]; unbiased: number[] } {
  const mean: number[] = [];
  const biased: number[] = [];
  const unbiased: number[] = [];
  for (let ch = 0; ch < c; ++ch) {
    const v: number[] = [];
    for (let b = 0; b < n; ++b) for (let i = 0; i < l; ++i) v.push(xs[(b * c + ch) * l + i]);
    const m = v.reduce((a, x) => a + x, 0) / v.length;
    const ss = v.reduce((a, x) => a + (x - m) ** 2, 0);
    mean.push(m);
    biased.push(ss / v.length);
    unbiased.push(ss / (v.length - 1));
  }
  return { mean, biased, unbiased };
}

test('BatchNorm2d: batch statistics and running averages in training, running statistics in eval', () => {
  mp.manualSeed(11);
  const [n, c, h, w] = [3, 2, 2, 3];
  const bn = new nn.BatchNorm2d(c, { momentum: 0.3, eps: 1e-3 });
  nn.init.uniform_(bn.weight!, 0.5, 2);
  nn.init.uniform_(bn.bias!, -1, 1);
  mp.tidy(() => {
    const x = mp.randn([n, c, h, w]).mul(2).add(1);
    const xs = x.dataSync();
    const s = channelStats(xs, n, c, h * w);
    const g = bn.weight!.dataSync();
    const b = bn.bias!.dataSync();
    const norm = (mean: number[], variance: number[]) => Array.from(xs, (v, i) => {
      const ch = Math.floor(i / (h * w)) % c;
      return ((v - mean[ch]) / Math.sqrt(variance[ch] + 1e-3)) * g[ch] + b[ch];
    });
    expectClose(bn.forward(x).dataSync(), norm(s.mean, s.biased), 1e-4);
    expect(bn.numBatchesTracked!.item()).toBe(1);
    const rm = s.mean.map((m) => 0.3 * m);
    const rv = s.unbiased.map((v) => 0.7 + 0.3 * v);
    expectClose(bn.runningMean!.dataSync(), rm, 1e-5);
    expectClose(bn.runningVar!.dataSync(), rv, 1e-5);
    bn.eval();
    expectClose(bn.forward(x).dataSync(), norm(rm, rv), 1e-4);
    expect(bn.numBatchesTracked!.item()).toBe(1);
  });
  bn.dispose();
});

test('BatchNorm1d: momentum null is a cumulative average; without running stats eval uses the batch', () => {
  const bn = new nn.BatchNorm1d(2, { momentum: null, affine: false });
  mp.tidy(() => {
    const a = mp.tensor([[1, 10], [3, 20]]);
    const b = mp.tensor([[5, 0], [9, 2]]);
    bn.forward(a);
    bn.forward(b);
    expect(bn.numBatchesTracked!.item()).toBe(2);
    // Mean of the two batch means, and of the two unbiased variances.
    expectClose(bn.runningMean!.dataSync(), [(2 + 7) / 2, (15 + 1) / 2]);
    expectClose(bn.runningVar!.dataSync(), [(2 + 8) / 2, (50 + 2) / 2]);
    expect(() => bn.forward(mp.zeros([2, 2, 2, 2]))).toThrow('BatchNorm1d: expected a 2-d or 3-d input, got shape [2, 2, 2, 2]');
  });
  const free = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false }).eval();
  mp.tidy(() => {
    const y = free.forward(mp.tensor([[1, 10], [3, 20]]));
    // Channel 0: mean 2, biased variance 1; channel 1: mean 15, biased variance 25.
    expectClose(y.dataSync(), [-1 / Math.sqrt(1 + 1e-5), -5 / Math.sqrt(25 + 1e-5), 1 / Math.sqrt(1 + 1e-5), 5 / Math.sqrt(25 + 1e-5)], 1e-5);
  });
  bn.dispose();
  free.dispose();
});

test('LayerNorm and GroupNorm normalize the right elements', () => {
  mp.manualSeed(12);
  const ln = new nn.LayerNorm([2, 3]);
  const gn = new nn.GroupNorm(2, 4, { eps: 1e-4 });
  nn.init.normal_(ln.weight!);
  nn.init.normal_(ln.bias!);
  nn.init.normal_(gn.weight!);
  nn.init.normal_(gn.bias!);
  /** Normalizes consecutive blocks of `size` elements; `scale(i)`/`shift(i)` per element. */
  const blocks = (xs: ArrayLike<number>, size: number, eps: number, scale: (i: number) => number, shift: (i: number) => number) =>
    Array.from(xs, (v, i) => {
      const start = i - (i % size);
      const block = Array.from(xs).slice(start, start + size);
      const m = block.reduce((a, x) => a + x, 0) / size;
      const variance = block.reduce((a, x) => a + (x - m) ** 2, 0) / size;
      return ((v - m) / Math.sqrt(variance + eps)) * scale(i) + shift(i);
    });
  mp.tidy(() => {
    const x = mp.randn([4, 2, 3]);
    const lw = ln.weight!.dataSync();
    const lb = ln.bias!.dataSync();
    expectClose(ln.forward(x).dataSync(), blocks(x.dataSync(), 6, 1e-5, (i) => lw[i % 6], (i) => lb[i % 6]), 1e-4);
    const y = mp.randn([3, 4, 5]);
    const gw = gn.weight!.dataSync();
    const gb = gn.bias!.dataSync();
    const channel = (i: number) => Math.floor(i / 5) % 4;
    expectClose(gn.forward(y).dataSync(), blocks(y.dataSync(), 10, 1e-4, (i) => gw[channel(i)], (i) => gb[channel(i)]), 1e-4);
  });
  ln.dispose();
  gn.dispose();
});

test('Embedding looks up rows; the padding row is zero', () => {
  const emb = new nn.Embedding(5, 3, { paddingIdx: 0 });
  mp.tidy(() => {
    const w = emb.weight.dataSync();
    const idx = mp.tensor([[4, 0], [2, 4]], { dtype: 'int32' });
    const y = emb.forward(idx);
    expect(y.shape).toEqual([2, 2, 3]);
    const want = [4, 0, 2, 4].flatMap((r) => Array.from(w.subarray(r * 3, r * 3 + 3)));
    expect(values(y)).toEqual(want);
    expect(values(y).slice(3, 6)).toEqual([0, 0, 0]);
  });
  emb.dispose();
});

test('Dropout: identity in eval; in training zeros about p and scales the rest by 1/(1-p)', () => {
  mp.manualSeed(13);
  const drop = new nn.Dropout(0.25);
  mp.tidy(() => {
    const x = mp.full([1 << 16], 3);
    const y = values(drop.forward(x));
    const zeros = y.filter((v) => v === 0).length;
    expect(Math.abs(zeros / y.length - 0.25)).toBeLessThan(5 * Math.sqrt(0.25 * 0.75 / y.length));
    expect(y.every((v) => v === 0 || Math.abs(v - 4) < 1e-6)).toBe(true);
    drop.eval();
    expect(values(drop.forward(x))).toEqual(values(x));
  });
});

test('activations, Softmax and Flatten', () => {
  const input = [-3, -0.5, 0, 0.7, 2.5, 6];
  const phi = (v: number) => 0.5 * (1 + erf(v / Math.SQRT2));
  mp.tidy(() => {
    const x = mp.tensor(input);
    expectClose(new nn.GELU().forward(x).dataSync(), input.map((v) => v * phi(v)), 1e-5);
    expectClose(new nn.GELU({ approximate: 'tanh' }).forward(x).dataSync(),
      input.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))), 1e-5);
    expectClose(new nn.SiLU().forward(x).dataSync(), input.map((v) => v / (1 + Math.exp(-v))), 1e-6);
    const m = x.reshape([2, 3]);
    const sm = new nn.Softmax(1).forward(m).dataSync();
    const rows = [input.slice(0, 3), input.slice(3)].flatMap((r) => {
      const e = r.map((v) => Math.exp(v));
      const total = e.reduce((a, v) => a + v, 0);
      return e.map((v) => v / total);
    });
    expectClose(sm, rows, 1e-6);
    const f = new nn.Flatten().forward(mp.arange(24).reshape([2, 3, 4]));
    expect(f.shape).toEqual([2, 12]);
    expect(values(f)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(new nn.Flatten(0, 1).forward(mp.zeros([2, 3, 4])).shape).toEqual([6, 4]);
  });
});

/** erf by its Taylor series, accurate to double rounding for the |x| < 5 used here. */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; ++n) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Pools a [C, H, W] input with window `k`, stride `s`, padding `p`, reducing each window's taken values. */
function pool(xs: ArrayLike<number>, [c, h, w]: number[], k: number, s: number, p: number, reduce: (taken: number[], window: number) => number, dil = 1): number[] {
  const oh = Math.floor((h + 2 * p - dil * (k - 1) - 1) / s) + 1;
  const ow = Math.floor((w + 2 * p - dil * (k - 1) - 1) / s) + 1;
  const out: number[] = [];
  for (let ch = 0; ch < c; ++ch) {
    for (let y = 0; y < oh; ++y) {
      for (let z = 0; z < ow; ++z) {
        const taken: number[] = [];
        for (let a = 0; a < k; ++a) {
          for (let b = 0; b < k; ++b) {
            const iy = y * s - p + a * dil;
            const iz = z * s - p + b * dil;
            if (iy >= 0 && iy < h && iz >= 0 && iz < w) taken.push(xs[(ch * h + iy) * w + iz]);
          }
        }
        out.push(reduce(taken, k * k));
      }
    }
  }
  return out;
}

test('MaxPool2d and AvgPool2d with padding and stride', () => {
  mp.manualSeed(14);
  mp.tidy(() => {
    const x = mp.randn([1, 2, 5, 6]);
    const xs = x.dataSync();
    const max = new nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(x);
    expect(max.shape).toEqual([1, 2, 3, 3]);
    expectClose(max.dataSync(), pool(xs, [2, 5, 6], 3, 2, 1, (t) => Math.max(...t)), 0);
    const dilated = new nn.MaxPool2d(2, { stride: 1, dilation: 2 }).forward(x);
    expectClose(dilated.dataSync(), pool(xs, [2, 5, 6], 2, 1, 0, (t) => Math.max(...t), 2), 0);
    const sum = (t: number[]) => t.reduce((a, v) => a + v, 0);
    const avg = new nn.AvgPool2d(2, { padding: 1 }).forward(x);
    expectClose(avg.dataSync(), pool(xs, [2, 5, 6], 2, 2, 1, (t, window) => sum(t) / window), 1e-6);
    const avgExcl = new nn.AvgPool2d(2, { padding: 1, countIncludePad: false }).forward(x);
    expectClose(avgExcl.dataSync(), pool(xs, [2, 5, 6], 2, 2, 1, (t) => sum(t) / t.length), 1e-6);
  });
});

test('AdaptiveAvgPool2d: windows [floor(i L / n), ceil((i + 1) L / n))', () => {
  mp.tidy(() => {
    const x = mp.arange(2 * 5 * 7).reshape([1, 2, 5, 7]).float();
    const xs = x.dataSync();
    const [oh, ow] = [3, 4];
    const want: number[] = [];
    for (let ch = 0; ch < 2; ++ch) {
      for (let i = 0; i < oh; ++i) {
        for (let j = 0; j < ow; ++j) {
          const [y0, y1] = [Math.floor((i * 5) / oh), Math.ceil(((i + 1) * 5) / oh)];
          const [z0, z1] = [Math.floor((j * 7) / ow), Math.ceil(((j + 1) * 7) / ow)];
          let s = 0;
          for (let y = y0; y < y1; ++y) for (let z = z0; z < z1; ++z) s += xs[(ch * 5 + y) * 7 + z];
          want.push(s / ((y1 - y0) * (z1 - z0)));
        }
      }
    }
    expectClose(new nn.AdaptiveAvgPool2d([oh, ow]).forward(x).dataSync(), want, 1e-6);
    const keepRows = new nn.AdaptiveAvgPool2d([null, 1]).forward(x);
    expect(keepRows.shape).toEqual([1, 2, 5, 1]);
    expect(new nn.AdaptiveAvgPool2d(1).forward(x).shape).toEqual([1, 2, 1, 1]);
  });
});

test('a small CNN in a Sequential runs end to end', () => {
  mp.manualSeed(15);
  const net = new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Dropout(0.1), new nn.Linear(4 * 4 * 4, 10), new nn.Softmax(-1),
  );
  mp.tidy(() => {
    const y = net.forward(mp.randn([2, 1, 8, 8]));
    expect(y.shape).toEqual([2, 10]);
    const sums = values(y.sum({ dim: 1 }));
    expectClose(sums, [1, 1], 1e-5);
    net.eval();
    expect(net.forward(mp.randn([1, 1, 8, 8])).shape).toEqual([1, 10]);
  });
  net.dispose();
});
