// GradScaler: the fused unscale/inf-check kernel against its scalar reference and float64 math,
// the scale-update rule (reference §4.5, checklist §7.4), the state machine and API contracts
// (§4.2, §7.6), and what mixprec adds: float16/bfloat16 gradients, hysteresis, bounds, events,
// step results, LR schedulers that skip with the step, lastOverflow, no host reads.
import * as mp from '../lib';
import { native } from '../lib/native';
import { nativeLists } from '../lib/ops/multiTensor';

const F = mp.nn.functional;
type T = mp.Tensor;

/** Deterministic values in [-2, 2). */
function values(shape: number[], seed: number, dtype: mp.DType = 'float32'): T {
  const n = shape.reduce((a, b) => a * b, 1);
  return mp.tensor(Float32Array.from({ length: n }, (_, i) => 2 * Math.sin(seed * 7.3 + i * 1.37)), { shape, dtype });
}

const scalers: mp.amp.GradScaler[] = [];
function scaler(options: mp.amp.GradScalerOptions = {}): mp.amp.GradScaler {
  const s = new mp.amp.GradScaler({ device: 'cpu', ...options });
  scalers.push(s);
  return s;
}

afterEach(() => {
  for (const s of scalers.splice(0)) s.dispose();
  expect(mp.memory().numTensors).toBe(0);
});

function freeParams(params: T[]): void {
  for (const p of params) {
    p.grad?.dispose();
    p.dispose();
  }
}

/** Runs the unscale kernel directly; returns the found-inf value and the per-tensor flags. */
function unscaleDirect(grads: T[], scale: number | undefined, reference: boolean): { found: number; flags: number[] } {
  return mp.tidy(() => {
    const found = mp.zeros([1]);
    const flags = mp.zeros([grads.length]);
    const s = scale === undefined ? undefined : mp.tensor([scale]);
    const l = nativeLists(grads[0].dtype, [grads]);
    const args = { lists: l, scale: s ? { storage: s.storage.handle, offset: 0 } : null, foundInf: { storage: found.storage.handle, offset: 0 },
      flags: { storage: flags.storage.handle, offset: 0 } };
    (reference ? native._test.ampUnscaleReference : native.ampUnscale)(args);
    return { found: found.item() as number, flags: Array.from(flags.dataSync()) };
  });
}

describe('the fused unscale / inf-check kernel', () => {
  test('7.4.42 every gradient becomes 1 when 4 is unscaled by 4 (several tensors and dtypes); found-inf stays 0', () => {
    for (const dtype of ['float32', 'float16', 'bfloat16', 'float64'] as const) {
      const grads = [mp.full([20, 20], 4, { dtype }), mp.full([7], 4, { dtype }), mp.full([1], 4, { dtype })];
      const r = unscaleDirect(grads, 4, false);
      expect(r).toEqual({ found: 0, flags: [0, 0, 0] });
      for (const g of grads) expect(new Set(g.dataSync())).toEqual(new Set([1]));
      mp.dispose(grads);
    }
  });

  test('7.4.43 an inf or NaN anywhere in any tensor sets found-inf and exactly that tensor\'s flag; values are still unscaled', () => {
    for (const bad of [Infinity, -Infinity, NaN]) {
      for (const [which, at] of [[0, 0], [1, 33], [2, 4]] as const) {
        const grads = [mp.full([5], 8), mp.full([40], 8), mp.full([5], 8)];
        mp.tidy(() => {
          const v = new Float32Array(grads[which].numel).fill(8);
          v[at] = bad;
          mp.noGrad(() => grads[which].copy_(mp.tensor(v)));
        });
        const r = unscaleDirect(grads, 2, false);
        expect(r.found).toBe(1);
        expect(r.flags).toEqual([0, 1, 2].map((i) => (i === which ? 1 : 0)));
        const got = grads[which].dataSync();
        expect(Number.isNaN(bad) ? Number.isNaN(got[at]) : got[at] === bad).toBe(true);
        expect(got[at === 0 ? 1 : 0]).toBe(4);
        mp.dispose(grads);
      }
    }
  });

  test('threaded kernel == scalar reference == float64 math, bit for bit, on odd sizes with non-finite values (all dtypes)', () => {
    const sizes = [1, 3, 17, 1000, 16385, 40001];
    for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
      const make = () => sizes.map((n, i) => mp.tidy(() => {
        const v = Float32Array.from({ length: n }, (_, k) => 3e4 * Math.sin(i * 11 + k * 0.37));
        if (i === 4) v[n - 1] = NaN;
        return mp.tensor(v).to(dtype);
      }));
      const a = make();
      const b = make();
      const expected = a.map((t) => mp.tidy(() => {
        // (x in float64) * float32(1/3) in float32, rounded to the dtype: the kernel's formula.
        const inv = Math.fround(1 / 3);
        return mp.tensor(Float64Array.from(t.dataSync(), (x) => Math.fround(x * inv)), { dtype: 'float64' }).to(dtype);
      }));
      const ra = unscaleDirect(a, 3, false);
      const rb = unscaleDirect(b, 3, true);
      expect(ra).toEqual(rb);
      expect(ra.flags).toEqual(sizes.map((_, i) => (i === 4 ? 1 : 0)));
      a.forEach((t, i) => {
        expect(Buffer.from(t.rawData().buffer).equals(Buffer.from(b[i].rawData().buffer))).toBe(true);
        expect(Buffer.from(t.rawData().buffer).equals(Buffer.from(expected[i].rawData().buffer))).toBe(true);
      });
      mp.dispose([a, b, expected]);
    }
  });

  test('check only (no scale) and an inverse of exactly 1 leave the values untouched', () => {
    const g = values([33], 1);
    const before = Array.from(g.dataSync());
    expect(unscaleDirect([g], undefined, false).found).toBe(0);
    expect(unscaleDirect([g], 1, false).found).toBe(0);
    expect(Array.from(g.dataSync())).toEqual(before);
    g.dispose();
  });
});

