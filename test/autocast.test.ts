// Autocast scopes: results and promises, nesting and restoration (also on throw), per-device
// independence, isolation between concurrent async contexts, the decorator and disposable
// forms, option validation, casts as autograd ops, backward with autocast off, custom
// policies and the decision log. Reference: ../shared/reference/torch-amp.md §1 and §7.1.
import * as mp from '../lib';
import type { GraphNode } from '../lib/autograd/node';

const F = mp.nn.functional;
const cpu = { deviceType: 'cpu' } as const;

/** Deterministic float32 values in [-1, 1). */
function values(shape: number[], seed: number): mp.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return mp.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i * 1.7)), { shape });
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => expect(mp.memory().numTensors).toBe(0));

describe('autocast scopes', () => {
  test('returns what fn returns; 7.1.16 enabled before/inside/after and around a nested enabled:false island', () => {
    expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
    const seen = mp.amp.autocast(cpu, () => {
      const inside = mp.amp.isAutocastEnabled('cpu');
      const island = mp.amp.autocast({ deviceType: 'cpu', enabled: false }, () => mp.amp.isAutocastEnabled('cpu'));
      return [inside, island, mp.amp.isAutocastEnabled('cpu')];
    });
    expect(seen).toEqual([true, false, true]);
    expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
  });

  test('7.1.21 default dtypes: float16 for CUDA, bfloat16 for the CPU; an inner scope may change it', () => {
    expect(mp.amp.getAutocastDtype('cuda')).toBe('float16');
    expect(mp.amp.getAutocastDtype('cpu')).toBe('bfloat16');
    mp.amp.autocast(cpu, () => {
      expect(mp.amp.getAutocastDtype('cpu')).toBe('bfloat16');
      mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => {
        expect(mp.amp.getAutocastDtype('cpu')).toBe('float16');
        // A nested scope without dtype keeps the enclosing one's (PyTorch reads the current dtype).
        mp.amp.autocast(cpu, () => expect(mp.amp.getAutocastDtype('cpu')).toBe('float16'));
        const a = values([3, 3], 1);
        const y = mp.mm(a, a);
        expect(y.dtype).toBe('float16');
        mp.dispose([a, y]);
      });
      expect(mp.amp.getAutocastDtype('cpu')).toBe('bfloat16');
    });
  });

  test('state is restored when fn throws, and the error passes through unchanged', () => {
    const boom = new Error('boom');
    expect(() => mp.amp.autocast(cpu, () => { throw boom; })).toThrow(boom);
    expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
    mp.amp.autocast(cpu, () => {
      expect(() => mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => { throw boom; })).toThrow(boom);
      expect(mp.amp.getAutocastDtype('cpu')).toBe('bfloat16');
      expect(mp.amp.isAutocastEnabled('cpu')).toBe(true);
    });
  });

  test('an async fn returns a promise and the scope lasts until it settles (also on rejection)', async () => {
    const p = mp.amp.autocast(cpu, async () => {
      await tick();
      return mp.amp.isAutocastEnabled('cpu');
    });
    expect(p).toBeInstanceOf(Promise);
    expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
    await expect(p).resolves.toBe(true);
    await expect(mp.amp.autocast(cpu, async () => {
      await tick();
      throw new Error('late');
    })).rejects.toThrow('late');
    expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
  });

  test("the state of 'cpu' and 'cuda' is independent", () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      mp.amp.autocast({ deviceType: 'cuda', dtype: 'bfloat16', enabled: false }, () => {
        expect(mp.amp.getAutocastDtype('cuda')).toBe('bfloat16');
        mp.amp.autocast(cpu, () => {
          expect(mp.amp.isAutocastEnabled('cpu')).toBe(true);
          expect(mp.amp.isAutocastEnabled('cuda')).toBe(false);
          expect(mp.amp.getAutocastDtype('cuda')).toBe('bfloat16');
        });
        expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
      });
    } finally {
      warn.mockRestore();
    }
  });

  test('two concurrent loops with different settings never see each other across interleaved awaits', async () => {
    const order: string[] = [];
    const loop = (name: string) => async () => {
      const seen: string[] = [];
      for (let step = 0; step < 5; ++step) {
        await tick();
        order.push(name);
        const a = values([2, 2], step);
        const y = mp.mm(a, a);
        seen.push(`${mp.amp.isAutocastEnabled('cpu')}:${mp.amp.getAutocastDtype('cpu')}:${y.dtype}`);
        mp.dispose([a, y]);
      }
      return seen;
    };
    const [bf, fp, off] = await Promise.all([
      mp.amp.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, loop('bf')),
      mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16' }, loop('fp')),
      loop('off')(),
    ]);
    // The loops really interleaved.
    expect(order.slice(0, 3).sort()).toEqual(['bf', 'fp', 'off']);
    expect(bf).toEqual(new Array(5).fill('true:bfloat16:bfloat16'));
    expect(fp).toEqual(new Array(5).fill('true:float16:float16'));
    expect(off).toEqual(new Array(5).fill('false:bfloat16:float32'));
  });

  test('autocast.wrap: the decorator form runs every call in the scope and keeps `this`', () => {
    const model = { scale: 2, run(this: { scale: number }, a: mp.Tensor) { return [mp.amp.isAutocastEnabled('cpu'), this.scale, mp.mm(a, a)] as const; } };
    const wrapped = mp.amp.autocast.wrap(cpu, model.run);
    const a = values([2, 2], 3);
    const [enabled, scale, y] = wrapped.call(model, a);
    expect([enabled, scale, y.dtype]).toEqual([true, 2, 'bfloat16']);
    expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
    expect(() => mp.amp.autocast.wrap({ deviceType: 'tpu' as 'cpu' }, model.run)).toThrow(/'cpu' or 'cuda'/);
    mp.dispose([a, y]);
  });

  test('autocast.enter: a disposable scope for synchronous code (`using`), exited in reverse order', () => {
    const a = values([2, 2], 4);
    {
      using _scope = mp.amp.autocast.enter(cpu);
      expect(mp.amp.isAutocastEnabled('cpu')).toBe(true);
      const y = mp.mm(a, a);
      expect(y.dtype).toBe('bfloat16');
      y.dispose();
    }
    expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
    const outer = mp.amp.autocast.enter(cpu);
    const inner = mp.amp.autocast.enter({ deviceType: 'cpu', dtype: 'float16' });
    expect(() => outer.exit()).toThrow(/reverse order/);
    inner.exit();
    inner.exit();
    expect(mp.amp.getAutocastDtype('cpu')).toBe('bfloat16');
    outer.exit();
    expect(mp.amp.isAutocastEnabled('cpu')).toBe(false);
    a.dispose();
  });
});

