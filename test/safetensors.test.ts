// safetensors reading and writing against files built byte by byte from the format's
// specification in this file (never from mixprec's writer), and every rule of the reference reader.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mp from '../lib';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-st-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A file from the spec: u64 LE header length, the header text, the data bytes. */
function fileOf(header: string, data: number[] = []): Buffer {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.from(data)]);
}

/** Little-endian bytes of float32 values, written by DataView (not by any tensor code). */
function f32(...values: number[]): number[] {
  const v = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return [...new Uint8Array(v.buffer)];
}
function i32(...values: number[]): number[] {
  const v = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((x, i) => v.setInt32(4 * i, x, true));
  return [...new Uint8Array(v.buffer)];
}
function f64(...values: number[]): number[] {
  const v = new DataView(new ArrayBuffer(8 * values.length));
  values.forEach((x, i) => v.setFloat64(8 * i, x, true));
  return [...new Uint8Array(v.buffer)];
}

function load(bytes: Buffer, options?: mp.LoadOptions): ReturnType<typeof mp.deserialize> {
  return mp.deserialize(bytes, options);
}

function expectCode(bytes: Buffer, code: string, message?: RegExp): void {
  let caught: unknown;
  try {
    mp.dispose(load(bytes).tensors);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(mp.MixprecError);
  expect((caught as mp.MixprecError).code).toBe(code);
  if (message) expect((caught as Error).message).toMatch(message);
  // The file path reaches the same validation.
  const file = path.join(dir, 'bad.safetensors');
  fs.writeFileSync(file, bytes);
  expect(() => mp.load(file)).toThrow(expect.objectContaining({ code }));
}

describe('reading files built from the specification', () => {
  test('every dtype mixprec stores, in C order, with metadata', () => {
    // float16 1.0 = 0x3c00, -2.0 = 0xc000; bfloat16 1.0 = 0x3f80, 0.5 = 0x3f00.
    const header = JSON.stringify({
      __metadata__: { format: 'pt', note: 'é' },
      x: { dtype: 'F64', shape: [], data_offsets: [0, 8] },
      w: { dtype: 'F32', shape: [2, 2], data_offsets: [8, 24] },
      n: { dtype: 'I32', shape: [3], data_offsets: [24, 36] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [36, 40] },
      h: { dtype: 'F16', shape: [2, 1], data_offsets: [40, 44] },
      m: { dtype: 'BOOL', shape: [3], data_offsets: [44, 47] },
      e: { dtype: 'F32', shape: [0, 5], data_offsets: [47, 47] },
    });
    const data = [...f64(Math.PI), ...f32(1, -2.5, 3e-5, Infinity), ...i32(-7, 0, 2 ** 31 - 1), 0x80, 0x3f, 0x00, 0x3f, 0x00, 0x3c, 0x00, 0xc0, 1, 0, 1];
    const { tensors, metadata } = load(fileOf(header, data));
    expect({ ...metadata }).toEqual({ format: 'pt', note: 'é' });
    expect(Object.keys(tensors)).toEqual(['x', 'w', 'n', 'b', 'h', 'm', 'e']);
    expect(tensors.x.dtype).toBe('float64');
    expect(tensors.x.shape).toEqual([]);
    expect(tensors.x.item()).toBe(Math.PI);
    expect(tensors.w.shape).toEqual([2, 2]);
    expect(Array.from(tensors.w.dataSync())).toEqual([1, -2.5, Math.fround(3e-5), Infinity]);
    expect(Array.from(tensors.n.dataSync())).toEqual([-7, 0, 2 ** 31 - 1]);
    expect(tensors.b.dtype).toBe('bfloat16');
    expect(Array.from(tensors.b.rawData())).toEqual([0x3f80, 0x3f00]);
    expect(tensors.h.dtype).toBe('float16');
    expect(Array.from(tensors.h.rawData())).toEqual([0x3c00, 0xc000]);
    expect(tensors.m.toArray()).toEqual([true, false, true]);
    expect(tensors.e.shape).toEqual([0, 5]);
    mp.dispose(tensors);
  });

  test('dtype converts floating tensors only; device is checked', () => {
    const header = JSON.stringify({ n: { dtype: 'I32', shape: [1], data_offsets: [0, 4] }, w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } });
    const { tensors } = load(fileOf(header, [...i32(5), ...f32(0.1)]), { dtype: 'float64' });
    expect(tensors.n.dtype).toBe('int32');
    expect(tensors.w.dtype).toBe('float64');
    expect(tensors.w.item()).toBe(Math.fround(0.1));
    mp.dispose(tensors);
    expect(() => load(fileOf(header, [...i32(5), ...f32(0.1)]), { device: 'tpu' } as never)).toThrow(TypeError);
    expect(() => load(fileOf(header, [...i32(5), ...f32(0.1)]), { dtpe: 'float16' } as never)).toThrow(/unknown option 'dtpe'/);
  });

  test('an empty file of tensors and a header with whitespace padding', () => {
    expect(Object.keys(load(fileOf('{}')).tensors)).toEqual([]);
    const { tensors } = load(fileOf('  {"a": {"dtype":"I32","shape":[1],"data_offsets":[0,4]}}   ', i32(9)));
    expect(tensors.a.item()).toBe(9);
    mp.dispose(tensors);
  });

  test('large tensors cross the staging chunk (8 MiB) and arrive intact', () => {
    const n = (9 << 20) / 4 + 3; // over one chunk, not a multiple of it
    const values = new Float32Array(n);
    for (let i = 0; i < n; ++i) values[i] = i * 0.25 - 1000;
    const header = JSON.stringify({ big: { dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] } });
    const h = Buffer.from(header);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    const file = path.join(dir, 'big.safetensors');
    fs.writeFileSync(file, Buffer.concat([len, h, Buffer.from(values.buffer)]));
    const { big } = mp.load(file);
    expect(big.shape).toEqual([n]);
    expect(Buffer.from((big.dataSync() as Float32Array).buffer).equals(Buffer.from(values.buffer))).toBe(true);
    big.dispose();
  });
});

