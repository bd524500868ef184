// Float32 master weights (`masterWeights: true` on SGD/Adam/AdamW) and apex-style optimization
// levels (`mp.amp.prepare`): masters against float32 reference runs (bit for bit where the
// arithmetic is the same), updates below half an ulp of a 16-bit weight, composition with
// gradScale / foundInf, state dicts, and what prepare does to a model and its optimizer.
import * as mp from '../lib';
import { native } from './helpers/native';

const { nn } = mp;
const F = mp.nn.functional;

afterEach(() => expect(mp.memory().numTensors).toBe(0));

type Low = 'float16' | 'bfloat16';
type FloatDType = Low | 'float32' | 'float64';
const lows: Low[] = ['float16', 'bfloat16'];
type AnyOptimizer = mp.optim.Optimizer<{ lr: number }>;

/** Deterministic values in [-1, 1) (xorshift). */
function values(n: number, seed: number): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 31 - 1;
  });
}

/** `v` rounded to bfloat16 (then exactly representable in float16 and float32 too, for |v| in [2^-14, 2^15]). */
const toBf16 = (v: number[]): number[] => mp.tidy(() => Array.from(mp.tensor(v, { dtype: 'bfloat16' }).dataSync()));

/** A kept leaf parameter holding `v`. */
function leaf(v: number[], dtype: FloatDType, shape = [v.length]): mp.Tensor {
  const p = mp.keep(mp.tidy(() => mp.tensor(v, { dtype }).reshape(shape)));
  p.requiresGrad = true;
  return p;
}

function setGrad(p: mp.Tensor, v: number[]): void {
  p.grad?.dispose();
  p.grad = mp.tidy(() => mp.tensor(v, { dtype: p.dtype }).reshape(p.shape));
}

function release(params: mp.Tensor[], ...opts: AnyOptimizer[]): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = undefined;
    p.dispose();
  }
  for (const o of opts) o.dispose();
}

const bits = (t: mp.Tensor): number[] => Array.from(t.rawData());
const valuesOf = (t: mp.Tensor): number[] => mp.tidy(() => Array.from(t.double().dataSync()));
const masterOf = (opt: AnyOptimizer, p: mp.Tensor): mp.Tensor => {
  const m = opt.state.get(p)?.[mp.optim.MASTER_PARAM_KEY];
  if (m === undefined) throw new Error('no master copy');
  return m;
};
/** Every state tensor's bits, by parameter and key. */
const stateBits = (opt: AnyOptimizer) => [...opt.state.values()].map((s) => Object.fromEntries(Object.entries(s).map(([k, t]) => [k, bits(t)])));

describe('updates below half an ulp of the 16-bit weight', () => {
  // lr * |update| <= 1e-4 is below half an ulp of every weight in both 16-bit formats, on both
  // sides (no power of two, whose lower neighbour is closer; the smallest half-ulp here is
  // float16's at 0.375: 2^-13 ≈ 1.2e-4), so a 16-bit step rounds back to the weight; 100 of
  // them add up to more than half an ulp of each (the largest: bfloat16's at 3, 2^-7 ≈ 7.8e-3).
  const init = [1.5, 3, -0.75, 0.375];
  const grad = [1, -1, 0.5, 1];
  const steps = 100;
  const makers: [string, (p: mp.Tensor[], masterWeights: boolean) => AnyOptimizer][] = [
    ['SGD', (p, masterWeights) => new mp.optim.SGD(p, { lr: 1e-4, masterWeights })],
    ['Adam', (p, masterWeights) => new mp.optim.Adam(p, { lr: 1e-4, masterWeights })],
    ['AdamW', (p, masterWeights) => new mp.optim.AdamW(p, { lr: 1e-4, weightDecay: 0, masterWeights })],
  ];
  test.each(lows.flatMap((d) => makers.map(([name, make]) => [d, name, make] as const)))('%s %s', (dtype, _, make) => {
    const plain = leaf(init, dtype);
    const withMaster = leaf(init, dtype);
    const reference = leaf(init, 'float32');
    const opts = [make([plain], false), make([withMaster], true), make([reference], false)];
    try {
      for (let s = 0; s < steps; ++s) {
        for (const p of [plain, withMaster, reference]) setGrad(p, grad);
        opts.forEach((o) => o.step());
      }
      // Without masters the weights never move.
      expect(valuesOf(plain)).toEqual(init);
      // The master follows the float32 run bit for bit (same kernel, same float32 inputs) ...
      expect(bits(masterOf(opts[1], withMaster))).toEqual(bits(reference));
      // ... and the parameter is the master rounded, which has moved away from the start.
      expect(bits(withMaster)).toEqual(mp.tidy(() => bits(reference.to(dtype))));
      valuesOf(withMaster).forEach((v, i) => expect(v).not.toBe(init[i]));
      // The master's state is float32; the plain run's state is 16-bit.
      for (const t of Object.values(opts[1].state.get(withMaster) ?? {})) expect(t.dtype).toBe('float32');
      const plainState = Object.entries(opts[0].state.get(plain) ?? {}).filter(([k]) => k !== 'step');
      for (const [, t] of plainState) expect(t.dtype).toBe(dtype);
    } finally {
      release([plain, withMaster, reference], ...opts);
    }
  });
});

