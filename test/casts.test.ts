// Cast correctness beyond the exhaustive float32 sweep: every SIMD path against the scalar
// reference, float64 narrowing without double rounding, and every dtype pair.
import * as mp from '../lib';
import { BF16, F16, f64ToBits16, roundTo } from './helpers/floatReference';
import { dtypeCode, native } from './helpers/native';

const levels = ['scalar', 'f16c', 'avx512', 'avx512bf16', 'amx'];
const available = levels.slice(0, levels.indexOf(mp.backend().simdDetected) + 1);

afterAll(() => {
  mp.setSimdLevel(mp.backend().simdDetected);
});

/** float32 bit patterns that stress rounding: boundaries, ties, subnormals, NaNs, plus random ones. */
function stressPatterns(): Uint32Array {
  const out: number[] = [];
  const edges = [0x00000000, 0x00000001, 0x007fffff, 0x00800000, 0x33000000, 0x33000001, 0x337fffff, 0x387fc000, 0x387fe000,
    0x38800000, 0x3f800000, 0x3f801000, 0x3f802000, 0x3f803000, 0x3f808000, 0x3f818000, 0x477fe000, 0x477fefff, 0x477ff000,
    0x7f7f8000, 0x7f7fffff, 0x7f800000, 0x7f800001, 0x7fa00000, 0x7fc00000, 0x7fffffff];
  for (const e of edges) for (const s of [0, 0x80000000]) for (let d = -3; d <= 3; ++d) out.push((e + s + d) >>> 0);
  let x = 0x12345678;
  for (let i = 0; i < 1 << 20; ++i) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out.push(x >>> 0);
  }
  return Uint32Array.from(out);
}

describe.each(available)('SIMD path %s matches the scalar reference', (level) => {
  beforeAll(() => {
    expect(mp.setSimdLevel(level)).toBe(true);
  });

  test.each([['float16'], ['bfloat16']] as const)('float32 -> %s', (target) => {
    const bits = stressPatterns();
    mp.tidy(() => {
      const src = mp.tensor(new Float32Array(bits.buffer));
      const fast = src.to(target).rawData();
      const ref = mp.empty([bits.length], { dtype: target });
      native._test.castReference(src.storage.handle, 0, dtypeCode('float32'), ref.storage.handle, 0, dtypeCode(target), bits.length);
      expect(Buffer.from((fast as Uint16Array).buffer).equals(Buffer.from((ref.rawData() as Uint16Array).buffer))).toBe(true);
    });
  });

  test.each([['float16'], ['bfloat16']] as const)('%s -> float32, all patterns', (source) => {
    const all = new Uint16Array(65536).map((_, i) => i);
    mp.tidy(() => {
      const src = mp.tensor(all, { dtype: source });
      const fast = src.to('float32').rawData() as Float32Array;
      const ref = mp.empty([65536]);
      native._test.castReference(src.storage.handle, 0, dtypeCode(source), ref.storage.handle, 0, dtypeCode('float32'), 65536);
      expect(Buffer.from(fast.buffer).equals(Buffer.from((ref.rawData() as Float32Array).buffer))).toBe(true);
    });
  });

  test('odd lengths and offsets use the scalar tail correctly', () => {
    for (const n of [1, 7, 15, 17, 33, 1000]) {
      const values = Float32Array.from({ length: n }, (_, i) => (i - 3) * 0.3333);
      const got = mp.tidy(() => mp.tensor(values).to('float16').to('float32').dataSync());
      values.forEach((v, i) => expect(got[i]).toBe(roundTo(v, 'float16')));
    }
  });
});

