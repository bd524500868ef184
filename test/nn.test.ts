// mp.nn: module structure (registration, names, state dicts, to(), modes, containers), default
// initialisation statistics against PyTorch's formulas, nn.init, and forward passes of the
// layers whose functional ops exist (Linear, ReLU, Tanh, Sigmoid, Sequential) against JS math.
import * as mp from '../lib';

const { nn } = mp;

afterEach(() => expect(mp.memory().numTensors).toBe(0));

/** Population moments and range of a sample, in double. */
function stats(values: ArrayLike<number>): { mean: number; variance: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; ++i) {
    sum += values[i];
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; ++i) sq += (values[i] - mean) ** 2;
  return { mean, variance: sq / values.length, min, max };
}

/** Checks a sample against U(-bound, bound): range, mean within 5 standard errors, variance b²/3 within 2%. */
function expectUniform(values: ArrayLike<number>, bound: number): void {
  const s = stats(values);
  expect(s.min).toBeGreaterThanOrEqual(-bound);
  expect(s.max).toBeLessThanOrEqual(bound);
  expect(s.max).toBeGreaterThan(0.99 * bound);
  expect(s.min).toBeLessThan(-0.99 * bound);
  expect(Math.abs(s.mean)).toBeLessThan((5 * bound) / Math.sqrt(3 * values.length));
  expect(s.variance / (bound * bound / 3)).toBeCloseTo(1, 1);
  expect(Math.abs(s.variance / (bound * bound / 3) - 1)).toBeLessThan(0.02);
}

/** Checks a sample against N(mean, std²). */
function expectNormal(values: ArrayLike<number>, mean: number, std: number): void {
  const s = stats(values);
  expect(Math.abs(s.mean - mean)).toBeLessThan((5 * std) / Math.sqrt(values.length));
  expect(Math.abs(Math.sqrt(s.variance) / std - 1)).toBeLessThan(0.02);
}

const names = (entries: [string, unknown][]) => entries.map(([n]) => n);

