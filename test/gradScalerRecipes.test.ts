// The GradScaler recipes of the PyTorch AMP examples (reference §6) as end-to-end tests, each a
// scaled run compared with a control run that does not scale, after PyTorch's
// `_create_scaling_case` / `_run_scaling_case` (checklist §7.5): two Linear(8, 8) in a Sequential,
// 4 batches of 8×8 deterministic normal data, MSE loss, lr 1.0, an inf written into the scaled
// run's gradients at skip_iter = 2 (the control simply does not step there), and a scaler with
// initScale 128, growthFactor 2, growthInterval 1, repeated with `enabled: false`. Everything runs
// on the CPU (float16 autocast works there).
import * as mp from '../lib';
import { hash, seedRng, uniform } from './helpers/seededRandom';

const { nn } = mp;
const F = nn.functional;

afterEach(() => expect(mp.memory().numTensors).toBe(0));

type Tensor = mp.Tensor;
type Opt = mp.optim.Optimizer<{ lr: number }>;
type OptName = 'SGD' | 'Adam' | 'AdamW';
type Batch = [Tensor, Tensor];
type FloatDType = 'float32' | 'float16';

const SKIP_ITER = 2;
const autocastF16 = { deviceType: 'cpu', dtype: 'float16' } as const;

/** Standard normal values from the seeded uniform generator (Box–Muller). */
function randn(n: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - uniform();
    const v = uniform();
    out.push(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

/** PyTorch's 4 batches of 8×8 randn inputs and targets (kept; freed by disposeData). */
function makeData(seed: number, dtype: FloatDType = 'float32'): Batch[] {
  seedRng(seed);
  const make = () => mp.keep(mp.tidy(() => mp.tensor(randn(64)).reshape([8, 8]).to(dtype)));
  return [0, 1, 2, 3].map(() => [make(), make()] as Batch);
}

const disposeData = (data: Batch[]) => data.forEach(([x, y]) => mp.dispose([x, y]));

/** Sequential(Linear(8, 8), Linear(8, 8)) with parameters drawn from `seed` (Linear's U(-1/√8, 1/√8)). */
function makeModel(seed: number, dtype: FloatDType = 'float32'): mp.nn.Sequential {
  const model = new nn.Sequential(new nn.Linear(8, 8), new nn.Linear(8, 8));
  seedRng(seed);
  const bound = 1 / Math.sqrt(8);
  mp.noGrad(() => {
    for (const p of model.parameters()) {
      mp.tidy(() => {
        p.copy_(mp.tensor(Array.from({ length: p.numel }, () => (2 * uniform() - 1) * bound)).reshape(p.shape));
      });
    }
  });
  if (dtype !== 'float32') model.to(dtype);
  return model;
}

function makeOptimizer(name: OptName, params: Tensor[], extra: Record<string, unknown> = {}): Opt {
  const options = { lr: 1.0, ...extra };
  const ctor = mp.optim[name] as unknown as new (params: Tensor[], options: Record<string, unknown>) => Opt;
  return new ctor(params, options);
}

interface ScalingCase {
  modControl: mp.nn.Sequential;
  modScaling: mp.nn.Sequential;
  optControl: Opt;
  optScaling: Opt;
  data: Batch[];
  dispose(): void;
}

interface CaseOptions {
  optimizer?: OptName;
  optimizerOptions?: Record<string, unknown>;
  dtype?: FloatDType;
}

/** `_create_scaling_models_optimizers`: a control model and a scaling model with equal parameters. */
function createModelsOptimizers(seed: number, o: CaseOptions = {}) {
  const modControl = makeModel(seed, o.dtype);
  const modScaling = makeModel(seed, o.dtype);
  const optControl = makeOptimizer(o.optimizer ?? 'SGD', modControl.parameters(), o.optimizerOptions);
  const optScaling = makeOptimizer(o.optimizer ?? 'SGD', modScaling.parameters(), o.optimizerOptions);
  return { modControl, modScaling, optControl, optScaling };
}

/** `_create_scaling_case`: the models and optimizers, plus the data. */
function createScalingCase(name: string, o: CaseOptions = {}): ScalingCase {
  const seed = hash(name);
  const parts = createModelsOptimizers(seed, o);
  const data = makeData(seed + 1, o.dtype);
  return {
    ...parts,
    data,
    dispose() {
      parts.modControl.dispose();
      parts.modScaling.dispose();
      parts.optControl.dispose();
      parts.optScaling.dispose();
      disposeData(data);
    },
  };
}

const makeScaler = (enabled = true, extra: mp.amp.GradScalerOptions = {}) =>
  new mp.amp.GradScaler({ device: 'cpu', initScale: 128, growthFactor: 2, growthInterval: 1, enabled, ...extra });

const linearAt = (model: mp.nn.Sequential, i: number) => model.at(i) as mp.nn.Linear;

/** What PyTorch's tests do at skip_iter: `model[1].weight.grad.data.fill_(float('inf'))`. */
function injectInf(model: mp.nn.Sequential): void {
  mp.noGrad(() => linearAt(model, 1).weight.grad!.fill_(Infinity));
}

function values(t: Tensor): number[] {
  return Array.from(t.dataSync() as Float32Array);
}

/** PyTorch's assertEqual(actual, expected, atol, rtol): |a - e| <= atol + rtol·|e| elementwise (NaN fails). */
function expectClose(actual: Tensor | number[], expected: Tensor | number[], atol: number, what: string, rtol = 1e-5): void {
  const a = Array.isArray(actual) ? actual : values(actual);
  const e = Array.isArray(expected) ? expected : values(expected);
  expect(a.length).toBe(e.length);
  for (let i = 0; i < a.length; ++i) {
    if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]))) {
      throw new Error(`${what}[${i}]: got ${a[i]}, expected ${e[i]} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** Elementwise identical values (the same float32/float16 bits, as the widened numbers are equal). */
function expectSame(actual: Tensor, expected: Tensor, what: string): void {
  expect(actual.dtype).toBe(expected.dtype);
  const a = values(actual);
  const e = values(expected);
  const differing = a.findIndex((v, i) => !Object.is(v, e[i]));
  if (differing >= 0) throw new Error(`${what}[${differing}]: got ${a[differing]}, expected ${e[differing]} (bitwise comparison)`);
  expect(a.length).toBe(e.length);
}

/** Grads, every optimizer-state entry and params of the scaling run against the control's. */
function expectMatchesControl(c: Pick<ScalingCase, 'modControl' | 'modScaling' | 'optControl' | 'optScaling'>, atol: number, what: string, grads = true): void {
  const pc = c.modControl.parameters();
  const ps = c.modScaling.parameters();
  expect(ps.length).toBe(pc.length);
  const names = c.modControl.namedParameters().map(([n]) => n);
  pc.forEach((control, i) => {
    const scaled = ps[i];
    const where = `${what}: ${names[i]}`;
    if (grads) {
      expect(scaled.grad === undefined).toBe(control.grad === undefined);
      if (control.grad) expectClose(scaled.grad!, control.grad, atol, `${where}.grad`);
    }
    const cs = c.optControl.state.get(control) ?? {};
    const ss = c.optScaling.state.get(scaled) ?? {};
    expect(Object.keys(ss).sort()).toEqual(Object.keys(cs).sort());
    for (const k of Object.keys(cs)) expectClose(ss[k], cs[k], atol, `${where} state.${k}`);
    expectClose(scaled, control, atol, where);
  });
}

function lossOf(model: mp.nn.Sequential, input: Tensor, target: Tensor, autocast: boolean): Tensor {
  const compute = () => F.mseLoss(model.forward(input), target);
  return autocast ? mp.amp.autocast(autocastF16, compute) : compute();
}

/** One recipe's loop, run once for the control (`scaling` false) and once with the scaler. */
type Run = (data: Batch[], model: mp.nn.Sequential, optimizer: Opt, scaler: mp.amp.GradScaler, scaling: boolean) => mp.amp.GradScaler | void;

/**
 * The end of one iteration: the scaled run backwards the scaled loss (with an inf injected at
 * SKIP_ITER) and steps through the scaler; the control backwards plainly and skips the
 * optimizer step where the scaled run's step is skipped.
 */
function finishStep(loss: Tensor, i: number, model: mp.nn.Sequential, optimizer: Opt, scaler: mp.amp.GradScaler, scaling: boolean): void {
  if (scaling) {
    scaler.scale(loss).backward();
    if (i === SKIP_ITER && scaler.isEnabled()) injectInf(model);
    scaler.step(optimizer);
    scaler.update();
  } else {
    loss.backward();
    if (!scaler.isEnabled() || i !== SKIP_ITER) optimizer.step();
  }
}

interface RunCaseOptions extends CaseOptions {
  unskipped: number;
  skipped: number;
  atol?: number;
}

/**
 * `_run_scaling_case`: for enabled and disabled scalers, runs the control then the scaled loop,
 * checks the final scale (128·2^unskipped·0.5^skipped, or 1 disabled) and that grads, every
 * optimizer-state entry and params match the control.
 */
function runScalingCase(name: string, run: Run, o: RunCaseOptions): void {
  for (const enabled of [true, false]) {
    const c = createScalingCase(name, o);
    let scaler = makeScaler(enabled);
    try {
      run(c.data, c.modControl, c.optControl, scaler, false);
      scaler = run(c.data, c.modScaling, c.optScaling, scaler, true) ?? scaler;
      const what = `${name} (enabled ${enabled})`;
      expect(scaler.isEnabled()).toBe(enabled);
      if (enabled) {
        expect(scaler.getScale()).toBe(128 * scaler.getGrowthFactor() ** o.unskipped * scaler.getBackoffFactor() ** o.skipped);
      } else {
        expect(scaler.getScale()).toBe(1);
      }
      expectMatchesControl(c, o.atol ?? 1e-7, what);
    } finally {
      scaler.dispose();
      c.dispose();
    }
  }
}

interface TypicalOptions {
  /** Autocast the scaled run's forward (float16); the control too when `controlAutocast`. */
  autocast?: boolean;
  controlAutocast?: boolean;
  /** After every update, replace the scaler by a fresh one loaded from its state dict (PyTorch's pickle round trip). */
  roundTrip?: boolean;
  /** Collects the scaled run's step results. */
  applied?: Promise<boolean>[];
}

/** §6.1, the typical loop (test_grad_scaling_autocast's run). */
const typicalRun = (o: TypicalOptions = {}): Run => (data, model, optimizer, scaler, scaling) => {
  data.forEach(([input, target], i) => {
    mp.tidy(() => {
      optimizer.zeroGrad();
      const loss = lossOf(model, input, target, scaling ? !!o.autocast : !!o.controlAutocast);
      if (scaling) {
        const scaled = scaler.scale(loss);
        if (!scaler.isEnabled()) expect(scaled).toBe(loss);
        scaled.backward();
        if (i === SKIP_ITER && scaler.isEnabled()) injectInf(model);
        const result = scaler.step(optimizer);
        o.applied?.push(result.applied);
        scaler.update();
        if (o.roundTrip) {
          const saved = JSON.parse(JSON.stringify(scaler.stateDict())) as mp.amp.GradScalerStateDict;
          const next = new mp.amp.GradScaler({ device: 'cpu', enabled: scaler.isEnabled() });
          next.loadStateDict(saved);
          scaler.dispose();
          scaler = next;
        }
      } else {
        loss.backward();
        if (!scaler.isEnabled() || i !== SKIP_ITER) optimizer.step();
      }
    });
  });
  return scaler;
};

describe('§6.1 typical training against a control (7.5.49, 7.5.50)', () => {
  test('7.5.49 _run_scaling_case: final getScale() == 128·2^3·0.5^1 with an inf at iteration 2; disabled: 1, scale(x) returns x, every step applies', async () => {
    for (const enabled of [true, false]) {
      const c = createScalingCase('7.5.49');
      const scaler = makeScaler(enabled);
      const applied: Promise<boolean>[] = [];
      try {
        typicalRun({ applied })(c.data, c.modScaling, c.optScaling, scaler, true);
        const stats = await scaler.statistics();
        const results = await Promise.all(applied);
        if (enabled) {
          expect(scaler.getScale()).toBe(128 * 2 ** 3 * 0.5 ** 1);
          expect(results).toEqual([true, true, false, true]);
          expect(stats).toEqual({ steps: 4, skippedSteps: 1, growths: 3, backoffs: 1, floorHits: 0, scale: 512 });
          expect(scaler.stateDict()).toEqual({ scale: 512, growth_factor: 2, backoff_factor: 0.5, growth_interval: 1, _growth_tracker: 0 });
        } else {
          expect(scaler.getScale()).toBe(1);
          expect(results).toEqual([true, true, true, true]);
          expect(stats).toEqual({ steps: 0, skippedSteps: 0, growths: 0, backoffs: 0, floorHits: 0, scale: 1 });
          expect(scaler.stateDict()).toEqual({});
        }
      } finally {
        scaler.dispose();
        c.dispose();
      }
    }
  });

  test.each([
    ['SGD', {}],
    ['SGD', { momentum: 0.9 }],
    ['SGD', { momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
    ['Adam', {}],
    ['Adam', { amsgrad: true, weightDecay: 0.01 }],
    ['AdamW', {}],
  ] as [OptName, Record<string, unknown>][])('7.5.50 _run_scaling_case (%s %j): params, grads and every optimizer-state entry match the control (atol 1e-7), enabled and disabled', (optimizer, optimizerOptions) => {
    runScalingCase(`7.5.50 ${optimizer} ${JSON.stringify(optimizerOptions)}`, typicalRun(), { optimizer, optimizerOptions, unskipped: 3, skipped: 1 });
  });

  test('7.5.50 the skipped step leaves the optimizer state untouched: step counters read 3 after 4 iterations (Adam, SGD momentum)', () => {
    for (const [optimizer, optimizerOptions] of [['Adam', {}], ['SGD', { momentum: 0.9 }]] as [OptName, Record<string, unknown>][]) {
      const c = createScalingCase('7.5.50 counters', { optimizer, optimizerOptions });
      const scaler = makeScaler();
      try {
        const run = typicalRun();
        run(c.data, c.modControl, c.optControl, scaler, false);
        run(c.data, c.modScaling, c.optScaling, scaler, true);
        for (const opt of [c.optControl, c.optScaling]) {
          for (const state of opt.state.values()) expect(state.step.item()).toBe(3);
        }
        expectMatchesControl(c, 1e-7, `${optimizer} counters`);
      } finally {
        scaler.dispose();
        c.dispose();
      }
    }
  });

  test('§6.1 step() without unscale: float32 grads are unscaled in place, so .grad equals the control (not control·scale)', () => {
    const c = createScalingCase('6.1 float32 grads');
    const scaler = makeScaler();
    try {
      const run = typicalRun();
      run(c.data, c.modControl, c.optControl, scaler, false);
      // The last iteration ran with the scale 256 (128 → 256 → 512 → inf: 256), unscaled by step().
      run(c.data, c.modScaling, c.optScaling, scaler, true);
      c.modScaling.parameters().forEach((p, i) => {
        const control = c.modControl.parameters()[i];
        expect(p.grad!.dtype).toBe('float32');
        expectSame(p.grad!, control.grad!, `.grad of parameter ${i}`);
        // Non-zero grads, so equal to the control is not equal to control·256.
        expect(values(control.grad!).some((v) => v !== 0)).toBe(true);
        expectSame(p, control, `parameter ${i}`);
      });
    } finally {
      scaler.dispose();
      c.dispose();
    }
  });

  test("§6.1 / 4.8 float16 params (model.to('float16'), masterless SGD): the kernel divides by the scale, .grad stays scaled (control·scale), params match the control", () => {
    const c = createScalingCase('6.1 float16 grads', { dtype: 'float16' });
    const scaler = makeScaler();
    const scalesUsed: number[] = [];
    try {
      const run = typicalRun();
      run(c.data, c.modControl, c.optControl, scaler, false);
      c.data.forEach(([input, target], i) => {
        mp.tidy(() => {
          c.optScaling.zeroGrad();
          scalesUsed.push(scaler.getScale());
          scaler.scale(lossOf(c.modScaling, input, target, false)).backward();
          if (i === SKIP_ITER) injectInf(c.modScaling);
          scaler.step(c.optScaling);
          scaler.update();
        });
      });
      expect(scalesUsed).toEqual([128, 256, 512, 256]);
      expect(scaler.getScale()).toBe(512);
      const last = scalesUsed[3];
      c.modScaling.parameters().forEach((p, i) => {
        const control = c.modControl.parameters()[i];
        expect([p.dtype, p.grad!.dtype]).toEqual(['float16', 'float16']);
        // Power-of-two scaling is exact in float16 away from the subnormals and the overflow.
        expectClose(p.grad!, values(control.grad!).map((v) => v * last), 0, `.grad of parameter ${i} (control·${last})`, 0);
        expectSame(p, control, `float16 parameter ${i}`);
      });
    } finally {
      scaler.dispose();
      c.dispose();
    }
  });
});

describe('§6.2 unscaled gradients and clipping (7.5.51, 7.5.52)', () => {
  const maxNorm = 0.2;

  test('7.5.51 test_grad_scaling_clipping: clipping the scaled grads with maxNorm·getScale() matches clipping the control with maxNorm (atol 1e-5); 3 unskipped, 1 skipped', () => {
    let clippedSomething = false;
    const run: Run = (data, model, optimizer, scaler, scaling) => {
      data.forEach(([input, target], i) => {
        mp.tidy(() => {
          optimizer.zeroGrad();
          const loss = lossOf(model, input, target, false);
          if (scaling) {
            scaler.scale(loss).backward();
            const norm = mp.nn.utils.clipGradNorm(model.parameters(), maxNorm * scaler.getScale());
            if ((norm.item() as number) > maxNorm * scaler.getScale()) clippedSomething = true;
            if (i === SKIP_ITER && scaler.isEnabled()) injectInf(model);
            scaler.step(optimizer);
            scaler.update();
          } else {
            loss.backward();
            mp.nn.utils.clipGradNorm(model.parameters(), maxNorm);
            if (!scaler.isEnabled() || i !== SKIP_ITER) optimizer.step();
          }
        });
      });
    };
    runScalingCase('7.5.51', run, { unskipped: 3, skipped: 1, atol: 1e-5 });
    // The clip has an effect (as PyTorch's "a reasonable value that actually has an effect").
    expect(clippedSomething).toBe(true);
  });

  test('7.5.52 test_grad_scaling_clipping_separate_unscale: unscale → clipGradNorm → step matches the control; an inf injected before unscale still skips', () => {
    const run: Run = (data, model, optimizer, scaler, scaling) => {
      data.forEach(([input, target], i) => {
        mp.tidy(() => {
          optimizer.zeroGrad();
          const loss = lossOf(model, input, target, false);
          if (scaling) {
            scaler.scale(loss).backward();
            if (i === SKIP_ITER && scaler.isEnabled()) injectInf(model);
            scaler.unscale(optimizer);
            mp.nn.utils.clipGradNorm(model.parameters(), maxNorm, { errorIfNonfinite: false });
            scaler.step(optimizer);
            scaler.update();
          } else {
            loss.backward();
            mp.nn.utils.clipGradNorm(model.parameters(), maxNorm);
            if (!scaler.isEnabled() || i !== SKIP_ITER) optimizer.step();
          }
        });
      });
    };
    runScalingCase('7.5.52', run, { unskipped: 3, skipped: 1 });
  });

  test('7.5.52 unscale → clipGradNorm → step: the injected inf skips the step (applied false at iteration 2 only; params stay finite)', async () => {
    const c = createScalingCase('7.5.52 skip');
    const scaler = makeScaler();
    const results: boolean[] = [];
    try {
      for (const [i, [input, target]] of c.data.entries()) {
        const applied = mp.tidy(() => {
          c.optScaling.zeroGrad();
          scaler.scale(lossOf(c.modScaling, input, target, false)).backward();
          if (i === SKIP_ITER) injectInf(c.modScaling);
          scaler.unscale(c.optScaling);
          mp.nn.utils.clipGradNorm(c.modScaling.parameters(), maxNorm, { errorIfNonfinite: false });
          const result = scaler.step(c.optScaling);
          scaler.update();
          return result.applied;
        });
        results.push(await applied);
      }
      expect(results).toEqual([true, true, false, true]);
      for (const p of c.modScaling.parameters()) expect(values(p).every(Number.isFinite)).toBe(true);
      expect(scaler.getScale()).toBe(512);
    } finally {
      scaler.dispose();
      c.dispose();
    }
  });
});

describe('§6.3 gradient accumulation (7.5.54)', () => {
  test('7.5.54 test_grad_scaling_accumulation: 2-step accumulation with loss/2, step + update + zeroGrad every 2nd batch → 2 unskipped updates, 0 skipped, final scale 512, params match', () => {
    const itersToAccumulate = 2;
    const run: Run = (data, model, optimizer, scaler, scaling) => {
      data.forEach(([input, target], i) => {
        mp.tidy(() => {
          const loss = lossOf(model, input, target, false).div(itersToAccumulate);
          if (scaling) scaler.scale(loss).backward();
          else loss.backward();
          if ((i + 1) % itersToAccumulate === 0) {
            if (scaling) {
              scaler.step(optimizer);
              scaler.update();
            } else {
              optimizer.step();
            }
            optimizer.zeroGrad();
          }
        });
      });
    };
    // 128·2² = 512, as the reference states.
    runScalingCase('7.5.54', run, { unskipped: 2, skipped: 0 });
  });

  test('7.5.54 during accumulation the grads stay scaled by a constant scale (the scaled run holds control·128 before the first step)', () => {
    const c = createScalingCase('7.5.54 scaled grads');
    const scaler = makeScaler();
    try {
      mp.tidy(() => {
        for (const [input, target] of c.data.slice(0, 2)) {
          scaler.scale(lossOf(c.modScaling, input, target, false).div(2)).backward();
          lossOf(c.modControl, input, target, false).div(2).backward();
        }
      });
      c.modScaling.parameters().forEach((p, i) => {
        expectClose(p.grad!, values(c.modControl.parameters()[i].grad!).map((v) => v * 128), 0, `accumulated grad ${i}`, 1e-6);
      });
      expect(scaler.getScale()).toBe(128);
    } finally {
      scaler.dispose();
      c.dispose();
    }
  });
});

describe('§6.4 gradient penalty (7.5.53)', () => {
  test('7.5.53 test_grad_scaling_penalty: autograd.grad(scale(loss), params, createGraph) · 1/getScale(), L2 penalty added, matches the control', () => {
    const run: Run = (data, model, optimizer, scaler, scaling) => {
      data.forEach(([input, target], i) => {
        mp.tidy(() => {
          optimizer.zeroGrad();
          let loss = lossOf(model, input, target, false);
          const params = model.parameters();
          let gradParams: Tensor[];
          if (scaling) {
            const scaledGrads = mp.autograd.grad(scaler.scale(loss), params, { createGraph: true });
            const invScale = 1 / scaler.getScale();
            gradParams = scaledGrads.map((g) => g!.mul(invScale));
          } else {
            gradParams = mp.autograd.grad(loss, params, { createGraph: true }).map((g) => g!);
          }
          const gradNorm = gradParams.map((g) => g.pow(2).sum()).reduce((a, b) => a.add(b)).sqrt();
          loss = loss.add(gradNorm);
          finishStep(loss, i, model, optimizer, scaler, scaling);
        });
      });
    };
    runScalingCase('7.5.53', run, { unskipped: 3, skipped: 1 });
  });

  test('7.5.53 the penalty changes the trajectory (a run without it ends elsewhere), so the comparison above tests the penalty path', () => {
    const c = createScalingCase('7.5.53');
    const disabled = makeScaler(false);
    try {
      typicalRun()(c.data, c.modControl, c.optControl, disabled, false);
      const run = (model: mp.nn.Sequential, opt: Opt) => c.data.forEach(([input, target]) => mp.tidy(() => {
        opt.zeroGrad();
        const loss = lossOf(model, input, target, false);
        const grads = mp.autograd.grad(loss, model.parameters(), { createGraph: true }).map((g) => g!);
        loss.add(grads.map((g) => g.pow(2).sum()).reduce((a, b) => a.add(b)).sqrt()).backward();
        opt.step();
      }));
      run(c.modScaling, c.optScaling);
      const differs = c.modScaling.parameters().some((p, i) => values(p).some((v, k) => Math.abs(v - values(c.modControl.parameters()[i])[k]) > 1e-3));
      expect(differs).toBe(true);
    } finally {
      c.dispose();
    }
  });
});

describe('§6.5 multiple models, losses and optimizers (7.5.55)', () => {
  test('7.5.55 test_grad_scaling_multiple: inf in model1 at iteration 2, unscale(opt0) only, step both, one update → opt1 skipped while opt0 stepped; final scale 128·2³·0.5; params match', async () => {
    for (const enabled of [true, false]) {
      const seed = hash('7.5.55');
      const case0 = createScalingCase('7.5.55');
      const case1 = createModelsOptimizers(seed + 7);
      const scaler = makeScaler(enabled);
      const applied: [boolean, boolean][] = [];
      const overflows: string[][] = [];
      const run = async (model0: mp.nn.Sequential, model1: mp.nn.Sequential, opt0: Opt, opt1: Opt, scaling: boolean) => {
        for (const [i, [input, target]] of case0.data.entries()) {
          const results = mp.tidy(() => {
            opt0.zeroGrad();
            opt1.zeroGrad();
            const out0 = model0.forward(input);
            const out1 = model1.forward(input);
            const loss0 = F.mseLoss(out0.mul(0.3).add(out1.mul(0.7)), target);
            const loss1 = F.mseLoss(out0.mul(0.6).sub(out1.mul(0.4)), target);
            if (scaling) {
              scaler.scale(loss0).backward(undefined, { retainGraph: true });
              scaler.scale(loss1).backward();
              if (i === SKIP_ITER && scaler.isEnabled()) injectInf(model1);
              // As PyTorch's additional stress test, unscale only one of the optimizers.
              scaler.unscale(opt0);
              const r0 = scaler.step(opt0);
              const r1 = scaler.step(opt1);
              scaler.update();
              return [r0.applied, r1.applied];
            }
            loss0.backward(undefined, { retainGraph: true });
            loss1.backward();
            opt0.step();
            if (!scaler.isEnabled() || i !== SKIP_ITER) opt1.step();
            return undefined;
          });
          if (results) {
            applied.push((await Promise.all(results)) as [boolean, boolean]);
            overflows.push((await scaler.lastOverflow(model1)).map((r) => r.name));
          }
        }
      };
      try {
        await run(case0.modControl, case1.modControl, case0.optControl, case1.optControl, false);
        await run(case0.modScaling, case1.modScaling, case0.optScaling, case1.optScaling, true);
        if (enabled) {
          expect(scaler.getScale()).toBe(128 * 2 ** 3 * 0.5 ** 1);
          expect(applied).toEqual([[true, true], [true, true], [true, false], [true, true]]);
          expect(overflows).toEqual([[], [], ['1.weight'], []]);
          expect(await scaler.statistics()).toMatchObject({ steps: 4, skippedSteps: 1, growths: 3, backoffs: 1 });
        } else {
          expect(scaler.getScale()).toBe(1);
          expect(applied).toEqual([[true, true], [true, true], [true, true], [true, true]]);
        }
        const what = `7.5.55 (enabled ${enabled})`;
        expectMatchesControl(case0, 1e-7, `${what} model0`, false);
        expectMatchesControl(case1, 1e-7, `${what} model1`, false);
      } finally {
        scaler.dispose();
        case0.dispose();
        for (const m of [case1.modControl, case1.modScaling]) m.dispose();
        for (const o of [case1.optControl, case1.optScaling]) o.dispose();
      }
    }
  });
});

describe('state dicts and checkpoints (7.5.58)', () => {
  test.each([false, true])('7.5.58 test_grad_scaling_state_dict: s1(6, 7, 0.8, 1; tracker 7).loadStateDict(s0(3, 4, 0.5, 2)) → scale 3, growth 4, backoff 0.5, interval 2, tracker 0 (scale materialised: %s)', (lazyInitScale) => {
    const s0 = new mp.amp.GradScaler({ device: 'cpu', initScale: 3, growthFactor: 4, backoffFactor: 0.5, growthInterval: 2 });
    const s1 = new mp.amp.GradScaler({ device: 'cpu', initScale: 6, growthFactor: 7, backoffFactor: 0.8, growthInterval: 1 });
    // PyTorch sets s1._init_growth_tracker = 7 for load_state_dict to overwrite.
    s1.loadStateDict({ scale: 6, growth_factor: 7, backoff_factor: 0.8, growth_interval: 1, _growth_tracker: 7 });
    const x = mp.full([1], 4);
    const opt = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0 });
    try {
      if (lazyInitScale) {
        const scaled = s1.scale(x);
        expect(Array.from(scaled.dataSync())).toEqual([24]);
        expect(s1.stateDict()._growth_tracker).toBe(7);
        scaled.dispose();
      }
      s1.loadStateDict(s0.stateDict() as mp.amp.GradScalerStateDict);
      expect(s1.getScale()).toBe(3);
      expect(s1.getGrowthFactor()).toBe(4);
      expect(s1.getBackoffFactor()).toBe(0.5);
      expect(s1.getGrowthInterval()).toBe(2);
      expect(s1.stateDict()).toEqual({ scale: 3, growth_factor: 4, backoff_factor: 0.5, growth_interval: 2, _growth_tracker: 0 });
      // The loaded tracker (0) and interval (2) drive the updates: clean, clean → one growth by 4.
      const p = opt.paramGroups[0].params[0];
      const scales: number[] = [];
      for (let i = 0; i < 2; ++i) {
        mp.tidy(() => {
          opt.zeroGrad();
          s1.scale(p.mul(x).sum()).backward();
          s1.step(opt);
          s1.update();
        });
        scales.push(s1.getScale());
      }
      expect(scales).toEqual([3, 12]);
    } finally {
      s0.dispose();
      s1.dispose();
      x.dispose();
      for (const p of opt.paramGroups[0].params) {
        p.grad?.dispose();
        p.dispose();
      }
      opt.dispose();
    }
  });

  test.each([
    ['SGD', { momentum: 0.9 }, 0],
    ['Adam', {}, 0],
    ['Adam', {}, 2],
    ['AdamW', { amsgrad: true }, 1],
  ] as [OptName, Record<string, unknown>, number][])('7.5.58 checkpoint (%s %j) after iteration %d: model, optimizer and scaler state dicts loaded into fresh objects continue bitwise like an uninterrupted run', (optimizer, optimizerOptions, checkpointAfter) => {
    const name = `checkpoint ${optimizer}`;
    const seed = hash(name);
    const data = makeData(seed + 1);
    // growthInterval 2 makes the growth tracker part of the state (interval 1 keeps it at 0).
    const newScaler = () => makeScaler(true, { growthInterval: 2 });
    const iteration = (model: mp.nn.Sequential, opt: Opt, scaler: mp.amp.GradScaler, i: number) => mp.tidy(() => {
      opt.zeroGrad();
      scaler.scale(lossOf(model, data[i][0], data[i][1], true)).backward();
      if (i === SKIP_ITER) injectInf(model);
      scaler.step(opt);
      scaler.update();
    });
    const whole = makeModel(seed);
    const wholeOpt = makeOptimizer(optimizer, whole.parameters(), optimizerOptions);
    const wholeScaler = newScaler();
    const first = makeModel(seed);
    const firstOpt = makeOptimizer(optimizer, first.parameters(), optimizerOptions);
    const firstScaler = newScaler();
    // The resumed objects start from other values, and the scaler from the defaults.
    const resumed = makeModel(seed + 99);
    const resumedOpt = makeOptimizer(optimizer, resumed.parameters(), optimizerOptions);
    const resumedScaler = new mp.amp.GradScaler({ device: 'cpu' });
    try {
      for (let i = 0; i < 4; ++i) iteration(whole, wholeOpt, wholeScaler, i);
      for (let i = 0; i <= checkpointAfter; ++i) iteration(first, firstOpt, firstScaler, i);
      // The checkpoint: copies of the tensors (the state dicts hold the live ones), the scaler's
      // numbers through JSON, as they would be written to a file.
      const modelState = Object.fromEntries(Object.entries(first.stateDict()).map(([k, t]) => [k, mp.keep(t.clone())]));
      const optState = firstOpt.stateDict();
      for (const s of Object.values(optState.state)) for (const k of Object.keys(s)) s[k] = mp.keep(s[k].clone());
      const scalerState = JSON.parse(JSON.stringify(firstScaler.stateDict())) as mp.amp.GradScalerStateDict;
      first.dispose();
      firstOpt.dispose();
      firstScaler.dispose();
      resumed.loadStateDict(modelState);
      resumedOpt.loadStateDict(optState);
      resumedScaler.loadStateDict(scalerState);
      mp.dispose(Object.values(modelState));
      for (const s of Object.values(optState.state)) mp.dispose(Object.values(s));
      expect(resumedScaler.getScale()).toBe(scalerState.scale);
      for (let i = checkpointAfter + 1; i < 4; ++i) iteration(resumed, resumedOpt, resumedScaler, i);

      expect(resumedScaler.stateDict()).toEqual(wholeScaler.stateDict());
      // 128 → (clean: tracker 1) → (clean: 256) → (inf: 128) → (clean: tracker 1).
      expect(wholeScaler.stateDict()).toMatchObject({ scale: 128, _growth_tracker: 1 });
      const names = whole.namedParameters().map(([n]) => n);
      whole.parameters().forEach((p, i) => {
        const q = resumed.parameters()[i];
        expectSame(q, p, `resumed ${names[i]}`);
        expectSame(q.grad!, p.grad!, `resumed ${names[i]}.grad`);
        const ws = wholeOpt.state.get(p)!;
        const rs = resumedOpt.state.get(q)!;
        expect(Object.keys(rs).sort()).toEqual(Object.keys(ws).sort());
        for (const k of Object.keys(ws)) expectSame(rs[k], ws[k], `resumed ${names[i]} state.${k}`);
      });
    } finally {
      for (const m of [whole, first, resumed]) m.dispose();
      for (const o of [wholeOpt, firstOpt, resumedOpt]) o.dispose();
      for (const s of [wholeScaler, firstScaler, resumedScaler]) s.dispose();
      disposeData(data);
    }
  });
});

describe('autocast + GradScaler (7.5.59, 7.5.61)', () => {
  test.each([false, true])('7.5.59 test_grad_scaling_autocast (SGD): float16 autocast + scaler matches the float32 control (atol 1e-3); scaler state-dict round trip after every update: %s', (roundTrip) => {
    runScalingCase(`7.5.59 SGD ${roundTrip}`, typicalRun({ autocast: true, roundTrip }), { unskipped: 3, skipped: 1, atol: 1e-3 });
  });

  // PyTorch's test expects Adam/AdamW under autocast to differ from the float32 control (at lr 1.0
  // Adam's normalisation magnifies float16 rounding; it wraps the comparison in assertRaises). What
  // the scaler must not change is the run itself: the control runs the same float16 autocast
  // forward without a scaler.
  test.each([
    ['SGD', {}, false],
    ['Adam', {}, false],
    ['AdamW', {}, false],
    ['Adam', { amsgrad: true }, true],
    ['AdamW', {}, true],
  ] as [OptName, Record<string, unknown>, boolean][])('7.5.59 test_grad_scaling_autocast (%s %j): scaled autocast run matches a control with the same autocast forward and no scaler (atol 1e-7); round trip: %s', (optimizer, optimizerOptions, roundTrip) => {
    runScalingCase(`7.5.59 ${optimizer} autocast control`, typicalRun({ autocast: true, controlAutocast: true, roundTrip }), { optimizer, optimizerOptions, unskipped: 3, skipped: 1 });
  });

  test('7.5.59 the float16 autocast run really runs in float16 (its params differ from the float32 control beyond 1e-7)', () => {
    const c = createScalingCase('7.5.59 float16 differs');
    const scaler = makeScaler();
    try {
      const run = typicalRun({ autocast: true });
      run(c.data, c.modControl, c.optControl, scaler, false);
      run(c.data, c.modScaling, c.optScaling, scaler, true);
      const maxDiff = Math.max(...c.modScaling.parameters().flatMap((p, i) => values(p).map((v, k) => Math.abs(v - values(c.modControl.parameters()[i])[k]))));
      expect(maxDiff).toBeGreaterThan(1e-6);
      expect(maxDiff).toBeLessThan(1e-3);
    } finally {
      scaler.dispose();
      c.dispose();
    }
  });

  test.each(['Adam', 'AdamW'] as OptName[])('7.5.61 test_params_invalidated_with_grads_invalidated_between_unscale_and_step (%s): grads overwritten after unscale are not re-checked, every param becomes non-finite', (optimizer) => {
    for (const when of ['after unscale', 'before unscale'] as const) {
      const c = createScalingCase(`7.5.61 ${optimizer}`, { optimizer });
      const scaler = new mp.amp.GradScaler({ device: 'cpu', initScale: 128 });
      const model = c.modControl;
      const invalidate = () => mp.noGrad(() => model.parameters().forEach((p, j) => p.grad!.fill_(j % 2 ? Infinity : NaN)));
      try {
        for (const [input, target] of c.data) {
          mp.tidy(() => {
            c.optControl.zeroGrad();
            scaler.scale(lossOf(model, input, target, true)).backward();
            if (when === 'before unscale') invalidate();
            scaler.unscale(c.optControl);
            if (when === 'after unscale') invalidate();
            scaler.step(c.optControl);
            scaler.update();
          });
        }
        const nonFinite = model.parameters().map((p) => values(p).some((v) => !Number.isFinite(v)));
        // After unscale the found-inf flags are final: the first step applies the broken grads (the
        // later iterations then overflow in the forward and back off: 128·0.5³). Broken before
        // unscale, they are seen and every step is skipped (128·0.5⁴), the params stay finite.
        expect(nonFinite).toEqual(Array(4).fill(when === 'after unscale'));
        expect(scaler.getScale()).toBe(when === 'after unscale' ? 128 * 0.5 ** 3 : 128 * 0.5 ** 4);
      } finally {
        scaler.dispose();
        c.dispose();
      }
    }
  });
});

describe('§6.7 custom autograd functions under autocast', () => {
  test('§6.7 customFwd/customBwd (autocast state replayed, and castInputs float32) inside a scaled autocast loop train like the control', () => {
    const seen = new Set<string>();
    // Multiple inputs and autocastable ops: run under the caller's autocast state in both passes.
    class AutocastLinear extends mp.autograd.Function {
      static override forward = mp.amp.customFwd({ deviceType: 'cpu' }, (ctx: mp.autograd.FunctionCtx, x: Tensor, w: Tensor, b: Tensor) => {
        ctx.saveForBackward(x, w);
        const out = mp.linear(x, w, b);
        seen.add(`AutocastLinear fwd autocast=${mp.amp.isAutocastEnabled('cpu')} out=${out.dtype}`);
        return out;
      });
      static override backward = mp.amp.customBwd({ deviceType: 'cpu' }, (ctx: mp.autograd.FunctionCtx, g: Tensor) => {
        const [x, w] = ctx.savedTensors;
        const grads = [mp.mm(g, w), mp.mm(g.transpose(0, 1), x), g.sum({ dim: 0 })];
        seen.add(`AutocastLinear bwd autocast=${mp.amp.isAutocastEnabled('cpu')} dx=${grads[0].dtype} dw=${grads[1].dtype}`);
        return grads;
      });
    }
    // A function that needs float32: inputs cast, autocast off in both passes.
    class Float32Linear extends mp.autograd.Function {
      static override forward = mp.amp.customFwd({ deviceType: 'cpu', castInputs: 'float32' }, (ctx: mp.autograd.FunctionCtx, x: Tensor, w: Tensor, b: Tensor) => {
        ctx.saveForBackward(x, w);
        const out = mp.linear(x, w, b);
        seen.add(`Float32Linear fwd autocast=${mp.amp.isAutocastEnabled('cpu')} x=${x.dtype} out=${out.dtype}`);
        return out;
      });
      static override backward = mp.amp.customBwd({ deviceType: 'cpu' }, (ctx: mp.autograd.FunctionCtx, g: Tensor) => {
        const [x, w] = ctx.savedTensors;
        seen.add(`Float32Linear bwd autocast=${mp.amp.isAutocastEnabled('cpu')} g=${g.dtype}`);
        return [mp.mm(g, w), mp.mm(g.transpose(0, 1), x), g.sum({ dim: 0 })];
      });
    }
    const forward = (model: mp.nn.Sequential, x: Tensor) => {
      const [l0, l1] = [linearAt(model, 0), linearAt(model, 1)];
      const h = AutocastLinear.apply(x, l0.weight, l0.bias) as Tensor;
      return Float32Linear.apply(h, l1.weight, l1.bias) as Tensor;
    };
    const run: Run = (data, model, optimizer, scaler, scaling) => {
      data.forEach(([input, target], i) => {
        mp.tidy(() => {
          optimizer.zeroGrad();
          const loss = mp.amp.autocast(autocastF16, () => F.mseLoss(forward(model, input), target));
          expect(loss.dtype).toBe('float32');
          finishStep(loss, i, model, optimizer, scaler, scaling);
        });
      });
    };
    runScalingCase('6.7 custom functions', run, { unskipped: 3, skipped: 1 });
    expect([...seen].sort()).toEqual([
      'AutocastLinear bwd autocast=true dx=float16 dw=float16',
      'AutocastLinear fwd autocast=true out=float16',
      'Float32Linear bwd autocast=false g=float32',
      'Float32Linear fwd autocast=false x=float32 out=float32',
    ]);
  });
});

describe('host reads (4.11)', () => {
  test('4.11 hostReads: the typical scaled iteration (autocast forward, scale, backward, step, update; no listeners) and the clipping recipe make 0 host reads', async () => {
    const c = createScalingCase('4.11 host reads');
    const scaler = makeScaler();
    const applied: boolean[] = [];
    const deltas: number[] = [];
    const readsOfResults: number[] = [];
    try {
      for (const [i, [input, target]] of c.data.entries()) {
        const before = mp.hostReads();
        // The step result is returned from the tidy scope, which walks what it returns: that
        // must not read it.
        const result = mp.tidy(() => {
          c.optScaling.zeroGrad();
          const loss = lossOf(c.modScaling, input, target, true);
          scaler.scale(loss).backward();
          if (i === SKIP_ITER) injectInf(c.modScaling);
          if (i % 2 === 1) {
            scaler.unscale(c.optScaling);
            mp.nn.utils.clipGradNorm(c.modScaling.parameters(), 0.2);
          }
          const r = scaler.step(c.optScaling);
          scaler.update();
          return r;
        });
        deltas.push(mp.hostReads() - before);
        // Outside the measured iteration: reading the step's result is one read.
        const beforeResult = mp.hostReads();
        const pending = result.applied;
        readsOfResults.push(mp.hostReads() - beforeResult);
        applied.push(await pending);
      }
      expect(deltas).toEqual([0, 0, 0, 0]);
      // The counter counts: each result read once, the scale read once.
      expect(readsOfResults).toEqual([1, 1, 1, 1]);
      expect(applied).toEqual([true, true, false, true]);
      const before = mp.hostReads();
      expect(scaler.getScale()).toBe(512);
      expect(mp.hostReads() - before).toBe(1);
    } finally {
      scaler.dispose();
      c.dispose();
    }
  });

  test("4.11 with listeners: 'growth', 'skip' and 'backoff' arrive asynchronously with the update's number and the new scale", async () => {
    const c = createScalingCase('4.11 events');
    const scaler = makeScaler();
    const events: string[] = [];
    for (const name of ['growth', 'skip', 'backoff'] as const) {
      scaler.on(name, (e: mp.amp.ScalerEvent) => events.push(`${name} ${e.step} ${e.scale}`));
    }
    try {
      let syncEvents = 0;
      typicalRun()(c.data, c.modControl, c.optControl, scaler, false);
      c.data.forEach(([input, target], i) => {
        mp.tidy(() => {
          c.optScaling.zeroGrad();
          scaler.scale(lossOf(c.modScaling, input, target, false)).backward();
          if (i === SKIP_ITER) injectInf(c.modScaling);
          scaler.step(c.optScaling);
          scaler.update();
        });
        syncEvents += events.length;
      });
      expect(syncEvents).toBe(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(events).toEqual(['growth 1 256', 'growth 2 512', 'skip 3 256', 'backoff 3 256', 'growth 4 512']);
      expectMatchesControl(c, 1e-7, 'with listeners');
    } finally {
      scaler.dispose();
      c.dispose();
    }
  });
});
