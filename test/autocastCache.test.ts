// The weight-cast cache (reference §2, checklist §7.2) and autocast for custom Functions
// (reference §3, checklist §7.3). Cast counts come from the decision log, values from the same
// computation done by hand outside autocast.
import * as mp from '../lib';

const F = mp.nn.functional;
const cpu = { deviceType: 'cpu' } as const;
// The cache serves the casts autocast inserts: every CUDA op's, and on the CPU those of ops other
// than the matrix products, which by default round float32 operands in their kernel instead (cast
// fusion, tested at the end of this file). These Linear-based cache tests turn fusion off so the
// weight is cast as PyTorch casts it.
const castFirst = { deviceType: 'cpu', castFusion: false } as const;

function values(shape: number[], seed: number): mp.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return mp.tensor(Float32Array.from({ length: n }, (_, i) => Math.cos(seed * 31 + i * 0.9)), { shape });
}

const modules: mp.nn.Module[] = [];

/** A Linear(6 → 3) with deterministic float32 parameters (freed after the test). */
function linear(): mp.nn.Linear {
  const m = new mp.nn.Linear(6, 3);
  modules.push(m);
  mp.tidy(() => mp.noGrad(() => {
    m.weight.copy_(values([3, 6], 1));
    m.bias!.copy_(values([3], 2));
  }));
  return m;
}

const castsIn = (log: mp.amp.DecisionLog) => log.entries.reduce((n, e) => n + e.casts, 0);
const hitsIn = (log: mp.amp.DecisionLog) => log.entries.reduce((n, e) => n + e.cacheHits, 0);

afterEach(() => {
  for (const m of modules.splice(0)) mp.dispose([...m.parameters(), ...m.parameters().map((p) => p.grad)]);
  expect(mp.memory().numTensors).toBe(0);
});