describe('a 16-bit model with masters tracks a float32 run', () => {
  const n = 32;
  const d = 4;
  const x = toBf16(values(n * d, 5));
  const wTrue = [0.5, -1.25, 2, 0.75];
  const y = Array.from({ length: n }, (_, i) => Math.fround(x.slice(i * d, i * d + d).reduce((s, v, k) => s + v * wTrue[k], 0.3)));
  const w0 = toBf16(values(d, 9).map((v) => v / 2));

  /** Trains Linear(4, 1) from w0 with SGD(lr 0.1) in `dtype`; the loss is computed in float32. */
  function train(dtype: FloatDType, masterWeights: boolean, steps: number) {
    const model = new nn.Linear(d, 1);
    mp.tidy(() => model.loadStateDict({ weight: mp.tensor([w0]), bias: mp.tensor([0]) }));
    model.to(dtype);
    const opt = new mp.optim.SGD(model.parameters(), { lr: 0.1, masterWeights });
    const input = mp.keep(mp.tidy(() => mp.tensor(x).reshape([n, d]).to(dtype)));
    const target = mp.keep(mp.tidy(() => mp.tensor(y).reshape([n, 1])));
    const losses: number[] = [];
    for (let s = 0; s < steps; ++s) {
      mp.tidy(() => {
        opt.zeroGrad();
        const loss = F.mseLoss(model.forward(input).float(), target);
        loss.backward();
        opt.step();
        losses.push(loss.item() as number);
      });
    }
    const weights = model.parameters().map((p) => valuesOf(masterWeights && dtype !== 'float32' ? masterOf(opt, p) : p)).flat();
    input.dispose();
    target.dispose();
    model.dispose();
    opt.dispose();
    return { losses, weights };
  }

  const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

  test.each([['float16', 1e-3], ['bfloat16', 1e-2]] as const)('%s', (dtype, tolerance) => {
    const steps = 200;
    const reference = train('float32', false, steps);
    const masters = train(dtype, true, steps);
    const plain = train(dtype, false, steps);
    // The reference converges; the run with masters ends as close as the 16-bit forward allows.
    expect(reference.losses[steps - 1]).toBeLessThan(1e-5);
    expect(masters.losses[steps - 1]).toBeLessThan(1e-4);
    expect(maxDiff(masters.weights, reference.weights)).toBeLessThan(tolerance);
    // Without masters the late, small updates are lost: it stays farther away and its loss higher.
    expect(maxDiff(plain.weights, reference.weights)).toBeGreaterThan(4 * maxDiff(masters.weights, reference.weights));
    expect(plain.losses[steps - 1]).toBeGreaterThan(10 * masters.losses[steps - 1]);
  });
});

