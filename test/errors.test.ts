// Every kind of bad input gets a clear JS error naming the op, the argument, what was expected
// and what came; none crashes the process.
import * as mp from '../lib';
import { Device } from '../lib/device';
import { requireSameDevice } from '../lib/ops/operands';
import type { Tensor } from '../lib/tensor';
import { native } from './helpers/native';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

function caught(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('shapes', () => {
  test('negative size', () => {
    const e = caught(() => mp.zeros([2, -1]));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('ERR_INVALID_SHAPE');
    expect(e.message).toBe("zeros: argument 'shape[1]' must be a non-negative integer, got -1");
  });
  test('NaN and fractional sizes', () => {
    expect(caught(() => mp.ones([NaN])).message).toBe("ones: argument 'shape[0]' must be a non-negative integer, got NaN");
    expect(caught(() => mp.empty([1.5])).message).toBe("empty: argument 'shape[0]' must be a non-negative integer, got 1.5");
  });
  test('not an array', () => {
    const e = caught(() => mp.zeros('3' as unknown as number[]));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe("zeros: argument 'shape' must be an array of non-negative integers, got \"3\"");
  });
  test('ragged nested data', () => {
    const e = caught(() => mp.tensor([[1, 2], [3]]));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.code).toBe('ERR_INVALID_SHAPE');
    expect(e.message).toContain('data[1] should have length 2');
    expect(caught(() => mp.tensor([[1, 2], 3] as unknown as number[][])).message).toContain('data[1] should be an array of length 2, got 3');
  });
  test('non-numeric data', () => {
    expect(caught(() => mp.tensor([1, 'a' as unknown as number])).message).toBe("tensor: argument 'data[1]' must be a number or boolean, got \"a\"");
  });
  test('typed array that does not fit the shape', () => {
    expect(caught(() => mp.tensor(new Float32Array(5), { shape: [2, 3] })).message).toContain("'options.shape' must be a shape with 5 elements");
  });
  test('too many elements', () => {
    expect(caught(() => mp.zeros([2 ** 30, 2 ** 30, 2 ** 10])).code).toBe('ERR_INVALID_SHAPE');
  });
  test('shapes that do not broadcast', () => {
    const e = caught(() => mp.tidy(() => mp.ones([2, 3]).add(mp.ones([4]))));
    expect(e.code).toBe('ERR_SHAPE_MISMATCH');
    expect(e.message).toBe('add: shapes [2, 3] and [4] cannot be broadcast together (dimension 1 of the result: 3 vs 4)');
  });
  test('bad reshape and dim', () => {
    mp.tidy(() => {
      expect(caught(() => mp.ones([6]).reshape([4, -1])).message).toContain('reshape: shape [4, -1] is invalid');
      expect(caught(() => mp.ones([2, 2]).sum({ dim: 2 })).message).toBe("sum: argument 'options.dim' must be an integer in [-2, 1] for a 2-d tensor, got 2");
    });
  });
});