describe('weight-cast cache', () => {
  test('a float32 parameter is cast once per outermost scope and reused; a new scope casts again', () => {
    mp.tidy(() => {
      const m = linear();
      const x = values([2, 6], 3).to('bfloat16');
      const { log } = mp.amp.explain(castFirst, () => [m.forward(x), m.forward(x), mp.amp.autocast(castFirst, () => m.forward(x))]);
      expect(castsIn(log)).toBe(2);
      expect(hitsIn(log)).toBe(4);
      const again = mp.amp.explain(castFirst, () => m.forward(x)).log;
      expect([castsIn(again), hitsIn(again)]).toEqual([2, 0]);
      const off = mp.amp.explain({ ...castFirst, cacheEnabled: false }, () => [m.forward(x), m.forward(x)]).log;
      expect([castsIn(off), hitsIn(off)]).toEqual([4, 0]);
    });
  });

  test('only float32 leaves that require grad are cached: activations, buffers and detached copies are cast every time', () => {
    mp.tidy(() => {
      const w = values([3, 6], 4).requiresGrad_();
      const buffer = values([3, 6], 5);
      const x = values([2, 6], 6);
      const { log } = mp.amp.explain(castFirst, () => {
        const nonLeaf = w.mul(1);
        return [F.linear(x, buffer), F.linear(x, buffer), F.linear(x, nonLeaf), F.linear(x, nonLeaf)];
      });
      // Every call casts its input x and its weight; nothing is cached.
      expect([castsIn(log), hitsIn(log)]).toEqual([8, 0]);
    });
  });

  test('an inner scope with another dtype never reuses the outer dtype\'s cast', () => {
    mp.tidy(() => {
      const m = linear();
      const x = values([2, 6], 7);
      const [a, b] = mp.amp.autocast(cpu, () => [m.forward(x), mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => m.forward(x))]);
      expect([a.dtype, b.dtype]).toEqual(['bfloat16', 'float16']);
      const manual = F.linear(x.to('float16'), m.weight.to('float16'), m.bias!.to('float16'));
      expect(b.dataSync()).toEqual(manual.dataSync());
    });
  });

  test('improvement: an in-place update of the weight inside a long scope invalidates its cast (no stale weights)', () => {
    mp.tidy(() => {
      const m = linear();
      const x = values([2, 6], 8);
      const opt = new mp.optim.SGD(m.parameters(), { lr: 0.5 });
      const { result, log } = mp.amp.explain(castFirst, () => {
        const first = m.forward(x);
        first.to('float32').sum().backward();
        opt.step();
        const second = m.forward(x);
        mp.noGrad(() => m.weight.mul_(2));
        const third = m.forward(x);
        return [second, third];
      });
      const expected = (w: mp.Tensor, b: mp.Tensor) => F.linear(x.to('bfloat16'), w.to('bfloat16'), b.to('bfloat16'));
      const w2 = m.weight.detach().div(2);
      expect(result[0].dataSync()).toEqual(expected(w2, m.bias!).dataSync());
      expect(result[1].dataSync()).toEqual(expected(m.weight.detach(), m.bias!).dataSync());
      const linears = log.entries.filter((e) => e.op === 'linear');
      // weight+bias cast for the first forward, both again after step, the weight again after mul_.
      expect(linears.map((e) => [e.casts - 1, e.cacheHits])).toEqual([[2, 0], [2, 0], [1, 1]]);
    });
  });

  test('7.2.34 improvement on PyTorch #158232: a noGrad forward then a training forward in one scope still trains', () => {
    mp.tidy(() => {
      const m = linear();
      const x = values([2, 6], 9);
      const { result, log } = mp.amp.explain(castFirst, () => {
        const evalOut = mp.noGrad(() => m.forward(x));
        const trainOut = m.forward(x);
        return [evalOut, trainOut];
      });
      expect(result[0].requiresGrad).toBe(false);
      expect(result[1].requiresGrad).toBe(true);
      expect(result[1].gradFn).toBeDefined();
      expect(hitsIn(log)).toBe(2);
      result[1].to('float32').sum().backward();
      expect(m.weight.grad).toBeDefined();
      expect(m.bias!.grad).toBeDefined();
      // The gradient of sum(x W^T + b) w.r.t. b is the batch size per output, through the bfloat16 cast.
      expect(Array.from(m.bias!.grad!.dataSync())).toEqual([2, 2, 2]);
    });
  });

  test('7.2.36/7.2.37 forwards mixing noGrad and grad in one scope backprop jointly; repeated backward with retainGraph', () => {
    mp.tidy(() => {
      const m = linear();
      const x = values([2, 6], 10);
      const outs = mp.amp.autocast(cpu, () => [mp.noGrad(() => m.forward(x)), m.forward(x), mp.noGrad(() => m.forward(x)), m.forward(x)]);
      expect(outs.map((o) => o.requiresGrad)).toEqual([false, true, false, true]);
      const loss = outs[1].add(outs[3]).to('float32').sum();
      loss.backward(undefined, { retainGraph: true });
      loss.backward(undefined, { retainGraph: true });
      loss.backward();
      expect(Array.from(m.bias!.grad!.dataSync())).toEqual([12, 12, 12]);
    });
  });

  test('7.2.33 repeated noGrad forwards in one scope do not grow memory (no cache leak)', () => {
    mp.tidy(() => {
      const m = linear();
      const x = values([2, 6], 11);
      mp.amp.autocast(castFirst, () => mp.noGrad(() => {
        m.forward(x).dispose();
        const before = mp.memory().numTensors;
        for (let i = 0; i < 3; ++i) m.forward(x).dispose();
        expect(mp.memory().numTensors).toBe(before);
      }));
    });
  });

  test('cached casts survive a tidy scope inside the autocast scope and are freed when the outermost scope ends', () => {
    const m = linear();
    const x = values([2, 6], 12);
    const baseline = mp.memory().numTensors;
    mp.amp.autocast(castFirst, () => {
      mp.tidy(() => {
        m.forward(x);
      });
      const y = mp.tidy(() => m.forward(x));
      expect(y.isDisposed).toBe(false);
      y.dispose();
    });
    expect(mp.memory().numTensors).toBe(baseline);
    x.dispose();
  });

  test('concurrent scopes have separate caches: one ending never frees the other\'s casts', async () => {
    const m = linear();
    const x = values([2, 6], 13);
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const long = mp.amp.autocast(castFirst, async () => {
      const a = m.forward(x);
      await gate;
      const b = m.forward(x);
      const equal = Array.from(a.dataSync()).every((v, i) => v === b.dataSync()[i]);
      mp.dispose([a, b]);
      return equal;
    });
    mp.amp.autocast(castFirst, () => m.forward(x)).dispose();
    release();
    await expect(long).resolves.toBe(true);
    x.dispose();
  });
});