describe('gradScale and foundInf with masters', () => {
  const shapes = [[3], [2, 4]];
  const init = (i: number) => toBf16(values(shapes[i].reduce((a, b) => a * b, 1), 11 + i));
  const gradsAt = (s: number) => shapes.map((sh, i) => toBf16(values(sh.reduce((a, b) => a * b, 1), 100 * s + i + 3)));
  const makers: [string, (p: mp.Tensor[]) => AnyOptimizer][] = [
    ['SGD with momentum', (p) => new mp.optim.SGD(p, { lr: 0.01, momentum: 0.9, masterWeights: true })],
    // L2 weight decay makes Adam depend on the gradient's scale (g + wd * p), so unscaling shows.
    ['Adam with amsgrad and weight decay', (p) => new mp.optim.Adam(p, { lr: 1e-3, amsgrad: true, weightDecay: 0.5, masterWeights: true })],
  ];
  const cases = lows.flatMap((d) => makers.map(([name, make]) => [d, name, make] as const));

  test.each(cases)('%s %s: a skipped step leaves params, masters, moments and step counts bit-identical', (dtype, _, make) => {
    const inf = mp.keep(mp.tensor([1]));
    const clean = mp.keep(mp.tensor([0]));
    const a = shapes.map((sh, i) => leaf(init(i), dtype, sh));
    const b = shapes.map((sh, i) => leaf(init(i), dtype, sh));
    const optA = make(a);
    const optB = make(b);
    try {
      const snapshot = () => ({ params: a.map(bits), state: stateBits(optA) });
      for (let s = 0; s < 6; ++s) {
        const grads = gradsAt(s);
        a.forEach((p, i) => setGrad(p, grads[i]));
        if (s === 0 || s === 3) {
          // Overflowed gradients, as a scaler would see them: the step must not touch anything.
          setGrad(a[1], grads[1].map((v, k) => (k === 2 ? Infinity : v)));
          const before = snapshot();
          optA.step({ foundInf: inf });
          const after = snapshot();
          expect(after.params).toEqual(before.params);
          if (s === 0) {
            // The first step creates the state; skipped, it stays as created: masters equal
            // to the parameters, zero buffers, step counters at 0.
            a.forEach((p) => expect(valuesOf(masterOf(optA, p))).toEqual(valuesOf(p)));
            for (const st of after.state) for (const [k, v] of Object.entries(st)) if (k !== 'masterParam') expect(v.every((x) => x === 0)).toBe(true);
          } else {
            expect(after.state).toEqual(before.state);
          }
          continue;
        }
        b.forEach((p, i) => setGrad(p, grads[i]));
        optA.step({ foundInf: clean });
        optB.step();
      }
      // The skipped steps count for nothing: the same bits as a run that never saw them.
      expect(a.map(bits)).toEqual(b.map(bits));
      expect(stateBits(optA)).toEqual(stateBits(optB));
      expect(optA.state.get(a[0])?.step.item()).toBe(4);
    } finally {
      release([...a, ...b], optA, optB);
      inf.dispose();
      clean.dispose();
    }
  });

  test.each(cases)('%s %s: gradScale unscales inside the kernel, as a run on unscaled grads', (dtype, _, make) => {
    const scale = mp.keep(mp.tensor([8]));
    const plain = shapes.map((sh, i) => leaf(init(i), dtype, sh));
    const scaled = shapes.map((sh, i) => leaf(init(i), dtype, sh));
    const optPlain = make(plain);
    const optScaled = make(scaled);
    try {
      for (let s = 0; s < 4; ++s) {
        const grads = gradsAt(s);
        plain.forEach((p, i) => setGrad(p, grads[i]));
        scaled.forEach((p, i) => setGrad(p, grads[i].map((v) => v * 8)));
        optPlain.step();
        optScaled.step({ gradScale: scale });
        // The gradients themselves stay scaled.
        expect(valuesOf(scaled[1].grad as mp.Tensor)).toEqual(grads[1].map((v) => v * 8));
      }
      // Dividing by a power of two is exact: the same bits.
      expect(scaled.map(bits)).toEqual(plain.map(bits));
      expect(stateBits(optScaled)).toEqual(stateBits(optPlain));
      // And the scale did something: the scaled grads without gradScale give another result.
      const other = shapes.map((sh, i) => leaf(init(i), dtype, sh));
      const fresh = shapes.map((sh, i) => leaf(init(i), dtype, sh));
      const optOther = make(other);
      const optFresh = make(fresh);
      try {
        const grads = gradsAt(0);
        other.forEach((p, i) => setGrad(p, grads[i].map((v) => v * 8)));
        fresh.forEach((p, i) => setGrad(p, grads[i]));
        optOther.step();
        optFresh.step();
        expect(bits(masterOf(optOther, other[1]))).not.toEqual(bits(masterOf(optFresh, fresh[1])));
      } finally {
        release([...other, ...fresh], optOther, optFresh);
      }
    } finally {
      release([...plain, ...scaled], optPlain, optScaled);
      scale.dispose();
    }
  });

  test('a step reads nothing back to the host (masters created, re-synced, scaled, skipped)', () => {
    const params = shapes.map((sh, i) => leaf(init(i), 'bfloat16', sh));
    const opt = new mp.optim.AdamW(params, { lr: 1e-3, masterWeights: true });
    const scale = mp.keep(mp.tensor([4]));
    const inf = mp.keep(mp.tensor([1]));
    const read = jest.spyOn(native, 'read');
    const readAsync = jest.spyOn(native, 'readAsync');
    try {
      params.forEach((p, i) => setGrad(p, gradsAt(0)[i]));
      read.mockClear();
      readAsync.mockClear();
      opt.step({ gradScale: scale });                  // creates the masters
      mp.noGrad(() => params[0].fill_(0.5));           // an outside write: the next step re-syncs
      opt.step({ gradScale: scale, foundInf: inf });
      opt.step();
      expect(read).not.toHaveBeenCalled();
      expect(readAsync).not.toHaveBeenCalled();
      // The spy sees reads: the check can fail.
      valuesOf(params[0]);
      expect(read).toHaveBeenCalled();
    } finally {
      read.mockRestore();
      readAsync.mockRestore();
      release(params, opt);
      scale.dispose();
      inf.dispose();
    }
  });
});

