// Optimizers against float64 implementations of torch.optim's update rules written here in JS
// (stored values rounded into the tensors' dtype, as the tensors store them), the threaded
// kernels against their scalar references, and the Optimizer API: groups, zeroGrad,
// gradScale / foundInf, state dicts, argument checks and memory scopes.
import * as mp from '../lib';
import { nativeLists } from '../lib/ops/multiTensor';
import { roundTo } from './helpers/floatReference';
import { native } from './helpers/native';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

type FloatDType = 'float32' | 'float16' | 'bfloat16' | 'float64';
type Vec = number[];

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Vec {
  let x = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 31 - 1;
  });
}

const shapes = [[3], [2, 4], [5]];
const initial = (dtype: FloatDType): Vec[] => shapes.map((s, i) => values(s.reduce((a, b) => a * b, 1), 11 + i).map((v) => roundTo(v, dtype)));
const gradsAt = (step: number, dtype: FloatDType): Vec[] => shapes.map((s, i) => values(s.reduce((a, b) => a * b, 1), 1000 * step + 7 * i + 3).map((v) => roundTo(2 * v, dtype)));

/** A tensor of `shape` holding `v` (the flat tensor is freed, the view keeps the memory). */
const shaped = (v: Vec, dtype: FloatDType, shape: number[]) => mp.tidy(() => mp.tensor(v, { dtype }).reshape(shape));

function makeParams(data: Vec[], dtype: FloatDType): mp.Tensor[] {
  return data.map((v, i) => {
    const p = mp.keep(shaped(v, dtype, shapes[i]));
    p.requiresGrad = true;
    return p;
  });
}

function setGrads(params: mp.Tensor[], grads: Vec[]): void {
  params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = shaped(grads[i], p.dtype as FloatDType, p.shape);
  });
}

function release(params: mp.Tensor[], ...opts: mp.optim.Optimizer<{ lr: number }>[]): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = undefined;
    p.dispose();
  }
  for (const o of opts) o.dispose();
}

function expectClose(got: ArrayLike<number>, want: Vec, dtype: FloatDType, what: string): void {
  // A few units in the last place of the dtype: 16-bit values are rounded every step.
  const rel = { float64: 1e-12, float32: 2e-6, float16: 4 * 2 ** -10, bfloat16: 4 * 2 ** -7 }[dtype];
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const err = Math.abs(got[i] - w);
    if (!(err <= rel * Math.max(1, Math.abs(w)))) throw new Error(`${what}[${i}]: got ${got[i]}, want ${w} (error ${err})`);
  });
}

interface SgdRefOptions { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean }

/** torch.optim.SGD (_single_tensor_sgd): grad negated first under maximize, buffer starts as the grad. */
function sgdReference(o: SgdRefOptions, dtype: FloatDType) {
  const r = (v: number) => roundTo(v, dtype);
  const bufs: (Vec | undefined)[] = [];
  return (params: Vec[], grads: Vec[]) => params.forEach((p, i) => {
    const g = grads[i].map((x, k) => (o.maximize ? -x : x) + (o.weightDecay !== 0 ? o.weightDecay * p[k] : 0));
    let d = g;
    if (o.momentum !== 0) {
      const prev = bufs[i];
      const b = prev === undefined ? g.slice() : prev.map((v, k) => o.momentum * v + (1 - o.dampening) * g[k]);
      bufs[i] = b.map(r);
      d = o.nesterov ? g.map((x, k) => x + o.momentum * b[k]) : b;
    }
    for (let k = 0; k < p.length; ++k) p[k] = r(p[k] - o.lr * d[k]);
  });
}

interface AdamRefOptions { lr: number; betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean; maximize: boolean; decoupled: boolean }

