/**
 * The safetensors layout (https://github.com/huggingface/safetensors): the header a writer
 * produces and every rule a reader enforces, on bytes only. No file access, no tensors.
 */
import type { DType } from '../dtype';
import { MixprecError, type ErrorCode } from '../errors';
import { JsonNumber, parseStrictJson, StrictJsonError, type JsonValue } from './strictJson';

/** The reference reader's limit on the header's length. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const TENSOR_KEYS = ['dtype', 'shape', 'data_offsets'];

/**
 * The format's dtypes in the reference's enum order (the writer sorts by it, descending, which
 * puts the widest elements first), with mixprec's dtype where it has one.
 */
const FORMAT_DTYPES: readonly (readonly [string, number, DType | undefined])[] = [
  ['BOOL', 1, 'bool'],
  ['F4', 0, undefined],
  ['F6_E2M3', 0, undefined],
  ['F6_E3M2', 0, undefined],
  ['U8', 1, undefined],
  ['I8', 1, undefined],
  ['F8_E5M2', 1, undefined],
  ['F8_E4M3', 1, undefined],
  ['F8_E8M0', 1, undefined],
  ['I16', 2, undefined],
  ['U16', 2, undefined],
  ['F16', 2, 'float16'],
  ['BF16', 2, 'bfloat16'],
  ['I32', 4, 'int32'],
  ['U32', 4, undefined],
  ['F32', 4, 'float32'],
  ['C64', 8, undefined],
  ['F64', 8, 'float64'],
  ['I64', 8, undefined],
  ['U64', 8, undefined],
];

const formatRank = new Map(FORMAT_DTYPES.map(([name], i) => [name, i]));
const toFormat = new Map(FORMAT_DTYPES.filter(([, , d]) => d !== undefined).map(([name, , d]) => [d as DType, name]));
const fromFormat = new Map(FORMAT_DTYPES.filter(([, , d]) => d !== undefined).map(([name, , d]) => [name, d as DType]));

/** The safetensors name of a mixprec dtype (`float32` → `F32`). */
export function formatDType(dtype: DType): string {
  return toFormat.get(dtype)!;
}

/** One tensor of a header: where its bytes are, relative to the data section. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header. */
export interface Header {
  /** `__metadata__` (an empty object when absent), without a prototype. */
  metadata: Record<string, string>;
  /** In the order the header lists them. */
  tensors: TensorEntry[];
  /** File offset of the data section: 8 + the header's length. */
  dataStart: number;
}

function fail(code: ErrorCode, message: string): never {
  throw new MixprecError(code, `safetensors: ${message}`);
}

/**
 * The header's length from the file's first 8 bytes, checked against the file's size: the
 * only number a reader may trust before it reads the header.
 */
export function headerLength(prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) fail('ERR_SAFETENSORS_HEADER_TOO_SMALL', `the file has ${fileSize} bytes, fewer than the 8 of the header's length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail('ERR_SAFETENSORS_HEADER_TOO_LARGE', `the header's length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  if (8n + n > BigInt(fileSize)) fail('ERR_SAFETENSORS_HEADER_LENGTH', `the header's length ${n} runs past the end of the ${fileSize}-byte file`);
  return Number(n);
}

/** A tensor name for a message, quoted, cut at 80 characters (a hostile name can be megabytes). */
function label(name: string): string {
  return name.length > 80 ? `'${name.slice(0, 80)}…'` : `'${name}'`;
}

/** A JSON value for a message: numbers as written, strings quoted and cut at 40 characters. */
function describeJson(v: JsonValue): string {
  if (v instanceof Map) return 'an object';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof JsonNumber) return v.text.slice(0, 40);
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v);
}

/** A non-negative integer written as plain digits that a double holds exactly, or undefined. */
function safeInteger(v: JsonValue): number | undefined {
  if (!(v instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(v.text)) return undefined;
  const n = Number(v.text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function integerList(name: string, key: string, v: JsonValue | undefined): number[] {
  if (!Array.isArray(v)) fail('ERR_SAFETENSORS_TENSOR_INFO', `tensor ${label(name)}: '${key}' must be an array of non-negative integers`);
  return v.map((x, i) => {
    const n = safeInteger(x);
    if (n !== undefined) return n;
    if (x instanceof JsonNumber && /^[0-9]+$/.test(x.text)) fail('ERR_SAFETENSORS_OVERFLOW', `tensor ${label(name)}: ${key}[${i}] = ${describeJson(x)} does not fit in 2^53 - 1`);
    return fail('ERR_SAFETENSORS_TENSOR_INFO', `tensor ${label(name)}: ${key}[${i}] must be a non-negative integer, got ${describeJson(x)}`);
  });
}

function parseMetadata(v: JsonValue): Record<string, string> {
  if (!(v instanceof Map)) fail('ERR_SAFETENSORS_METADATA', `'${METADATA_KEY}' must be an object of strings`);
  const out: Record<string, string> = Object.create(null);
  for (const [key, value] of v) {
    if (typeof value !== 'string') fail('ERR_SAFETENSORS_METADATA', `'${METADATA_KEY}' maps strings to strings, but ${label(key)} holds ${value instanceof JsonNumber ? 'a number' : describeJson(value)}`);
    out[key] = value;
  }
  return out;
}

function parseTensor(name: string, v: JsonValue): TensorEntry {
  if (!(v instanceof Map)) fail('ERR_SAFETENSORS_TENSOR_INFO', `tensor ${label(name)} must be an object {dtype, shape, data_offsets}`);
  for (const key of v.keys()) {
    if (!TENSOR_KEYS.includes(key)) fail('ERR_SAFETENSORS_TENSOR_INFO', `tensor ${label(name)} has an unknown field ${label(key)} (expected dtype, shape, data_offsets)`);
  }
  const formatName = v.get('dtype');
  if (typeof formatName !== 'string') fail('ERR_SAFETENSORS_TENSOR_INFO', `tensor ${label(name)}: 'dtype' must be a string`);
  const shape = integerList(name, 'shape', v.get('shape'));
  const offsets = integerList(name, 'data_offsets', v.get('data_offsets'));
  if (offsets.length !== 2) fail('ERR_SAFETENSORS_TENSOR_INFO', `tensor ${label(name)}: 'data_offsets' must be [begin, end], got ${offsets.length} numbers`);
  const dtype = fromFormat.get(formatName);
  if (dtype === undefined) {
    const why = formatRank.has(formatName) ? 'a safetensors dtype mixprec does not store' : 'not a safetensors dtype';
    fail('ERR_SAFETENSORS_DTYPE', `tensor ${label(name)} has dtype ${JSON.stringify(formatName.slice(0, 40))}: ${why} (mixprec reads ${[...fromFormat.keys()].join(', ')})`);
  }
  const [begin, end] = offsets;
  if (end < begin) fail('ERR_SAFETENSORS_OFFSETS', `tensor ${label(name)}: data_offsets [${begin}, ${end}] end before they begin`);
  let bytes = FORMAT_DTYPES[formatRank.get(formatName)!][1];
  for (const d of shape) {
    bytes *= d;
    if (!Number.isSafeInteger(bytes)) fail('ERR_SAFETENSORS_OVERFLOW', `tensor ${label(name)}: shape [${shape.join(', ')}] × ${formatName} overflows 2^53 - 1 bytes`);
  }
  if (end - begin !== bytes) fail('ERR_SAFETENSORS_SIZE', `tensor ${label(name)}: shape [${shape.join(', ')}] of ${formatName} needs ${bytes} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  return { name, dtype, shape, begin, end };
}