describe('Module registration and traversal', () => {
  class Net extends nn.Module {
    scale = nn.parameter(mp.ones([1]));
    fc1 = new nn.Linear(4, 8);
    act = new nn.ReLU();
    head = new nn.Sequential(new nn.Linear(8, 8), new nn.Tanh(), new nn.Linear(8, 2));
    notAParameter = mp.keep(mp.ones([2]));
    forward(x: mp.Tensor): mp.Tensor {
      return this.head.forward(this.act.forward(this.fc1.forward(x))).mul(this.scale);
    }
  }

  test('assigned fields are discovered: parameters, dotted names, modules, children', () => {
    const net = new Net();
    expect(names(net.namedParameters())).toEqual(['scale', 'fc1.weight', 'fc1.bias', 'head.0.weight', 'head.0.bias', 'head.2.weight', 'head.2.bias']);
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(names(net.namedParameters(false))).toEqual(['scale']);
    expect(names(net.namedModules())).toEqual(['', 'fc1', 'act', 'head', 'head.0', 'head.1', 'head.2']);
    expect(net.modules()[3]).toBe(net.head);
    expect(names(net.namedChildren())).toEqual(['fc1', 'act', 'head']);
    expect(net.children()).toEqual([net.fc1, net.act, net.head]);
    expect(net.parameters()).toContain(net.fc1.weight);
    expect(net.parameters()).not.toContain(net.notAParameter);
    net.notAParameter.dispose();
    net.dispose();
  });

  test('parameters survive tidy scopes, including the one that built the module', () => {
    const net = mp.tidy(() => new Net());
    expect(net.parameters().some((p) => p.isDisposed)).toBe(false);
    mp.tidy(() => {
      const out = net.forward(mp.randn([3, 4]));
      // What a backward pass inside a training step leaves behind.
      for (const p of net.parameters()) p.grad = mp.onesLike(p);
      return out.sum();
    }).dispose();
    for (const p of net.parameters()) {
      expect(p.isDisposed).toBe(false);
      expect(p.grad?.isDisposed).toBe(false);
    }
    net.notAParameter.dispose();
    net.dispose();
  });

  test('a frozen parameter stays a parameter; requiresGrad_ sets every parameter', () => {
    const net = new Net();
    net.requiresGrad_(false);
    expect(net.parameters()).toHaveLength(7);
    expect(net.parameters().some((p) => p.requiresGrad)).toBe(false);
    net.fc1.requiresGrad_();
    expect(net.parameters().map((p) => p.requiresGrad)).toEqual([false, true, true, false, false, false, false]);
    net.notAParameter.dispose();
    net.dispose();
  });

  test('explicit registration: undefined entries are skipped, buffers and persistence', () => {
    class Custom extends nn.Module {
      constructor() {
        super();
        this.registerParameter('w', mp.zeros([2, 2]));
        this.registerParameter('b', undefined);
        this.registerBuffer('count', mp.zeros([], { dtype: 'int32' }));
        this.registerBuffer('cache', mp.zeros([3]), { persistent: false });
        this.registerModule('inner', new nn.Linear(2, 2, { bias: false }));
      }
      forward(x: mp.Tensor): mp.Tensor {
        return x;
      }
    }
    const m = new Custom();
    const record = m as unknown as Record<string, mp.Tensor>;
    expect(record.w.requiresGrad).toBe(true);
    expect(names(m.namedParameters())).toEqual(['w', 'inner.weight']);
    expect(names(m.namedBuffers())).toEqual(['count', 'cache']);
    expect(Object.keys(m.stateDict())).toEqual(['w', 'count', 'inner.weight']);
    expect(m.stateDict().w).toBe(record.w);
    // Assigning to a registered name replaces the entry.
    record.b = mp.ones([2]);
    expect(names(m.namedParameters())).toEqual(['w', 'b', 'inner.weight']);
    expect(record.b.kept).toBe(true);
    m.dispose();
  });

  test('a tensor shared by two modules is one parameter but two state-dict keys', () => {
    const a = new nn.Linear(3, 3);
    const b = new nn.Linear(3, 3, { bias: false });
    b.weight.dispose();
    b.weight = a.weight;
    const seq = new nn.Sequential(a, b);
    expect(names(seq.namedParameters())).toEqual(['0.weight', '0.bias']);
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '1.weight']);
    const twice = new nn.Sequential(a, a);
    expect(twice.modules()).toHaveLength(2);
    expect(Object.keys(twice.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    seq.dispose();
  });

  test('apply visits children before parents', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.ReLU()));
    const seen: string[] = [];
    expect(seq.apply((m) => seen.push(m.constructor.name))).toBe(seq);
    expect(seen).toEqual(['Linear', 'ReLU', 'Sequential', 'Sequential']);
    seq.apply((m) => {
      if (m instanceof nn.Linear) nn.init.zeros_(m.weight);
    });
    expect(Array.from((seq.at(0) as mp.nn.Linear).weight.dataSync())).toEqual([0, 0, 0, 0]);
    seq.dispose();
  });

  test('train/eval set the mode recursively', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.Dropout(0.2), new nn.Sequential(new nn.BatchNorm1d(2)));
    expect(seq.modules().every((m) => m.training)).toBe(true);
    expect(seq.eval()).toBe(seq);
    expect(seq.modules().some((m) => m.training)).toBe(false);
    seq.at(2).train();
    expect(seq.modules().map((m) => m.training)).toEqual([false, false, false, true, true]);
    seq.dispose();
  });

  test('zeroGrad disposes or zeroes gradients', () => {
    const fc = new nn.Linear(3, 2);
    for (const p of fc.parameters()) p.grad = mp.full(p.shape, 2);
    const grads = fc.parameters().map((p) => p.grad);
    fc.zeroGrad({ setToNone: false });
    expect(fc.parameters().map((p) => p.grad)).toEqual(grads);
    expect(Array.from(fc.bias!.grad!.dataSync())).toEqual([0, 0]);
    fc.zeroGrad();
    expect(fc.parameters().map((p) => p.grad)).toEqual([undefined, undefined]);
    expect(grads.every((g) => g!.isDisposed)).toBe(true);
    fc.dispose();
  });

  test('toString prints a PyTorch-style tree', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Sequential(new nn.Dropout(0.25), new nn.Linear(3, 1, { bias: false })));
    expect(String(seq)).toBe([
      'Sequential(',
      '  (0): Linear(inFeatures=2, outFeatures=3, bias=true)',
      '  (1): ReLU()',
      '  (2): Sequential(',
      '    (0): Dropout(p=0.25)',
      '    (1): Linear(inFeatures=3, outFeatures=1, bias=false)',
      '  )',
      ')',
    ].join('\n'));
    const bn = new nn.BatchNorm2d(4);
    expect(String(bn)).toBe('BatchNorm2d(4, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)');
    const conv = new nn.Conv2d(3, 8, 3, { padding: 1, bias: false });
    expect(String(conv)).toBe('Conv2d(3, 8, kernelSize=[3, 3], stride=[1, 1], padding=[1, 1], bias=false)');
    for (const m of [seq, bn, conv]) m.dispose();
  });

  test('registration errors name the module, the argument and the problem', () => {
    class Bad extends nn.Module {
      forward(x: mp.Tensor): mp.Tensor {
        return x;
      }
    }
    const m = new Bad();
    const t = mp.zeros([2]);
    const ints = mp.zeros([2], { dtype: 'int32' });
    expect(() => m.registerParameter('a.b', t)).toThrow("Bad.registerParameter: argument 'name' must be a non-empty name without '.', got \"a.b\"");
    expect(() => m.registerParameter('forward', t)).toThrow("Bad.registerParameter: attribute 'forward' already exists (a method or accessor)");
    expect(() => m.registerBuffer('training', t)).toThrow("Bad.registerBuffer: attribute 'training' already exists (holding true)");
    expect(() => m.registerParameter('i', ints)).toThrow(/Bad.registerParameter: argument 't' must be a floating-point Tensor .*got int32 tensor/);
    expect(() => m.registerModule('m', t as unknown as mp.nn.Module)).toThrow("Bad.registerModule: argument 'module' must be a Module or undefined, got float32 tensor of shape [2] on cpu");
    m.registerBuffer('buf', t);
    expect(() => m.registerParameter('buf', t)).toThrow("Bad.registerParameter: 'buf' is already registered as a buffer");
    (m as unknown as Record<string, unknown>).buf = 3;
    expect(() => m.buffers()).toThrow(mp.MixprecTypeError);
    expect(() => m.buffers()).toThrow("Bad: buffer 'buf' must be a Tensor or undefined, got 3");
    expect(() => m.train('yes' as unknown as boolean)).toThrow("Bad.train: argument 'mode' must be a boolean, got \"yes\"");
    mp.dispose([t, ints]);
  });
});