/** torch.optim.Adam / AdamW pseudo-code (docs), bias corrections from the step count. */
function adamReference(o: AdamRefOptions, dtype: FloatDType) {
  const r = (v: number) => roundTo(v, dtype);
  const state: { m: Vec; v: Vec; vmax: Vec; t: number }[] = [];
  return (params: Vec[], grads: Vec[]) => params.forEach((p, i) => {
    const s = (state[i] ??= { m: p.map(() => 0), v: p.map(() => 0), vmax: p.map(() => 0), t: 0 });
    s.t += 1;
    const [b1, b2] = o.betas;
    for (let k = 0; k < p.length; ++k) {
      let g = o.maximize ? -grads[i][k] : grads[i][k];
      let theta = p[k];
      if (o.weightDecay !== 0) {
        if (o.decoupled) theta -= o.lr * o.weightDecay * theta;
        else g += o.weightDecay * theta;
      }
      const m = b1 * s.m[k] + (1 - b1) * g;
      const v = b2 * s.v[k] + (1 - b2) * g * g;
      const mHat = m / (1 - b1 ** s.t);
      let second = v;
      if (o.amsgrad) {
        s.vmax[k] = r(Math.max(s.vmax[k], v));
        second = s.vmax[k];
      }
      const vHat = second / (1 - b2 ** s.t);
      p[k] = r(theta - (o.lr * mHat) / (Math.sqrt(vHat) + o.eps));
      s.m[k] = r(m);
      s.v[k] = r(v);
    }
  });
}

function readAll(params: mp.Tensor[]): Vec[] {
  return mp.tidy(() => params.map((p) => Array.from(p.double().dataSync())));
}

function sgdCombos(): SgdRefOptions[] {
  const out: SgdRefOptions[] = [];
  for (const momentum of [0, 0.9]) for (const dampening of [0, 0.5]) for (const nesterov of [false, true]) {
    if (nesterov && (momentum === 0 || dampening !== 0)) continue;
    for (const weightDecay of [0, 0.1]) for (const maximize of [false, true]) out.push({ lr: 0.05, momentum, dampening, weightDecay, nesterov, maximize });
  }
  return out;
}

function adamCombos(): AdamRefOptions[] {
  const out: AdamRefOptions[] = [];
  for (const decoupled of [false, true]) for (const amsgrad of [false, true]) for (const maximize of [false, true]) for (const weightDecay of [0, 0.1]) {
    out.push({ lr: 0.01, betas: [0.9, 0.99], eps: 1e-8, weightDecay, amsgrad, maximize, decoupled });
  }
  return out;
}

/** Steps an optimizer and its reference with the same gradients, comparing after every step. */
function runTrajectory(make: (params: mp.Tensor[]) => mp.optim.Optimizer<{ lr: number }>, ref: (p: Vec[], g: Vec[]) => void, dtype: FloatDType, steps = 5): void {
  const want = initial(dtype);
  const params = makeParams(want, dtype);
  const opt = make(params);
  try {
    for (let s = 0; s < steps; ++s) {
      const grads = gradsAt(s, dtype);
      setGrads(params, grads);
      opt.step();
      ref(want, grads);
      readAll(params).forEach((got, i) => expectClose(got, want[i], dtype, `step ${s} param ${i}`));
    }
  } finally {
    release(params, opt);
  }
}

describe('SGD follows torch.optim.SGD', () => {
  test.each(sgdCombos().map((o) => [JSON.stringify(o), o] as const))('%s', (_, o) => {
    runTrajectory((p) => new mp.optim.SGD(p, o), sgdReference(o, 'float32'), 'float32');
  });

  test.each(['float16', 'bfloat16', 'float64'] as const)('%s params (momentum, weight decay, nesterov)', (dtype) => {
    const o = { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0.1, nesterov: true, maximize: false };
    runTrajectory((p) => new mp.optim.SGD(p, o), sgdReference(o, dtype), dtype);
  });
});