describe('the scale update rule (§4.5)', () => {
  /** Runs the update kernel on explicit state; returns [scale, tracker, hysteresisLeft, stats]. */
  function updateOnce(state: { scale: number; tracker: number; left?: number }, foundInf: number, o: { growth?: number; backoff?: number; interval?: number; hysteresis?: number; min?: number; max?: number }) {
    return mp.tidy(() => {
      const scale = mp.tensor([state.scale]);
      const tracker = mp.tensor([state.tracker], { dtype: 'int32' });
      const left = mp.tensor([state.left ?? o.hysteresis ?? 1], { dtype: 'int32' });
      const found = mp.tensor([foundInf]);
      const stats = mp.zeros([6], { dtype: 'int32' });
      const at = (t: mp.Tensor) => ({ storage: t.storage.handle, offset: 0 });
      native.ampUpdateScale({ scale: at(scale), tracker: at(tracker), hysteresisLeft: at(left), foundInf: at(found), stats: at(stats), options: {
        growthFactor: o.growth ?? 2, backoffFactor: o.backoff ?? 0.5, growthInterval: o.interval ?? 2000, hysteresis: o.hysteresis ?? 1,
        minScale: o.min ?? 0, maxScale: o.max ?? Infinity } });
      return { scale: scale.item() as number, tracker: tracker.item() as number, left: left.item() as number, stats: Array.from(stats.dataSync()) };
    });
  }

  test('7.4.40 test_grad_scaling_update_scale: 4 → (clean) 4, tracker 1 → (clean) 8, tracker 0 → (inf) 2', () => {
    const o = { growth: 2, backoff: 0.25, interval: 2 };
    const a = updateOnce({ scale: 4, tracker: 0 }, 0, o);
    expect([a.scale, a.tracker]).toEqual([4, 1]);
    const b = updateOnce({ scale: a.scale, tracker: a.tracker }, 0, o);
    expect([b.scale, b.tracker]).toEqual([8, 0]);
    const c = updateOnce({ scale: b.scale, tracker: b.tracker }, 1, o);
    expect([c.scale, c.tracker]).toEqual([2, 0]);
    // Any non-zero found-inf (a sum over optimizers) backs off once.
    expect(updateOnce({ scale: 8, tracker: 1 }, 3, o).scale).toBe(2);
  });

  test('growth only on exact equality with the interval; a tracker past it never grows; growth to inf is refused (7.4.41)', () => {
    expect(updateOnce({ scale: 4, tracker: 5 }, 0, { interval: 3 })).toMatchObject({ scale: 4, tracker: 6 });
    expect(updateOnce({ scale: 3e38, tracker: 0 }, 0, { interval: 1, growth: 16 })).toMatchObject({ scale: Math.fround(3e38), tracker: 0 });
  });

  test('hysteresis, minScale and maxScale (mixprec additions); the counters record what happened', () => {
    const h = { hysteresis: 2 };
    const first = updateOnce({ scale: 64, tracker: 3, left: 2 }, 1, h);
    expect(first).toMatchObject({ scale: 64, tracker: 0, left: 1 });
    expect(first.stats).toEqual([1, 1, 0, 0, 0, 1]);
    const second = updateOnce({ scale: 64, tracker: 0, left: 1 }, 1, h);
    expect(second).toMatchObject({ scale: 32, left: 2 });
    expect(second.stats).toEqual([1, 1, 0, 1, 0, 1 | 2]);
    expect(updateOnce({ scale: 64, tracker: 0, left: 1 }, 0, h).left).toBe(2);
    const floored = updateOnce({ scale: 3, tracker: 0 }, 1, { min: 2 });
    expect(floored.scale).toBe(2);
    expect(floored.stats).toEqual([1, 1, 0, 1, 1, 1 | 2 | 8]);
    const atFloor = updateOnce({ scale: 2, tracker: 0 }, 1, { min: 2 });
    expect(atFloor.stats).toEqual([1, 1, 0, 0, 1, 1 | 8]);
    expect(updateOnce({ scale: 96, tracker: 0 }, 0, { interval: 1, max: 128 })).toMatchObject({ scale: 128, stats: [1, 0, 1, 0, 0, 4] });
    expect(updateOnce({ scale: 128, tracker: 0 }, 0, { interval: 1, max: 128 }).stats).toEqual([1, 0, 0, 0, 0, 0]);
  });
});