describe('state dicts with masters', () => {
  const init = toBf16(values(6, 21));
  const gradsAt = (s: number) => toBf16(values(6, 300 + s));

  function trained(dtype: Low, steps: number) {
    const p = leaf(init, dtype, [2, 3]);
    const opt = new mp.optim.Adam([p], { lr: 1e-4, masterWeights: true });
    for (let s = 0; s < steps; ++s) {
      setGrad(p, gradsAt(s));
      opt.step();
    }
    return { p, opt };
  }

  test("PyTorch's layout: masterParam and float32 moments under the parameter's index", () => {
    const { p, opt } = trained('float16', 2);
    const sd = opt.stateDict();
    expect(Object.keys(sd.state[0]).sort()).toEqual(['expAvg', 'expAvgSq', 'masterParam', 'step']);
    expect(sd.state[0].masterParam.dtype).toBe('float32');
    expect(sd.state[0].masterParam.shape).toEqual([2, 3]);
    expect(sd.state[0].expAvg.dtype).toBe('float32');
    expect(sd.paramGroups[0]).not.toHaveProperty('masterWeights');
    release([p], opt);
  });

  test.each(lows.flatMap((d) => [[d, 'params written before'], [d, 'params written after']] as const))(
    '%s: loadStateDict into a fresh optimizer continues bit for bit (%s)', (dtype, order) => {
      const a = trained(dtype, 5);
      // The masters carry bits the 16-bit parameter lacks, so re-deriving them would show.
      expect(bits(masterOf(a.opt, a.p))).not.toEqual(mp.tidy(() => bits(a.p.float())));
      const p = leaf(order === 'params written before' ? valuesOf(a.p) : [0, 0, 0, 0, 0, 0], dtype, [2, 3]);
      const b = new mp.optim.Adam([p], { lr: 0.5, masterWeights: true });
      b.loadStateDict(a.opt.stateDict());
      // As model.loadStateDict would after the optimizer's: the same 16-bit values keep the masters.
      if (order === 'params written after') mp.noGrad(() => p.copy_(a.p));
      expect(b.paramGroups[0].lr).toBe(1e-4);
      expect(masterOf(b, p)).not.toBe(masterOf(a.opt, a.p));
      for (let s = 5; s < 10; ++s) {
        setGrad(a.p, gradsAt(s));
        setGrad(p, gradsAt(s));
        a.opt.step();
        b.step();
      }
      expect(bits(p)).toEqual(bits(a.p));
      expect(stateBits(b)).toEqual(stateBits(a.opt));
      expect(b.state.get(p)?.step.item()).toBe(10);
      release([a.p], a.opt);
      release([p], b);
    });

  test('a parameter written from outside takes the new values; the other elements keep their masters', () => {
    const lr = 1e-4;
    const p = leaf(init, 'float16');
    const ref = leaf(init, 'float32');
    const opt = new mp.optim.SGD([p], { lr, masterWeights: true });
    const refOpt = new mp.optim.SGD([ref], { lr });
    try {
      const stepBoth = (s: number) => {
        setGrad(p, gradsAt(s));
        setGrad(ref, gradsAt(s));
        opt.step();
        refOpt.step();
      };
      for (let s = 0; s < 3; ++s) stepBoth(s);
      // Element 1 is overwritten (as init or a checkpoint would); the others are written with
      // their own value, which must not reset their masters.
      const written = valuesOf(p).map((v, i) => (i === 1 ? 0.5 : v));
      mp.noGrad(() => {
        mp.tidy(() => p.copy_(mp.tensor(written)));
        mp.tidy(() => ref.copy_(mp.tensor(valuesOf(ref).map((v, i) => (i === 1 ? 0.5 : v)))));
      });
      for (let s = 3; s < 6; ++s) stepBoth(s);
      expect(bits(masterOf(opt, p))).toEqual(bits(ref));
      expect(bits(p)).toEqual(mp.tidy(() => bits(ref.half())));
    } finally {
      release([p, ref], opt, refOpt);
    }
  });

  test('rejected: a master copy for an optimizer without masterWeights, or for a float32 parameter', () => {
    const { p, opt } = trained('bfloat16', 1);
    const sd = opt.stateDict();
    const q = leaf(init, 'bfloat16', [2, 3]);
    const noMasters = new mp.optim.Adam([q], { lr: 1e-4 });
    expect(() => noMasters.loadStateDict(sd)).toThrow(
      "Adam.loadStateDict: stateDict.state[0] has a float32 master copy ('masterParam') but this optimizer was built without masterWeights (master copies are kept for float16/bfloat16 parameters with { masterWeights: true })");
    const r = leaf(init, 'float32', [2, 3]);
    const float32 = new mp.optim.Adam([r], { lr: 1e-4, masterWeights: true });
    expect(() => float32.loadStateDict(sd)).toThrow("Adam.loadStateDict: stateDict.state[0] has a float32 master copy ('masterParam') but a float32 parameter has none");
    expect(noMasters.state.size + float32.state.size).toBe(0);
    release([p, q, r], opt, noMasters, float32);
  });

  test('a state dict without masters (a 16-bit optimizer) loads: moments become float32, masters come from the params', () => {
    const p = leaf(init, 'bfloat16', [2, 3]);
    const plain = new mp.optim.Adam([p], { lr: 1e-3 });
    setGrad(p, gradsAt(0));
    plain.step();
    const q = leaf(valuesOf(p), 'bfloat16', [2, 3]);
    const withMasters = new mp.optim.Adam([q], { lr: 1e-3, masterWeights: true });
    withMasters.loadStateDict(plain.stateDict());
    expect(withMasters.state.get(q)?.expAvg.dtype).toBe('float32');
    expect(valuesOf(withMasters.state.get(q)?.expAvg as mp.Tensor)).toEqual(valuesOf(plain.state.get(p)?.expAvg as mp.Tensor));
    setGrad(q, gradsAt(1));
    withMasters.step();
    expect(masterOf(withMasters, q).dtype).toBe('float32');
    expect(withMasters.state.get(q)?.step.item()).toBe(2);
    release([p, q], plain, withMasters);
  });
});