describe('Adam and AdamW follow torch.optim', () => {
  test.each(adamCombos().map((o) => [JSON.stringify(o), o] as const))('%s', (_, o) => {
    const { decoupled, ...options } = o;
    runTrajectory((p) => (decoupled ? new mp.optim.AdamW(p, options) : new mp.optim.Adam(p, options)), adamReference(o, 'float32'), 'float32', 6);
  });

  test.each(['float16', 'bfloat16', 'float64'] as const)('%s params (AdamW, amsgrad)', (dtype) => {
    const o: AdamRefOptions = { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.05, amsgrad: true, maximize: false, decoupled: true };
    runTrajectory((p) => new mp.optim.AdamW(p, { lr: 0.01, weightDecay: 0.05, amsgrad: true }), adamReference(o, dtype), dtype);
  });

  test('PyTorch defaults', () => {
    const p = makeParams(initial('float32'), 'float32');
    const adam = new mp.optim.Adam(p);
    const adamw = new mp.optim.AdamW([p[0]]);
    const sgd = new mp.optim.SGD([p[1]], { lr: 0.1 });
    expect(adam.paramGroups[0]).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false });
    expect(adamw.paramGroups[0].weightDecay).toBe(1e-2);
    expect(sgd.paramGroups[0]).toMatchObject({ lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
    release(p, adam, adamw, sgd);
  });
});

describe('threaded kernels match their scalar references bit for bit', () => {
  // Sizes span the CPU kernels' 16384-element blocks, with an empty tensor in between.
  const sizes = [5, 40000, 0, 17000, 3];

  function lists(dtype: FloatDType, seed: number, count: number): mp.Tensor[][] {
    return Array.from({ length: count }, (_, l) => sizes.map((n, i) => mp.tensor(values(n, seed + 31 * l + i), { dtype })));
  }
  const steps = (v: number) => sizes.map(() => mp.full([], v));
  const bits = (ts: mp.Tensor[]) => ts.map((t) => Array.from(t.rawData()));

  test.each(['float32', 'bfloat16'] as const)('%s SGD and Adam', (dtype) => {
    mp.tidy(() => {
      const run = (reference: boolean) => {
        const sgd = [...lists(dtype, 5, 2), steps(0), ...lists(dtype, 9, 1)];
        const l = nativeLists(dtype, sgd);
        const scale = mp.tensor([2]);
        for (let s = 0; s < 3; ++s) {
          (reference ? native._test.sgdStepReference : native.sgdStep)({ lists: l, gradScale: { storage: scale.storage.handle, offset: 0 },
            foundInf: null, options: { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false, maximize: true } });
        }
        const adam = [...lists(dtype, 17, 2), steps(3), ...lists(dtype, 23, 3).map((ts) => ts.map((t) => t.abs()))];
        const a = nativeLists(dtype, adam);
        for (let s = 0; s < 3; ++s) {
          (reference ? native._test.adamStepReference : native.adamStep)({ lists: a, gradScale: null, foundInf: null, options: { lr: 0.01,
            beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, decoupled: true, amsgrad: true, maximize: false } });
        }
        return [...sgd, ...adam].map(bits);
      };
      expect(run(false)).toEqual(run(true));
    });
  });
});