describe('customFwd / customBwd (7.3)', () => {
  test('7.3.38 test_autocast_custom_enabled: forward sees float32 inputs with autocast on; backward replays it', () => {
    const seen: string[] = [];
    class MyMM extends mp.autograd.Function {
      static override forward = mp.amp.customFwd({ deviceType: 'cpu' }, (ctx: mp.autograd.FunctionCtx, a: mp.Tensor, b: mp.Tensor) => {
        seen.push(`fwd ${a.dtype} ${b.dtype} ${mp.amp.isAutocastEnabled('cpu')}`);
        ctx.saveForBackward(a, b);
        return mp.mm(a, b);
      });
      static override backward = mp.amp.customBwd({ deviceType: 'cpu' }, (ctx: mp.autograd.FunctionCtx, g: mp.Tensor) => {
        const [a, b] = ctx.savedTensors;
        const grads = [mp.mm(g, b.transpose(0, 1)), mp.mm(a.transpose(0, 1), g)];
        seen.push(`bwd ${mp.amp.isAutocastEnabled('cpu')} ${grads[0].dtype} ${grads[1].dtype}`);
        return grads;
      });
    }
    mp.tidy(() => {
      const a = values([3, 4], 14).requiresGrad_();
      const b = values([4, 2], 15).requiresGrad_();
      const out = mp.amp.autocast(cpu, () => MyMM.apply(a, b) as mp.Tensor);
      expect(out.dtype).toBe('bfloat16');
      out.to('float32').sum().backward();
      expect(seen).toEqual(['fwd float32 float32 true', 'bwd true bfloat16 bfloat16']);
      expect([a.grad!.dtype, b.grad!.dtype]).toEqual(['float32', 'float32']);
      mp.dispose([a.grad, b.grad]);
    });
  });

  test('7.3.39 test_autocast_custom_cast_inputs: nested inputs cast to float32, autocast off in both passes; no-op outside autocast', () => {
    const seen: string[] = [];
    class Scaled extends mp.autograd.Function {
      static override forward = mp.amp.customFwd({ deviceType: 'cpu', castInputs: 'float32' }, (ctx: mp.autograd.FunctionCtx, a: mp.Tensor, nested: [number, { k: mp.Tensor }]) => {
        const b = nested[1].k;
        seen.push(`fwd ${a.dtype} ${b.dtype} ${mp.amp.isAutocastEnabled('cpu')}`);
        ctx.saveForBackward(b);
        return mp.mm(a, b);
      });
      static override backward = mp.amp.customBwd({ deviceType: 'cpu' }, (ctx: mp.autograd.FunctionCtx, g: mp.Tensor) => {
        const [b] = ctx.savedTensors;
        seen.push(`bwd ${mp.amp.isAutocastEnabled('cpu')} ${g.dtype}`);
        return [mp.mm(g, b.transpose(0, 1))];
      });
    }
    mp.tidy(() => {
      const a = values([2, 3], 16).to('float16').requiresGrad_();
      const b = values([3, 3], 17).to('float16');
      const { result, log } = mp.amp.explain(cpu, () => Scaled.apply(a, [0, { k: b }]) as mp.Tensor);
      expect(result.dtype).toBe('float32');
      expect(log.entries[0]).toMatchObject({ op: 'Scaled', reason: 'customFwd', dtype: 'float32', inputDtypes: ['float16', 'float16'] });
      result.sum().backward();
      expect(seen).toEqual(['fwd float32 float32 false', 'bwd false float32']);
      expect(a.grad!.dtype).toBe('float16');
      seen.length = 0;
      const outside = Scaled.apply(a, [0, { k: b }]) as mp.Tensor;
      expect(outside.dtype).toBe('float16');
      expect(seen).toEqual(['fwd float16 float16 false']);
      a.grad!.dispose();
    });
  });

  test('the decorator form works; customBwd without customFwd and bad options are clear errors', () => {
    class Doubler extends mp.autograd.Function {
      @mp.amp.customFwd({ deviceType: 'cpu' })
      static override forward(_ctx: mp.autograd.FunctionCtx, x: mp.Tensor) {
        return x.mul(2);
      }
      @mp.amp.customBwd({ deviceType: 'cpu' })
      static override backward(_ctx: mp.autograd.FunctionCtx, g: mp.Tensor) {
        return g.mul(2);
      }
    }
    class Orphan extends mp.autograd.Function {
      static override forward(_ctx: mp.autograd.FunctionCtx, x: mp.Tensor) {
        return x.mul(2);
      }
      static override backward = mp.amp.customBwd({ deviceType: 'cpu' }, (_ctx: mp.autograd.FunctionCtx, g: mp.Tensor) => g);
    }
    mp.tidy(() => {
      const x = values([3], 18).requiresGrad_();
      (mp.amp.autocast(cpu, () => Doubler.apply(x)) as mp.Tensor).sum().backward();
      expect(Array.from(x.grad!.dataSync())).toEqual([2, 2, 2]);
      const y = Orphan.apply(x) as mp.Tensor;
      expect(() => y.sum().backward()).toThrow(/was not wrapped with mp.amp.customFwd/);
      x.grad!.dispose();
    });
    expect(() => mp.amp.customFwd({ deviceType: 'gpu' as 'cpu' })).toThrow(/'cpu' or 'cuda'/);
    expect(() => mp.amp.customFwd({ deviceType: 'cpu', castInputs: 'int32' })).toThrow(/castInputs must be a floating-point dtype/);
    expect(() => mp.amp.customFwd({ deviceType: 'cpu' }, 3 as never)).toThrow(/'fn' must be a function/);
  });
});