describe('dtypes and devices', () => {
  test('unknown dtype', () => {
    const e = caught(() => mp.zeros([1], { dtype: 'float8' as mp.DType }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.code).toBe('ERR_INVALID_DTYPE');
    expect(e.message).toBe("zeros: argument 'options.dtype' must be one of 'float32', 'float16', 'bfloat16', 'float64', 'int32', 'bool', got \"float8\"");
  });
  test('unknown device', () => {
    const e = caught(() => mp.zeros([1], { device: 'tpu' as mp.DeviceLike }));
    expect(e.code).toBe('ERR_INVALID_DEVICE');
    expect(e.message).toBe("zeros: argument 'options.device' must be 'cpu', 'cuda' or 'cuda:N', got \"tpu\"");
  });
  test('unknown option (a typo is not ignored)', () => {
    expect(caught(() => mp.zeros([1], { dtyp: 'float16' } as unknown as mp.TensorOptions)).message).toBe("zeros: unknown option 'dtyp' (expected 'dtype', 'device', 'requiresGrad')");
  });
  test('dtype mismatch in an in-place op', () => {
    const e = caught(() => mp.tidy(() => mp.zeros([2], { dtype: 'int32' }).mul_(mp.ones([2]))));
    expect(e).toBeInstanceOf(mp.MixprecError);
    expect(e.code).toBe('ERR_DTYPE_MISMATCH');
    expect(e.message).toBe("mul_: result type float32 can't be cast to the desired output type int32");
  });
  test('requiresGrad on an integer tensor', () => {
    expect(caught(() => mp.zeros([1], { dtype: 'int32', requiresGrad: true })).message).toBe('zeros: only floating-point tensors can require gradients, got dtype int32');
  });
  test('device mismatch between operands', () => {
    const fake = (device: string) => ({ device: Device.parse('test', 'device', device) }) as unknown as Tensor;
    const e = caught(() => requireSameDevice('add', [fake('cpu'), fake('cuda:0')]));
    expect(e.code).toBe('ERR_DEVICE_MISMATCH');
    expect(e.message).toBe("add: expected all tensors on the same device, got cpu and cuda:0 (move one with .to('cpu'))");
    if (mp.cuda.isAvailable()) {
      mp.tidy(() => expect(caught(() => mp.ones([1]).add(mp.ones([1], { device: 'cuda' }))).code).toBe('ERR_DEVICE_MISMATCH'));
    }
  });
  test('CUDA asked for where there is none', () => {
    if (mp.cuda.isAvailable()) return; // covered by the GPU run (bench/gpu.sh)
    const e = caught(() => mp.ones([2], { device: 'cuda:0' }));
    expect(e).toBeInstanceOf(mp.MixprecError);
    expect(e.code).toBe('ERR_CUDA_UNAVAILABLE');
    expect(e.message).toMatch(/^ones: device 'cuda:0' was asked for, but (mixprec was built without CUDA|CUDA is not available on this machine)/);
    expect(caught(() => mp.tidy(() => mp.ones([2]).to('cuda'))).code).toBe('ERR_CUDA_UNAVAILABLE');
    expect(() => mp.cuda.synchronize()).toThrow(/cuda/);
  });
});

describe('memory and lifetime', () => {
  test('an allocation that cannot be satisfied is a clear error and the process goes on', () => {
    const e = caught(() => mp.zeros([2 ** 26, 2 ** 20])); // 256 TiB
    expect(e).toBeInstanceOf(mp.MixprecError);
    expect(e.code).toBe('ERR_OUT_OF_MEMORY');
    expect(e.message).toMatch(/^zeros: out of memory: cannot allocate 281474976710656 bytes \(262144\.0 GiB\) on cpu/);
    // The op whose result could not be allocated is named (found by test/fuzz.test.ts).
    expect(caught(() => mp.tidy(() => mp.ones([2 ** 26, 1]).add(mp.ones([1, 2 ** 20])))).message).toMatch(/^add: out of memory/);
    expect(caught(() => mp.tidy(() => mp.ones([1]).expand([2 ** 46])))).toMatchObject({ code: 'ERR_OUT_OF_MEMORY', message: expect.stringMatching(/^expand: out of memory/) });
    mp.tidy(() => expect(mp.ones([4]).sum().item()).toBe(4));
  });
  test('using a disposed tensor', () => {
    const t = mp.ones([3]);
    t.dispose();
    const e = caught(() => mp.tidy(() => mp.add(mp.tensor(1), t)));
    expect(e.code).toBe('ERR_DISPOSED');
    expect(e.message).toMatch(/^add: argument 'other' is a disposed float32 tensor of shape \[3\] on cpu/);
  });
});

describe('arguments of other ops', () => {
  test('wrong operand types', () => {
    expect(caught(() => mp.add('1' as unknown as number, 2)).message).toBe("add: argument 'input' must be a Tensor or a number, got \"1\"");
    expect(caught(() => mp.add(1, 2)).message).toContain('at least one operand must be a tensor');
    expect(caught(() => mp.neg({} as Tensor)).message).toBe("neg: argument 'input' must be a Tensor, got an object");
  });
  test('random and sequence arguments', () => {
    expect(caught(() => mp.randint(5, 5, [2])).message).toContain("randint: argument 'high' must be an integer with 0 < high - low <= 2^32");
    expect(caught(() => mp.rand([2], { dtype: 'int32' })).message).toBe('rand: dtype must be floating point, got int32');
    expect(caught(() => mp.arange(0, 5, 0)).message).toBe("arange: argument 'step' must be non-zero, got 0");
    expect(caught(() => mp.arange(0, 5, -1)).message).toContain("arange: argument 'step' must be a step whose sign leads from 0 to 5");
    expect(caught(() => mp.linspace(0, 1, -2)).message).toBe("linspace: argument 'steps' must be a non-negative integer, got -2");
    expect(caught(() => mp.manualSeed(1.5)).message).toBe("manualSeed: argument 'seed' must be a safe integer or a bigint, got 1.5");
  });
  test('item on a tensor with several elements', () => {
    mp.tidy(() => expect(caught(() => mp.ones([2]).item()).message).toBe('item: a tensor with exactly one element is needed, got float32 tensor of shape [2] on cpu (2 elements)'));
  });
});

describe('the native layer rejects misuse without crashing', () => {
  test('forged handles and wrong argument types', () => {
    const e = caught(() => native.release({} as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('mixprec native release: argument 0 (storage) must be a storage handle, got an object');
    expect(caught(() => native.alloc({ type: 'cpu', index: 0 }, 99, 4, false)).message).toContain('argument 1 (dtype) must be a known code');
    expect(caught(() => native.alloc(-1 as never, 0, 4, false)).message).toBe(
      "mixprec native alloc: argument 0 (device) must be a device {type: 'cpu' | 'cuda', index}, got -1");
    expect(caught(() => native.alloc({ type: 'tpu' as never, index: 0 }, 0, 4, false)).message).toContain("must be a device {type: 'cpu' | 'cuda', index}");
    const far = caught(() => native.alloc({ type: 'cuda', index: 99 }, 0, 4, false));
    expect(far.code).toBe('ERR_INVALID_DEVICE');
    expect(far.message).toBe('mixprec native alloc: argument 0 (device): device index 99 is out of range (an integer below 16)');
    expect(caught(() => native.matmul(5 as never)).message).toBe('mixprec native matmul: argument 0 must be an object of named arguments, got 5');
    expect(caught(() => native.fill(0, null as never, 0, 1, 0)).message).toContain('must be a storage handle, got null');
  });
  test('out-of-bounds ranges', () => {
    mp.tidy(() => {
      const t = mp.ones([4]);
      const e = caught(() => native.cast(t.storage.handle, 2, 0, t.storage.handle, 0, 1, 4));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe('ERR_OUT_OF_BOUNDS');
      expect(e.message).toBe('mixprec native cast: src needs 4 float32 elements at offset 2 but its storage holds 16 bytes');
      const op = { storage: t.storage.handle, offset: 0 };
      expect(caught(() => native.binary({ op: 0, dtype: 0, a: { ...op, strides: [1] }, b: { ...op, strides: [1] }, out: op, shape: [5] })).code).toBe('ERR_OUT_OF_BOUNDS');
      const matrix = { ...op, batchStrides: [], rowStride: 2, colStride: 1 };
      const matmul = { dtype: 0, a: matrix, b: matrix, out: op, batchShape: [], m: 2, n: 2, k: 2 };
      expect(() => native.matmul(matmul)).not.toThrow();
      expect(caught(() => native.matmul({ ...matmul, a: { ...matrix, rowStride: -1 } })).message).toBe(
        'mixprec native matmul: a.rowStride must be a non-negative integer, got -1');
      expect(caught(() => native.matmul({ ...matmul, b: { ...matrix, colStride: undefined as never } })).message).toBe(
        'mixprec native matmul: b.colStride must be a non-negative integer, got undefined');
      expect(caught(() => native.matmul({ ...matmul, a: { ...matrix, offset: 1 } })).message).toBe(
        'mixprec native matmul: a needs 4 float32 elements at offset 1 but its storage holds 16 bytes');
      expect(caught(() => native.matmul({ ...matmul, out: undefined as never })).message).toBe(
        'mixprec native matmul: out must be an object, got undefined');
      expect(caught(() => native.stridedCopy({ dtype: 0, src: { ...op, strides: [1] }, dst: { ...op, strides: [0] }, shape: [4] })).message).toBe(
        'mixprec native stridedCopy: dst.strides must be non-zero strides, got an array');
      expect(caught(() => native.reduceSum(0, t.storage.handle, 0, 0, t.storage.handle, 0, 2 ** 40, 2 ** 40, 1, false)).message).toContain('element count overflows');
      expect(caught(() => native.binaryScalar(3, 4, t.storage.handle, 0, 1, false, t.storage.handle, 0, 1)).message).toContain('div needs a floating dtype');
    });
  });
});
