// Post-accumulate-grad hooks and end-of-backward callbacks: the two engine hooks
// DistributedDataParallel is built on (PyTorch's register_post_accumulate_grad_hook and
// queue_callback). Gradients are checked against hand-derived float64 values.
import * as mp from '../lib';

const f64 = (data: number[], requiresGrad = true): mp.Tensor => mp.tensor(data, { dtype: 'float64', requiresGrad });
const values = (t: mp.Tensor | undefined): number[] => Array.from(t!.dataSync());

describe('registerPostAccumulateGradHook', () => {
  test('runs once per backward, after the gradient of every use is summed into .grad', () => {
    const w = f64([1, 2]);
    const seen: number[][] = [];
    w.registerPostAccumulateGradHook((p) => {
      expect(p).toBe(w);
      seen.push(values(p.grad));
    });
    // w is used twice: d/dw sum(w*w + 3w) = 2w + 3; the hook sees the sum, not either part.
    w.mul(w).add(w.mul(3)).sum().backward();
    expect(seen).toEqual([[5, 7]]);
    // A second backward accumulates on top (2 per element) and runs the hook again.
    w.mul(2).sum().backward();
    expect(seen).toEqual([[5, 7], [7, 9]]);
  });

  test('runs in the order leaves finish: the last layer first', () => {
    const a = f64([2]);
    const b = f64([3]);
    const order: string[] = [];
    a.registerPostAccumulateGradHook(() => order.push('a'));
    b.registerPostAccumulateGradHook(() => order.push('b'));
    // y = (a * 5).exp() * b: b's accumulator is reached first from the root.
    a.mul(5).exp().mul(b).sum().backward();
    expect(order).toEqual(['b', 'a']);
  });

  test('is not run by autograd.grad (which leaves .grad alone), nor for leaves outside the graph', () => {
    const w = f64([1]);
    const unused = f64([1]);
    let calls = 0;
    w.registerPostAccumulateGradHook(() => (calls += 1));
    unused.registerPostAccumulateGradHook(() => (calls += 100));
    mp.autograd.grad([w.mul(2).sum()], [w]);
    expect(calls).toBe(0);
    w.mul(2).sum().backward();
    expect(calls).toBe(1);
  });

  test('remove() stops it', () => {
    const w = f64([1]);
    let calls = 0;
    const handle = w.registerPostAccumulateGradHook(() => (calls += 1));
    w.sum().backward();
    handle.remove();
    w.sum().backward();
    expect(calls).toBe(1);
  });

  test('refuses non-leaves, leaves without requiresGrad and non-functions, naming them', () => {
    const w = f64([1]);
    expect(() => w.mul(2).registerPostAccumulateGradHook(() => {})).toThrow(/leaf tensors that require grad.*produced by MulBackward/);
    expect(() => f64([1], false).registerPostAccumulateGradHook(() => {})).toThrow(/requiresGrad is false/);
    expect(() => w.registerPostAccumulateGradHook(3 as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
  });
});

describe('autograd.queueCallback', () => {
  test('runs after every gradient of the pass is accumulated, once, in queue order', () => {
    const a = f64([1, 2]);
    const b = f64([3]);
    const events: string[] = [];
    a.registerPostAccumulateGradHook(() => {
      events.push('a');
      mp.autograd.queueCallback(() => events.push(`first, b.grad=${values(b.grad)}`));
      mp.autograd.queueCallback(() => {
        events.push('second');
        mp.autograd.queueCallback(() => events.push('queued by a callback'));
      });
    });
    b.registerPostAccumulateGradHook(() => events.push('b'));
    a.mul(b).sum().backward(); // b.grad = sum(a) = 3
    expect([...events].sort()).toEqual(['a', 'b', 'first, b.grad=3', 'queued by a callback', 'second'].sort());
    expect(events.slice(-3)).toEqual(['first, b.grad=3', 'second', 'queued by a callback']);
  });

  test('outside a backward pass it is a clear error', () => {
    expect(() => mp.autograd.queueCallback(() => {})).toThrow(/no backward pass is running/);
    expect(() => mp.autograd.queueCallback('x' as never)).toThrow(expect.objectContaining({ name: 'TypeError' }));
  });
});
