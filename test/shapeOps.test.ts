// Shape ops against the same selections made on nested JS arrays.
import * as mp from '../lib';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** [2, 3, 4] values 0..23 as nested arrays. */
const nested = range(2).map((i) => range(3).map((j) => range(4).map((k) => i * 12 + j * 4 + k)));

describe.each(['float32', 'float16', 'float64', 'int32'] as const)('%s', (dtype) => {
  test('permute and transpose', () => {
    mp.tidy(() => {
      const x = mp.tensor(nested, { dtype });
      const p = x.permute([2, 0, 1]);
      expect(p.shape).toEqual([4, 2, 3]);
      expect(p.dtype).toBe(dtype);
      expect(p.toArray()).toEqual(range(4).map((k) => range(2).map((i) => range(3).map((j) => nested[i][j][k]))));
      expect(mp.transpose(x, 0, -1).toArray()).toEqual(range(4).map((k) => range(3).map((j) => range(2).map((i) => nested[i][j][k]))));
    });
  });

  test('slice, narrow, split, chunk', () => {
    mp.tidy(() => {
      const x = mp.tensor(nested, { dtype });
      expect(x.slice(2, 1, undefined, 2).toArray()).toEqual(nested.map((a) => a.map((r) => [r[1], r[3]])));
      expect(x.slice(1, -2).toArray()).toEqual(nested.map((a) => a.slice(1)));
      expect(x.slice(1, 5, 9).shape).toEqual([2, 0, 4]);
      expect(x.narrow(0, 1, 1).toArray()).toEqual([nested[1]]);
      const parts = x.split([1, 3], 2);
      expect(parts.map((t) => t.shape)).toEqual([[2, 3, 1], [2, 3, 3]]);
      expect(parts[1].toArray()).toEqual(nested.map((a) => a.map((r) => r.slice(1))));
      expect(x.chunk(3, 1).map((t) => t.shape[1])).toEqual([1, 1, 1]);
      expect(mp.chunk(mp.arange(10), 4).map((t) => t.toArray())).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    });
  });

  test('cat, stack, expand, squeeze, unsqueeze', () => {
    mp.tidy(() => {
      const x = mp.tensor(nested, { dtype });
      const c = mp.cat([x, x.slice(1, 0, 1)], 1);
      expect(c.shape).toEqual([2, 4, 4]);
      expect(c.toArray()).toEqual(nested.map((a) => [...a, a[0]]));
      expect(mp.cat([x, x], -1).toArray()).toEqual(nested.map((a) => a.map((r) => [...r, ...r])));
      const s = mp.stack([x, x], 1);
      expect(s.shape).toEqual([2, 2, 3, 4]);
      expect(s.toArray()).toEqual(nested.map((a) => [a, a]));
      const col = mp.tensor([[1], [2]], { dtype });
      expect(col.expand([3, 2, 4]).toArray()).toEqual(range(3).map(() => [[1, 1, 1, 1], [2, 2, 2, 2]]));
      expect(col.expand([-1, 3]).shape).toEqual([2, 3]);
      expect(col.unsqueeze(0).shape).toEqual([1, 2, 1]);
      expect(col.unsqueeze(-1).shape).toEqual([2, 1, 1]);
      expect(col.squeeze().shape).toEqual([2]);
      expect(col.squeeze(0).shape).toEqual([2, 1]);
    });
  });
});

test('cat promotes dtypes; bad shapes and dims are clear errors', () => {
  mp.tidy(() => {
    const a = mp.ones([2, 2], { dtype: 'float16' });
    expect(mp.cat([a, mp.zeros([1, 2])]).dtype).toBe('float32');
    expect(() => mp.cat([a, mp.zeros([2, 3])])).toThrow("cat: tensors[1] has shape [2, 3], which differs from tensors[0]'s [2, 2] outside dimension 0");
    expect(() => mp.cat([])).toThrow(/non-empty array/);
    expect(() => mp.stack([a, mp.zeros([2])])).toThrow(/stack: tensors\[1\] has shape \[2\]/);
    expect(() => a.permute([0, 0])).toThrow(/a permutation/);
    expect(() => a.expand([3, 3])).toThrow(/cannot be (broadcast|expanded)/);
    expect(() => a.narrow(0, 1, 5)).toThrow(/length in \[0, 1\]/);
    expect(() => a.slice(0, 0, 2, 0)).toThrow(/positive integer/);
    expect(() => mp.tensor(1).slice(0)).toThrow(/0-d tensor/);
    expect(() => a.transpose(0, 2)).toThrow(/dim1/);
  });
});

// Found by test/fuzz.test.ts: a selection of an empty tensor that starts past its (empty) storage
// reached the native copy's bounds check ("mixprec native stridedCopy: src needs 0 float32
// elements at offset 1 but its storage holds 0 bytes") instead of returning an empty tensor.
test('selections of empty tensors at non-zero offsets, and their gradients, are empty tensors', () => {
  mp.tidy(() => {
    expect(mp.zeros([0, 5]).narrow(1, 1, 3).shape).toEqual([0, 3]);
    expect(mp.zeros([0, 5, 2]).narrow(1, 1, 3).transpose(-1, -2).shape).toEqual([0, 2, 3]);
    expect(mp.cat([mp.zeros([0, 2]), mp.zeros([0, 3])], 1).shape).toEqual([0, 5]);
    const x = mp.zeros([0, 5]).requiresGrad_();
    const y = mp.zeros([0, 2]).requiresGrad_();
    mp.cat([x.narrow(1, 2, 3), y], 1).sum().backward();
    expect(x.grad!.shape).toEqual([0, 5]);
    expect(y.grad!.shape).toEqual([0, 2]);
    mp.dispose([x.grad!, y.grad!]);
  });
});
