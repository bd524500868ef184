// Mutation fuzzing of safetensors files: bit flips, truncations, extensions and JSON-level
// header edits of valid files. Property: every input either loads, and then each tensor's
// dtype, shape and bytes are what the header (read here with JSON.parse) says, or fails with a
// MixprecError whose code is one of the reader's; the process never crashes and memory returns
// to where it started. Seeded: the same mutations on every run. About 13 s on the AVX2 class (2 shared cores).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mp from '../lib';
import { seedRng, uniform } from './helpers/seededRandom';

const MUTATIONS = 15000;
const SEED = 0x5afe7e;
const READER_CODES = new Set([
  'ERR_SAFETENSORS_HEADER_TOO_SMALL',
  'ERR_SAFETENSORS_HEADER_TOO_LARGE',
  'ERR_SAFETENSORS_HEADER_LENGTH',
  'ERR_SAFETENSORS_HEADER_JSON',
  'ERR_SAFETENSORS_DUPLICATE_KEY',
  'ERR_SAFETENSORS_METADATA',
  'ERR_SAFETENSORS_TENSOR_INFO',
  'ERR_SAFETENSORS_DTYPE',
  'ERR_SAFETENSORS_OVERFLOW',
  'ERR_SAFETENSORS_SIZE',
  'ERR_SAFETENSORS_OFFSETS',
  'ERR_SAFETENSORS_FILE_SIZE',
]);
const SIZES: Record<string, number> = { F64: 8, F32: 4, I32: 4, BF16: 2, F16: 2, BOOL: 1 };

const int = (n: number): number => Math.floor(uniform() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

/** A valid file of up to 6 tensors (rank ≤ 3, dims ≤ 5, every dtype) with optional metadata. */
function validFile(): Buffer {
  const tensors: Record<string, mp.Tensor> = {};
  const count = int(7);
  for (let k = 0; k < count; ++k) {
    const shape = Array.from({ length: int(4) }, () => int(6));
    const numel = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: numel }, () => Math.round((uniform() - 0.5) * 200) / 8);
    const dtype = pick(mp.dtypes);
    tensors[`t${k}.${pick(['weight', 'bias', 'é', ''])}`] = mp.tidy(() => mp.tensor(new Float64Array(values), { dtype: 'float64', shape }).to(dtype));
  }
  const metadata = uniform() < 0.5 ? { format: 'pt', step: String(int(1000)) } : undefined;
  const bytes = mp.serialize(tensors, { metadata });
  mp.dispose(tensors);
  return bytes;
}

function withHeader(header: string): Buffer {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h]);
}

/** Splits a valid file into its header object and data section. */
function split(file: Buffer): { header: Record<string, any>; data: Buffer } {
  const n = Number(file.readBigUInt64LE(0));
  return { header: JSON.parse(file.subarray(8, 8 + n).toString('utf8')), data: file.subarray(8 + n) };
}

const HUGE = ['18446744073709551615', '9007199254740993', '1e308', '-1', '4294967296', '0.5', '"3"', 'null', '[]', '{}'];

/** One JSON-level edit of a valid file's header (the data section is kept, sometimes cut). */
function headerEdit(file: Buffer): Buffer {
  const { header, data } = split(file);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names.length > 0 ? pick(names) : undefined;
  const info = name === undefined ? undefined : header[name];
  let text: string | undefined;
  switch (int(11)) {
    case 0:
      if (info) info.dtype = pick(['F32', 'F16', 'BF16', 'F64', 'I32', 'BOOL', 'I64', 'U8', 'F8_E4M3', 'X', '', 'f32']);
      break;
    case 1:
      if (info) info.shape = uniform() < 0.5 ? [...info.shape, int(4)] : info.shape.slice(1);
      break;
    case 2:
      if (info) info.data_offsets[int(2)] += int(9) - 4;
      break;
    case 3: // overlap: copy another tensor's offsets
      if (info && names.length > 1) info.data_offsets = [...header[pick(names)].data_offsets];
      break;
    case 4: // gap: shift every later tensor
      for (const k of names) if (header[k].data_offsets[0] > 0) header[k].data_offsets = header[k].data_offsets.map((x: number) => x + 4);
      break;
    case 5: // a huge or wrongly typed number, written as text
      text = JSON.stringify(header).replace(/\d+/, pick(HUGE));
      break;
    case 6: // duplicate key
      text = JSON.stringify(header);
      if (name) text = text.slice(0, -1) + `,${JSON.stringify(name)}:${JSON.stringify(info)}}`;
      break;
    case 7: // non-string metadata
      header.__metadata__ = pick([{ a: 1 }, { a: null }, [], 'x', { a: { b: 'c' } }, { a: 'ok' }]);
      break;
    case 8: // a missing or extra field
      if (info) {
        if (uniform() < 0.5) delete info[pick(['dtype', 'shape', 'data_offsets'])];
        else info.extra = 1;
      }
      break;
    case 9: // header length field lies
      text = JSON.stringify(header);
      {
        const out = withHeader(text);
        out.writeBigUInt64LE(BigInt(Math.max(0, text.length + int(17) - 8)));
        return Buffer.concat([out, data]);
      }
    default: // an unrelated key or a deeply nested value
      header[`x${int(3)}`] = uniform() < 0.5 ? { dtype: 'F32', shape: [0], data_offsets: [0, 0] } : JSON.parse('['.repeat(80) + ']'.repeat(80));
  }
  return Buffer.concat([withHeader(text ?? JSON.stringify(header)), uniform() < 0.2 ? data.subarray(0, int(data.length + 1)) : data]);
}