describe('float64 narrowing rounds once', () => {
  // Values just above a float16/bfloat16 tie that float32 would first round onto the tie.
  const f16Cases = [1 + 2 ** -11 + 2 ** -40, 1 + 3 * 2 ** -11 - 2 ** -40, 2048 + 1 + 2 ** -30, 2 ** -14 + 2 ** -25 + 2 ** -50,
    2 ** -24 * 0.5 + 2 ** -60, 65504 + 16 - 2 ** -20, 65504 + 16, -(1 + 2 ** -11 + 2 ** -40)];
  const bf16Cases = [1 + 2 ** -8 + 2 ** -40, 1 + 3 * 2 ** -8 - 2 ** -40, 2 ** -126 + 2 ** -134 + 2 ** -150, 3.3895313892515355e38];

  test('float64 -> float16 on the crafted cases', () => {
    const got = mp.tidy(() => mp.tensor(Float64Array.from(f16Cases)).to('float16').rawData() as Uint16Array);
    expect(Array.from(got)).toEqual(f16Cases.map((v) => f64ToBits16(v, F16)));
    // Rounding through float32 first would give a different answer on the first case.
    const viaF32 = mp.tidy(() => mp.tensor(Float64Array.from(f16Cases)).to('float32').to('float16').rawData() as Uint16Array);
    expect(viaF32[0]).not.toBe(got[0]);
  });

  test('float64 -> bfloat16 on the crafted cases', () => {
    const got = mp.tidy(() => mp.tensor(Float64Array.from(bf16Cases)).to('bfloat16').rawData() as Uint16Array);
    expect(Array.from(got)).toEqual(bf16Cases.map((v) => f64ToBits16(v, BF16)));
  });

  test('random float64 values -> float16, bfloat16, float32', () => {
    const n = 200_000;
    const values = new Float64Array(n);
    let s = 0x9e3779b9;
    const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let i = 0; i < n; ++i) {
      // Spread over the whole float16/bfloat16 range, subnormals and overflow included.
      values[i] = (next() < 0.5 ? -1 : 1) * (1 + next()) * 2 ** Math.floor(next() * 80 - 40);
    }
    const h = mp.tidy(() => mp.tensor(values).to('float16').rawData() as Uint16Array);
    const b = mp.tidy(() => mp.tensor(values).to('bfloat16').rawData() as Uint16Array);
    const f = mp.tidy(() => mp.tensor(values).to('float32').dataSync());
    for (let i = 0; i < n; ++i) {
      if (h[i] !== f64ToBits16(values[i], F16)) throw new Error(`float16 of ${values[i]}: ${h[i]} vs ${f64ToBits16(values[i], F16)}`);
      if (b[i] !== f64ToBits16(values[i], BF16)) throw new Error(`bfloat16 of ${values[i]}: ${b[i]} vs ${f64ToBits16(values[i], BF16)}`);
      if (!Object.is(f[i], Math.fround(values[i]))) throw new Error(`float32 of ${values[i]}`);
    }
  });
});

describe('every dtype pair', () => {
  const samples = [0, -0, 1, -1.5, 2.5, 3.75, 1e-8, -(2 ** -20), 65504, 70000, 3e38, -3e38, 123456789, 2147483647, -2147483648,
    5e9, NaN, Infinity, -Infinity];

  /** What a value becomes when stored as `dtype` (the references above, JS for the rest). */
  function storeAs(v: number, dtype: mp.DType): number {
    switch (dtype) {
      case 'float64': return v;
      case 'float32':
      case 'float16':
      case 'bfloat16': return roundTo(v, dtype);
      case 'int32': return Number.isNaN(v) ? 0 : v >= 2147483647 ? 2147483647 : v <= -2147483648 ? -2147483648 : Math.trunc(v) + 0;
      case 'bool': return v !== 0 ? 1 : 0;
    }
  }

  test.each(mp.dtypes.flatMap((a) => mp.dtypes.map((b) => [a, b] as const)))('%s -> %s', (from, to) => {
    const src = samples.map((v) => storeAs(v, from));
    const got = mp.tidy(() => mp.tensor(Float64Array.from(samples), { dtype: from }).to(to).to('float64').dataSync());
    src.forEach((v, i) => {
      const want = storeAs(v, to);
      if (Number.isNaN(want)) expect(Number.isNaN(got[i])).toBe(true);
      else expect(Object.is(got[i], want) || (want === 0 && got[i] === 0 && (to === 'int32' || to === 'bool'))).toBe(true);
    });
  });
});

test('subnormals are kept, never flushed', () => {
  mp.tidy(() => {
    expect(mp.tensor([2 ** -24], { dtype: 'float16' }).to('float32').item()).toBe(2 ** -24);
    expect(mp.tensor([2 ** -24]).to('float16').item()).toBe(2 ** -24);
    expect(mp.tensor([2 ** -130]).to('bfloat16').item()).toBe(2 ** -130);
    expect(mp.tensor([2 ** -133], { dtype: 'bfloat16' }).to('float32').item()).toBe(2 ** -133);
    expect(Object.is(mp.tensor([-0]).to('float16').item(), -0)).toBe(true);
    expect(mp.tensor([1e6]).to('float16').item()).toBe(Infinity);
    expect(mp.tensor([-1e39], { dtype: 'float64' }).to('bfloat16').item()).toBe(-Infinity);
  });
});