describe('masterWeights leaves float32 and float64 parameters alone', () => {
  test.each(['float32', 'float64'] as const)('%s: the same bits and state as without the option', (dtype) => {
    const run = (masterWeights: boolean) => {
      const params = [leaf(values(5, 1), dtype), leaf(values(7, 2), dtype)];
      const adam = new mp.optim.AdamW([params[0]], { lr: 1e-2, amsgrad: true, masterWeights });
      const sgd = new mp.optim.SGD([params[1]], { lr: 0.1, momentum: 0.9, nesterov: true, masterWeights });
      for (let s = 0; s < 4; ++s) {
        setGrad(params[0], values(5, 40 + s));
        setGrad(params[1], values(7, 50 + s));
        adam.step();
        sgd.step();
      }
      const out = { params: params.map(bits), state: [...stateBits(adam), ...stateBits(sgd)], tensors: mp.memory().numTensors, masterWeights: adam.masterWeights };
      release(params, adam, sgd);
      return out;
    };
    const withOption = run(true);
    const without = run(false);
    expect(withOption.masterWeights).toBe(true);
    expect(withOption.params).toEqual(without.params);
    expect(withOption.state).toEqual(without.state);
    expect(withOption.tensors).toBe(without.tensors);
    expect(withOption.state.every((s) => !('masterParam' in s))).toBe(true);
  });

  test('a group mixing dtypes: only the 16-bit parameter gets a master', () => {
    const half = leaf([1, 2], 'float16');
    const single = leaf([1, 2], 'float32');
    const opt = new mp.optim.SGD([half, single], { lr: 0.1, masterWeights: true });
    setGrad(half, [1, 1]);
    setGrad(single, [1, 1]);
    opt.step();
    expect(Object.keys(opt.state.get(half) ?? {})).toEqual(['masterParam']);
    expect(Object.keys(opt.state.get(single) ?? {})).toEqual([]);
    // The master is updated as the float32 parameter is (same values, same gradient).
    expect(bits(masterOf(opt, half))).toEqual(bits(single));
    expect(bits(half)).toEqual(mp.tidy(() => bits(single.half())));
    release([half, single], opt);
  });

  test('zeroGrad is unchanged: grads go, masters stay', () => {
    const p = leaf([1, 2, 3], 'bfloat16');
    const opt = new mp.optim.Adam([p], { lr: 1e-3, masterWeights: true });
    setGrad(p, [1, 1, 1]);
    opt.step();
    const master = bits(masterOf(opt, p));
    opt.zeroGrad({ setToNone: false });
    expect(valuesOf(p.grad as mp.Tensor)).toEqual([0, 0, 0]);
    opt.zeroGrad();
    expect(p.grad).toBeUndefined();
    expect(bits(masterOf(opt, p))).toEqual(master);
    release([p], opt);
  });
});

