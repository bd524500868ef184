/**
 * Reading and writing safetensors files: `save`/`load` (synchronous), `saveAsync`/`loadAsync`
 * (Promises, the same files), and `serialize`/`deserialize` for in-memory bytes.
 *
 * Loading never holds a second copy of the data: each tensor's storage is allocated once the
 * whole header is validated (so every size is backed by bytes the file really has), then the
 * file is read into it through one staging buffer of at most {@link CHUNK_BYTES}.
 */
import * as fs from 'node:fs';
import { Device, type DeviceLike } from '../device';
import { elementSize, isFloatingPoint, parseDType, type DType } from '../dtype';
import { argTypeError, MixprecError } from '../errors';
import { Storage } from '../storage';
import { checkTensor, convert, Tensor } from '../tensor';
import { checkOptions, isOptionsObject } from '../validate';
import { encodeHeader, headerLength, parseHeader, writeOrder, type Header, type TensorEntry, type WriteEntry } from './safetensorsFormat';

/** Bytes moved per read or write between a file and a tensor's storage (a multiple of 8). */
export const CHUNK_BYTES = 8 << 20;

/** Options of {@link save}. */
export interface SaveOptions {
  /** `__metadata__`: string keys to string values. */
  metadata?: Record<string, string>;
}

/** Options of {@link load}. */
export interface LoadOptions {
  /** Where the tensors go (default 'cpu'). */
  device?: DeviceLike;
  /** Floating-point tensors are converted to this dtype (integer and bool tensors are kept). */
  dtype?: DType;
}

interface LoadPlan {
  device: Device;
  dtype: DType | undefined;
}

/** @internal A file system failure as a MixprecError naming the operation and the path. */
export function ioError(op: string, path: string, e: unknown): MixprecError {
  const why = e instanceof Error ? e.message : String(e);
  return new MixprecError('ERR_IO', `${op}: cannot access '${path}': ${why}`);
}

function checkPath(op: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw argTypeError(op, 'path', 'a non-empty file path string', path);
  return path;
}

function checkLoadOptions(op: string, options: unknown): LoadPlan {
  const o = checkOptions(op, options, ['device', 'dtype']);
  return {
    device: o.device === undefined ? Device.cpu : Device.parse(op, 'options.device', o.device),
    dtype: o.dtype === undefined ? undefined : parseDType(op, 'options.dtype', o.dtype),
  };
}

/** @internal A checked save: the layout, the tensors by name and the header bytes. */
export interface SaveInput {
  entries: WriteEntry[];
  byName: Map<string, Tensor>;
  header: Buffer;
}

/** @internal Checks the tensors and metadata of a save and lays the file out. */
export function prepareSave(op: string, tensors: unknown, options: unknown): SaveInput {
  if (!isOptionsObject(tensors) && !(tensors instanceof Map)) throw argTypeError(op, 'tensors', 'an object or Map of name → Tensor', tensors);
  const o = checkOptions(op, options, ['metadata']);
  let metadata: Record<string, string> | undefined;
  if (o.metadata !== undefined) {
    if (!isOptionsObject(o.metadata)) throw argTypeError(op, 'options.metadata', 'an object of string values', o.metadata);
    metadata = {};
    for (const [key, value] of Object.entries(o.metadata)) {
      if (typeof value !== 'string') throw argTypeError(op, `options.metadata['${key}']`, 'a string (safetensors metadata maps strings to strings)', value);
      metadata[key] = value;
    }
  }
  const byName = new Map<string, Tensor>();
  for (const [name, t] of tensors instanceof Map ? tensors : Object.entries(tensors)) {
    if (typeof name !== 'string') throw argTypeError(op, 'tensors', 'string names', name);
    if (name === '__metadata__') throw argTypeError(op, 'tensors', "names other than '__metadata__' (the format reserves it)", name);
    byName.set(name, checkTensor(op, `tensors['${name}']`, t));
  }
  const entries = writeOrder([...byName].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, bytes: t.numel * elementSize(t.dtype) })));
  return { entries, byName, header: encodeHeader(entries, metadata) };
}