function mutate(file: Buffer): Buffer {
  const kind = int(4);
  if (kind === 0) {
    const out = Buffer.from(file);
    const flips = 1 + int(8);
    for (let k = 0; k < flips; ++k) {
      // Flip mostly within the length field and header, where the reader's decisions are.
      const at = uniform() < 0.8 ? int(Math.min(out.length, 8 + Number(file.readBigUInt64LE(0)))) : int(out.length);
      out[at] ^= 1 << int(8);
    }
    return out;
  }
  if (kind === 1) return file.subarray(0, int(file.length));
  if (kind === 2) return Buffer.concat([file, Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)))]);
  return headerEdit(file);
}

/** The bytes of a loaded tensor as stored. */
function bytesOf(t: mp.Tensor): Buffer {
  const raw = t.rawData() as ArrayBufferView;
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** For a file that loaded: the header, read independently, must describe what came back. */
function checkLoaded(file: Buffer, tensors: Record<string, mp.Tensor>): void {
  const { header, data } = split(file);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  expect(Object.keys(tensors).sort()).toEqual(names.sort());
  for (const name of names) {
    const { dtype, shape, data_offsets: [begin, end] } = header[name];
    const t = tensors[name];
    expect(t.shape).toEqual(shape);
    expect(t.numel * SIZES[dtype]).toBe(end - begin);
    expect(bytesOf(t).equals(data.subarray(begin, end))).toBe(true);
  }
}

/**
 * Collects what earlier test files in this jest worker dropped without disposing, until the
 * native byte count stops moving: their storages are freed by GC finalizers, which would
 * otherwise run in the middle of this test and lower the count below its start (seen in CI).
 */
async function settledMemory(): Promise<mp.MemoryInfo> {
  let m = mp.memory();
  for (let i = 0; i < 10 && global.gc; ++i) {
    global.gc();
    await new Promise((r) => setImmediate(r));
    const next = mp.memory();
    if (next.numBytes === m.numBytes && next.numTensors === m.numTensors) break;
    m = next;
  }
  return m;
}

test(`${MUTATIONS} seeded mutations of valid files: typed errors or exact loads, memory back to start`, async () => {
  seedRng(SEED);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-fuzz-'));
  const file = path.join(dir, 'm.safetensors');
  const start = await settledMemory();
  const rssStart = process.memoryUsage().rss;
  const outcomes: Record<string, number> = {};
  let bases: Buffer[] = [];
  try {
    for (let i = 0; i < MUTATIONS; ++i) {
      if (i % 100 === 0) bases = Array.from({ length: 4 }, validFile);
      const input = mutate(pick(bases));
      let result: { tensors: Record<string, mp.Tensor> } | undefined;
      try {
        if (i % 10 === 0) {
          fs.writeFileSync(file, input);
          result = { tensors: mp.load(file) };
        } else {
          result = mp.deserialize(input);
        }
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'none';
        if (!(e instanceof mp.MixprecError) || !READER_CODES.has(code)) throw new Error(`mutation ${i}: unexpected ${String(e)} (code ${code}) for ${JSON.stringify(input.subarray(0, 300).toString('latin1'))}`);
        outcomes[code] = (outcomes[code] ?? 0) + 1;
      }
      if (result) {
        checkLoaded(input, result.tensors);
        mp.dispose(result.tensors);
        outcomes.loaded = (outcomes.loaded ?? 0) + 1;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const end = mp.memory();
  expect(end.numTensors).toBe(start.numTensors);
  expect(end.numBytes).toBe(start.numBytes);
  global.gc?.();
  expect(process.memoryUsage().rss - rssStart).toBeLessThan(200 << 20);
  // The mutations reach most of the reader's rules, and some still load.
  expect(Object.keys(outcomes).length).toBeGreaterThanOrEqual(10);
  expect(outcomes.loaded).toBeGreaterThan(50);
  console.log(`safetensors mutation fuzz: ${MUTATIONS} mutations, outcomes ${JSON.stringify(outcomes)}`);
});