describe('masterWeights option checks', () => {
  const made: mp.Tensor[] = [];
  const p = () => {
    made.push(leaf([1, 2], 'float16'));
    return [made[made.length - 1]];
  };
  const opts: AnyOptimizer[] = [];
  afterEach(() => {
    opts.splice(0).forEach((o) => o.dispose());
    release(made.splice(0));
  });

  test('not a boolean', () => {
    expect(() => new mp.optim.SGD(p(), { lr: 0.1, masterWeights: 'yes' as unknown as boolean })).toThrow("SGD: argument 'options.masterWeights' must be a boolean, got \"yes\"");
    expect(() => new mp.optim.Adam(p(), { masterWeights: 1 as unknown as boolean })).toThrow("Adam: argument 'options.masterWeights' must be a boolean, got 1");
  });

  test('in a parameter group', () => {
    expect(() => new mp.optim.AdamW([{ params: p(), masterWeights: true } as never])).toThrow(
      'AdamW: params[0].masterWeights is an optimizer option, not a parameter group option (pass it in the constructor\'s options: new AdamW(params, { masterWeights: true }))');
  });

  test('changed while the optimizer holds state', () => {
    const params = p();
    const opt = new mp.optim.SGD(params, { lr: 0.1 });
    opts.push(opt);
    opt.masterWeights = true;
    expect(opt.masterWeights).toBe(true);
    expect(() => { opt.masterWeights = 'no' as unknown as boolean; }).toThrow("SGD: argument 'SGD.masterWeights' must be a boolean, got \"no\"");
    setGrad(params[0], [1, 1]);
    opt.step();
    expect(() => { opt.masterWeights = false; }).toThrow('SGD.masterWeights: cannot change to false while the optimizer holds state for 1 parameters (set it before the first step and before loadStateDict, or in the constructor\'s options)');
    opt.masterWeights = true; // no change: allowed
    expect(opt.masterWeights).toBe(true);
  });
});