/** The bytes of `t` in chunks of at most CHUNK_BYTES, read back from its storage. */
function* tensorChunks(t: Tensor): Generator<Uint8Array> {
  const size = elementSize(t.dtype);
  const perChunk = CHUNK_BYTES / size;
  for (let at = 0; at < t.numel; at += perChunk) {
    yield new Uint8Array(t.storage.read(t.offset + at, Math.min(perChunk, t.numel - at)));
  }
}

/** The one buffer file reads go through: the largest tensor's bytes, at most CHUNK_BYTES. */
function stagingFor(header: Header): Uint8Array {
  return new Uint8Array(Math.min(CHUNK_BYTES, header.tensors.reduce((m, t) => Math.max(m, t.end - t.begin), 0)));
}

/** Allocates a tensor for `entry` and fills it by `fill(storage)`; frees the storage if filling fails. */
function makeTensor(op: string, entry: TensorEntry, device: Device, fill: (s: Storage) => void): Tensor {
  const numel = entry.shape.reduce((a, b) => a * b, 1);
  const storage = Storage.allocate(op, device, entry.dtype, numel);
  try {
    fill(storage);
  } catch (e) {
    storage.discard();
    throw e;
  }
  return new Tensor(storage, entry.shape);
}

/** Applies `plan.dtype` to floating-point tensors, in place in `out`. */
function convertAll(out: Record<string, Tensor>, plan: LoadPlan): void {
  if (plan.dtype === undefined) return;
  for (const [name, t] of Object.entries(out)) {
    if (t.dtype === plan.dtype || !isFloatingPoint(t.dtype)) continue;
    out[name] = convert(t, plan.dtype, t.device);
    t.dispose();
  }
}

function disposeAll(out: Record<string, Tensor>): void {
  for (const t of Object.values(out)) t.dispose();
}

/** Reads exactly `length` bytes at `position` into `into`, failing if the file ends first. */
function readFully(op: string, path: string, fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    let n: number;
    try {
      n = fs.readSync(fd, into, done, into.length - done, position + done);
    } catch (e) {
      throw ioError(op, path, e);
    }
    if (n === 0) throw new MixprecError('ERR_IO', `${op}: '${path}' ended at byte ${position + done} while reading (was it truncated while loading?)`);
    done += n;
  }
}

function writeFully(op: string, path: string, fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) {
    try {
      done += fs.writeSync(fd, data, done, data.length - done);
    } catch (e) {
      throw ioError(op, path, e);
    }
  }
}

/** Reads and validates the header of the open file `fd`. */
function readHeader(op: string, path: string, fd: number): Header {
  let size: number;
  try {
    size = fs.fstatSync(fd).size;
  } catch (e) {
    throw ioError(op, path, e);
  }
  const prefix = new Uint8Array(8);
  if (size >= 8) readFully(op, path, fd, prefix, 0);
  const n = headerLength(prefix, size);
  const header = new Uint8Array(n);
  readFully(op, path, fd, header, 8);
  return parseHeader(header, size - 8 - n);
}

/** Fills the storage from the file through `staging`. */
function fillFromFile(op: string, path: string, fd: number, storage: Storage, entry: TensorEntry, dataStart: number, staging: Uint8Array): void {
  const size = elementSize(entry.dtype);
  for (let at = entry.begin; at < entry.end; at += staging.length) {
    const chunk = staging.subarray(0, Math.min(staging.length, entry.end - at));
    readFully(op, path, fd, chunk, dataStart + at);
    storage.write((at - entry.begin) / size, chunk);
  }
}

/**
 * Writes `tensors` to `path` as a safetensors file, as the reference writer lays it out.
 * Tensors are saved as they are stored (dtype, shape, device: CUDA tensors are read back).
 *
 * @example
 * ```ts
 * const path = '/tmp/mixprec-save-example.safetensors';
 * mp.save({ weight: mp.ones([2, 3]), step: mp.tensor([7], { dtype: 'int32' }) }, path, { metadata: { format: 'pt' } });
 * const loaded = mp.load(path); // { weight: float32 [2, 3], step: int32 [1] }
 * ```
 */
export function save(tensors: Record<string, Tensor> | Map<string, Tensor>, path: string, options?: SaveOptions): void {
  const op = 'save';
  checkPath(op, path);
  const input = prepareSave(op, tensors, options);
  let fd: number;
  try {
    fd = fs.openSync(path, 'w');
  } catch (e) {
    throw ioError(op, path, e);
  }
  try {
    writeSafetensors(op, path, fd, input);
  } finally {
    fs.closeSync(fd);
  }
}

