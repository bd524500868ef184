import * as mp from '../lib';

const f64 = (data: number[] | number[][], requiresGrad = true): mp.Tensor => mp.tensor(data, { dtype: 'float64', requiresGrad });
const values = (t: mp.Tensor | undefined): number[] => Array.from(t!.dataSync());

describe('backward', () => {
  test('accumulates into leaves, over several uses and several calls', () => {
    const x = f64([1, 2, 3]);
    const y = x.mul(x).add(x.mul(3)).sum(); // dy/dx = 2x + 3
    y.backward();
    expect(values(x.grad)).toEqual([5, 7, 9]);
    x.mul(2).sum().backward();
    expect(values(x.grad)).toEqual([7, 9, 11]);
  });

  test('gradients of non-scalar outputs need an explicit gradient of the same shape', () => {
    const x = f64([1, 2]);
    const y = x.mul(3);
    expect(() => y.backward()).toThrow(/only for outputs with one element/);
    expect(() => y.backward(mp.ones([3], { dtype: 'float64' }))).toThrow(/must have the output's shape \[2\]/);
    y.backward(mp.tensor([1, 10], { dtype: 'float64' }));
    expect(values(x.grad)).toEqual([3, 30]);
  });

  test('a tensor that does not require grad cannot start backward', () => {
    const x = f64([1, 2], false);
    expect(() => x.sum().backward()).toThrow(expect.objectContaining({ code: 'ERR_AUTOGRAD' }));
  });

  test('a second backward through freed buffers fails clearly; retainGraph allows it', () => {
    const x = f64([1, 2]);
    const y = x.mul(x).sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
    const z = x.exp().sum();
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expect(values(x.grad)[0]).toBeCloseTo(2 * 1 + 2 * Math.E, 12);
  });

  test('gradients are kept in the leaf dtype, through casts', () => {
    const h = mp.tensor([0.5, 1.5, 2.5], { dtype: 'float16', requiresGrad: true });
    const b = mp.tensor([1, 2, 3], { dtype: 'bfloat16', requiresGrad: true });
    h.float().mul(b.float()).sum().backward();
    expect(h.grad!.dtype).toBe('float16');
    expect(b.grad!.dtype).toBe('bfloat16');
    expect(values(h.grad)).toEqual([1, 2, 3]);
    expect(values(b.grad)).toEqual([0.5, 1.5, 2.5]);
    const w = mp.tensor([1, 2], { dtype: 'float16', requiresGrad: true });
    w.add(mp.tensor([1, 1])).sum().backward(); // promoted to float32, gradient back in float16
    expect(w.grad!.dtype).toBe('float16');
  });

  test('broadcast operands receive gradients summed to their shape', () => {
    const a = f64([[1, 2, 3], [4, 5, 6]]);
    const b = f64([10, 20, 30]);
    a.mul(b).sum().backward();
    expect(values(b.grad)).toEqual([5, 7, 9]);
    expect(a.grad!.shape).toEqual([2, 3]);
  });

  test('gradFn names the op and links to its inputs', () => {
    const x = f64([1, 2]);
    const y = x.mul(2).relu();
    expect(y.gradFn!.name).toBe('ReluBackward');
    expect(x.gradFn).toBeUndefined();
    expect(x.isLeaf).toBe(true);
    expect(y.isLeaf).toBe(false);
    const node = y.gradFn as mp.autograd.GraphNode;
    expect(node.nextFunctions[0]!.name).toBe('MulBackward');
  });

  test('integer and bool results never require grad', () => {
    const x = f64([1, -2, 3]);
    expect(x.argmax().requiresGrad).toBe(false);
    expect(x.gt(0).requiresGrad).toBe(false);
    expect(x.relu().requiresGrad).toBe(true);
  });
});

describe('grad mode', () => {
  test('noGrad records nothing; enableGrad re-enables inside it', () => {
    const x = f64([1, 2]);
    expect(mp.isGradEnabled()).toBe(true);
    const y = mp.noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeUndefined();
    const z = mp.noGrad(() => mp.enableGrad(() => x.mul(2)));
    expect(z.requiresGrad).toBe(true);
  });

  test('the mode follows async contexts: a concurrent noGrad does not leak', async () => {
    const x = f64([1, 2]);
    let inside = true;
    const slow = mp.noGrad(async () => {
      await new Promise((r) => setTimeout(r, 20));
      inside = mp.isGradEnabled();
    });
    const outside = x.mul(2).requiresGrad;
    await slow;
    expect(inside).toBe(false);
    expect(outside).toBe(true);
  });

  test('requiresGrad_ and detach', () => {
    const x = f64([1, 2], false).requiresGrad_();
    expect(x.requiresGrad).toBe(true);
    expect(() => mp.tensor([1, 2], { dtype: 'int32' }).requiresGrad_()).toThrow(/only floating-point/);
    const y = x.mul(2);
    expect(() => y.requiresGrad_(false)).toThrow(/leaf tensors/);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
    expect(values(d)).toEqual([2, 4]);
  });
});

describe('in-place safety', () => {
  test('modifying a saved tensor before backward is reported with the versions', () => {
    const x = f64([1, 2]);
    const h = x.mul(1);
    const y = mp.noGrad(() => h.detach()); // shares h's storage
    const z = h.exp().sum(); // exp saves its output, mul saves h
    const w = h.mul(h).sum();
    mp.noGrad(() => y.add_(1));
    expect(() => w.backward()).toThrow(/modified by an in-place operation: its version is 1, expected 0/);
    expect(z.requiresGrad).toBe(true);
  });

  test('in-place ops on tensors autograd tracks are refused, allowed under noGrad', () => {
    const w = f64([1, 2]);
    expect(() => w.add_(1)).toThrow(expect.objectContaining({ code: 'ERR_AUTOGRAD' }));
    expect(() => w.mul(2).mul_(2)).toThrow(/part of the autograd graph/);
    expect(() => mp.zeros([2], { dtype: 'float64' }).copy_(w)).toThrow(/operand that requires grad/);
    mp.noGrad(() => w.sub_(0.5));
    expect(values(w)).toEqual([0.5, 1.5]);
    expect(w.version).toBe(1);
  });
});

describe('hooks', () => {
  test('a hook sees the gradient and may replace it; remove() detaches it', () => {
    const x = f64([1, 2]);
    const h = x.mul(3);
    const seen: number[][] = [];
    const handle = h.registerHook((g) => {
      seen.push(values(g));
      return g.mul(10);
    });
    h.sum().backward();
    expect(seen).toEqual([[1, 1]]);
    expect(values(x.grad)).toEqual([30, 30]);
    handle.remove();
    x.grad = undefined;
    x.mul(3).sum().backward();
    expect(values(x.grad)).toEqual([3, 3]);
  });

  test('leaf hooks run before accumulation; retainGrad keeps a non-leaf gradient', () => {
    const x = f64([1, 2]);
    x.registerHook((g) => g.mul(2));
    const h = x.mul(x).retainGrad();
    h.sum().backward();
    expect(values(x.grad)).toEqual([4, 8]);
    expect(values(h.grad)).toEqual([1, 1]);
  });

  test('registering a hook on a tensor without grad fails', () => {
    expect(() => f64([1], false).registerHook((g) => g)).toThrow(/does not require grad/);
  });
});

describe('autograd.grad', () => {
  test('returns input gradients without touching .grad', () => {
    const x = f64([1, 2, 3]);
    const [g] = mp.autograd.grad(x.pow(2).sum(), x);
    expect(values(g)).toEqual([2, 4, 6]);
    expect(x.grad).toBeUndefined();
  });

  test('unused inputs: an error, or undefined with allowUnused', () => {
    const x = f64([1]);
    const y = f64([2]);
    expect(() => mp.autograd.grad(x.mul(2).sum(), [x, y], { retainGraph: true })).toThrow(/input 1 .* was not used/);
    const [gx, gy] = mp.autograd.grad(x.mul(2).sum(), [x, y], { allowUnused: true });
    expect(values(gx)).toEqual([2]);
    expect(gy).toBeUndefined();
  });

  test('gradients of non-leaf inputs, with gradOutputs', () => {
    const x = f64([1, 2]);
    const h = x.mul(2);
    const y = h.pow(2);
    const [gh] = mp.autograd.grad(y, h, { gradOutputs: mp.tensor([1, 0.5], { dtype: 'float64' }) });
    expect(values(gh)).toEqual([4, 4]);
  });

  test('createGraph gives differentiable gradients (third derivative of x^4)', () => {
    const x = f64([1, 2]);
    const [d1] = mp.autograd.grad(x.pow(4).sum(), x, { createGraph: true });
    const [d2] = mp.autograd.grad(d1!.sum(), x, { createGraph: true });
    const [d3] = mp.autograd.grad(d2!.sum(), x);
    expect(values(d1)).toEqual([4, 32]);
    expect(values(d2)).toEqual([12, 48]);
    expect(values(d3)).toEqual([24, 48]);
  });

  test('bad arguments are named', () => {
    const x = f64([1]);
    expect(() => mp.autograd.grad(x.sum(), x, { createGraph: 'yes' } as never)).toThrow(/options.createGraph/);
    expect(() => mp.autograd.grad(x.sum(), x, { bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
    expect(() => mp.autograd.grad(x.sum(), 3 as never)).toThrow(/inputs/);
    expect(() => mp.autograd.grad(x.sum(), f64([1], false))).toThrow(/inputs .* does not require grad/);
  });
});

describe('custom Function', () => {
  class ScaledCube extends mp.autograd.Function {
    static override forward(ctx: mp.autograd.FunctionCtx, x: mp.Tensor, scale: number): mp.Tensor {
      ctx.saveForBackward(x);
      ctx.scale = scale;
      return x.pow(3).mul(scale);
    }
    static override backward(ctx: mp.autograd.FunctionCtx, g: mp.Tensor | undefined): mp.Tensor | undefined {
      const [x] = ctx.savedTensors;
      return ctx.needsInputGrad[0] ? g!.mul(x.pow(2)).mul(3 * (ctx.scale as number)) : undefined;
    }
  }

  test('forward is not recorded; backward supplies the gradient; gradcheck agrees', () => {
    const x = f64([1, 2]);
    const y = ScaledCube.apply(x, 2) as mp.Tensor;
    expect(y.gradFn!.name).toBe('ScaledCubeBackward');
    y.sum().backward();
    expect(values(x.grad)).toEqual([6, 24]);
    expect(mp.autograd.gradcheck((t) => ScaledCube.apply(t, 0.5) as mp.Tensor, [f64([0.3, -1.2])])).toBe(true);
  });

  test('a backward returning the wrong number of gradients is an error', () => {
    class Bad extends mp.autograd.Function {
      static override forward(_ctx: mp.autograd.FunctionCtx, a: mp.Tensor, b: mp.Tensor): mp.Tensor {
        return a.add(b);
      }
      static override backward(_ctx: mp.autograd.FunctionCtx, g: mp.Tensor | undefined): mp.Tensor | undefined {
        return g;
      }
    }
    const y = Bad.apply(f64([1]), f64([2])) as mp.Tensor;
    expect(() => y.sum().backward()).toThrow(/returned 1 gradient\(s\), expected 2/);
  });

  test('without inputs that require grad nothing is recorded or saved', () => {
    const y = ScaledCube.apply(f64([1], false), 1) as mp.Tensor;
    expect(y.requiresGrad).toBe(false);
  });
});

describe('gradcheck', () => {
  test('detects a wrong backward', () => {
    class Wrong extends mp.autograd.Function {
      static override forward(_ctx: mp.autograd.FunctionCtx, x: mp.Tensor): mp.Tensor {
        return x.mul(x);
      }
      static override backward(_ctx: mp.autograd.FunctionCtx, g: mp.Tensor | undefined): mp.Tensor | undefined {
        return g;
      }
    }
    expect(() => mp.autograd.gradcheck((x) => Wrong.apply(x) as mp.Tensor, [f64([1.5])])).toThrow(/Jacobian mismatch .* analytical 1, numerical 2\.99/);
  });

  test('needs float64 inputs', () => {
    expect(() => mp.autograd.gradcheck((x) => x.mul(2), [mp.ones([2], { requiresGrad: true })])).toThrow(/needs float64 inputs/);
  });
});

describe('memory', () => {
  test('a training step in tidy keeps parameters and grads and frees the rest', () => {
    const w = mp.keep(mp.randn([8, 4]).requiresGrad_());
    const x = mp.keep(mp.randn([16, 8]));
    const step = () => mp.tidy(() => {
      const loss = x.matmul(w).tanh().pow(2).mean();
      loss.backward();
    });
    step();
    const before = mp.memory();
    for (let i = 0; i < 5; ++i) step();
    const after = mp.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(w.grad!.isDisposed).toBe(false);
    mp.dispose([w, x, w.grad]);
  });

  test('intermediates disposed after forward do not break backward', () => {
    const x = f64([1, 2]);
    const h = x.mul(3);
    const y = h.sin().sum();
    h.dispose();
    y.backward();
    expect(values(x.grad)[0]).toBeCloseTo(3 * Math.cos(3), 12);
  });
});

describe('partial graphs', () => {
  test('autograd.grad runs only the branch that leads to the inputs; the rest stays usable', () => {
    const x = f64([1, 2]);
    const y = f64([3, 4]);
    const a = x.mul(x);
    const b = y.exp();
    const total = a.add(b).sum();
    const [gx] = mp.autograd.grad(total, x, { retainGraph: false });
    expect(values(gx)).toEqual([2, 4]);
    const [gy] = mp.autograd.grad(b.sum(), y);
    expect(values(gy)[0]).toBeCloseTo(Math.exp(3), 12);
  });
});