describe('mp.amp.prepare', () => {
  class Net extends nn.Module {
    body = new nn.Sequential(new nn.Linear(4, 16), new nn.BatchNorm1d(16), new nn.ReLU(), new nn.Linear(16, 16), new nn.LayerNorm(16), new nn.GELU());
    head = new nn.Linear(16, 1);
    forward(x: mp.Tensor): mp.Tensor {
      return this.head.forward(this.body.forward(x));
    }
  }
  const norms = ['body.1.weight', 'body.1.bias', 'body.4.weight', 'body.4.bias'];
  const n = 32;
  const xs = toBf16(values(n * 4, 77));
  const ys = Array.from({ length: n }, (_, i) => Math.sin(2 * xs[4 * i]) + xs[4 * i + 1] * xs[4 * i + 2]);

  function setup(optLevel: mp.amp.OptLevel, dtype?: Low) {
    mp.manualSeed(1234);
    const model = new Net();
    const before = model.namedParameters().map(([name, t]) => [name, bits(t)] as const);
    const originals = model.namedParameters();
    const opt = new mp.optim.Adam([{ params: [...model.body.parameters()] }, { params: model.head.parameters(), lr: 2e-2 }], { lr: 1e-2 });
    const prepared = mp.amp.prepare(model, opt, dtype === undefined ? { optLevel } : { optLevel, dtype });
    return { model, opt, prepared, before: new Map(before), originals: new Map(originals) };
  }

  function trainSteps(prepared: ReturnType<typeof setup>['prepared'], steps: number): number[] {
    const { model, optimizer } = prepared;
    const x = mp.keep(mp.tidy(() => mp.tensor(xs).reshape([n, 4])));
    const y = mp.keep(mp.tidy(() => mp.tensor(ys).reshape([n, 1])));
    const losses: number[] = [];
    for (let s = 0; s < steps; ++s) {
      mp.tidy(() => {
        optimizer.zeroGrad();
        const loss = prepared.autocast(() => F.mseLoss(model.forward(x), y));
        loss.backward();
        optimizer.step();
        losses.push(loss.item() as number);
      });
    }
    x.dispose();
    y.dispose();
    return losses;
  }

  const expected: Record<mp.amp.OptLevel, { norm: (d: Low) => string; other: (d: Low) => string; out: (d: Low) => string; masters: boolean }> = {
    O0: { norm: () => 'float32', other: () => 'float32', out: () => 'float32', masters: false },
    O1: { norm: () => 'float32', other: () => 'float32', out: (d) => d, masters: false },
    O2: { norm: () => 'float32', other: (d) => d, out: (d) => d, masters: true },
    O3: { norm: (d) => d, other: (d) => d, out: (d) => d, masters: false },
  };

  test.each((['O0', 'O1', 'O2', 'O3'] as const).flatMap((l) => lows.map((d) => [l, d] as const)))('%s %s', (optLevel, dtype) => {
    const { model, opt, prepared, before, originals } = setup(optLevel, dtype);
    try {
      const want = expected[optLevel];
      // Converted tensors replace the old ones, which are disposed; unconverted ones stay.
      for (const [name, t] of model.namedParameters()) {
        const old = originals.get(name) as mp.Tensor;
        if (t.dtype === 'float32') expect(t).toBe(old);
        else expect([name, old.isDisposed]).toEqual([name, true]);
      }
      expect(prepared.model).toBe(model);
      expect(prepared.optimizer).toBe(opt);
      expect(prepared).toMatchObject({ optLevel, dtype, deviceType: 'cpu', masterWeights: want.masters, lossScaling: dtype === 'float16' && optLevel !== 'O0' });
      expect(opt.masterWeights).toBe(want.masters);
      // Parameter dtypes: norm layers kept float32 at O2; buffers follow their layer; the int
      // counter keeps its dtype.
      for (const [name, t] of model.namedParameters()) expect([name, t.dtype]).toEqual([name, norms.includes(name) ? want.norm(dtype) : want.other(dtype)]);
      const buffers = Object.fromEntries(model.namedBuffers().map(([name, t]) => [name, t.dtype]));
      expect(buffers).toEqual({ 'body.1.runningMean': want.norm(dtype), 'body.1.runningVar': want.norm(dtype), 'body.1.numBatchesTracked': 'int32' });
      // The optimizer's groups hold the model's current tensors, in the same layout.
      expect(opt.paramGroups.map((g) => g.params.length)).toEqual([8, 2]);
      expect(opt.paramGroups.map((g) => g.lr)).toEqual([1e-2, 2e-2]);
      const current = model.parameters();
      opt.paramGroups.flatMap((g) => g.params).forEach((p, i) => {
        expect(p).toBe(current[i]);
        expect(p.isDisposed).toBe(false);
        expect(p.requiresGrad).toBe(true);
      });
      // O2's masters are the original float32 values, not the 16-bit ones widened.
      if (want.masters) {
        let extraBits = 0;
        for (const [name, t] of model.namedParameters()) {
          if (norms.includes(name)) {
            expect(opt.state.has(t)).toBe(false);
            continue;
          }
          expect(bits(masterOf(opt, t))).toEqual(before.get(name));
          if (mp.tidy(() => bits(t.float())).some((b, i) => b !== before.get(name)?.[i])) extraBits += 1;
        }
        expect(extraBits).toBeGreaterThan(0);
      } else {
        expect(opt.state.size).toBe(0);
      }
      // A forward through prepared.autocast.
      const out = mp.tidy(() => mp.noGrad(() => prepared.autocast(() => model.forward(mp.tensor(xs.slice(0, 8)).reshape([2, 4]))).dtype));
      expect(out).toBe(want.out(dtype));
      // A few training steps reduce the loss.
      const losses = trainSteps(prepared, 25);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[24]).toBeLessThan(0.5 * losses[0]);
      if (want.masters) {
        // The step kept the masters and wrote their rounding into the parameters.
        const w = model.head.weight;
        expect(bits(w)).toEqual(mp.tidy(() => bits(masterOf(opt, w).to(dtype))));
      }
    } finally {
      model.dispose();
      opt.dispose();
    }
  });

  test('defaults: the parameters\' device type, and bfloat16 on the CPU', () => {
    const { model, opt, prepared } = setup('O1');
    expect(prepared).toMatchObject({ deviceType: 'cpu', dtype: 'bfloat16', lossScaling: false });
    model.dispose();
    opt.dispose();
  });

  test('O2: a skipped first step keeps the seeded masters and the parameters', () => {
    const { model, opt, before } = setup('O2', 'float16');
    const inf = mp.keep(mp.tensor([1]));
    try {
      for (const p of model.parameters()) setGrad(p, Array.from({ length: p.numel }, () => 1));
      const params = model.namedParameters().map(([, t]) => bits(t));
      opt.step({ foundInf: inf });
      expect(model.namedParameters().map(([, t]) => bits(t))).toEqual(params);
      for (const [name, t] of model.namedParameters()) if (!norms.includes(name)) expect(bits(masterOf(opt, t))).toEqual(before.get(name));
    } finally {
      inf.dispose();
      model.dispose();
      opt.dispose();
    }
  });

  test('a parameter the optimizer has but the model does not is left alone; gradients are converted', () => {
    mp.manualSeed(3);
    const model = new nn.Linear(2, 2);
    const extra = leaf([1, 2], 'float32');
    const opt = new mp.optim.SGD([...model.parameters(), extra], { lr: 0.1 });
    setGrad(model.weight, [0.5, -1, 2, 0.25]);
    mp.amp.prepare(model, opt, { optLevel: 'O3', dtype: 'float16' });
    expect(opt.paramGroups[0].params).toEqual([model.weight, model.bias, extra]);
    expect(opt.paramGroups[0].params[0]).toBe(model.weight);
    expect(extra.dtype).toBe('float32');
    expect(model.weight.dtype).toBe('float16');
    expect(model.weight.grad?.dtype).toBe('float16');
    expect(valuesOf(model.weight.grad as mp.Tensor)).toEqual([0.5, -1, 2, 0.25]);
    release([extra], opt);
    model.dispose();
  });

  describe('errors', () => {
    let model: Net;
    let opt: mp.optim.SGD;
    beforeEach(() => {
      model = new Net();
      opt = new mp.optim.SGD(model.parameters(), { lr: 0.1 });
    });
    afterEach(() => {
      model.dispose();
      opt.dispose();
    });
    const bad = (options: unknown) => () => mp.amp.prepare(model, opt, options as mp.amp.PrepareOptions);

    test.each([
      ['an unknown level', { optLevel: 'O4' }, "amp.prepare: argument 'options.optLevel' must be one of 'O0', 'O1', 'O2', 'O3' (the letter O and a digit), got \"O4\""],
      ['a lower-case level', { optLevel: 'o1' }, "amp.prepare: argument 'options.optLevel' must be one of 'O0', 'O1', 'O2', 'O3' (the letter O and a digit), got \"o1\""],
      ['a number', { optLevel: 1 }, "amp.prepare: argument 'options.optLevel' must be one of 'O0', 'O1', 'O2', 'O3' (the letter O and a digit), got 1"],
      ['no level', {}, "amp.prepare: options.optLevel is required ('O0', 'O1', 'O2', 'O3')"],
      ['a 32-bit dtype', { optLevel: 'O2', dtype: 'float32' }, "amp.prepare: argument 'options.dtype' must be 'float16' or 'bfloat16', got \"float32\""],
      ['an unknown dtype', { optLevel: 'O2', dtype: 'half' }, "amp.prepare: argument 'options.dtype' must be 'float16' or 'bfloat16', got \"half\""],
      ['an unknown option', { optLevel: 'O2', lossScale: 'dynamic' }, "amp.prepare: unknown option 'lossScale' (expected 'optLevel', 'dtype', 'deviceType')"],
      ['another device type', { optLevel: 'O1', deviceType: 'cuda' }, "amp.prepare: options.deviceType is 'cuda' but the model has parameters on cpu (move the model with model.to(...) before prepare)"],
      ['a device, not a type', { optLevel: 'O1', deviceType: 'cuda:0' }, "amp.prepare: argument 'options.deviceType' must be 'cpu' or 'cuda', got 'cuda:0' (autocast is per device type: use 'cuda')"],
      ['no options', undefined, "amp.prepare: argument 'options' must be an options object such as { optLevel: 'O1' }, got undefined"],
    ])('%s', (_, options, message) => {
      expect(bad(options)).toThrow(message);
      // Nothing changed.
      expect(model.parameters().every((p) => p.dtype === 'float32')).toBe(true);
      expect(opt.masterWeights).toBe(false);
      expect(opt.paramGroups[0].params).toEqual(model.parameters());
    });

    test('not a model, not an optimizer', () => {
      expect(() => mp.amp.prepare({} as Net, opt, { optLevel: 'O1' })).toThrow("amp.prepare: argument 'model' must be an nn.Module, got an object");
      expect(() => mp.amp.prepare(model, {} as mp.optim.SGD, { optLevel: 'O1' })).toThrow("amp.prepare: argument 'optimizer' must be an optimizer (mp.optim.SGD, Adam, AdamW, ...), got an object");
    });

    test('an optimizer that already stepped', () => {
      for (const p of model.parameters()) setGrad(p, Array.from({ length: p.numel }, () => 0));
      opt.step();
      expect(bad({ optLevel: 'O2' })).toThrow('amp.prepare: the optimizer already holds state for 10 parameters (call prepare before the first step and before loadStateDict)');
    });

    test('prepared twice', () => {
      mp.amp.prepare(model, opt, { optLevel: 'O1' });
      expect(bad({ optLevel: 'O2' })).toThrow("amp.prepare: this Net was already prepared (prepare a model and its optimizer once, as apex's amp.initialize)");
    });

    test('the autocast wrapper takes a function', () => {
      for (const optLevel of ['O0', 'O1'] as const) {
        const m = new nn.Linear(2, 2);
        const o = new mp.optim.SGD(m.parameters(), { lr: 0.1 });
        const prepared = mp.amp.prepare(m, o, { optLevel });
        expect(() => prepared.autocast(3 as unknown as () => number)).toThrow("amp.prepare(...).autocast: argument 'fn' must be a function, got 3");
        m.dispose();
        o.dispose();
      }
    });
  });
});