/**
 * Parses and validates a header: UTF-8 JSON without duplicate keys, string metadata, known
 * dtypes, sizes that match the shapes, and offsets that tile the `dataBytes`-byte data section
 * exactly (no gap, no overlap, nothing after the last tensor).
 */
export function parseHeader(bytes: Uint8Array, dataBytes: number): Header {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    fail('ERR_SAFETENSORS_HEADER_JSON', 'the header is not valid UTF-8');
  }
  let json: JsonValue;
  try {
    json = parseStrictJson(text);
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    if (e.kind === 'duplicate') fail('ERR_SAFETENSORS_DUPLICATE_KEY', `the header has a duplicate key ${label(e.path)} (a JSON parser would keep only the last one)`);
    fail('ERR_SAFETENSORS_HEADER_JSON', `the header is not valid JSON: ${e.message}`);
  }
  if (!(json instanceof Map)) fail('ERR_SAFETENSORS_HEADER_JSON', 'the header must be a JSON object');
  let metadata: Record<string, string> = Object.create(null);
  const tensors: TensorEntry[] = [];
  for (const [key, value] of json) {
    if (key === METADATA_KEY) metadata = parseMetadata(value);
    else tensors.push(parseTensor(key, value));
  }
  const byBegin = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of byBegin) {
    if (t.begin !== at) {
      const what = t.begin > at ? `a gap of ${t.begin - at} bytes` : `an overlap of ${at - t.begin} bytes`;
      fail('ERR_SAFETENSORS_OFFSETS', `tensor ${label(t.name)} starts at ${t.begin}, where the data so far ends at ${at}: ${what} (tensors must tile the data section)`);
    }
    at = t.end;
  }
  if (at !== dataBytes) {
    fail('ERR_SAFETENSORS_FILE_SIZE', `the tensors cover ${at} bytes of data but the file holds ${dataBytes} after the header (${at < dataBytes ? 'trailing bytes' : 'the file is truncated'})`);
  }
  return { metadata, tensors, dataStart: 8 + bytes.length };
}

/** One tensor to write. */
export interface WriteEntry {
  name: string;
  dtype: DType;
  shape: number[];
  bytes: number;
}

/** Orders by the reference's dtype order, descending (widest first), then by name's UTF-8 bytes. */
export function writeOrder(entries: WriteEntry[]): WriteEntry[] {
  const rank = (d: DType): number => formatRank.get(formatDType(d))!;
  return [...entries].sort((a, b) => rank(b.dtype) - rank(a.dtype) || Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8')));
}

/**
 * The file's first bytes for `entries` already in {@link writeOrder}: the header's length, then
 * the JSON header (metadata first, tensors packed in order) padded with spaces to a multiple
 * of 8, as the reference writer makes it.
 */
export function encodeHeader(entries: WriteEntry[], metadata: Record<string, string> | undefined): Buffer {
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  let at = 0;
  for (const e of entries) {
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${formatDType(e.dtype)}","shape":[${e.shape.join(',')}],"data_offsets":[${at},${at + e.bytes}]}`);
    at += e.bytes;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}