describe('Optimizer', () => {
  test('param groups keep their own hyper-parameters, and schedulers may edit lr', () => {
    const want = initial('float32');
    const params = makeParams(want, 'float32');
    const opt = new mp.optim.SGD([{ params: [params[0], params[1]], lr: 0.1 }, { params: params[2], momentum: 0.5 }], { lr: 0.01 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0], [0.01, 0.5]]);
    const base = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
    const ref0 = sgdReference({ ...base, lr: 0.1 }, 'float32');
    const ref1 = sgdReference({ ...base, lr: 0.01, momentum: 0.5 }, 'float32');
    const ref0b = sgdReference({ ...base, lr: 0.05 }, 'float32');
    for (let s = 0; s < 4; ++s) {
      if (s === 2) opt.paramGroups[0].lr = 0.05;
      const grads = gradsAt(s, 'float32');
      setGrads(params, grads);
      opt.step();
      (s < 2 ? ref0 : ref0b)(want.slice(0, 2), grads.slice(0, 2));
      ref1([want[2]], [grads[2]]);
    }
    readAll(params).forEach((got, i) => expectClose(got, want[i], 'float32', `param ${i}`));
    release(params, opt);
  });

  test('a group mixing dtypes runs one call per dtype; params without grad are skipped', () => {
    const data = initial('bfloat16');
    const params = [mp.keep(mp.tensor(data[0])), mp.keep(shaped(data[1], 'bfloat16', shapes[1])), mp.keep(mp.tensor(data[2]))];
    const opt = new mp.optim.Adam(params, { lr: 0.01 });
    const grads = gradsAt(0, 'bfloat16');
    params[0].grad = mp.tensor(grads[0]);
    params[1].grad = shaped(grads[1], 'bfloat16', shapes[1]);
    opt.step();
    const o: AdamRefOptions = { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, decoupled: false };
    const want0 = [data[0].slice()];
    adamReference(o, 'float32')(want0, [grads[0]]);
    const want1 = [data[1].slice()];
    adamReference(o, 'bfloat16')(want1, [grads[1]]);
    const got = readAll(params);
    expectClose(got[0], want0[0], 'float32', 'float32 param');
    expectClose(got[1], want1[0], 'bfloat16', 'bfloat16 param');
    expect(got[2]).toEqual(data[2]);
    expect(opt.state.has(params[2])).toBe(false);
    release(params, opt);
  });

  test('zeroGrad disposes grads (setToNone) or zero-fills them in place', () => {
    const params = makeParams(initial('float32'), 'float32');
    const opt = new mp.optim.SGD(params, { lr: 0.1 });
    setGrads(params, gradsAt(0, 'float32'));
    const g0 = params[0].grad as mp.Tensor;
    const v0 = g0.version;
    opt.zeroGrad({ setToNone: false });
    expect(params[0].grad).toBe(g0);
    expect(g0.version).toBeGreaterThan(v0);
    expect(params.every((p) => (p.grad as mp.Tensor).dataSync().every((v) => v === 0))).toBe(true);
    opt.zeroGrad();
    expect(params.every((p) => p.grad === undefined)).toBe(true);
    expect(g0.isDisposed).toBe(true);
    expect(() => opt.zeroGrad({ setToNone: 1 as unknown as boolean })).toThrow("SGD.zeroGrad: argument 'options.setToNone' must be a boolean, got 1");
    release(params, opt);
  });

  test('gradScale divides the grads inside the kernel and leaves them untouched', () => {
    const scale = mp.keep(mp.tensor([8]));
    for (const make of [(p: mp.Tensor[]) => new mp.optim.Adam(p, { lr: 0.01, amsgrad: true }), (p: mp.Tensor[]) => new mp.optim.SGD(p, { lr: 0.1, momentum: 0.9 })]) {
      const plain = makeParams(initial('float32'), 'float32');
      const scaled = makeParams(initial('float32'), 'float32');
      const a = make(plain);
      const b = make(scaled);
      for (let s = 0; s < 3; ++s) {
        const grads = gradsAt(s, 'float32');
        setGrads(plain, grads);
        setGrads(scaled, grads.map((g) => g.map((v) => v * 8)));
        a.step();
        b.step({ gradScale: scale });
        expect(readAll(scaled.map((p) => p.grad as mp.Tensor))).toEqual(grads.map((g) => g.map((v) => Math.fround(v * 8))));
      }
      // Dividing by a power of two is exact: the same bits as the unscaled run.
      expect(scaled.map((p) => Array.from(p.rawData()))).toEqual(plain.map((p) => Array.from(p.rawData())));
      release([...plain, ...scaled], a, b);
    }
    scale.dispose();
  });

  test('a non-zero foundInf leaves params, state and step counters bit-identical', () => {
    const inf = mp.keep(mp.tensor([1]));
    const clean = mp.keep(mp.tensor([0]));
    const want = initial('float32');
    const params = makeParams(want, 'float32');
    const opt = new mp.optim.Adam(params, { lr: 0.01, amsgrad: true });
    const o: AdamRefOptions = { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, decoupled: false };
    const ref = adamReference(o, 'float32');
    const snapshot = () => ({ params: params.map((p) => Array.from(p.rawData())), state: [...opt.state.values()].map((s) => Object.fromEntries(Object.entries(s).map(([k, t]) => [k, Array.from(t.rawData())]))) });
    for (let s = 0; s < 4; ++s) {
      const grads = gradsAt(s, 'float32');
      setGrads(params, grads);
      const before = snapshot();
      const skip = s === 0 || s === 2;
      opt.step({ foundInf: skip ? inf : clean });
      if (skip) {
        expect(snapshot().params).toEqual(before.params);
        if (s > 0) expect(snapshot().state).toEqual(before.state);
      } else {
        ref(want, grads);
      }
    }
    expect(opt.state.get(params[0])?.step.item()).toBe(2);
    readAll(params).forEach((got, i) => expectClose(got, want[i], 'float32', `param ${i}`));
    release(params, opt);
    inf.dispose();
    clean.dispose();
  });

  test('SGD momentum starts from the first step that was not skipped', () => {
    const inf = mp.keep(mp.tensor([1]));
    const want = initial('float32');
    const params = makeParams(want, 'float32');
    const o = { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0, nesterov: false, maximize: false };
    const opt = new mp.optim.SGD(params, o);
    const ref = sgdReference(o, 'float32');
    setGrads(params, gradsAt(0, 'float32'));
    opt.step({ foundInf: inf });
    for (let s = 1; s < 4; ++s) {
      const grads = gradsAt(s, 'float32');
      setGrads(params, grads);
      opt.step();
      ref(want, grads);
    }
    readAll(params).forEach((got, i) => expectClose(got, want[i], 'float32', `param ${i}`));
    release(params, opt);
    inf.dispose();
  });

  test('gradScale and foundInf must be float32 one-element tensors', () => {
    const params = makeParams(initial('float32'), 'float32');
    const opt = new mp.optim.Adam(params);
    mp.tidy(() => {
      expect(() => opt.step({ gradScale: mp.tensor([1, 2]) })).toThrow("Adam.step: argument 'gradScale' must be a float32 tensor of one element, got float32 tensor of shape [2] on cpu");
      expect(() => opt.step({ foundInf: mp.tensor([0], { dtype: 'float16' }) })).toThrow(/argument 'foundInf' must be a float32 tensor of one element, got float16/);
      expect(() => opt.step({ foundInf: 0 as unknown as mp.Tensor })).toThrow("Adam.step: argument 'foundInf' must be a Tensor, got 0");
    });
    release(params, opt);
  });

  test('state is kept: a step inside mp.tidy leaves it alive', () => {
    const params = makeParams(initial('float32'), 'float32');
    const opt = new mp.optim.AdamW(params, { amsgrad: true });
    for (let s = 0; s < 2; ++s) {
      mp.tidy(() => {
        setGrads(params, gradsAt(s, 'float32'));
        opt.step();
      });
    }
    const state = [...opt.state.values()];
    expect(state).toHaveLength(3);
    for (const s of state) {
      expect(Object.keys(s).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
      expect(Object.values(s).every((t) => !t.isDisposed)).toBe(true);
      expect(s.step.item()).toBe(2);
      expect(s.step.shape).toEqual([]);
    }
    // params, grads and four state tensors per parameter
    expect(mp.memory().numTensors).toBe(3 + 3 + 12);
    release(params, opt);
  });
});