describe('stateDict and loadStateDict', () => {
  const build = () => new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.Linear(4, 2));

  test('keys follow PyTorch, in camelCase', () => {
    const m = build();
    expect(Object.keys(m.stateDict())).toEqual([
      '0.weight', '0.bias', '1.weight', '1.bias', '1.runningMean', '1.runningVar', '1.numBatchesTracked', '2.weight', '2.bias',
    ]);
    m.dispose();
  });

  test('round trip copies every value into the same tensors and bumps their versions', () => {
    const src = build();
    const dst = build();
    nn.init.constant_(src.stateDict()['1.runningMean'], 0.5);
    nn.init.constant_(src.stateDict()['1.numBatchesTracked'], 7);
    const before = dst.stateDict();
    const versions = Object.values(before).map((t) => t.version);
    expect(dst.loadStateDict(src.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const after = dst.stateDict();
    for (const [k, t] of Object.entries(after)) {
      expect(t).toBe(before[k]);
      expect(Array.from(t.dataSync())).toEqual(Array.from(src.stateDict()[k].dataSync()));
    }
    Object.values(after).forEach((t, i) => expect(t.version).toBeGreaterThan(versions[i]));
    expect(after['1.numBatchesTracked'].dtype).toBe('int32');
    expect(after['1.numBatchesTracked'].item()).toBe(7);
    src.dispose();
    dst.dispose();
  });

  test('converts dtype and accepts a Map', () => {
    const src = new nn.Linear(2, 2, { dtype: 'float64' });
    const dst = new nn.Linear(2, 2, { dtype: 'bfloat16' });
    dst.loadStateDict(new Map(Object.entries(src.stateDict())));
    expect(dst.weight.dtype).toBe('bfloat16');
    mp.tidy(() => expect(Array.from(dst.weight.double().dataSync())).toEqual(Array.from(src.weight.to('bfloat16').double().dataSync())));
    src.dispose();
    dst.dispose();
  });

  test('strict mode lists missing and unexpected keys; nothing is written on error', () => {
    const m = build();
    const sd = { ...m.stateDict() };
    const extra = mp.zeros([1]);
    delete sd['2.bias'];
    delete sd['1.runningVar'];
    const loaded = { ...sd, 'head.weight': extra };
    const w0 = Array.from(m.stateDict()['0.weight'].dataSync());
    const version = m.stateDict()['0.weight'].version;
    expect(() => m.loadStateDict(loaded)).toThrow(
      "Sequential.loadStateDict: cannot load the state dict into Sequential:\n  missing keys: '1.runningVar', '2.bias'\n  unexpected keys: 'head.weight'");
    expect(m.stateDict()['0.weight'].version).toBe(version);
    expect(m.loadStateDict(loaded, { strict: false })).toEqual({ missingKeys: ['1.runningVar', '2.bias'], unexpectedKeys: ['head.weight'] });
    expect(Array.from(m.stateDict()['0.weight'].dataSync())).toEqual(w0);
    extra.dispose();
    m.dispose();
  });

  test('shape mismatches are errors even when not strict', () => {
    const m = new nn.Linear(3, 2);
    const wrong = mp.zeros([2, 4]);
    const load = () => m.loadStateDict({ weight: wrong, bias: m.bias! }, { strict: false });
    expect(load).toThrow(mp.MixprecError);
    expect(load).toThrow("size mismatch for 'weight': the state dict has shape [2, 4], the module [2, 3]");
    expect(() => m.loadStateDict({ weight: 1 as unknown as mp.Tensor })).toThrow("Linear.loadStateDict: argument 'stateDict['weight']' must be a Tensor, got 1");
    wrong.dispose();
    m.dispose();
  });
});

describe('Module.to', () => {
  test('converts float parameters and buffers, keeps int buffers, flags, grads and ties', () => {
    const a = new nn.Linear(3, 3);
    const b = new nn.Linear(3, 3, { bias: false });
    b.weight.dispose();
    b.weight = a.weight;
    const seq = new nn.Sequential(a, b, new nn.BatchNorm1d(3));
    a.bias!.requiresGrad = false;
    a.weight.grad = mp.full(a.weight.shape, 0.25);
    const oldWeight = a.weight;
    const values = mp.tidy(() => Array.from(a.weight.to('float16').dataSync()));
    expect(seq.to('float16')).toBe(seq);
    expect(oldWeight.isDisposed).toBe(true);
    expect(a.weight.dtype).toBe('float16');
    expect(b.weight).toBe(a.weight);
    expect(Array.from(a.weight.dataSync())).toEqual(values);
    expect(a.weight.requiresGrad).toBe(true);
    expect(a.bias!.requiresGrad).toBe(false);
    expect(a.weight.grad!.dtype).toBe('float16');
    expect(Array.from(a.weight.grad!.dataSync())).toEqual(new Array(9).fill(0.25));
    const sd = seq.stateDict();
    expect(sd['2.runningMean'].dtype).toBe('float16');
    expect(sd['2.numBatchesTracked'].dtype).toBe('int32');
    expect(Object.values(sd).every((t) => t.kept)).toBe(true);
    const y = mp.tidy(() => seq.at(0).forward(mp.ones([2, 3], { dtype: 'float16' })));
    expect(y.dtype).toBe('float16');
    y.dispose();
    seq.dispose();
  });

  test('leaves the module unchanged on bad targets', () => {
    const fc = new nn.Linear(2, 2);
    const w = fc.weight;
    expect(() => fc.to('int32')).toThrow(/Linear.to: argument 'dtype' must be a floating-point dtype/);
    expect(() => fc.to('tpu' as mp.DeviceLike)).toThrow("Linear.to: argument 'target' must be 'cpu', 'cuda' or 'cuda:N', got \"tpu\"");
    if (!mp.cuda.isAvailable()) expect(() => fc.to('cuda')).toThrow(mp.MixprecError);
    expect(fc.weight).toBe(w);
    expect(w.isDisposed).toBe(false);
    expect(fc.to('cpu').weight).toBe(w);
    fc.dispose();
  });
});

describe('layer construction and default initialisation', () => {
  test('Linear: shapes, U(-1/√in, 1/√in) for weight and bias', () => {
    mp.manualSeed(1);
    const fc = new nn.Linear(400, 1500);
    expect(fc.weight.shape).toEqual([1500, 400]);
    expect(fc.bias!.shape).toEqual([1500]);
    expectUniform(fc.weight.dataSync(), 1 / Math.sqrt(400));
    const b = stats(fc.bias!.dataSync());
    expect(b.max).toBeLessThanOrEqual(0.05);
    expect(b.min).toBeGreaterThanOrEqual(-0.05);
    expect(b.max - b.min).toBeGreaterThan(0.09);
    const noBias = new nn.Linear(2, 3, { bias: false });
    expect(noBias.parameters()).toEqual([noBias.weight]);
    noBias.dispose();
    fc.dispose();
  });

  test('seeded construction is reproducible; dtype and device options', () => {
    mp.manualSeed(5);
    const a = new nn.Linear(8, 4);
    mp.manualSeed(5);
    const b = new nn.Linear(8, 4, { dtype: 'float64' });
    expect(b.weight.dtype).toBe('float64');
    const aw = Array.from(a.weight.dataSync());
    const bw = Array.from(b.weight.dataSync());
    // Same draws, rounded into each dtype once.
    bw.forEach((v, i) => expect(Math.abs(v - aw[i])).toBeLessThan(1e-7));
    a.resetParameters({ generator: new mp.Generator(9) });
    b.resetParameters({ generator: new mp.Generator(9) });
    const again = Array.from(a.weight.dataSync());
    Array.from(b.weight.dataSync()).forEach((v, i) => expect(Math.abs(v - again[i])).toBeLessThan(1e-7));
    expect(again).not.toEqual(aw);
    a.dispose();
    b.dispose();
  });

  test('Conv2d: weight layout with groups, fanIn over the kernel', () => {
    mp.manualSeed(2);
    const conv = new nn.Conv2d(64, 96, [5, 3], { groups: 4, stride: 2 });
    expect(conv.weight.shape).toEqual([96, 16, 5, 3]);
    expect(conv.stride).toEqual([2, 2]);
    expect(conv.padding).toEqual([0, 0]);
    expectUniform(conv.weight.dataSync(), 1 / Math.sqrt(16 * 5 * 3));
    const b = stats(conv.bias!.dataSync());
    expect(Math.max(b.max, -b.min)).toBeLessThanOrEqual(1 / Math.sqrt(240));
    conv.dispose();
  });

  test('norms: ones and zeros, buffers, options', () => {
    const bn = new nn.BatchNorm2d(3, { momentum: null });
    expect(Array.from(bn.weight!.dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(bn.bias!.dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(bn.runningMean!.dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(bn.runningVar!.dataSync())).toEqual([1, 1, 1]);
    expect(bn.numBatchesTracked!.shape).toEqual([]);
    expect(bn.numBatchesTracked!.item()).toBe(0);
    expect(names(bn.namedBuffers())).toEqual(['runningMean', 'runningVar', 'numBatchesTracked']);
    expect(bn.buffers().some((t) => t.requiresGrad)).toBe(false);
    const plain = new nn.BatchNorm1d(3, { affine: false, trackRunningStats: false });
    expect(plain.parameters()).toEqual([]);
    expect(plain.buffers()).toEqual([]);
    expect(plain.stateDict()).toEqual({});
    const ln = new nn.LayerNorm([4, 5], { bias: false });
    expect(names(ln.namedParameters())).toEqual(['weight']);
    expect(ln.weight!.shape).toEqual([4, 5]);
    expect(new nn.LayerNorm(6, { elementwiseAffine: false }).parameters()).toEqual([]);
    const gn = new nn.GroupNorm(2, 6, { eps: 1e-3 });
    expect(Array.from(gn.weight!.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(gn.bias!.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    for (const m of [bn, plain, ln, gn]) m.dispose();
  });

  test('Embedding: N(0, 1) and a zero padding row', () => {
    mp.manualSeed(3);
    const emb = new nn.Embedding(1000, 300, { paddingIdx: -1 });
    expect(emb.paddingIdx).toBe(999);
    const w = emb.weight.dataSync();
    expect(Array.from(w.subarray(999 * 300))).toEqual(new Array(300).fill(0));
    expectNormal(w.subarray(0, 999 * 300), 0, 1);
    emb.dispose();
  });

  test('constructor arguments are checked', () => {
    expect(() => new nn.Linear(-1, 2)).toThrow("Linear: argument 'inFeatures' must be a non-negative integer, got -1");
    expect(() => new nn.Linear(2, 2.5)).toThrow(mp.MixprecRangeError);
    expect(() => new nn.Linear(2, 2, { bias: 1 as unknown as boolean })).toThrow("Linear: argument 'options.bias' must be a boolean, got 1");
    expect(() => new nn.Linear(2, 2, { biass: true } as unknown as mp.nn.LinearOptions)).toThrow("Linear: unknown option 'biass'");
    expect(() => new nn.Linear(2, 2, { dtype: 'int32' })).toThrow("Linear: argument 'options.dtype' must be a floating-point dtype (parameters must be able to require gradients), got \"int32\"");
    expect(() => new nn.Conv2d(6, 4, 3, { groups: 4 })).toThrow("Conv2d: argument 'inChannels' must be divisible by groups (4), got 6");
    expect(() => new nn.Conv2d(4, 4, [3, 0])).toThrow("Conv2d: argument 'kernelSize' must be an integer >= 1 or a pair [h, w] of them, got an array of length 2");
    expect(() => new nn.GroupNorm(4, 10)).toThrow("GroupNorm: argument 'numChannels' must be divisible by numGroups (4), got 10");
    expect(() => new nn.BatchNorm1d(3, { momentum: 2 })).toThrow("BatchNorm1d: argument 'options.momentum' must be a number in [0, 1] or null, got 2");
    expect(() => new nn.BatchNorm2d(0)).toThrow("BatchNorm2d: argument 'numFeatures' must be a positive integer, got 0");
    expect(() => new nn.LayerNorm([])).toThrow("LayerNorm: argument 'normalizedShape' must be a positive integer or a non-empty array of them, got an array of length 0");
    expect(() => new nn.Embedding(5, 2, { paddingIdx: 5 })).toThrow("Embedding: argument 'options.paddingIdx' must be an integer in [-5, 4], got 5");
    expect(() => new nn.Dropout(1.5)).toThrow("Dropout: argument 'p' must be a probability in [0, 1], got 1.5");
    expect(() => new nn.GELU({ approximate: 'fast' as 'tanh' })).toThrow("GELU: argument 'options.approximate' must be 'none' or 'tanh', got \"fast\"");
    expect(() => new nn.Softmax(0.5)).toThrow("Softmax: argument 'dim' must be an integer dimension, got 0.5");
    expect(() => new nn.MaxPool2d(2, { padding: 2 })).toThrow("MaxPool2d: argument 'options.padding' must be at most half of the effective kernel size ([2, 2]), got [2, 2]");
    expect(() => new nn.AvgPool2d(3, { strides: 1 } as unknown as mp.nn.AvgPool2dOptions)).toThrow("AvgPool2d: unknown option 'strides'");
    expect(() => new nn.AdaptiveAvgPool2d([0, 2])).toThrow(mp.MixprecRangeError);
    expect(() => new nn.Sequential(new nn.ReLU(), {} as mp.nn.Module)).toThrow("Sequential: argument 'modules[1]' must be a Module, got an object");
  });
});

describe('containers', () => {
  test('Sequential: at, append, iteration', () => {
    const relu = new nn.ReLU();
    const seq = new nn.Sequential(new nn.Linear(2, 2), relu);
    expect(seq.length).toBe(2);
    expect(seq.at(-1)).toBe(relu);
    seq.append(new nn.Tanh());
    expect([...seq].map((m) => m.constructor.name)).toEqual(['Linear', 'ReLU', 'Tanh']);
    expect(() => seq.at(3)).toThrow("Sequential.at: argument 'index' must be an integer in [-3, 2], got 3");
    seq.dispose();
  });

  test('Sequential frees an intermediate once the next built-in layer consumed it; gradients unchanged', () => {
    mp.manualSeed(4);
    const seq = new nn.Sequential(new nn.Linear(64, 256), new nn.ReLU(), new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 4));
    const x = mp.randn([512, 64]);
    // The same layers called one after another hold every intermediate until the tidy closes.
    const run = (viaSequential: boolean) => mp.tidy(() => {
      mp.resetPeakMemory();
      const start = mp.memory().numBytes;
      const y = viaSequential ? seq.forward(x) : [...seq].reduce((h, m) => (m as mp.nn.Module).forward(h), x);
      const live = mp.memory().numBytes - start;
      y.sum().backward();
      const grads = seq.parameters().map((p) => [...p.grad!.dataSync()]);
      seq.zeroGrad();
      return { live, grads, y: [...y.dataSync()] };
    });
    const manual = run(false);
    const fused = run(true);
    expect(fused.y).toEqual(manual.y);
    expect(fused.grads).toEqual(manual.grads);
    // Linear outputs [512, 256] (512 KiB each) are freed once ReLU has run; ReLU keeps its output
    // for backward, so two of the five intermediates (the pre-activation ones) go.
    expect(manual.live - fused.live).toBe(2 * 512 * 256 * 4);
    seq.dispose();
    x.dispose();
  });

  test('Sequential keeps what a module of the user\'s may hold on to', () => {
    class Remember extends nn.ReLU {
      last: mp.Tensor | undefined;
      override forward(x: mp.Tensor): mp.Tensor {
        this.last = x;
        return super.forward(x);
      }
    }
    const remember = new Remember();
    const seq = new nn.Sequential(new nn.Linear(4, 4), remember, new nn.ReLU());
    mp.tidy(() => {
      seq.forward(mp.ones([2, 4]));
      // A subclass does not inherit the built-in's promise: its input (Linear's output) lives.
      expect(remember.last!.isDisposed).toBe(false);
      expect(remember.last!.shape).toEqual([2, 4]);
    });
    seq.dispose();
  });

  test('ModuleList registers its modules; insert renames', () => {
    class Stack extends nn.Module {
      layers = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 2, { bias: false })]);
      forward(x: mp.Tensor): mp.Tensor {
        let y = x;
        for (const layer of this.layers) y = layer.forward(y);
        return y;
      }
    }
    const s = new Stack();
    expect(names(s.namedParameters())).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight']);
    const first = new nn.Linear(2, 2, { bias: false });
    s.layers.insert(0, first);
    expect(s.layers.at(0)).toBe(first);
    expect(s.layers.length).toBe(3);
    expect(names(s.namedParameters())).toEqual(['layers.0.weight', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight']);
    expect(() => s.layers.forward()).toThrow('ModuleList: has no forward()');
    s.dispose();
  });

  test('ModuleDict: keys, replacement, deletion, clashes', () => {
    const d = new nn.ModuleDict({ enc: new nn.Linear(2, 3), act: new nn.ReLU() });
    expect(d.keys()).toEqual(['enc', 'act']);
    expect(d.get('act')).toBeInstanceOf(nn.ReLU);
    const removed = d.delete('enc');
    expect(removed).toBeInstanceOf(nn.Linear);
    expect(d.has('enc')).toBe(false);
    d.set('dec', new nn.Linear(3, 1));
    d.set('enc', removed!);
    expect([...d].map(([k]) => k)).toEqual(['act', 'dec', 'enc']);
    expect(names(d.namedParameters())).toEqual(['dec.weight', 'dec.bias', 'enc.weight', 'enc.bias']);
    expect(() => d.set('get', new nn.ReLU())).toThrow("ModuleDict.registerModule: attribute 'get' already exists (a method or accessor)");
    expect(d.size).toBe(3);
    d.dispose();
  });
});

describe('nn.init', () => {
  test('calculateGain and fans', () => {
    expect(nn.init.calculateGain('linear')).toBe(1);
    expect(nn.init.calculateGain('conv2d')).toBe(1);
    expect(nn.init.calculateGain('sigmoid')).toBe(1);
    expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(nn.init.calculateGain('relu')).toBeCloseTo(1.4142135623730951, 15);
    expect(nn.init.calculateGain('leakyRelu')).toBeCloseTo(Math.sqrt(2 / 1.0001), 15);
    expect(nn.init.calculateGain('leakyRelu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(nn.init.calculateGain('selu')).toBe(0.75);
    expect(() => nn.init.calculateGain('swish' as 'relu')).toThrow(/calculateGain: argument 'nonlinearity' must be one of 'linear'.*got "swish"/);
    const w = mp.empty([16, 3, 5, 5]);
    expect(nn.init.calculateFanInAndFanOut(w)).toEqual([75, 400]);
    const v = mp.empty([4]);
    expect(() => nn.init.xavierUniform_(v)).toThrow('xavierUniform_: fan in and fan out need a tensor with at least 2 dimensions, got shape [4]');
    mp.dispose([w, v]);
  });

  test('uniform_, normal_, constant_, zeros_, ones_', () => {
    mp.tidy(() => {
      const t = mp.empty([1 << 18]);
      const v0 = t.version;
      expect(nn.init.uniform_(t, -3, 1)).toBe(t);
      expect(t.version).toBeGreaterThan(v0);
      const u = stats(t.dataSync());
      expect(u.min).toBeGreaterThanOrEqual(-3);
      expect(u.max).toBeLessThanOrEqual(1);
      expect(Math.abs(u.mean + 1)).toBeLessThan(5 * 4 / Math.sqrt(12 * t.numel));
      expect(Math.abs(u.variance / (16 / 12) - 1)).toBeLessThan(0.02);
      expectNormal(nn.init.normal_(t, 2, 0.5).dataSync(), 2, 0.5);
      expect(new Set(nn.init.constant_(t, 0.1).dataSync()).size).toBe(1);
      expect(t.dataSync()[0]).toBe(Math.fround(0.1));
      expect(Array.from(nn.init.zeros_(mp.empty([3], { dtype: 'int32' })).dataSync())).toEqual([0, 0, 0]);
      expect(Array.from(nn.init.ones_(mp.empty([2], { dtype: 'bfloat16' })).dataSync())).toEqual([1, 1]);
      const half = nn.init.normal_(mp.empty([1 << 16], { dtype: 'float16' }), 0, 3);
      expect(half.dtype).toBe('float16');
      expectNormal(half.dataSync(), 0, 3);
      expect(() => nn.init.uniform_(mp.zeros([2], { dtype: 'int32' }))).toThrow("uniform_: argument 'tensor' must be a floating-point Tensor, got int32 tensor of shape [2] on cpu");
      expect(() => nn.init.uniform_(t, 1, 0)).toThrow("uniform_: argument 'b' must be a number >= a (1), got 0");
      expect(() => nn.init.normal_(t, 0, -1)).toThrow("normal_: argument 'std' must be a non-negative number, got -1");
      expect(() => nn.init.normal_(t, 0, 1, { generator: 3 as unknown as mp.Generator })).toThrow("normal_: argument 'options.generator' must be a Generator, got 3");
    });
  });

  test('xavier and kaiming follow their formulas', () => {
    mp.manualSeed(11);
    mp.tidy(() => {
      const w = mp.empty([256, 128, 3, 3]); // fanIn 1152, fanOut 2304
      expectUniform(nn.init.xavierUniform_(w, { gain: 2 }).dataSync(), 2 * Math.sqrt(6 / (1152 + 2304)));
      expectNormal(nn.init.xavierNormal_(w).dataSync(), 0, Math.sqrt(2 / (1152 + 2304)));
      expectUniform(nn.init.kaimingUniform_(w).dataSync(), Math.sqrt(3) * Math.sqrt(2 / 1152));
      expectUniform(nn.init.kaimingUniform_(w, { a: 0.2, mode: 'fanOut' }).dataSync(), Math.sqrt(3) * Math.sqrt(2 / 1.04) / Math.sqrt(2304));
      expectNormal(nn.init.kaimingNormal_(w, { nonlinearity: 'relu', mode: 'fanOut' }).dataSync(), 0, Math.sqrt(2 / 2304));
      expectNormal(nn.init.kaimingNormal_(w, { nonlinearity: 'tanh' }).dataSync(), 0, (5 / 3) / Math.sqrt(1152));
      expect(() => nn.init.kaimingUniform_(w, { mode: 'fan_in' as 'fanIn' })).toThrow("kaimingUniform_: argument 'options.mode' must be 'fanIn' or 'fanOut', got \"fan_in\"");
      expect(() => nn.init.kaimingNormal_(w, { gain: 1 } as unknown as mp.nn.init.KaimingOptions)).toThrow("kaimingNormal_: unknown option 'gain'");
    });
  });

  test('a generator makes every initialiser reproducible and independent of the global stream', () => {
    mp.tidy(() => {
      const draw = (fn: (t: mp.Tensor, g: mp.Generator) => mp.Tensor) => {
        const a = fn(mp.empty([32, 16]), new mp.Generator(77)).dataSync();
        mp.randn([100]);
        const b = fn(mp.empty([32, 16]), new mp.Generator(77)).dataSync();
        const c = fn(mp.empty([32, 16]), new mp.Generator(78)).dataSync();
        expect(Array.from(b)).toEqual(Array.from(a));
        expect(Array.from(c)).not.toEqual(Array.from(a));
      };
      draw((t, generator) => nn.init.uniform_(t, 0, 1, { generator }));
      draw((t, generator) => nn.init.normal_(t, 0, 1, { generator }));
      draw((t, generator) => nn.init.xavierUniform_(t, { generator }));
      draw((t, generator) => nn.init.xavierNormal_(t, { generator }));
      draw((t, generator) => nn.init.kaimingUniform_(t, { generator }));
      draw((t, generator) => nn.init.kaimingNormal_(t, { generator }));
    });
  });
});

describe('forward', () => {
  /** y = x Wᵀ + b in double from the tensors' values. */
  function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, n: number, inF: number, outF: number): number[] {
    const y: number[] = [];
    for (let i = 0; i < n; ++i) {
      for (let o = 0; o < outF; ++o) {
        let s = b[o];
        for (let k = 0; k < inF; ++k) s += x[i * inF + k] * w[o * inF + k];
        y.push(s);
      }
    }
    return y;
  }

  test('an MLP in a Sequential matches JS math; call is forward', () => {
    mp.manualSeed(4);
    const fc1 = new nn.Linear(5, 7);
    const fc2 = new nn.Linear(7, 3);
    const mlp = new nn.Sequential(fc1, new nn.ReLU(), fc2, new nn.Tanh(), new nn.Sigmoid());
    mp.tidy(() => {
      const x = mp.randn([4, 5]);
      const h = linearRef(x.dataSync(), fc1.weight.dataSync(), fc1.bias!.dataSync(), 4, 5, 7).map((v) => Math.max(v, 0));
      const want = linearRef(h, fc2.weight.dataSync(), fc2.bias!.dataSync(), 4, 7, 3).map((v) => 1 / (1 + Math.exp(-Math.tanh(v))));
      const y = mlp.forward(x);
      expect(y.shape).toEqual([4, 3]);
      Array.from(y.dataSync()).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-5));
      expect(Array.from(mlp.call(x).dataSync())).toEqual(Array.from(y.dataSync()));
    });
    mlp.dispose();
  });

  test('a user module with a field parameter', () => {
    class Affine extends nn.Module {
      scale = nn.parameter(mp.full([3], 2));
      fc = new nn.Linear(3, 3, { bias: false });
      forward(x: mp.Tensor): mp.Tensor {
        return this.fc.forward(x).mul(this.scale);
      }
    }
    const m = new Affine();
    mp.tidy(() => {
      const x = mp.tensor([[1, -2, 3]]);
      const want = linearRef([1, -2, 3], m.fc.weight.dataSync(), [0, 0, 0], 1, 3, 3).map((v) => 2 * v);
      Array.from(m.forward(x).dataSync()).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
    });
    expect(names(m.namedParameters())).toEqual(['scale', 'fc.weight']);
    m.dispose();
  });
});

test('mp.nn is exported with init and functional namespaces', () => {
  expect(typeof mp.nn.Module).toBe('function');
  expect(typeof mp.nn.init.kaimingUniform_).toBe('function');
  expect(typeof mp.nn.functional.linear).toBe('function');
});