describe('cast fusion (CPU matrix products read float32 operands themselves)', () => {
  const bits = (t: mp.Tensor) => Buffer.from(t.rawData().buffer, t.rawData().byteOffset, t.rawData().byteLength).toString('hex');

  /** fn's result and the gradients of `inputs`, under CPU autocast to dtype with castFusion set. */
  function run(dtype: 'bfloat16' | 'float16', castFusion: boolean, inputs: mp.Tensor[], fn: (...t: mp.Tensor[]) => mp.Tensor) {
    const leaves = inputs.map((t) => t.detach().requiresGrad_(t.dtype === 'float32'));
    const { result, log } = mp.amp.explain({ deviceType: 'cpu', dtype, castFusion }, () => fn(...leaves));
    result.to('float32').mul(values(result.shape, 40)).sum().backward();
    const grads = leaves.map((t) => (t.grad ? `${t.grad.dtype}:${bits(t.grad)}` : '-'));
    mp.dispose(leaves.map((t) => t.grad));
    return { out: bits(result), dtype: result.dtype, grads, log };
  }

  const cases: [string, number[][], (...t: mp.Tensor[]) => mp.Tensor][] = [
    ['linear 2-d with bias', [[5, 7], [4, 7], [4]], (x, w, b) => F.linear(x, w, b)],
    ['linear 3-d', [[2, 3, 7], [4, 7]], (x, w) => F.linear(x, w)],
    ['matmul broadcast batch', [[2, 1, 3, 5], [4, 5, 6]], (a, b) => mp.matmul(a, b)],
    ['matmul vector @ matrix', [[5], [5, 3]], (a, b) => mp.matmul(a, b)],
    ['mm', [[6, 9], [9, 2]], (a, b) => mp.mm(a, b)],
    ['bmm', [[3, 4, 5], [3, 5, 2]], (a, b) => mp.bmm(a, b)],
  ];

  test.each(['bfloat16', 'float16'] as const)('%s: results and gradients are bit-identical to casting first; the log counts fused operands, not casts', (dtype) => {
    mp.tidy(() => {
      for (const [name, shapes, fn] of cases) {
        const inputs = shapes.map((s, i) => values(s, 20 + i));
        const fusedRun = run(dtype, true, inputs, fn);
        const castRun = run(dtype, false, inputs, fn);
        expect({ name, ...fusedRun, log: undefined }).toEqual({ name, ...castRun, log: undefined });
        expect(fusedRun.dtype).toBe(dtype);
        const products = fusedRun.log.entries.filter((e) => e.category === 'lowerPrecision');
        expect({ name, fused: products.reduce((n, e) => n + e.fusedCasts, 0), casts: products.reduce((n, e) => n + e.casts, 0) })
          .toEqual({ name, fused: 2, casts: name.includes('bias') ? 1 : 0 });
        expect(castRun.log.totals.fusedCasts).toBe(0);
      }
    });
  });

  test('a 16-bit input is used as it is, another 16-bit dtype falls back to casts, and CUDA-style cached copies are never made', () => {
    mp.tidy(() => {
      const m = linear();
      const x16 = values([2, 6], 30).to('bfloat16');
      const before = mp.memory().numBytes;
      const { result, log } = mp.amp.explain(cpu, () => {
        const y = m.forward(x16);
        // No bfloat16 copy of the weight is kept for the scope: only the bias's cached cast (3 values).
        const held = mp.memory().numBytes - before - y.numel * 2;
        return { y, held };
      });
      expect(result.held).toBe(3 * 2);
      expect(log.entries[0]).toMatchObject({ op: 'linear', inputDtypes: ['bfloat16', 'float32', 'float32'], casts: 1, fusedCasts: 1 });
      const half = mp.amp.explain(cpu, () => m.forward(values([2, 6], 31).to('float16'))).log;
      expect(half.entries.find((e) => e.op === 'linear')).toMatchObject({ casts: 3, fusedCasts: 0 });
    });
  });
});
