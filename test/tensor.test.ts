import { inspect } from 'node:util';
import { runInNewContext } from 'node:vm';

import * as mp from '../lib';
import { dtypeCode } from '../lib/dtype';
import { native } from '../lib/native';

afterEach(() => {
  // Every test below cleans up after itself; nothing may leak between tests.
  expect(mp.memory().numTensors).toBe(0);
});

describe('creation', () => {
  test('from nested arrays, numbers and booleans', () => {
    mp.tidy(() => {
      const t = mp.tensor([[1, 2, 3], [4, 5, 6]]);
      expect(t.shape).toEqual([2, 3]);
      expect(t.dtype).toBe('float32');
      expect(t.ndim).toBe(2);
      expect(t.numel).toBe(6);
      expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
      expect(mp.tensor(3.5).shape).toEqual([]);
      expect(mp.tensor(3.5).item()).toBe(3.5);
      const b = mp.tensor([true, false]);
      expect(b.dtype).toBe('bool');
      expect(b.toArray()).toEqual([true, false]);
      expect(mp.tensor([]).shape).toEqual([0]);
      expect(mp.tensor([[], []]).shape).toEqual([2, 0]);
    });
  });

  test('from typed arrays, with shape', () => {
    mp.tidy(() => {
      expect(mp.tensor(new Float64Array([1, 2])).dtype).toBe('float64');
      expect(mp.tensor(new Int32Array([1, 2])).dtype).toBe('int32');
      const t = mp.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
      expect(t.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
      expect(mp.tensor(new Int16Array([-3, 4])).toArray()).toEqual([-3, 4]);
      const raw = mp.tensor(new Uint16Array([0x3c00, 0xc000]), { dtype: 'float16' });
      expect(raw.toArray()).toEqual([1, -2]);
      const sub = new Float32Array([9, 1, 2, 9]).subarray(1, 3);
      expect(mp.tensor(sub).toArray()).toEqual([1, 2]);
    });
  });

  test('values round once into the requested dtype', () => {
    mp.tidy(() => {
      expect(mp.tensor([0.1], { dtype: 'float16' }).item()).toBe(0.0999755859375);
      expect(mp.tensor([0.1], { dtype: 'bfloat16' }).item()).toBe(0.10009765625);
      expect(mp.tensor([0.1], { dtype: 'float64' }).item()).toBe(0.1);
      expect(mp.tensor([2.9, -2.9], { dtype: 'int32' }).toArray()).toEqual([2, -2]);
    });
  });

  test('filled, sequences and identity', () => {
    mp.tidy(() => {
      expect(mp.zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
      expect(mp.ones(3, { dtype: 'bfloat16' }).toArray()).toEqual([1, 1, 1]);
      expect(mp.full([2], 7.5, { dtype: 'float16' }).toArray()).toEqual([7.5, 7.5]);
      expect(mp.full([1], true).dtype).toBe('bool');
      expect(mp.empty([4]).shape).toEqual([4]);
      const like = mp.zerosLike(mp.ones([2, 3], { dtype: 'float16' }));
      expect([like.shape, like.dtype]).toEqual([[2, 3], 'float16']);
      expect(mp.onesLike(like, { dtype: 'float64' }).dtype).toBe('float64');
      expect(mp.arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
      expect(mp.arange(5).dtype).toBe('int32');
      expect(mp.arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
      expect(mp.arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
      expect(mp.linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
      expect(mp.linspace(-1, 1, 1).toArray()).toEqual([-1]);
      const l = mp.linspace(0, 1, 7, { dtype: 'float64' }).dataSync();
      expect(l[6]).toBe(1);
      expect(l[3]).toBe(0.5);
      expect(mp.eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
      expect(mp.eye(2, { dtype: 'int32' }).toArray()).toEqual([[1, 0], [0, 1]]);
    });
  });

  test('requiresGrad is recorded', () => {
    mp.tidy(() => {
      expect(mp.zeros([1], { requiresGrad: true }).requiresGrad).toBe(true);
      expect(mp.tensor([1]).requiresGrad).toBe(false);
    });
  });
});

describe('reading', () => {
  test('data() and dataSync() return the right typed arrays', async () => {
    await mp.tidy(async () => {
      const h = mp.tensor([1.5, -2], { dtype: 'float16' });
      const d = await h.data();
      expect(d).toBeInstanceOf(Float32Array);
      expect(Array.from(d)).toEqual([1.5, -2]);
      expect(h.dataSync().constructor.name).toBe('Float32Array');
      expect(mp.tensor([1], { dtype: 'float64' }).dataSync().constructor.name).toBe('Float64Array');
      expect(mp.tensor([1], { dtype: 'int32' }).dataSync().constructor.name).toBe('Int32Array');
      expect(mp.tensor([true]).dataSync().constructor.name).toBe('Uint8Array');
      expect(Array.from(h.rawData() as Uint16Array)).toEqual([0x3e00, 0xc000]);
      expect((mp.tensor([1], { dtype: 'bfloat16' }).rawData() as Uint16Array)[0]).toBe(0x3f80);
    });
  });

  test('dataSync(out) fills the caller\'s array with exactly what dataSync() returns, for every dtype', () => {
    mp.tidy(() => {
      const cases: [mp.Tensor, mp.TensorData][] = [
        [mp.randn([37, 5]), new Float32Array(185)],
        [mp.randn([37, 5]).to('float16'), new Float32Array(185)],
        [mp.randn([37, 5]).to('bfloat16'), new Float32Array(185)],
        [mp.randn([9], { dtype: 'float64' }), new Float64Array(9)],
        [mp.randint(-50, 50, [4, 4]), new Int32Array(16)],
        [mp.tensor([true, false, true]), new Uint8Array(3)],
        [mp.zeros([0, 3]), new Float32Array(0)],
      ];
      for (const [t, out] of cases) {
        out.fill(7);
        const before = mp.hostReads();
        expect(t.dataSync(out)).toBe(out);
        expect(mp.hostReads() - before).toBe(1);
        expect(Array.from(out)).toEqual(Array.from(t.dataSync()));
      }
      // A view starting inside its storage reads its own elements, not the storage's first ones.
      const [row] = new mp.data.TensorDataset(mp.arange(0, 12).to('float32').reshape([3, 4])).get(2);
      expect(Array.from(row.dataSync(new Float32Array(4)))).toEqual([8, 9, 10, 11]);
      // An array of another realm's Float32Array (a vm context) is accepted.
      const foreign = runInNewContext('new Float32Array(4)') as Float32Array;
      expect(Array.from(row.dataSync(foreign))).toEqual([8, 9, 10, 11]);
    });
  });

  test('dataSync(out) refuses an array of the wrong class or length, naming both', () => {
    mp.tidy(() => {
      const t = mp.ones([3, 4]);
      const msg = "dataSync: argument 'out' must be a Float32Array of 12 elements (the values of float32 tensor of shape [3, 4] on cpu), got ";
      expect(() => t.dataSync(new Float32Array(11))).toThrow(msg + 'a Float32Array of length 11');
      expect(() => t.dataSync(new Float64Array(12))).toThrow(msg + 'a Float64Array of length 12');
      expect(() => t.to('float16').dataSync(new Uint16Array(12) as unknown as Float32Array)).toThrow(/must be a Float32Array of 12 elements .*got a Uint16Array of length 12/);
      expect(() => t.dataSync([1, 2] as unknown as Float32Array)).toThrow(msg + 'an array of length 2');
      expect(() => t.dataSync(null as unknown as Float32Array)).toThrow(msg + 'null');
      const reads = mp.hostReads();
      expect(() => t.dataSync(new Int32Array(12))).toThrow(/got an Int32Array of length 12/);
      expect(mp.hostReads()).toBe(reads);
      // The addon checks the byte length itself, so no caller can make it write past the array.
      const short = new Float32Array(16);
      expect(() => native.readInto(t.storage.handle, 0, 12, dtypeCode('float32'), dtypeCode('float64'), short)).toThrow(/readInto: argument 5 \(out\) must be a typed array of 96 bytes \(12 float64 elements\)/);
      expect(Array.from(short)).toEqual(new Array(16).fill(0));
    });
  });

  test('item() needs exactly one element', () => {
    mp.tidy(() => {
      expect(mp.tensor([[4]]).item()).toBe(4);
      expect(() => mp.tensor([1, 2]).item()).toThrow(/exactly one element/);
    });
  });
});

describe('conversion and views', () => {
  test('to() converts dtype, returns this when nothing changes', () => {
    mp.tidy(() => {
      const t = mp.tensor([1.25, 2]);
      expect(t.to('float32')).toBe(t);
      expect(t.to({ dtype: 'float32', device: 'cpu' })).toBe(t);
      expect(t.half().dtype).toBe('float16');
      expect(t.bfloat16().dtype).toBe('bfloat16');
      expect(t.double().dtype).toBe('float64');
      expect(t.float().dtype).toBe('float32');
      expect(t.int().toArray()).toEqual([1, 2]);
      expect(t.bool().toArray()).toEqual([true, true]);
      expect(t.cpu()).toBe(t);
    });
  });

  test('clone copies, reshape/view share storage and count versions', () => {
    mp.tidy(() => {
      const t = mp.arange(6, { dtype: 'float32' });
      const c = t.clone();
      const v = t.reshape([2, -1]);
      expect(v.shape).toEqual([2, 3]);
      expect(t.view([3, 2]).shape).toEqual([3, 2]);
      expect(t.flatten().shape).toEqual([6]);
      expect(t.contiguous()).toBe(t);
      const before = t.version;
      v.fill_(1);
      expect(t.version).toBe(before + 1);
      expect(v.version).toBe(t.version);
      expect(c.version).toBe(0);
      expect(t.toArray()).toEqual([1, 1, 1, 1, 1, 1]);
      expect(c.toArray()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(() => t.reshape([4, 2])).toThrow(/has 8 elements but the tensor of shape \[6\] has 6/);
      expect(() => t.reshape([-1, 4])).toThrow(/invalid for a tensor of shape \[6\]/);
    });
  });

  test('a view keeps memory alive after its base is disposed', () => {
    const base = mp.arange(4, { dtype: 'float32' });
    const view = base.reshape([2, 2]);
    base.dispose();
    expect(view.toArray()).toEqual([[0, 1], [2, 3]]);
    view.dispose();
  });
});

describe('printing', () => {
  test('toString and util.inspect look like PyTorch', () => {
    mp.tidy(() => {
      const t = mp.tensor([[1, 2.5], [-3, 4]], { dtype: 'float16' });
      const expected = "tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]], shape=[2, 2], dtype=float16, device='cpu')";
      expect(t.toString()).toBe(expected);
      expect(inspect(t)).toBe(expected);
      expect(mp.tensor([1, 2]).toString()).toBe("tensor([1., 2.], shape=[2], dtype=float32, device='cpu')");
      expect(mp.tensor(5, { dtype: 'int32' }).toString()).toBe("tensor(5, shape=[], dtype=int32, device='cpu')");
      expect(mp.tensor([NaN, Infinity, 1.5]).toString()).toContain('nan,    inf, 1.5000');
      expect(mp.tensor([1e-6, 1]).toString()).toContain('1.0000e-06');
      const big = mp.arange(2000).toString();
      expect(big).toBe("tensor([   0,    1,    2, ..., 1997, 1998, 1999], shape=[2000], dtype=int32, device='cpu')");
    });
  });
});

describe('backend', () => {
  test('reports the run-time choices', () => {
    const b = mp.backend();
    expect(['scalar', 'f16c', 'avx512', 'avx512bf16', 'amx']).toContain(b.simd);
    expect(b.numThreads).toBeGreaterThanOrEqual(1);
    expect(typeof b.cudaCompiled).toBe('boolean');
    expect(mp.cuda.isAvailable()).toBe(b.cudaDeviceCount > 0);
  });
});