describe('stateDict / loadStateDict', () => {
  function trained(dtype: FloatDType, steps: number) {
    const params = makeParams(initial(dtype), dtype);
    const opt = new mp.optim.Adam([{ params: params.slice(0, 2) }, { params: [params[2]], lr: 0.02 }], { lr: 0.01, amsgrad: true });
    for (let s = 0; s < steps; ++s) {
      setGrads(params, gradsAt(s, dtype));
      opt.step();
    }
    return { params, opt };
  }

  test("PyTorch's layout", () => {
    const { params, opt } = trained('float32', 2);
    const sd = opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '1', '2']);
    expect(Object.keys(sd.state[1]).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
    expect(sd.state[1].expAvg.shape).toEqual([2, 4]);
    expect(sd.paramGroups).toEqual([
      { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [0, 1] },
      { lr: 0.02, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [2] },
    ]);
    release(params, opt);
  });

  test.each(['float32', 'bfloat16'] as const)('%s: a loaded optimizer continues identically', (dtype) => {
    const a = trained(dtype, 3);
    const params = makeParams(readAll(a.params), dtype);
    const b = new mp.optim.Adam([{ params: params.slice(0, 2) }, { params: [params[2]] }], { lr: 0.5 });
    b.loadStateDict(a.opt.stateDict());
    expect(b.paramGroups[1].lr).toBe(0.02);
    // Copies, not aliases.
    expect(b.state.get(params[0])?.expAvg).not.toBe(a.opt.state.get(a.params[0])?.expAvg);
    for (let s = 3; s < 6; ++s) {
      setGrads(a.params, gradsAt(s, dtype));
      setGrads(params, gradsAt(s, dtype));
      a.opt.step();
      b.step();
    }
    expect(params.map((p) => Array.from(p.rawData()))).toEqual(a.params.map((p) => Array.from(p.rawData())));
    expect(b.state.get(params[2])?.step.item()).toBe(6);
    release(a.params, a.opt);
    release(params, b);
  });

  test('SGD: a momentum buffer without a step counter (as PyTorch saves it) counts as written', () => {
    const params = makeParams(initial('float32'), 'float32');
    const opt = new mp.optim.SGD([params[0]], { lr: 0.1, momentum: 0.5 });
    mp.tidy(() => opt.loadStateDict({ state: { 0: { momentumBuffer: mp.ones([3]) } }, paramGroups: [{ lr: 0.1, momentum: 0.5, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, params: [0] }] }));
    params[0].grad = mp.zeros([3]);
    opt.step();
    // buf = 0.5 * 1 + 0 = 0.5, not the zero gradient.
    expect(opt.state.get(params[0])?.momentumBuffer.toArray()).toEqual([0.5, 0.5, 0.5]);
    release(params, opt);
  });

  test('bad state dicts are rejected with clear errors and change nothing', () => {
    const { params, opt } = trained('float32', 1);
    const sd = opt.stateDict();
    const before = readAll([...opt.state.values()].map((s) => s.expAvg));
    mp.tidy(() => {
      // A copy loose enough to break: any key of a group or a state entry may be changed.
      type Loose = { state: Record<number, Record<string, unknown>>; paramGroups: Record<string, unknown>[] };
      const bad = (change: (d: Loose) => void) => {
        const d: Loose = { state: { ...sd.state }, paramGroups: sd.paramGroups.map((g) => ({ ...g })) };
        change(d);
        return () => opt.loadStateDict(d as unknown as typeof sd);
      };
      expect(bad((d) => d.paramGroups.pop())).toThrow('Adam.loadStateDict: the state dict has 1 parameter groups but the optimizer has 2');
      expect(bad((d) => { d.paramGroups[0].params = [0]; })).toThrow("Adam.loadStateDict: stateDict.paramGroups[0] has 1 parameters but the optimizer's group 0 has 2");
      expect(bad((d) => { d.state[1] = { ...d.state[1], expAvg: mp.zeros([3]) }; })).toThrow("Adam.loadStateDict: stateDict.state[1].expAvg must have the parameter's shape [2, 4], got float32 tensor of shape [3] on cpu");
      expect(bad((d) => { d.state[0] = { ...d.state[0], momentumBuffer: mp.zeros([3]) }; })).toThrow("Adam.loadStateDict: stateDict.state[0] has an unknown key 'momentumBuffer' (a Adam state holds step, expAvg, expAvgSq, maxExpAvgSq)");
      expect(bad((d) => { const { maxExpAvgSq: _, ...rest } = d.state[2]; d.state[2] = rest; })).toThrow("Adam.loadStateDict: stateDict.state[2] lacks 'maxExpAvgSq'");
      expect(bad((d) => { d.state[7] = d.state[0]; })).toThrow('Adam.loadStateDict: stateDict.state has an entry for parameter 7, which no parameter group lists');
      expect(bad((d) => { d.state[0] = { ...d.state[0], step: mp.zeros([2]) }; })).toThrow("Adam.loadStateDict: argument 'stateDict.state[0].step' must be a one-element tensor, got float32 tensor of shape [2] on cpu");
      expect(bad((d) => { d.paramGroups[1].lr = -1; })).toThrow("Adam: argument 'stateDict.paramGroups[1].lr' must be a finite number >= 0, got -1");
      expect(() => opt.loadStateDict(null as unknown as typeof sd)).toThrow("Adam.loadStateDict: argument 'stateDict' must be an object {state, paramGroups}, got null");
    });
    expect(readAll([...opt.state.values()].map((s) => s.expAvg))).toEqual(before);
    expect(opt.paramGroups[1].lr).toBe(0.02);
    release(params, opt);
  });
});