describe('autocast option errors (7.1.22–7.1.24)', () => {
  test('7.1.22/7.1.23 unknown or non-string device types, missing deviceType, unknown options, bad flags', () => {
    expect(() => mp.amp.autocast({ deviceType: 'not a real device' as 'cpu' }, () => 0)).toThrow(/deviceType' must be 'cpu' or 'cuda', got 'not a real device'/);
    expect(() => mp.amp.autocast({ deviceType: 'cuda:0' as 'cuda' }, () => 0)).toThrow(/use 'cuda'/);
    expect(() => mp.amp.autocast({ deviceType: mp.Device.cpu as unknown as 'cpu' }, () => 0)).toThrow(/must be a device type string/);
    expect(() => mp.amp.autocast({} as { deviceType: 'cpu' }, () => 0)).toThrow(/deviceType is required/);
    expect(() => mp.amp.autocast({ deviceType: 'cpu', enable: true } as never, () => 0)).toThrow(/unknown option 'enable'/);
    expect(() => mp.amp.autocast({ deviceType: 'cpu', enabled: 1 as never }, () => 0)).toThrow(/options.enabled' must be a boolean/);
    expect(() => mp.amp.autocast({ deviceType: 'cpu', dtype: 'half' as never }, () => 0)).toThrow(/options.dtype/);
    expect(() => mp.amp.autocast({ deviceType: 'cpu', policy: {} as never }, () => 0)).toThrow(/AutocastPolicy/);
    expect(() => mp.amp.autocast(cpu, 42 as never)).toThrow(/'fn' must be a function/);
    expect(() => mp.amp.isAutocastEnabled('gpu' as 'cpu')).toThrow(/'cpu' or 'cuda'/);
  });

  test('a non-16-bit low precision warns and disables the scope, as PyTorch on the CPU; 7.1.24 not when enabled:false', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      for (const dtype of ['float32', 'int32', 'float64'] as const) {
        const enabled = mp.amp.autocast({ deviceType: 'cpu', dtype }, () => mp.amp.isAutocastEnabled('cpu'));
        expect(enabled).toBe(false);
      }
      expect(warn).toHaveBeenCalledTimes(3);
      expect(String(warn.mock.calls[0][0])).toMatch(/only supports float16 and bfloat16.*got float32.*disabled/);
      warn.mockClear();
      mp.amp.autocast({ deviceType: 'cpu', dtype: 'float32', enabled: false }, () => undefined);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  test('CUDA autocast without a usable GPU warns and disables; bfloat16 on a GPU without it is an error', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const enabled = mp.amp.autocast({ deviceType: 'cuda' }, () => mp.amp.isAutocastEnabled('cuda'));
      if (mp.cuda.isAvailable()) {
        expect(enabled).toBe(true);
        if (!mp.cuda.isBf16Supported()) expect(() => mp.amp.autocast({ deviceType: 'cuda', dtype: 'bfloat16' }, () => 0)).toThrow(/does not support bfloat16/);
      } else {
        expect(enabled).toBe(false);
        expect(String(warn.mock.calls[0][0])).toMatch(/CUDA is not available; autocast is disabled/);
      }
    } finally {
      warn.mockRestore();
    }
  });
});

describe('casts are autograd ops', () => {
  test.each([true, false])('float32 parameters get float32 gradients equal to a manual low-precision forward; no float32 copies are saved (castFusion %s)', (castFusion) => {
    mp.tidy(() => {
      const x = values([4, 6], 5).requiresGrad_();
      const w = values([3, 6], 6).requiresGrad_();
      const b = values([3], 7).requiresGrad_();
      const y = mp.amp.autocast({ ...cpu, castFusion }, () => F.linear(x, w, b));
      expect(y.dtype).toBe('bfloat16');
      // Cast first, the product node saves its bfloat16 operands; with cast fusion it saves the
      // float32 inputs themselves (same storage, no copies), which its kernel rounds again.
      const saved = (node: GraphNode | undefined): mp.Tensor[] => (node ? node.saved.map((s) => s.unpack()) : []);
      const walk = (node: GraphNode | undefined, depth = 0): mp.Tensor[] => (!node || depth > 4 ? [] : [...saved(node), ...node.next.flatMap((e) => walk(e?.node, depth + 1))]);
      const savedTensors = walk(y.gradFn as unknown as GraphNode);
      expect(savedTensors.length).toBeGreaterThan(0);
      const isInput = (t: mp.Tensor) => [x, w].some((i) => i.storage === t.storage);
      expect(new Set(savedTensors.map((t) => (t.dtype === 'float32' && isInput(t) ? 'input' : t.dtype)))).toEqual(new Set([castFusion ? 'input' : 'bfloat16']));
      y.sum().backward();
      for (const t of [x, w, b]) expect(t.grad!.dtype).toBe('float32');

      const x2 = x.detach().requiresGrad_();
      const w2 = w.detach().requiresGrad_();
      const b2 = b.detach().requiresGrad_();
      const manual = F.linear(x2.to('bfloat16'), w2.to('bfloat16'), b2.to('bfloat16'));
      expect(manual.dataSync()).toEqual(y.dataSync());
      manual.sum().backward();
      expect(x.grad!.dataSync()).toEqual(x2.grad!.dataSync());
      expect(w.grad!.dataSync()).toEqual(w2.grad!.dataSync());
      expect(b.grad!.dataSync()).toEqual(b2.grad!.dataSync());
      mp.dispose([x, w, b, y, x2, w2, b2, manual, x.grad, w.grad, b.grad, x2.grad, w2.grad, b2.grad]);
    });
  });

  test('backward runs in the dtypes forward chose, with autocast off even when called inside a scope', () => {
    mp.tidy(() => {
      const x = values([3, 4], 8).to('bfloat16').requiresGrad_();
      const w = values([4, 2], 9).requiresGrad_();
      const seen: string[] = [];
      mp.amp.autocast(cpu, () => {
        const y = mp.mm(x, w);
        y.registerHook((g) => {
          seen.push(`${g.dtype}:${mp.amp.isAutocastEnabled('cpu')}`);
          return g;
        });
        const loss = y.to('float32').sum();
        loss.backward();
        mp.dispose([y, loss]);
      });
      expect(seen).toEqual(['bfloat16:false']);
      expect(x.grad!.dtype).toBe('bfloat16');
      expect(w.grad!.dtype).toBe('float32');
      // The same gradients as a backward outside the scope.
      const x2 = x.detach().requiresGrad_();
      const w2 = w.detach().requiresGrad_();
      const loss2 = mp.amp.autocast(cpu, () => mp.mm(x2, w2).to('float32').sum());
      loss2.backward();
      expect(x2.grad!.dataSync()).toEqual(x.grad!.dataSync());
      expect(w2.grad!.dataSync()).toEqual(w.grad!.dataSync());
      mp.dispose([x, w, x2, w2, loss2, x.grad, w.grad, x2.grad, w2.grad]);
    });
  });

  test('an op that composes others is autocast once: its inner ops keep its decision', () => {
    mp.tidy(() => {
      // crossEntropy is fp32 on the CPU; inside it, logSoftmax/nll run on the float32 copy.
      const logits = values([4, 5], 10).to('bfloat16');
      const target = mp.tensor([0, 4, 2, 1], { dtype: 'int32' });
      const { result, log } = mp.amp.explain(cpu, () => F.crossEntropy(logits, target));
      expect(result.dtype).toBe('float32');
      expect(log.entries.map((e) => e.op)).toEqual(['crossEntropy']);
      const reference = F.crossEntropy(logits.to('float32'), target);
      expect(result.item()).toBe(reference.item());
      mp.dispose([logits, target, result, reference]);
    });
  });
});

describe('custom policies: mp.amp.policy.extend', () => {
  test('moves ops between categories without changing the base policy', () => {
    mp.tidy(() => {
      const p = mp.amp.policy.extend(mp.amp.policies.cpu, { fp32: ['gelu'], lowerPrecision: ['softmax'] }, 'myPolicy');
      expect(p.categoryOf('gelu')).toBe('fp32');
      expect(p.categoryOf('softmax')).toBe('lowerPrecision');
      expect(p.categoryOf('matmul')).toBe('lowerPrecision');
      expect(mp.amp.policies.cpu.categoryOf('gelu')).toBe('passThrough');
      expect(p.lists().fp32).toContain('gelu');
      const x16 = values([2, 3], 11).to('bfloat16');
      const x32 = values([2, 3], 12);
      const { result, log } = mp.amp.explain({ deviceType: 'cpu', policy: p }, () => [mp.gelu(x16), mp.softmax(x32, 1), mp.gelu(x32)]);
      expect(result.map((t) => t.dtype)).toEqual(['float32', 'bfloat16', 'float32']);
      expect(log.entries.map((e) => e.reason)).toEqual(['policyOverride', 'policyOverride', 'policyOverride']);
      const plain = mp.amp.autocast(cpu, () => mp.gelu(x16));
      expect(plain.dtype).toBe('bfloat16');
      // Extending an extended policy keeps its overrides.
      const q = mp.amp.policy.extend(p, { passThrough: ['softmax'] });
      expect([q.categoryOf('gelu'), q.categoryOf('softmax')]).toEqual(['fp32', 'passThrough']);
      mp.dispose([x16, x32, ...result, plain]);
    });
  });

  test('unknown names list the closest ones; contradictions and impossible categories are refused', () => {
    expect(() => mp.amp.policy.extend(mp.amp.policies.cuda, { fp32: ['sofmax'] })).toThrow(/unknown op "sofmax"; closest names: softmax/);
    expect(() => mp.amp.policy.extend(mp.amp.policies.cuda, { fp32: ['gelu'], lowerPrecision: ['gelu'] })).toThrow(/'gelu' is listed under both 'fp32' and 'lowerPrecision'/);
    expect(() => mp.amp.policy.extend(mp.amp.policies.cuda, { float32: ['gelu'] } as never)).toThrow(/unknown category 'float32'/);
    expect(() => mp.amp.policy.extend(mp.amp.policies.cuda, { fp32SetOptDtype: ['gelu'] })).toThrow(/takes no dtype option/);
    expect(() => mp.amp.policy.extend({} as never, {})).toThrow(/must be an AutocastPolicy/);
    expect(() => mp.amp.policy.extend(mp.amp.policies.cpu, { fp32: 'gelu' as never })).toThrow(/must be an array of op names/);
  });
});

describe('fp32SetOptDtype (CUDA lists, exercised on CPU tensors)', () => {
  const cudaLists = { deviceType: 'cpu', dtype: 'float16', policy: mp.amp.policies.cuda } as const;

  test('sum/softmax of float16 return float32 without casting the input; an explicit dtype is respected', () => {
    mp.tidy(() => {
      const h = values([3, 5], 13).to('float16');
      const { result, log } = mp.amp.explain(cudaLists, () => [mp.sum(h, 1), mp.softmax(h, 1), mp.sum(h, { dim: 1, dtype: 'float16' }), mp.prod(h, 1)]);
      expect(result.map((t) => t.dtype)).toEqual(['float32', 'float32', 'float16', 'float32']);
      expect(log.entries.map((e) => [e.op, e.category, e.reason, e.casts])).toEqual([
        ['sum', 'fp32SetOptDtype', 'policy', 0],
        ['softmax', 'fp32SetOptDtype', 'policy', 0],
        ['sum', 'fp32SetOptDtype', 'explicitDtype', 0],
        ['prod', 'fp32SetOptDtype', 'policy', 0],
      ]);
      const wide = h.to('float32');
      const expected = [mp.sum(wide, 1), mp.softmax(wide, 1)];
      expect(result[0].dataSync()).toEqual(expected[0].dataSync());
      expect(result[1].dataSync()).toEqual(expected[1].dataSync());
      mp.dispose([h, wide, ...result, ...expected]);
    });
  });
});

describe('the decision log (mp.amp.explain / record: true)', () => {
  test('one entry per op call: name, input dtypes, chosen dtype, why; totals; table and JSON', () => {
    mp.tidy(() => {
      const x = values([2, 4], 14);
      const w = values([3, 4], 15).requiresGrad_();
      const d = mp.tensor([1, 2], { dtype: 'float64' });
      const x16 = x.to('float16');
      const { result, log } = mp.amp.autocast({ deviceType: 'cpu', record: true }, () => {
        const y = F.linear(x, w);
        const y16 = F.linear(x16, w);
        const z = mp.amp.autocast({ deviceType: 'cpu', enabled: false }, () => mp.mm(x, x.transpose(0, 1)));
        const e = mp.exp(d);
        return [y, y.relu(), z, e, y16];
      });
      expect(result.map((t) => t.dtype)).toEqual(['bfloat16', 'bfloat16', 'float32', 'float64', 'bfloat16']);
      const rows = log.entries.map((e) => [e.op, e.inputDtypes.join(','), e.dtype, e.category, e.reason, e.casts, e.cacheHits, e.fusedCasts]);
      // The CPU product reads float32 operands itself (cast fusion); a float16 input under
      // bfloat16 autocast takes recorded casts, its weight's through the cache.
      expect(rows).toEqual([
        ['linear', 'float32,float32', 'bfloat16', 'lowerPrecision', 'policy', 0, 0, 2],
        ['linear', 'float16,float32', 'bfloat16', 'lowerPrecision', 'policy', 2, 0, 0],
        ['permute', 'float32', 'float32', 'passThrough', 'disabled', 0, 0, 0],
        ['mm', 'float32,float32', 'float32', 'passThrough', 'disabled', 0, 0, 0],
        ['exp', 'float64', 'float64', 'passThrough', 'policy', 0, 0, 0],
        ['relu', 'bfloat16', 'bfloat16', 'passThrough', 'policy', 0, 0, 0],
      ]);
      expect(log.entries[1].bytesCast).toBe((2 * 4 + 3 * 4) * 2);
      expect(log.totals).toMatchObject({ ops: log.entries.length, casts: 2, bytesCast: 40, cacheHits: 0, fusedCasts: 2 });
      const table = log.toTable();
      expect(table.split('\n')[0]).toMatch(/^#\s+op\s+device\s+inputs\s+ran in\s+category\s+why\s+casts\s+cache hits\s+fused$/);
      expect(table).toMatch(/linear\s+cpu\s+float16,float32\s+bfloat16\s+lowerPrecision\s+policy\s+2 \(40 B\)\s+0\s+0/);
      expect(table.split('\n').at(-1)).toMatch(/op call\(s\).*2 cast\(s\), 40 bytes cast; 0 cache hit\(s\), 2 fused cast\(s\)/);
      const json = JSON.parse(JSON.stringify(log)) as { entries: unknown[]; totals: { casts: number } };
      expect(json.entries).toHaveLength(log.entries.length);
      expect(json.totals.casts).toBe(2);
      mp.dispose([x, w, d, x16, ...result]);
    });
  });

  test('float64 inputs are ineligible: the log says so and nothing is cast (7.1.14)', () => {
    mp.tidy(() => {
      const d = mp.tensor([[1, 2], [3, 4]], { dtype: 'float64' });
      const { result, log } = mp.amp.explain(cpu, () => mp.mm(d, d));
      expect(result.dtype).toBe('float64');
      expect(log.entries[0]).toMatchObject({ op: 'mm', category: 'lowerPrecision', reason: 'ineligible', casts: 0, dtype: 'float64' });
      mp.dispose([d, result]);
    });
  });

  test('explain works with async functions; a scope without record returns the bare result', async () => {
    const a = values([2, 2], 16);
    const { result, log } = await mp.amp.explain(cpu, async () => {
      await tick();
      return mp.mm(a, a);
    });
    expect(result.dtype).toBe('bfloat16');
    expect(log.entries.map((e) => e.op)).toEqual(['mm']);
    const bare = mp.amp.autocast(cpu, () => mp.mm(a, a));
    expect(bare).toBeInstanceOf(mp.Tensor);
    expect(() => mp.amp.autocast.wrap({ deviceType: 'cpu', record: true }, () => 0)).toThrow(/use mp.amp.explain/);
    mp.dispose([a, result, bare]);
  });
});

describe('ops autocast relies on', () => {
  test('norm layers compute 16-bit inputs in float32 and return the input dtype (as PyTorch\'s mixed-type kernels)', () => {
    mp.tidy(() => {
      const x32 = values([4, 3, 2, 2], 19);
      const w = values([3], 20);
      const b = values([3], 21);
      const lnW = values([2, 2], 22);
      for (const dtype of ['bfloat16', 'float16'] as const) {
        const x = x32.to(dtype);
        const wide = x.to('float32');
        const cases: [string, mp.Tensor, mp.Tensor][] = [
          ['batchNorm', F.batchNorm(x, undefined, undefined, w, b, { training: true }), F.batchNorm(wide, undefined, undefined, w, b, { training: true })],
          ['layerNorm', F.layerNorm(x, [2, 2], lnW), F.layerNorm(wide, [2, 2], lnW)],
          ['groupNorm', F.groupNorm(x, 3, w, b), F.groupNorm(wide, 3, w, b)],
        ];
        for (const [name, got, reference] of cases) {
          expect(`${name} ${got.dtype}`).toBe(`${name} ${dtype}`);
          // Exactly the float32 computation rounded once to the 16-bit dtype.
          expect(Array.from(got.dataSync())).toEqual(Array.from(reference.to(dtype).dataSync()));
        }
      }
    });
  });

  test('dtype options of sum, prod, softmax, logSoftmax and norm: the input is converted first', () => {
    mp.tidy(() => {
      const h = values([2, 5], 23).to('float16');
      const wide = h.to('float32');
      const pairs: [mp.Tensor, mp.Tensor][] = [
        [mp.sum(h, { dim: 1, dtype: 'float32' }), mp.sum(wide, 1)],
        [mp.prod(h, { dim: 1, dtype: 'float32' }), mp.prod(wide, 1)],
        [mp.softmax(h, 1, { dtype: 'float32' }), mp.softmax(wide, 1)],
        [h.logSoftmax(1, { dtype: 'float32' }), wide.logSoftmax(1)],
        [mp.norm(h, 2, { dim: 1, dtype: 'float32' }), mp.norm(wide, 2, { dim: 1 })],
      ];
      for (const [got, reference] of pairs) {
        expect(got.dtype).toBe('float32');
        expect(Array.from(got.dataSync())).toEqual(Array.from(reference.dataSync()));
      }
      expect(() => mp.softmax(h, 1, { dtype: 'int32' })).toThrow(/softmax: options.dtype must be a floating-point dtype/);
      expect(() => mp.softmax(h, 1, { dtyp: 'float32' } as never)).toThrow(/unknown option 'dtyp'/);
      // Gradients flow back in the input's dtype.
      const leaf = values([2, 5], 24).to('float16').requiresGrad_();
      mp.softmax(leaf, 1, { dtype: 'float32' }).mul(wide).sum().backward();
      expect(leaf.grad!.dtype).toBe('float16');
      leaf.grad!.dispose();
    });
  });
});

describe('fp32 ops that widen 16-bit inputs themselves (OpDef.autocastWidened)', () => {
  test.each(['bfloat16', 'float16'] as const)('%s: crossEntropy reads the 16-bit logits: loss and gradient bit-identical to casting first, no float32 copy', (dtype) => {
    mp.tidy(() => {
      const logits = values([256, 4096], 5).mul(4).to(dtype);
      const target = mp.tensor(Int32Array.from({ length: 256 }, (_, i) => (i * 37) % 4096));
      const run = (widened: boolean) => mp.tidy(() => {
        const x = logits.detach().requiresGrad_();
        mp.resetPeakMemory();
        const start = mp.memory().numBytes;
        const loss = widened
          ? mp.amp.autocast({ ...cpu, dtype }, () => F.crossEntropy(x, target, { labelSmoothing: 0.1 }))
          : F.crossEntropy(x.to('float32'), target, { labelSmoothing: 0.1 });
        loss.backward();
        const grew = mp.memory().peakBytes - start;
        const out = { loss: loss.item() as number, lossDtype: loss.dtype, grad: Buffer.from(x.grad!.rawData().buffer), grew };
        x.grad!.dispose();
        return out;
      });
      const cast = run(false);
      const widened = run(true);
      expect([widened.lossDtype, widened.loss]).toEqual(['float32', cast.loss]);
      expect(widened.grad.equals(cast.grad)).toBe(true);
      // Casting first holds a float32 copy of the logits (4 MiB) and its float32 gradient; the
      // widened call holds the 16-bit gradient (2 MiB) and per-row vectors.
      const float32Copy = 256 * 4096 * 4;
      expect(cast.grew).toBeGreaterThanOrEqual(float32Copy);
      expect(widened.grew).toBeLessThan(float32Copy);
    });
  });

  test('the decision log shows the call in float32 with no cast', () => {
    mp.tidy(() => {
      const logits = values([4, 10], 6).to('bfloat16');
      const target = mp.tensor(Int32Array.from([1, 2, 3, 4]));
      const { result, log } = mp.amp.explain({ ...cpu, dtype: 'bfloat16' }, () => F.crossEntropy(logits, target));
      expect(result.dtype).toBe('float32');
      const ce = log.entries.find((e) => e.op === 'crossEntropy')!;
      expect([ce.inputDtypes, ce.category, ce.dtype, ce.reason, ce.casts]).toEqual([['bfloat16', 'int32'], 'fp32', 'float32', 'policy', 0]);
    });
  });
});