/** A tiny model, optimizer and batch for scaler-level tests. */
function setup(dtype: mp.DType = 'float32') {
  mp.manualSeed(3);
  const model = new mp.nn.Linear(6, 4);
  if (dtype !== 'float32') model.to(dtype);
  const opt = new mp.optim.SGD(model.parameters(), { lr: 0.1 });
  const x = values([5, 6], 2, dtype);
  const y = values([5, 4], 3, dtype);
  const free = () => {
    freeParams(model.parameters());
    mp.dispose([x, y]);
  };
  return { model, opt, x, y, free };
}

function lossOf(model: mp.nn.Linear, x: T, y: T): T {
  return F.mseLoss(model.forward(x).to('float32'), y.to('float32'));
}

describe('GradScaler state machine and API contracts (§4.2, §7.6)', () => {
  test('7.6.64–7.6.68 misuse errors say what to do', () => {
    const { model, opt, x, y, free } = setup();
    const s = scaler();
    expect(() => s.step(opt)).toThrow(/call scaler.scale\(loss\)/);
    expect(() => s.unscale(opt)).toThrow(/call scaler.scale\(loss\)/);
    expect(() => s.update()).toThrow(/call scaler.scale\(loss\)/);
    mp.tidy(() => s.scale(lossOf(model, x, y)).backward());
    expect(() => s.update()).toThrow(/no inf checks were recorded/);
    s.unscale(opt);
    expect(() => s.unscale(opt)).toThrow(/unscale\(\) has already been called/);
    s.step(opt);
    expect(() => s.unscale(opt)).toThrow(/after step\(\)/);
    expect(() => s.step(opt)).toThrow(/step\(\) has already been called/);
    s.update();
    expect(() => s.step(opt, () => 0)).toThrow(/closures are not supported/);
    opt.zeroGrad();
    free();
  });

  test('7.6.71 constructor checks; 7.6.76 scale() of a non-tensor; 7.6.77 CUDA without a GPU warns and disables', () => {
    expect(() => new mp.amp.GradScaler({ device: 'cpu', growthFactor: 1 })).toThrow(/growthFactor' must be a finite number > 1/);
    expect(() => new mp.amp.GradScaler({ device: 'cpu', backoffFactor: 1 })).toThrow(/backoffFactor' must be a number in \(0, 1\)/);
    expect(() => new mp.amp.GradScaler({ device: 'cpu', growthInterval: 0.5 })).toThrow(/growthInterval/);
    expect(() => new mp.amp.GradScaler({ device: 'tpu' as 'cpu' })).toThrow(/'cpu' or 'cuda'/);
    expect(() => new mp.amp.GradScaler({ device: 'cpu', initScal: 3 } as never)).toThrow(/unknown option 'initScal'/);
    expect(() => scaler().scale(3)).toThrow(/outputs must be a Tensor/);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const s = new mp.amp.GradScaler();
      if (!mp.cuda.isAvailable()) {
        expect(s.isEnabled()).toBe(false);
        expect(String(warn.mock.calls[0][0])).toMatch(/CUDA is not available; the scaler is disabled/);
      }
    } finally {
      warn.mockRestore();
    }
  });

  test('7.6.74 a disabled scaler is a pass-through; 7.6.73 loading into it is a no-op', () => {
    const { model, opt, x, y, free } = setup();
    const s = scaler({ enabled: false });
    mp.tidy(() => {
      const loss = lossOf(model, x, y);
      expect(s.scale(loss)).toBe(loss);
      expect(s.getScale()).toBe(1);
      expect(s.stateDict()).toEqual({});
      loss.backward();
    });
    const before = model.weight.dataSync()[0];
    s.unscale(opt);
    s.step(opt);
    s.update();
    expect(model.weight.dataSync()[0]).not.toBe(before);
    s.loadStateDict({} as never);
    opt.zeroGrad();
    free();
  });

  test('7.6.72 update(newScale): a number or a one-element tensor; the tracker is unchanged; bad tensors are refused', () => {
    const { model, opt, x, y, free } = setup();
    const s = scaler({ growthInterval: 3 });
    mp.tidy(() => s.scale(lossOf(model, x, y)).backward());
    s.step(opt);
    s.update();
    expect(s.stateDict()._growth_tracker).toBe(1);
    s.update(1024);
    expect(s.getScale()).toBe(1024);
    expect(s.stateDict()._growth_tracker).toBe(1);
    mp.tidy(() => {
      s.update(mp.tensor([512]));
      expect(s.getScale()).toBe(512);
      expect(() => s.update(mp.tensor([1, 2]))).toThrow(/one-element float tensor/);
      expect(() => s.update(mp.tensor([1]).requiresGrad_())).toThrow(/does not require grad/);
      expect(() => s.update(-1)).toThrow(/finite number > 0/);
    });
    opt.zeroGrad();
    free();
  });

  test('7.4.58 state dict in PyTorch\'s keys; 7.6.73 an empty dict is refused', () => {
    const s0 = scaler({ initScale: 3, growthFactor: 4, backoffFactor: 0.5, growthInterval: 2 });
    const s1 = scaler({ initScale: 6, growthFactor: 7, backoffFactor: 0.8, growthInterval: 1 });
    mp.tidy(() => {
      s1.scale(mp.ones([1]));
    });
    s1.loadStateDict(s0.stateDict() as mp.amp.GradScalerStateDict);
    expect(s1.stateDict()).toEqual({ scale: 3, growth_factor: 4, backoff_factor: 0.5, growth_interval: 2, _growth_tracker: 0 });
    expect(() => s1.loadStateDict({} as never)).toThrow(/state dict is empty/);
    expect(() => s1.loadStateDict({ scale: 2 } as never)).toThrow(/state.growth_factor' must be a number/);
  });
});

describe('mixprec additions', () => {
  test('float16 and bfloat16 gradients are scaled (PyTorch refuses float16, #74739; its CUDA kernel lacks bfloat16, #127176)', () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const { model, opt, x, y, free } = setup(dtype);
      const reference = setup(dtype);
      const s = scaler({ initScale: 1024 });
      mp.tidy(() => s.scale(lossOf(model, x, y)).backward());
      const r = s.step(opt);
      s.update();
      mp.tidy(() => lossOf(reference.model, reference.x, reference.y).backward());
      reference.opt.step();
      if (dtype === 'bfloat16') {
        // Unscaled in place before the step: the same gradients and update as without scaling.
        expect(Array.from(model.weight.grad!.dataSync())).toEqual(Array.from(reference.model.weight.grad!.dataSync()));
        expect(Array.from(model.weight.dataSync())).toEqual(Array.from(reference.model.weight.dataSync()));
      } else {
        // float16 grads stay scaled in .grad; the kernel divides in float32.
        const expected = reference.model.weight.grad!.dataSync();
        model.weight.grad!.dataSync().forEach((v, i) => expect(Math.abs(v / 1024 - expected[i])).toBeLessThanOrEqual(Math.abs(expected[i]) * 2e-3 + 1e-6));
        const w = reference.model.weight.dataSync();
        model.weight.dataSync().forEach((v, i) => expect(Math.abs(v - w[i])).toBeLessThanOrEqual(2e-3));
      }
      opt.zeroGrad();
      reference.opt.zeroGrad();
      free();
      reference.free();
      void r;
    }
  });

  test('no host read in a scaled step; step results, statistics, events and LR schedulers read asynchronously on demand', async () => {
    const { model, opt, x, y, free } = setup();
    const s = scaler({ initScale: 256, growthInterval: 2 });
    const sched = new mp.optim.StepLR(opt, 1, { gamma: 0.5 });
    const results: mp.amp.ScalerStepResult[] = [];
    for (let i = 0; i < 4; ++i) {
      const before = mp.hostReads();
      mp.tidy(() => {
        opt.zeroGrad();
        const loss = mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => lossOf(model, x, y));
        const scaled = s.scale(i === 2 ? loss.mul(Infinity) : loss);
        scaled.backward();
        results.push(s.step(opt));
        s.update();
      });
      expect(mp.hostReads() - before).toBe(0);
    }
    // A result stays readable until the update after its own.
    await expect(results[2].applied).rejects.toThrow(/read 'applied' earlier/);
    expect(await results[3].applied).toBe(true);
    expect(await s.statistics()).toEqual({ steps: 4, skippedSteps: 1, growths: 1, backoffs: 1, floorHits: 0, scale: 256 });
    // The third step was skipped: a scheduler given its result does not advance.
    const lr = opt.paramGroups[0].lr;
    await expect(sched.step(results[3])).resolves.toBe(true);
    expect(opt.paramGroups[0].lr).toBe(lr / 2);
    const skipped = mp.tidy(() => {
      opt.zeroGrad();
      s.scale(lossOf(model, x, y).mul(Infinity)).backward();
      const r = s.step(opt);
      s.update();
      return r;
    });
    await expect(sched.step(skipped)).resolves.toBe(false);
    expect(opt.paramGroups[0].lr).toBe(lr / 2);
    expect(() => sched.step({} as never)).toThrow(/GradScaler step result/);
    // Events, once someone listens.
    const seen: string[] = [];
    for (const e of ['skip', 'backoff', 'growth'] as const) s.on(e, (p: mp.amp.ScalerEvent) => seen.push(`${e}@${p.step}:${p.scale}`));
    for (const bad of [true, false, false]) {
      mp.tidy(() => {
        opt.zeroGrad();
        const loss = lossOf(model, x, y);
        s.scale(bad ? loss.mul(NaN) : loss).backward();
        s.step(opt);
        s.update();
      });
    }
    await new Promise((r) => setImmediate(r));
    await s.statistics();
    expect(seen).toEqual(['skip@6:64', 'backoff@6:64', 'growth@8:128']);
    opt.zeroGrad();
    free();
  });

  test('lastOverflow names the parameters whose gradients were not finite', async () => {
    const { model, opt, x, y, free } = setup();
    const s = scaler();
    mp.tidy(() => s.scale(lossOf(model, x, y)).backward());
    mp.noGrad(() => model.bias!.grad!.fill_(Infinity));
    s.step(opt);
    s.update();
    const names = (await s.lastOverflow(model)).map((r) => r.name);
    expect(names).toEqual(['bias']);
    expect((await s.lastOverflow()).map((r) => r.name)).toEqual(['paramGroups[0].params[1]']);
    expect(s.getScale()).toBe(32768);
    opt.zeroGrad();
    free();
  });

  test('hysteresis: one overflow skips without backing off; minScale holds the floor and warns, or throws on the next call', async () => {
    const { model, opt, x, y, free } = setup();
    const step = (s: mp.amp.GradScaler, bad: boolean) => mp.tidy(() => {
      opt.zeroGrad();
      const loss = lossOf(model, x, y);
      s.scale(bad ? loss.mul(Infinity) : loss).backward();
      s.step(opt);
      s.update();
    });
    const h = scaler({ initScale: 64, hysteresis: 2 });
    step(h, true);
    expect(h.getScale()).toBe(64);
    // The countdown is in the state dict (mixprec's key), so a resume mid-run backs off on time.
    const saved = h.stateDict() as mp.amp.GradScalerStateDict;
    expect(saved._hysteresis_left).toBe(1);
    const resumed = scaler({ initScale: 1, hysteresis: 2 });
    resumed.loadStateDict(saved);
    step(h, true);
    expect(h.getScale()).toBe(32);
    step(resumed, true);
    expect(resumed.getScale()).toBe(32);
    expect(resumed.stateDict()).toEqual(h.stateDict());
    expect(scaler().stateDict()).not.toHaveProperty('_hysteresis_left');
    expect(() => resumed.loadStateDict({ ...saved, _hysteresis_left: 3 })).toThrow(/_hysteresis_left/);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const w = scaler({ initScale: 4, minScale: 2 });
      step(w, true);
      step(w, true);
      await w.statistics();
      await new Promise((r) => setImmediate(r));
      expect(w.getScale()).toBe(2);
      expect(warn.mock.calls.map((c) => String(c[0])).some((m) => /hit its floor \(minScale 2\)/.test(m))).toBe(true);
    } finally {
      warn.mockRestore();
    }
    const t = scaler({ initScale: 4, minScale: 4, onFloor: 'throw' });
    step(t, true);
    await t.statistics();
    await new Promise((r) => setImmediate(r));
    mp.tidy(() => expect(() => t.scale(mp.ones([1]))).toThrow(/hit its floor/));
    opt.zeroGrad();
    free();
  });
});