describe('writing as the reference writer does', () => {
  test('the exact bytes: sorted by dtype (widest first) then name, header padded with spaces to 8', () => {
    const t = {
      a: mp.tensor([1, 2], { dtype: 'int32' }),
      b: mp.tensor([3]),
      c: mp.tensor([1], { dtype: 'float16' }),
      d: mp.tensor([2], { dtype: 'float64' }),
      e: mp.tensor([true, false, true]),
      f: mp.tensor([5], { dtype: 'int32' }),
      g: mp.tensor([0.5], { dtype: 'bfloat16' }),
    };
    const bytes = mp.serialize(t, { metadata: { z: '1', a: '2\n' } });
    const header =
      '{"__metadata__":{"z":"1","a":"2\\n"},"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
      '"a":{"dtype":"I32","shape":[2],"data_offsets":[12,20]},"f":{"dtype":"I32","shape":[1],"data_offsets":[20,24]},"g":{"dtype":"BF16","shape":[1],"data_offsets":[24,26]},' +
      '"c":{"dtype":"F16","shape":[1],"data_offsets":[26,28]},"e":{"dtype":"BOOL","shape":[3],"data_offsets":[28,31]}}';
    const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
    const expected = fileOf(padded, [...f64(2), ...f32(3), ...i32(1, 2), ...i32(5), 0x00, 0x3f, 0x00, 0x3c, 1, 0, 1]);
    expect(bytes.equals(expected)).toBe(true);
    expect((bytes.length - 31) % 8).toBe(0);
    mp.dispose(t);
  });

  test('save and load round-trip files, also asynchronously and through a Map', async () => {
    const file = path.join(dir, 'rt.safetensors');
    const w = mp.tidy(() => mp.randn([3, 4], { generator: new mp.Generator(1) }).to('bfloat16'));
    const s = mp.tensor(7, { dtype: 'int32' });
    mp.save(new Map([['w', w], ['s', s]]), file, { metadata: { k: 'v' } });
    const back = mp.load(file);
    expect(Array.from(back.w.rawData())).toEqual(Array.from(w.rawData()));
    expect(back.s.shape).toEqual([]);
    await mp.saveAsync({ w }, file);
    const again = await mp.loadAsync(file);
    expect(Array.from(again.w.rawData())).toEqual(Array.from(w.rawData()));
    const withMeta = await mp.loadWithMetadataAsync(file);
    expect({ ...withMeta.metadata }).toEqual({});
    mp.dispose([w, s, back, again, withMeta.tensors]);
  });

  test('bad arguments are clear errors', () => {
    const t = mp.zeros([1]);
    expect(() => mp.serialize({ x: t }, { metadata: { n: 1 } as never })).toThrow(/metadata\['n'\]' must be a string/);
    expect(() => mp.serialize({ __metadata__: t })).toThrow(/reserves/);
    expect(() => mp.serialize({ x: 3 } as never)).toThrow(/tensors\['x'\]' must be a Tensor/);
    expect(() => mp.save({ x: t }, '')).toThrow(/path/);
    expect(() => mp.save({ x: t }, path.join(dir, 'no', 'such', 'dir', 'f'))).toThrow(expect.objectContaining({ code: 'ERR_IO' }));
    expect(() => mp.load(path.join(dir, 'missing.safetensors'))).toThrow(expect.objectContaining({ code: 'ERR_IO' }));
    t.dispose();
    expect(() => mp.serialize({ x: t })).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
  });
});

describe('every rule of the reference reader', () => {
  const one = (info: object, data: number[] = f32(1)): Buffer => fileOf(JSON.stringify({ t: info }), data);
  const ok = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };

  test('header length: too small, too large, past the end', () => {
    expectCode(Buffer.from([1, 0, 0]), 'ERR_SAFETENSORS_HEADER_TOO_SMALL');
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(100_000_001n);
    expectCode(huge, 'ERR_SAFETENSORS_HEADER_TOO_LARGE');
    huge.writeBigUInt64LE(0xffffffffffffffffn);
    expectCode(huge, 'ERR_SAFETENSORS_HEADER_TOO_LARGE');
    huge.writeBigUInt64LE(9n);
    expectCode(huge, 'ERR_SAFETENSORS_HEADER_LENGTH', /runs past the end/);
  });

  test('the header is UTF-8 JSON, an object', () => {
    expectCode(fileOf('{"t":'), 'ERR_SAFETENSORS_HEADER_JSON');
    expectCode(fileOf('[]'), 'ERR_SAFETENSORS_HEADER_JSON', /object/);
    const bad = fileOf('{"\u00e9":1}');
    bad[10] = 0xff; // breaks the two-byte sequence of é
    expectCode(bad, 'ERR_SAFETENSORS_HEADER_JSON', /UTF-8/);
    expectCode(fileOf('{} x'), 'ERR_SAFETENSORS_HEADER_JSON');
    expectCode(fileOf('{"a":"\u0001"}'), 'ERR_SAFETENSORS_HEADER_JSON', /control/);
  });

  test('duplicate keys are refused by name, also inside a tensor and the metadata', () => {
    expectCode(fileOf(`{"t":${JSON.stringify(ok)},"t":${JSON.stringify(ok)}}`, f32(1)), 'ERR_SAFETENSORS_DUPLICATE_KEY', /'t'/);
    expectCode(fileOf('{"t":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)), 'ERR_SAFETENSORS_DUPLICATE_KEY', /'t\.dtype'/);
    expectCode(fileOf(`{"__metadata__":{"a":"1","a":"2"},"t":${JSON.stringify(ok)}}`, f32(1)), 'ERR_SAFETENSORS_DUPLICATE_KEY', /__metadata__\.a/);
  });

  test('metadata maps strings to strings', () => {
    expectCode(fileOf(`{"__metadata__":{"a":1},"t":${JSON.stringify(ok)}}`, f32(1)), 'ERR_SAFETENSORS_METADATA', /'a' holds a number/);
    expectCode(fileOf(`{"__metadata__":[],"t":${JSON.stringify(ok)}}`, f32(1)), 'ERR_SAFETENSORS_METADATA');
    expectCode(fileOf(`{"__metadata__":{"a":null}}`), 'ERR_SAFETENSORS_METADATA');
  });

  test('tensor entries: fields, dtypes, integers', () => {
    expectCode(one({ dtype: 'F32', shape: [1] }), 'ERR_SAFETENSORS_TENSOR_INFO', /data_offsets/);
    expectCode(one({ ...ok, extra: 1 }), 'ERR_SAFETENSORS_TENSOR_INFO', /unknown field 'extra'/);
    expectCode(one({ ...ok, dtype: 'I64', data_offsets: [0, 8] }, f64(1)), 'ERR_SAFETENSORS_DTYPE', /tensor 't' has dtype "I64": a safetensors dtype mixprec does not store/);
    expectCode(one({ ...ok, dtype: 'F33' }), 'ERR_SAFETENSORS_DTYPE', /not a safetensors dtype/);
    expectCode(one({ ...ok, dtype: 3 }), 'ERR_SAFETENSORS_TENSOR_INFO');
    expectCode(one({ ...ok, shape: [-1] }), 'ERR_SAFETENSORS_TENSOR_INFO', /shape\[0\]/);
    expectCode(fileOf('{"t":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', f32(1)), 'ERR_SAFETENSORS_TENSOR_INFO');
    expectCode(fileOf('{"t":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', f32(1)), 'ERR_SAFETENSORS_TENSOR_INFO');
    expectCode(one({ ...ok, data_offsets: [0, 4, 8] }), 'ERR_SAFETENSORS_TENSOR_INFO', /\[begin, end\]/);
    expectCode(fileOf('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551620]}}', f32(1)), 'ERR_SAFETENSORS_OVERFLOW');
  });

  test('shape products overflow safely and must match the byte range', () => {
    expectCode(fileOf('{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}', f32(1)), 'ERR_SAFETENSORS_OVERFLOW', /tensor 't'/);
    expectCode(one({ ...ok, shape: [2] }), 'ERR_SAFETENSORS_SIZE', /needs 8 bytes, but data_offsets \[0, 4\] hold 4/);
    expectCode(one({ ...ok, shape: [1], data_offsets: [4, 0] }), 'ERR_SAFETENSORS_OFFSETS', /end before they begin/);
  });

  test('offsets tile the data section: no gap, no overlap, no trailing or missing bytes', () => {
    const two = (a: number[], b: number[], data: number[]): Buffer =>
      fileOf(JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: a }, b: { dtype: 'F32', shape: [1], data_offsets: b } }), data);
    expectCode(two([0, 4], [8, 12], f32(1, 2, 3)), 'ERR_SAFETENSORS_OFFSETS', /tensor 'b' starts at 8.*gap of 4/);
    expectCode(two([0, 4], [2, 6], f32(1, 2)), 'ERR_SAFETENSORS_OFFSETS', /overlap/);
    expectCode(two([4, 8], [4, 8], f32(1, 2)), 'ERR_SAFETENSORS_OFFSETS');
    expectCode(one(ok, [...f32(1), 0]), 'ERR_SAFETENSORS_FILE_SIZE', /trailing/);
    expectCode(one(ok, [0, 0]), 'ERR_SAFETENSORS_FILE_SIZE', /truncated/);
    // Listed out of order in the header is fine: only the byte ranges must tile.
    const { tensors } = load(two([4, 8], [0, 4], f32(1, 2)));
    expect([tensors.a.item(), tensors.b.item()]).toEqual([2, 1]);
    mp.dispose(tensors);
  });

  test('nothing is allocated by a claim the file does not back', () => {
    const before = mp.memory().numTensors;
    // 2^40 floats claimed with 4 bytes present: refused before any allocation.
    expectCode(fileOf('{"t":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}', f32(1)), 'ERR_SAFETENSORS_FILE_SIZE');
    expect(mp.memory().numTensors).toBe(before);
  });
});
