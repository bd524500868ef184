// The "found by a hostile test" list of issue 15: silent wrong answers and unclear errors, each
// checked against an independent reference (float64 or BigInt math in JS, PyTorch's documented
// behaviour). Runs in a few seconds.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as mp from '../lib';
import { ampUnscale, ampUpdateScale, multiTensorClamp } from '../lib/ops/multiTensor';

const F = mp.nn.functional;
const MIN_NORMAL = 2 ** -126;

/** Runs `fn` with the codes of the process warnings it emits collected (and not printed). */
async function warningsOf(fn: () => unknown): Promise<string[]> {
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
    return warn.mock.calls.map((c) => String((c[1] as { code?: string } | undefined)?.code));
  } finally {
    warn.mockRestore();
  }
}

/** An error's class name and code, for one expect per refusal. */
function refusal(fn: () => unknown): { name: string; code: string; message: string } {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: string };
    return { name: err.constructor.name, code: String(err.code), message: err.message };
  }
  throw new Error('expected a refusal, the call returned');
}

/** A leaf's gradient values; the gradient is freed and unset. */
function takeGrad(leaf: mp.Tensor): unknown {
  const g = leaf.grad!;
  const values = g.toArray();
  leaf.grad = undefined;
  g.dispose();
  return values;
}

afterEach(() => {
  expect(mp.memory().numTensors).toBe(0);
});