describe('argument checks as PyTorch', () => {
  const made: mp.Tensor[] = [];
  const p = () => {
    made.push(mp.keep(mp.zeros([2])));
    return [made[made.length - 1]];
  };
  afterEach(() => made.splice(0).forEach((t) => t.dispose()));
  const cases: [string, () => unknown, string][] = [
    ['negative lr', () => new mp.optim.Adam(p(), { lr: -1 }), "Adam: argument 'options.lr' must be a finite number >= 0, got -1"],
    ['beta of 1', () => new mp.optim.AdamW(p(), { betas: [1, 0.9] }), "AdamW: argument 'options.betas[0]' must be a number in [0, 1), got 1"],
    ['negative beta', () => new mp.optim.Adam(p(), { betas: [0.9, -0.1] }), "Adam: argument 'options.betas[1]' must be a number in [0, 1), got -0.1"],
    ['betas not a pair', () => new mp.optim.Adam(p(), { betas: [0.9] as unknown as [number, number] }), "Adam: argument 'options.betas' must be an array of two numbers, got an array of length 1"],
    ['negative eps', () => new mp.optim.Adam(p(), { eps: -1e-8 }), "Adam: argument 'options.eps' must be a finite number >= 0, got -1e-8"],
    ['negative weight decay', () => new mp.optim.SGD(p(), { lr: 0.1, weightDecay: -1 }), "SGD: argument 'options.weightDecay' must be a finite number >= 0, got -1"],
    ['negative momentum', () => new mp.optim.SGD(p(), { lr: 0.1, momentum: -0.5 }), "SGD: argument 'options.momentum' must be a finite number >= 0, got -0.5"],
    ['nesterov without momentum', () => new mp.optim.SGD(p(), { lr: 0.1, nesterov: true }), 'SGD: options.nesterov needs momentum > 0 and dampening 0, got momentum 0 and dampening 0'],
    ['nesterov with dampening', () => new mp.optim.SGD(p(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), 'SGD: options.nesterov needs momentum > 0 and dampening 0, got momentum 0.9 and dampening 0.1'],
    ['SGD without lr', () => new mp.optim.SGD(p()), "SGD: argument 'options.lr' is required (give lr in the options or in every parameter group), got undefined"],
    ['a bad group lr', () => new mp.optim.SGD([{ params: p() }, { params: p(), lr: Number.NaN }], { lr: 0.1 }), "SGD: argument 'params[1].lr' must be a number, got NaN"],
    ['a boolean option', () => new mp.optim.Adam(p(), { amsgrad: 'yes' as unknown as boolean }), "Adam: argument 'options.amsgrad' must be a boolean, got \"yes\""],
    ['a single tensor', () => new mp.optim.Adam(p()[0] as unknown as mp.Tensor[]), "Adam: argument 'params' must be an iterable of Tensors or of parameter groups (wrap a single tensor in an array), got float32 tensor of shape [2] on cpu"],
    ['no params', () => new mp.optim.Adam([]), "Adam: argument 'params' must be a non-empty list (the optimizer got an empty parameter list), got an array of length 0"],
    ['a non-tensor param', () => new mp.optim.Adam([...p(), 3] as unknown as mp.Tensor[]), "Adam: argument 'params[1]' must be a Tensor, got 3"],
    ['an integer param', () => new mp.optim.Adam([mp.zeros([2], { dtype: 'int32' })]), "Adam: argument 'params[0]' must be a floating-point tensor, got int32 tensor of shape [2] on cpu"],
  ];
  test.each(cases)('%s', (_, make, message) => {
    mp.tidy(() => expect(make).toThrow(message));
  });

  test('a parameter in two groups', () => {
    const [a] = p();
    expect(() => new mp.optim.SGD([{ params: [a] }, { params: [a] }], { lr: 1 })).toThrow('SGD: params[1].params[0] appears more than once in the parameter groups (each parameter may be optimized once)');
  });
});