/** @internal Writes a prepared file to the open file `fd` (named `path` in errors). */
export function writeSafetensors(op: string, path: string, fd: number, input: SaveInput): void {
  writeFully(op, path, fd, input.header);
  for (const e of input.entries) for (const chunk of tensorChunks(input.byName.get(e.name)!)) writeFully(op, path, fd, chunk);
}

/**
 * Loads every tensor of a safetensors file into `{name: Tensor}` (names in header order).
 * The file is validated as strictly as the reference reader does, and duplicate keys are
 * refused; each failure is a MixprecError whose code names the rule (`ERR_SAFETENSORS_*`, see
 * docs/checkpoints.md) and whose message names the tensor. `metadata` comes with {@link loadWithMetadata}.
 *
 * @example
 * ```ts
 * const path = '/tmp/mixprec-load-example.safetensors';
 * mp.save({ w: mp.randn([4]) }, path);
 * const { w } = mp.load(path, { dtype: 'bfloat16' }); // floating tensors converted
 * ```
 */
export function load(path: string, options?: LoadOptions): Record<string, Tensor> {
  return loadWithMetadata(path, options).tensors;
}

/**
 * {@link load}, also returning the file's `__metadata__`.
 *
 * @example
 * ```ts
 * const path = '/tmp/mixprec-meta-example.safetensors';
 * mp.save({ w: mp.zeros([1]) }, path, { metadata: { epoch: '3' } });
 * mp.loadWithMetadata(path).metadata.epoch; // '3'
 * ```
 */
export function loadWithMetadata(path: string, options?: LoadOptions): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const op = 'load';
  checkPath(op, path);
  const plan = checkLoadOptions(op, options);
  plan.device.require(op);
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw ioError(op, path, e);
  }
  const out: Record<string, Tensor> = {};
  try {
    const header = readHeader(op, path, fd);
    const staging = stagingFor(header);
    for (const entry of header.tensors) {
      out[entry.name] = makeTensor(op, entry, plan.device, (s) => fillFromFile(op, path, fd, s, entry, header.dataStart, staging));
    }
    convertAll(out, plan);
    return { tensors: out, metadata: header.metadata };
  } catch (e) {
    disposeAll(out);
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The safetensors bytes of `tensors` (what {@link save} writes), in memory.
 *
 * @example
 * ```ts
 * const bytes = mp.serialize({ x: mp.arange(4) }, { metadata: { note: 'hi' } });
 * const { x } = mp.deserialize(bytes).tensors;
 * ```
 */
export function serialize(tensors: Record<string, Tensor> | Map<string, Tensor>, options?: SaveOptions): Buffer {
  const { entries, byName, header } = prepareSave('serialize', tensors, options);
  const parts: Uint8Array[] = [header];
  for (const e of entries) parts.push(...tensorChunks(byName.get(e.name)!));
  return Buffer.concat(parts);
}

/**
 * Tensors and metadata from safetensors bytes, validated as {@link load} does.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = mp.deserialize(mp.serialize({ x: mp.ones([2]) }));
 * ```
 */
export function deserialize(bytes: Uint8Array, options?: LoadOptions): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const op = 'deserialize';
  if (!(bytes instanceof Uint8Array)) throw argTypeError(op, 'bytes', 'a Uint8Array or Buffer', bytes);
  const plan = checkLoadOptions(op, options);
  plan.device.require(op);
  const n = headerLength(bytes, bytes.length);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n);
  const out: Record<string, Tensor> = {};
  try {
    for (const entry of header.tensors) {
      const from = header.dataStart + entry.begin;
      const data = bytes.subarray(from, header.dataStart + entry.end);
      // The storage copies; a misaligned view is fine for a byte copy.
      out[entry.name] = makeTensor(op, entry, plan.device, (s) => s.write(0, data));
    }
    convertAll(out, plan);
  } catch (e) {
    disposeAll(out);
    throw e;
  }
  return { tensors: out, metadata: header.metadata };
}