describe('GradScaler keeps the scale a finite, normal float32', () => {
  /** w = [1, 2] trained by SGD(lr 0.5) with a scaler; `overflow` steps have infinite gradients. */
  function run(options: mp.amp.GradScalerOptions, overflows: number) {
    const w = mp.tensor([1, 2]).requiresGrad_();
    const opt = new mp.optim.SGD([w], { lr: 0.5 });
    const scaler = new mp.amp.GradScaler({ device: 'cpu', ...options });
    const step = (bad: boolean) => {
      opt.zeroGrad();
      mp.tidy(() => scaler.scale(bad ? w.mul(Infinity).sum() : w.sum()).backward());
      const result = scaler.step(opt);
      scaler.update();
      return result;
    };
    const free = () => {
      scaler.dispose();
      opt.zeroGrad();
      w.dispose();
    };
    for (let i = 0; i < overflows; ++i) void step(true);
    return { w, scaler, step, free };
  }

  test('backoffs stop at 2^-126 (not 0), a clean step after them applies finite values, no host read', async () => {
    // backoffFactor 1e-30 from 65536: 6.6e-26, then 6.6e-56, which float32 rounds to 0 unclamped.
    const before = mp.hostReads();
    const { w, scaler, step, free } = run({ backoffFactor: 1e-30, onFloor: 'hold' }, 3);
    expect(mp.hostReads() - before).toBe(0);
    expect(scaler.getScale()).toBe(MIN_NORMAL);
    // d(sum w)/dw = 1; scaled by 2^-126 (a normal float32) and unscaled by 2^126: exactly 1.
    expect(await step(false).applied).toBe(true);
    expect(w.toArray()).toEqual([0.5, 1.5]);
    expect((await scaler.statistics()).floorHits).toBe(2);
    free();
  });

  test('the default floor warns once read (getScale/statistics), throws on the next call with onFloor: "throw"', async () => {
    const warned = await warningsOf(async () => {
      const { scaler, free } = run({ backoffFactor: 1e-30 }, 3);
      expect(scaler.getScale()).toBe(MIN_NORMAL);
      await scaler.statistics();
      free();
    });
    expect(warned.filter((c) => c === 'MIXPREC_SCALE_FLOOR')).toHaveLength(1);
    const { scaler, free } = run({ backoffFactor: 1e-30, onFloor: 'throw' }, 3);
    expect(scaler.getScale()).toBe(MIN_NORMAL);
    const one = mp.ones([1]);
    expect(refusal(() => scaler.scale(one))).toMatchObject({ code: 'ERR_NONFINITE', message: expect.stringMatching(/hit its floor/) });
    one.dispose();
    free();
  });

  test('the update kernel never stores a subnormal or zero scale, even with minScale 0 passed natively', () => {
    const scale = mp.tensor([2 ** -120]);
    const tracker = mp.zeros([], { dtype: 'int32' });
    const hysteresisLeft = mp.ones([], { dtype: 'int32' });
    const foundInf = mp.ones([]);
    const stats = mp.zeros([6], { dtype: 'int32' });
    ampUpdateScale({ scale, tracker, hysteresisLeft, foundInf, stats }, { growthFactor: 2, backoffFactor: 2 ** -20, growthInterval: 10, hysteresis: 1, minScale: 0, maxScale: Infinity });
    expect(scale.toArray()).toEqual([MIN_NORMAL]);
    expect(Array.from(stats.dataSync())).toEqual([1, 1, 0, 1, 1, 1 | 2 | 8]);
    for (const t of [scale, tracker, hysteresisLeft, foundInf, stats]) t.dispose();
  });

  test('an unusable scale (subnormal, 0, inf, NaN) counts as an overflow in the unscale kernel and skips the optimizer', () => {
    for (const bad of [1e-40, 0, Infinity, NaN]) {
      const grads = [mp.tensor([1, 2])];
      const scale = mp.tensor([bad]);
      const foundInf = mp.zeros([]);
      const flags = mp.zeros([1]);
      ampUnscale('float32', grads, scale, foundInf, flags);
      expect(foundInf.item()).toBe(1);
      expect(grads[0].toArray()).toEqual([1, 2]);
      // The float16 path: the optimizer divides by the scale itself, and skips instead.
      const w = mp.tensor([1, 2]).requiresGrad_();
      w.grad = mp.tensor([1, 1]);
      const opt = new mp.optim.SGD([w], { lr: 1 });
      const none = mp.zeros([]);
      opt.step({ gradScale: scale, foundInf: none });
      expect(w.toArray()).toEqual([1, 2]);
      opt.zeroGrad();
      for (const t of [...grads, scale, foundInf, flags, w, none]) t.dispose();
    }
  });

  test('initScale, minScale, growthFactor, backoffFactor and the setters are validated', () => {
    const make = (o: mp.amp.GradScalerOptions) => () => new mp.amp.GradScaler({ device: 'cpu', ...o });
    for (const initScale of [1e39, 1e-40, 0, -1, NaN, Infinity]) {
      expect(refusal(make({ initScale }))).toMatchObject({ name: 'MixprecRangeError', message: expect.stringMatching(/GradScaler: argument 'options.initScale' must be a finite number > 0 stored as a normal float32/) });
    }
    expect(refusal(make({ minScale: 1e-40 })).message).toMatch(/options.minScale/);
    for (const growthFactor of [1, 0.5, NaN, Infinity]) expect(refusal(make({ growthFactor })).message).toMatch(/options.growthFactor' must be a finite number > 1/);
    for (const backoffFactor of [0, 1, NaN, -0.5]) expect(refusal(make({ backoffFactor })).message).toMatch(/options.backoffFactor' must be a number in \(0, 1\)/);
    const s = new mp.amp.GradScaler({ device: 'cpu' });
    expect(refusal(() => s.setGrowthFactor(undefined as never)).message).toMatch(/setGrowthFactor: argument 'value'/);
    expect(refusal(() => s.setBackoffFactor(undefined as never)).message).toMatch(/setBackoffFactor: argument 'value'/);
    expect(refusal(() => s.setGrowthInterval(undefined as never)).message).toMatch(/setGrowthInterval: argument 'value'/);
    expect(s.getGrowthFactor()).toBe(2);
    expect(refusal(() => s.loadStateDict({ scale: 1e39, growth_factor: 2, backoff_factor: 0.5, growth_interval: 10, _growth_tracker: 0 })).message).toMatch(/state.scale/);
  });

  test('update(newScale) refuses the same values as a tensor as it does as a number', () => {
    const { scaler, step, free } = run({}, 0);
    void step(false);
    for (const bad of [NaN, Infinity, 0, -1, 1e-40, 1e39]) {
      expect(refusal(() => scaler.update(bad)).message).toMatch(/newScale' must be a finite number > 0 stored as a normal float32/);
      const t = mp.tensor([bad]);
      expect(refusal(() => scaler.update(t)).message).toMatch(/newScale' must be a finite number > 0 stored as a normal float32/);
      t.dispose();
    }
    for (const t of [mp.tensor([8], { dtype: 'float64' }), mp.tensor([8, 8]), mp.tensor([8], { dtype: 'int32' })]) {
      expect(refusal(() => scaler.update(t)).message).toMatch(/one-element float tensor of dtype float32/);
      t.dispose();
    }
    const ok = mp.tensor([8]);
    scaler.update(ok);
    expect(scaler.getScale()).toBe(8);
    ok.dispose();
    free();
  });
});

describe('int32 arithmetic wraps modulo 2^32 everywhere; integer ** negative scalar raises', () => {
  const wrap = (v: bigint) => Number(BigInt.asIntN(32, v));
  const max = 2 ** 31 - 1;

  test('sum and prod wrap like add and mul (whole tensor, along a dim, through several dims)', () => {
    mp.tidy(() => {
      const x = mp.tensor([max, max, max, max], { dtype: 'int32' });
      expect(x.sum().item()).toBe(wrap(4n * BigInt(max)));
      expect(x.sum().item()).toBe((x.add(x).add(x).add(x).toArray() as number[])[0]);
      const m = mp.tensor([[max, 2], [max, -5], [1, max]], { dtype: 'int32' });
      expect(m.sum({ dim: 0 }).toArray()).toEqual([wrap(2n * BigInt(max) + 1n), wrap(BigInt(max) - 3n)]);
      expect(m.sum().item()).toBe(wrap(3n * BigInt(max) - 2n));
      const p = mp.tensor([65537, 65537, 3], { dtype: 'int32' });
      expect(p.prod().item()).toBe(wrap(65537n * 65537n * 3n));
      expect(mp.tensor([[65536, 65536]], { dtype: 'int32' }).prod({ dim: 1 }).toArray()).toEqual([0]);
      // Into a float dtype the 64-bit total is rounded once (no wrap).
      expect(x.sum({ dtype: 'float64' }).item()).toBe(4 * max);
    });
  });

  test('pow of an integer tensor by a negative scalar raises as PyTorch does', () => {
    mp.tidy(() => {
      const i = mp.tensor([1, 2, 3], { dtype: 'int32' });
      for (const e of [-1, -2]) {
        expect(refusal(() => i.pow(e))).toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/^pow: Integers to negative integer powers are not allowed/) });
      }
      expect(i.pow(2).toArray()).toEqual([1, 4, 9]);
      expect(i.pow(-0.5).dtype).toBe('float32');
    });
  });
});

describe('clamp with min > max gives max everywhere (PyTorch: min(max(x, lo), hi))', () => {
  test('every dtype and SIMD level; NaN passes; the gradient is zero; the multi-tensor clamp agrees', () => {
    const levels = ['scalar', 'f16c', 'avx512', 'avx512bf16', 'amx'];
    const initial = mp.backend().simdDetected;
    try {
      for (const level of levels) {
        if (!mp.setSimdLevel(level)) continue;
        mp.tidy(() => {
          for (const dtype of ['float32', 'float16', 'bfloat16', 'float64'] as const) {
            const x = mp.tensor(Array.from({ length: 37 }, (_, k) => k - 10), { dtype });
            expect(x.clamp(8, 2).toArray()).toEqual(new Array(37).fill(2));
            expect(mp.tensor([NaN, 5], { dtype }).clamp(8, 2).toArray()).toEqual([NaN, 2]);
          }
          expect(mp.tensor([1, 5, 9], { dtype: 'int32' }).clamp(8, 2).toArray()).toEqual([2, 2, 2]);
          const t = mp.tensor([1, 5, 9, NaN]);
          multiTensorClamp('float32', [t], 8, 2);
          expect(t.toArray()).toEqual([2, 2, 2, NaN]);
        });
      }
    } finally {
      mp.setSimdLevel(initial);
    }
    mp.tidy(() => {
      const w = mp.tensor([1, 5, 9]).requiresGrad_();
      w.clamp(8, 2).sum().backward();
      expect(takeGrad(w)).toEqual([0, 0, 0]);
    });
  });
});

describe('custom Functions, hooks and backward(gradient) refuse what PyTorch refuses', () => {
  test('a backward that returns nothing, a forward that returns a number, a gradient that is not a tensor', () => {
    class NoReturn extends mp.autograd.Function {
      static override forward(_ctx: mp.autograd.FunctionCtx, x: mp.Tensor) {
        return x.mul(2);
      }
      static override backward() {
        return undefined;
      }
    }
    class NumberOut extends mp.autograd.Function {
      static override forward() {
        return 3 as unknown as mp.Tensor;
      }
    }
    class NumberGrad extends mp.autograd.Function {
      static override forward(_ctx: mp.autograd.FunctionCtx, x: mp.Tensor) {
        return x.mul(2);
      }
      static override backward() {
        return 1 as unknown as mp.Tensor;
      }
    }
    mp.tidy(() => {
      const x = mp.tensor([1, 2]).requiresGrad_();
      const y = NoReturn.apply(x) as mp.Tensor;
      expect(refusal(() => y.sum().backward())).toMatchObject({ name: 'MixprecTypeError', code: 'ERR_AUTOGRAD', message: expect.stringMatching(/NoReturn.backward returned undefined.*forget to return/) });
      expect(refusal(() => NumberOut.apply(x))).toMatchObject({ name: 'MixprecTypeError', message: expect.stringMatching(/NumberOut.forward returned number, expected a Tensor/) });
      const z = NumberGrad.apply(x) as mp.Tensor;
      expect(refusal(() => z.sum().backward()).message).toMatch(/NumberGrad.backward returned number as gradient 0/);
      expect(x.grad).toBeUndefined();
    });
  });

  test('hooks returning a non-tensor or a gradient of another shape/dtype are named as the culprit', () => {
    mp.tidy(() => {
      const x = mp.tensor([1, 2]).requiresGrad_();
      const cases: [(g: mp.Tensor) => unknown, RegExp][] = [
        [() => 5, /a gradient hook 'numberHook' on output 0 of MulBackward.* returned number; a hook must return a Tensor/],
        [() => mp.ones([3]), /a gradient hook 'shapeHook' .* changed the gradient: it returned float32 tensor of shape \[3\]/],
        [(g) => g.double(), /a gradient hook 'dtypeHook' .* changed the gradient: it returned float64 tensor/],
      ];
      const names = ['numberHook', 'shapeHook', 'dtypeHook'];
      cases.forEach(([body, message], i) => {
        const y = x.mul(2);
        const hook = { [names[i]]: (g: mp.Tensor) => body(g) }[names[i]];
        y.registerHook(hook as (g: mp.Tensor) => mp.Tensor);
        const r = refusal(() => y.sum().backward());
        expect(r.message).toMatch(message);
        expect(r.message).not.toMatch(/^reshape/);
      });
      expect(x.grad).toBeUndefined();
    });
  });

  test('backward(gradient) refuses a gradient of another dtype or shape', () => {
    mp.tidy(() => {
      const y = mp.tensor([1, 2]).requiresGrad_().mul(2);
      expect(refusal(() => y.backward(mp.ones([2], { dtype: 'float64' })))).toMatchObject({ code: 'ERR_DTYPE_MISMATCH', message: expect.stringMatching(/backward: gradient 0 must have the output's dtype float32, got float64/) });
      expect(refusal(() => y.backward(mp.ones([3])))).toMatchObject({ code: 'ERR_SHAPE_MISMATCH' });
    });
  });
});

describe('shapes are read once: a getter or Proxy cannot pass the checks and then change', () => {
  /** An array whose elements read as `first` the first time each is read, as `later` afterwards. */
  function twoFaced(first: number[], later: number[]): { shape: number[]; reads: () => number } {
    const seen = new Set<number>();
    let reads = 0;
    const shape = new Proxy(first.slice(), {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) {
          const i = Number(key);
          reads += 1;
          const value = seen.has(i) ? later[i] : first[i];
          seen.add(i);
          return value;
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    return { shape, reads: () => reads };
  }

  const entries: [string, (s: number[]) => mp.Tensor][] = [
    ['zeros', (s) => mp.zeros(s)],
    ['ones', (s) => mp.ones(s)],
    ['full', (s) => mp.full(s, 7)],
    ['empty', (s) => mp.empty(s)],
    ['rand', (s) => mp.rand(s)],
    ['randn', (s) => mp.randn(s)],
    ['tensor(typed, {shape})', (s) => mp.tensor(new Float32Array(6), { shape: s })],
    ['reshape', (s) => mp.zeros([6]).reshape(s)],
    ['view', (s) => mp.zeros([6]).view(s)],
    ['expand', (s) => mp.zeros([1, 3]).expand(s)],
  ];

  test.each(entries)('%s', (_name, make) => {
    mp.tidy(() => {
      const { shape, reads } = twoFaced([2, 3], [2, 1.5]);
      expect(make(shape).shape).toEqual([2, 3]);
      expect(reads()).toBe(2);
    });
  });
});

describe('options are read from own properties only', () => {
  const values: Record<string, unknown> = {
    retainGraph: true, createGraph: true, dtype: 'float64', device: 'cuda', requiresGrad: true, keepdim: true, dim: 0,
    reduction: 'sum', initScale: 8, growthInterval: 1, enabled: false, shape: [1, 1], approximate: 'tanh', beta: 5,
    labelSmoothing: 0.5, ignoreIndex: 0, strict: false,
  };
  const keys = Object.keys(values);

  /** Runs `fn` with every key above set on Object.prototype, removed again afterwards. */
  function polluted<T>(fn: () => T): T {
    const proto = Object.prototype as Record<string, unknown>;
    for (const k of keys) Object.defineProperty(proto, k, { value: values[k], configurable: true, writable: true, enumerable: false });
    try {
      return fn();
    } finally {
      for (const k of keys) delete proto[k];
    }
  }

  test('a polluted Object.prototype changes nothing', () => {
    const run = () =>
      mp.tidy(() => {
        const x = mp.tensor([[1, 2], [3, 4]], {}).requiresGrad_();
        const y = x.mul(x).sum({});
        y.backward(undefined, {});
        const second = refusal(() => y.backward(undefined, {})).message;
        const grad = takeGrad(x);
        const scaler = new mp.amp.GradScaler({ device: 'cpu' });
        const logits = mp.tensor([[1, 2, 3], [3, 1, 2]]);
        const gelu = new mp.nn.GELU();
        return {
          second,
          grad,
          zeros: mp.zeros([2], {}).dtype,
          typed: mp.tensor(new Float32Array(2), {}).shape,
          sum: x.sum({}).shape,
          ce: F.crossEntropy(logits, mp.tensor([2, 0], { dtype: 'int32' }), {}).item(),
          mse: F.mseLoss(logits, mp.zeros([2, 3]), {}).item(),
          intSum: mp.tensor([1, 2], { dtype: 'int32' }).sum({}).dtype,
          gelu: gelu.forward(mp.tensor([1])).item(),
          softplus: F.softplus(mp.tensor([1]), {}).item(),
          scale: scaler.getScale(),
          interval: scaler.getGrowthInterval(),
          enabled: scaler.isEnabled(),
        };
      });
    const clean = run();
    expect(clean.second).toMatch(/second time/);
    expect(polluted(run)).toEqual(clean);
  });

  test('inherited options are ignored: GradScaler(Object.create({...})) and backward(Object.create({retainGraph}))', async () => {
    if (!mp.cuda.isAvailable()) {
      // The inherited device 'cpu' is not read: the default 'cuda' is, which disables the scaler here.
      const warned = await warningsOf(() => expect(new mp.amp.GradScaler(Object.create({ device: 'cpu', initScale: 8 }) as mp.amp.GradScalerOptions).isEnabled()).toBe(false));
      expect(warned).toEqual(['MIXPREC_SCALER_DISABLED']);
    }
    const t = new mp.amp.GradScaler({ device: 'cpu', ...(Object.create({ initScale: 8 }) as object) });
    expect(t.getScale()).toBe(65536);
    mp.tidy(() => {
      const leaf = mp.tensor([1]).requiresGrad_();
      const y = leaf.mul(mp.tensor([2]));
      y.backward(undefined, Object.create({ retainGraph: true }) as mp.autograd.BackwardOptions);
      expect(refusal(() => y.backward()).message).toMatch(/second time/);
      expect(takeGrad(leaf)).toEqual([2]);
    });
  });
});

describe('clear errors', () => {
  test('crossEntropy takes class-probability targets of the input shape (PyTorch), against float64 math', () => {
    const logits = [[1, 2, 3], [0.5, -1, 0]];
    const probs = [[0.2, 0.3, 0.5], [1, 0, 0]];
    const weight = [1, 2, 0.5];
    const smoothing = 0.1;
    const reference = (w: number[], s: number) =>
      logits.map((row, n) => {
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
        return -row.reduce((a, v, c) => a + w[c] * (probs[n][c] * (1 - s) + s / row.length) * (v - lse), 0);
      });
    mp.tidy(() => {
      const x = mp.tensor(logits, { dtype: 'float64' });
      const p = mp.tensor(probs, { dtype: 'float64' });
      const none = F.crossEntropy(x, p, { reduction: 'none' }).toArray() as number[];
      reference([1, 1, 1], 0).forEach((v, i) => expect(none[i]).toBeCloseTo(v, 12));
      const mean = reference(weight, smoothing).reduce((a, b) => a + b) / 2;
      expect(F.crossEntropy(x, p, { weight: mp.tensor(weight, { dtype: 'float64' }), labelSmoothing: smoothing }).item()).toBeCloseTo(mean, 12);
      // [N, C, d] inputs: the classes are dim 1.
      const x3 = x.unsqueeze(2);
      const p3 = p.unsqueeze(2);
      expect(F.crossEntropy(x3, p3, { reduction: 'sum' }).item()).toBeCloseTo(reference([1, 1, 1], 0).reduce((a, b) => a + b), 12);
      // d loss / d logits = softmax - p for rows of p that sum to 1 ('sum' reduction).
      const xg = mp.tensor(logits, { dtype: 'float64' }).requiresGrad_();
      F.crossEntropy(xg, p, { reduction: 'sum' }).backward();
      const g = takeGrad(xg) as number[][];
      logits.forEach((row, n) => {
        const e = row.map((v) => Math.exp(v));
        const z = e.reduce((a, b) => a + b);
        row.forEach((_, c) => expect(g[n][c]).toBeCloseTo(e[c] / z - probs[n][c], 12));
      });
      expect(refusal(() => F.crossEntropy(x, mp.tensor([0.5, 0.5], { dtype: 'float64' }))).message).toMatch(/a float target holds class probabilities and must have the input's shape \[2, 3\]/);
    });
  });

  test('a SharedArrayBuffer-backed typed array is copied', () => {
    const shared = new Float32Array(new SharedArrayBuffer(12));
    shared.set([1, 2, 3]);
    const t = mp.tensor(shared);
    shared[0] = 9;
    expect(t.toArray()).toEqual([1, 2, 3]);
    t.dispose();
  });

  test('embedding names itself and its argument for a bad index', () => {
    mp.tidy(() => {
      const w = mp.randn([5, 3]);
      const r = refusal(() => F.embedding(mp.tensor([[0, 1], [7, 2]], { dtype: 'int32' }), w));
      expect(r).toMatchObject({ code: 'ERR_INDEX_OUT_OF_RANGE', message: "embedding: argument 'indices' must hold indices in [0, 5) (the rows of weight [5, 3]), got 7 at position [1, 0]" });
      const layer = new mp.nn.Embedding(5, 3);
      expect(refusal(() => layer.forward(mp.tensor([-1], { dtype: 'int32' }))).message).toMatch(/^embedding: argument 'indices' .* got -1 at position \[0\]$/);
      layer.weight.dispose();
    });
  });

  test('fake tensors get a MixprecTypeError naming the op', () => {
    const fake = Object.create(mp.Tensor.prototype) as mp.Tensor;
    expect(refusal(() => mp.add(fake, 1))).toMatchObject({ name: 'MixprecTypeError', code: 'ERR_INVALID_ARG', message: expect.stringMatching(/^add: argument 'input' is not a tensor made by mixprec/) });
    expect(refusal(() => fake.sum()).message).toMatch(/^sum: argument .* is not a tensor made by mixprec/);
    const real = mp.zeros([2]);
    expect(refusal(() => real.add(fake)).message).toMatch(/^add: argument 'other' is not a tensor made by mixprec/);
    real.dispose();
    const Ctor = mp.Tensor as unknown as new () => mp.Tensor;
    expect(refusal(() => new Ctor())).toMatchObject({ name: 'MixprecTypeError', message: expect.stringMatching(/^Tensor: the constructor is internal/) });
    expect(mp.memory().numTensors).toBe(0);
  });

  test("promoteTypes refuses unknown names; to() refuses unknown keys", () => {
    expect(refusal(() => mp.promoteTypes('float32', 'foo' as mp.DType))).toMatchObject({ name: 'MixprecTypeError', code: 'ERR_INVALID_DTYPE', message: expect.stringMatching(/promoteTypes: argument 'type2'/) });
    expect(refusal(() => mp.promoteTypes('foo' as mp.DType, 'foo' as mp.DType)).message).toMatch(/promoteTypes: argument 'type1'/);
    mp.tidy(() => {
      expect(refusal(() => mp.ones([1]).to({ dtype: 'float64', foo: 1 } as never)).message).toMatch(/^to: unknown option 'foo'/);
    });
  });

  test('an autocast.enter() scope left open warns when the process exits (child process, ~1 s)', () => {
    const root = path.resolve(__dirname, '..');
    const script = `const mp = require('./dist');
      const scope = mp.amp.autocast.enter({ deviceType: 'cpu' });
      if (process.argv[1] === 'close') scope.exit();`;
    const open = spawnSync(process.execPath, ['-e', script, 'open'], { cwd: root, encoding: 'utf8' });
    expect(open.status).toBe(0);
    expect(open.stderr).toMatch(/MixprecWarning: 1 autocast scope\(s\) opened with mp.amp.autocast.enter\(\) were never exited/);
    const closed = spawnSync(process.execPath, ['-e', script, 'close'], { cwd: root, encoding: 'utf8' });
    expect(closed.status).toBe(0);
    expect(closed.stderr).toBe('');
  });
});