/** Reads exactly `into.length` bytes at `position` from an open FileHandle. */
async function readFullyAsync(op: string, path: string, fh: fs.promises.FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    let n: number;
    try {
      n = (await fh.read(into, done, into.length - done, position + done)).bytesRead;
    } catch (e) {
      throw ioError(op, path, e);
    }
    if (n === 0) throw new MixprecError('ERR_IO', `${op}: '${path}' ended at byte ${position + done} while reading (was it truncated while loading?)`);
    done += n;
  }
}

/**
 * {@link save} without blocking the event loop on the disk: the same file, written through a
 * FileHandle. Tensors are read from their storages chunk by chunk, so do not write to them
 * before the Promise settles.
 *
 * @example
 * ```ts
 * const path = '/tmp/mixprec-save-async-example.safetensors';
 * await mp.saveAsync({ w: mp.ones([3]) }, path);
 * const { w } = await mp.loadAsync(path); // float32 [3]
 * ```
 */
export async function saveAsync(tensors: Record<string, Tensor> | Map<string, Tensor>, path: string, options?: SaveOptions): Promise<void> {
  const op = 'saveAsync';
  checkPath(op, path);
  const { entries, byName, header } = prepareSave(op, tensors, options);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, 'w');
  } catch (e) {
    throw ioError(op, path, e);
  }
  try {
    await fh.write(header);
    for (const e of entries) for (const chunk of tensorChunks(byName.get(e.name)!)) await fh.write(chunk);
  } catch (e) {
    throw e instanceof MixprecError ? e : ioError(op, path, e);
  } finally {
    await fh.close();
  }
}

/**
 * {@link load} without blocking the event loop on the disk; the same validation and errors.
 *
 * @example
 * ```ts
 * const path = '/tmp/mixprec-load-async-example.safetensors';
 * mp.save({ w: mp.ones([3]) }, path);
 * const { w } = await mp.loadAsync(path);
 * ```
 */
export async function loadAsync(path: string, options?: LoadOptions): Promise<Record<string, Tensor>> {
  return (await loadWithMetadataAsyncAs('loadAsync', path, options)).tensors;
}

/**
 * {@link loadWithMetadata} without blocking the event loop on the disk.
 *
 * @example
 * ```ts
 * const path = '/tmp/mixprec-meta-async-example.safetensors';
 * mp.save({ w: mp.ones([3]) }, path, { metadata: { step: '1' } });
 * const { tensors, metadata } = await mp.loadWithMetadataAsync(path);
 * ```
 */
export function loadWithMetadataAsync(path: string, options?: LoadOptions): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  return loadWithMetadataAsyncAs('loadWithMetadataAsync', path, options);
}

async function loadWithMetadataAsyncAs(op: string, path: string, options: LoadOptions | undefined): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  checkPath(op, path);
  const plan = checkLoadOptions(op, options);
  plan.device.require(op);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, 'r');
  } catch (e) {
    throw ioError(op, path, e);
  }
  const out: Record<string, Tensor> = {};
  try {
    const size = (await fh.stat()).size;
    const prefix = new Uint8Array(8);
    if (size >= 8) await readFullyAsync(op, path, fh, prefix, 0);
    const n = headerLength(prefix, size);
    const headerBytes = new Uint8Array(n);
    await readFullyAsync(op, path, fh, headerBytes, 8);
    const header = parseHeader(headerBytes, size - 8 - n);
    const staging = stagingFor(header);
    for (const entry of header.tensors) {
      const numel = entry.shape.reduce((a, b) => a * b, 1);
      const storage = Storage.allocate(op, plan.device, entry.dtype, numel);
      try {
        for (let at = entry.begin; at < entry.end; at += staging.length) {
          const chunk = staging.subarray(0, Math.min(staging.length, entry.end - at));
          await readFullyAsync(op, path, fh, chunk, header.dataStart + at);
          storage.write((at - entry.begin) / elementSize(entry.dtype), chunk);
        }
      } catch (e) {
        storage.discard();
        throw e;
      }
      out[entry.name] = new Tensor(storage, entry.shape);
    }
    convertAll(out, plan);
    return { tensors: out, metadata: header.metadata };
  } catch (e) {
    disposeAll(out);
    throw e;
  } finally {
    await fh.close();
  }
}
