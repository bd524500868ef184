/**
 * Loads the native addon and declares what it exports. Only the bottom layer (lib/*.ts)
 * and lib/ops call it; everything above goes through their typed wrappers (test/layers.test.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { errorFromNative, MixprecError } from './errors';
import { nativeCandidates } from './nativePath';

/** Opaque handle to a block of native memory. */
export type StorageHandle = { readonly __storage: unique symbol };
/** Counts one live tensor until untracked or garbage-collected (tensorCountBindings.cpp). */
export type TensorToken = { readonly __tensorToken: unique symbol };

export interface NativeInfo {
  simdDetected: string;
  simdActive: string;
  numThreads: number;
  cudaCompiled: boolean;
  cudaDeviceCount: number;
  cudaUnavailableReason: string;
  /** CUDA runtime and driver versions (1000 * major + 10 * minor; driver 0: none installed), 0 without CUDA. */
  cudaRuntimeVersion: number;
  cudaDriverVersion: number;
  /** The error name of the CUDA device-count query, '' when it succeeded or CUDA is not compiled. */
  cudaError: string;
}

/** A device as the addon names it: the cpu is { type: 'cpu', index: 0 }. */
export interface NativeDevice {
  type: 'cpu' | 'cuda';
  index: number;
}

export interface NativeMemoryStats {
  bytes: number;
  peakBytes: number;
  devices: (NativeDevice & { bytes: number; peakBytes: number; dtypes: { storages: number; bytes: number }[] })[];
}

/** Elements of a storage from `offset` (in elements) on. */
export interface NativeOperand {
  storage: StorageHandle;
  offset: number;
}

/** An operand read along the call's shape with one stride per dimension (0: broadcast). */
export interface NativeStrided extends NativeOperand {
  strides: number[];
}

/** An operand with its own contiguous shape. */
export interface NativeShaped extends NativeOperand {
  shape: number[];
}

/** A matmul operand: strides over the batch shape and of its rows and columns. */
export interface NativeMatrix extends NativeOperand {
  batchStrides: number[];
  rowStride: number;
  colStride: number;
}

/** Lists of tensors for a multi-tensor call: handles[l][i] / offsets[l][i] locate tensor i of list l, holding numels[i] elements. */
export interface NativeLists {
  dtype: number;
  numels: number[];
  handles: StorageHandle[][];
  offsets: number[][];
}

/** A convolution's geometry (csrc/cpu/convKernels.cpp): `planes` input channels per image. */
export interface NativeConvGeometry {
  dtype: number;
  batch: number;
  planes: number;
  height: number;
  width: number;
  outChannels: number;
  groups: number;
  window: NativeWindow;
}

/** An unfold / fold window: kernel size, dilation, padding and stride per axis. */
export interface NativeWindow {
  kh: number;
  kw: number;
  dh: number;
  dw: number;
  ph: number;
  pw: number;
  sh: number;
  sw: number;
}

export interface NativeSgdOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export interface NativeAdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: weight decay applied to the parameter, not added to the gradient. */
  decoupled: boolean;
  amsgrad: boolean;
  maximize: boolean;
}

export interface NativeScaleUpdateOptions {
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  hysteresis: number;
  minScale: number;
  maxScale: number;
}

export interface NativeBinaryArgs {
  op: number;
  dtype: number;
  a: NativeStrided;
  b: NativeStrided;
  out: NativeOperand;
  shape: number[];
}

export interface NativeMatmulArgs {
  /** The product's dtype. */
  dtype: number;
  a: NativeMatrix;
  b: NativeMatrix;
  out: NativeOperand;
  batchShape: number[];
  m: number;
  n: number;
  k: number;
  /**
   * Cast fusion (CPU only): float32 for an operand stored as float32 that a float16/bfloat16
   * product rounds as it reads, or for a float32 output holding the rounded result. Absent: dtype.
   */
  aDtype?: number;
  bDtype?: number;
  outDtype?: number;
}

/**
 * Multi-tensor calls (csrc/napi/optimizerBindings.cpp). gradScale / foundInf: float32
 * one-element operands, or null. SGD lists: params, grads, steps, momentumBuffers (the last two
 * empty without momentum).
 */
export interface NativeSgdArgs {
  lists: NativeLists;
  gradScale: NativeOperand | null;
  foundInf: NativeOperand | null;
  options: NativeSgdOptions;
}

/** Adam lists: params, grads, steps, expAvgs, expAvgSqs, maxExpAvgSqs (empty without amsgrad). */
export interface NativeAdamArgs {
  lists: NativeLists;
  gradScale: NativeOperand | null;
  foundInf: NativeOperand | null;
  options: NativeAdamOptions;
}

/** out (float32, one element) = the normType-norm of all elements of the one list together. */
export interface NativeNormArgs {
  lists: NativeLists;
  normType: number;
  out: NativeOperand;
}

/** Multiplies every element of the one list by the float32 scalar `scale`, in place. */
export interface NativeScaleArgs {
  lists: NativeLists;
  scale: NativeOperand;
}

/** Clamps every element of the one list to [min, max], in place. */
export interface NativeClampArgs {
  lists: NativeLists;
  min: number;
  max: number;
}

/** GradScaler's pass over the grads list: non-finite check (flags) and, with a scale, multiply by 1/scale in place. */
export interface NativeUnscaleArgs {
  lists: NativeLists;
  scale: NativeOperand | null;
  foundInf: NativeOperand;
  flags: NativeOperand | null;
}

/**
 * The fused kernels' operands: data [rows, cols] contiguous in `dtype`; the per-row and
 * per-column vectors (norm weight/bias, mean, rstd, losses, lse, scale, dweight, dbias) in the
 * op-math dtype (float64 for float64 data, float32 otherwise); optional ones null.
 */
export interface NativeNormForwardArgs {
  rms: boolean; dtype: number; x: NativeOperand; weight: NativeOperand | null; bias: NativeOperand | null; y: NativeOperand;
  mean: NativeOperand; rstd: NativeOperand; rows: number; cols: number; eps: number;
}
export interface NativeNormBackwardArgs {
  rms: boolean; dtype: number; dy: NativeOperand; x: NativeOperand; weight: NativeOperand | null; mean: NativeOperand;
  rstd: NativeOperand; dx: NativeOperand; dweight: NativeOperand | null; dbias: NativeOperand | null; rows: number; cols: number;
}
/** bias [cols] in `dtype`. */
export interface NativeGeluArgs {
  tanh: boolean; dtype: number; x: NativeOperand; bias: NativeOperand | null; rows: number; cols: number;
}
export interface NativeCrossEntropyArgs {
  dtype: number; logits: NativeOperand; target: NativeOperand; lse: NativeOperand; rows: number; cols: number;
  ignoreIndex: number; smoothing: number;
}

type CastArgs = [src: StorageHandle, srcOffset: number, srcDtype: number, dst: StorageHandle, dstOffset: number, dstDtype: number, n: number];

/**
 * The test surface (`_test`): scalar CPU references the tests compare the fast paths against,
 * and the peak probe the benchmarks use. The library never calls these.
 */
export interface NativeTestHooks {
  castReference(...args: CastArgs): void;
  matmulReference(args: NativeMatmulArgs): void;
  sgdStepReference(args: NativeSgdArgs): void;
  adamStepReference(args: NativeAdamArgs): void;
  multiTensorNormReference(args: NativeNormArgs): void;
  multiTensorScaleReference(args: NativeScaleArgs): void;
  multiTensorClampReference(args: NativeClampArgs): void;
  ampUnscaleReference(args: NativeUnscaleArgs): void;
  /** GFLOP/s of a register-only loop on this thread: kind 0 zmm FMA, 1 zmm VDPBF16PS, 2 ymm FMA; 0 when unsupported. */
  peakProbe(kind: number, iterations: number): number;
}

/** A collective in flight (csrc/napi/distBindings.cpp): wait on it with distWait. */
export type WorkHandle = { readonly __work: unique symbol };

/**
 * One collective for the distributed engine (csrc/distributed). count: the elements each rank
 * contributes (allReduce, broadcast: the tensor; allGather: the input; reduceScatter: the
 * output); size: the world size. Barrier needs only kind and id.
 */
export interface NativeCollectiveArgs {
  kind: 'allReduce' | 'broadcast' | 'allGather' | 'reduceScatter' | 'barrier';
  id: number;
  dtype?: number;
  op?: string;
  root?: number;
  count?: number;
  size?: number;
  input?: NativeOperand;
  output?: NativeOperand;
}

/** The addon's code tables (csrc/napi/enumBindings.cpp): lib's names to native codes (dtypeSize: bytes). */
export type NativeEnumName = 'dtype' | 'dtypeSize' | 'binaryOp' | 'unaryOp' | 'compareOp' | 'reduceKind' | 'randomKind' | 'peakKind';

/** The addon's functions; dtype, op and kind arguments are codes from `enums` (lib/nativeTable.ts reads them). */
export interface NativeAddon {
  enums: Readonly<Record<NativeEnumName, Readonly<Record<string, number>>>>;
  setErrorFactory(factory: (kind: string, code: string, message: string) => Error): void;
  info(): NativeInfo;
  setSimdLevel(level: string): boolean;
  /** Waits for the device's queued work. */
  synchronize(device: NativeDevice): void;
  /** Compute capability of a CUDA device as major * 10 + minor (90 for sm_90). */
  computeCapability(device: NativeDevice): number;
  alloc(device: NativeDevice, dtype: number, numel: number, zeroed: boolean): StorageHandle;
  release(handle: StorageHandle): void;
  isReleased(handle: StorageHandle): boolean;
  write(handle: StorageHandle, offset: number, dtype: number, data: ArrayBufferView): void;
  read(handle: StorageHandle, offset: number, numel: number, dtype: number, asDtype?: number): ArrayBuffer;
  /** Like read, into `out`, which must hold exactly numel asDtype elements. */
  readInto(handle: StorageHandle, offset: number, numel: number, dtype: number, asDtype: number, out: ArrayBufferView): void;
  readAsync(handle: StorageHandle, offset: number, numel: number, dtype: number, asDtype?: number): Promise<ArrayBuffer>;
  copy(dst: StorageHandle, dstOffset: number, src: StorageHandle, srcOffset: number, numel: number, dtype: number): void;
  /** A fresh tensor-count key (memory.ts takes one per device and dtype of its module instance). */
  newCountKey(): number;
  /** A token counting one live tensor under `key`. */
  trackTensor(key: number): TensorToken;
  /** The token's tensor was disposed; idempotent. */
  untrackTensor(token: TensorToken): void;
  /** Tensors live, and freed by the garbage collector without dispose, by key (index = key). */
  tensorCounts(): { live: number[]; collected: number[] };
  memoryStats(): NativeMemoryStats;
  resetPeakMemory(): void;
  cpuCacheInfo(): { cachedBytes: number; limitBytes: number; hits: number; misses: number };
  /** Frees the cached CPU blocks; returns the bytes released. */
  emptyCpuCache(): number;
  cast(...args: CastArgs): void;
  binary(args: NativeBinaryArgs): void;
  binaryScalar(op: number, dtype: number, a: StorageHandle, aOffset: number, scalar: number, scalarFirst: boolean,
    out: StorageHandle, outOffset: number, n: number): void;
  unary(op: number, dtype: number, a: StorageHandle, aOffset: number, out: StorageHandle, outOffset: number, n: number, p0: number, p1: number): void;
  /** out is bool. */
  compare(args: NativeBinaryArgs): void;
  compareScalar(op: number, dtype: number, a: StorageHandle, aOffset: number, scalar: number, out: StorageHandle, outOffset: number, n: number): void;
  stridedCopy(args: { dtype: number; src: NativeStrided; dst: NativeStrided; shape: number[] }): void;
  fill(dtype: number, out: StorageHandle, outOffset: number, n: number, value: number): void;
  reduceSum(inDtype: number, input: StorageHandle, inOffset: number, outDtype: number, out: StorageHandle, outOffset: number,
    outer: number, size: number, inner: number, mean: boolean): void;
  reduceAlong(kind: number, inDtype: number, input: StorageHandle, inOffset: number, outDtype: number, out: StorageHandle, outOffset: number,
    outer: number, size: number, inner: number, p0: number): void;
  softmax(log: boolean, dtype: number, input: StorageHandle, inOffset: number, out: StorageHandle, outOffset: number,
    outer: number, size: number, inner: number): void;
  matmul(args: NativeMatmulArgs): void;
  random(kind: number, dtype: number, out: StorageHandle, outOffset: number, n: number, seed: bigint, offset: bigint, a: number, b: number): void;
  arange(dtype: number, out: StorageHandle, outOffset: number, n: number, start: number, step: number): void;
  linspace(dtype: number, out: StorageHandle, outOffset: number, n: number, start: number, end: number): void;
  eye(dtype: number, out: StorageHandle, outOffset: number, rows: number, cols: number): void;
  where(args: { dtype: number; cond: NativeStrided; a: NativeStrided; b: NativeStrided; out: NativeOperand; shape: number[] }): void;
  /** The index-taking kernels return the position of the first out-of-range index (checked before any write), or -1; always -1 on CUDA. */
  gather(args: { dtype: number; input: NativeShaped; index: NativeShaped; out: NativeOperand; dim: number }): number;
  scatterAdd(args: { dtype: number; input: NativeShaped; index: NativeShaped; src: NativeShaped; out: NativeOperand; dim: number }): number;
  /** input viewed as [outer, size, inner], out as [outer, count, inner]. */
  indexSelect(args: { dtype: number; input: NativeOperand; index: NativeOperand; out: NativeOperand; outer: number; size: number;
    inner: number; count: number }): number;
  indexAdd(args: { dtype: number; input: NativeOperand; index: NativeOperand; source: NativeOperand; out: NativeOperand; outer: number;
    size: number; inner: number; count: number }): number;
  unfold(args: { dtype: number; input: NativeOperand; out: NativeOperand; planes: number; height: number; width: number;
    window: NativeWindow; padValue: number }): void;
  fold(args: { dtype: number; input: NativeOperand; out: NativeOperand; planes: number; height: number; width: number;
    window: NativeWindow }): void;
  conv2dForward(args: NativeConvGeometry & { input: NativeOperand; weight: NativeOperand; bias: NativeOperand | null; out: NativeOperand }): void;
  conv2dBackwardInput(args: NativeConvGeometry & { gradOut: NativeOperand; weight: NativeOperand; gradInput: NativeOperand }): void;
  conv2dBackwardWeight(args: NativeConvGeometry & { input: NativeOperand; gradOut: NativeOperand; gradWeight: NativeOperand }): void;
  /** Max pooling of `planes` images: each window's first maximum (NaN wins) and its slot ki * kw + kj (int32). */
  maxPool2dForward(args: { dtype: number; input: NativeOperand; out: NativeOperand; slots: NativeOperand; planes: number; height: number;
    width: number; window: NativeWindow }): void;
  /** dx of max pooling: the gradients summed at the pixels the slots name (fold's order and rounding). */
  maxPool2dBackward(args: { dtype: number; gradOut: NativeOperand; slots: NativeOperand; gradInput: NativeOperand; planes: number;
    height: number; width: number; window: NativeWindow }): void;
  sgdStep(args: NativeSgdArgs): void;
  adamStep(args: NativeAdamArgs): void;
  multiTensorNorm(args: NativeNormArgs): void;
  multiTensorScale(args: NativeScaleArgs): void;
  multiTensorClamp(args: NativeClampArgs): void;
  ampUnscale(args: NativeUnscaleArgs): void;
  /** GradScaler's scale update on the scale's device (core/ampMath.h); every operand is one element (stats: the counters). */
  ampUpdateScale(args: { scale: NativeOperand; tracker: NativeOperand; hysteresisLeft: NativeOperand; foundInf: NativeOperand;
    stats: NativeOperand; options: NativeScaleUpdateOptions }): void;
  /** Fused scaled dot-product attention (core/attentionMath.h): writes out and the row logsumexp. */
  attentionForward(args: NativeAttentionArgs & { out: NativeOperand; lse: NativeOperand }): void;
  /** Its backward: recomputes the weights from lse and writes gradQ, gradK, gradV. */
  attentionBackward(args: NativeAttentionArgs & { out: NativeOperand; gradOut: NativeOperand; lse: NativeOperand;
    gradQ: NativeOperand; gradK: NativeOperand; gradV: NativeOperand }): void;
  /** Whether the engine of a distributed backend can be loaded here, and why not. */
  distAvailability(backend: 'mpi' | 'nccl'): { available: boolean; reason: string };
  /** Initializes MPI (once per process) and makes the process group; onComplete(id) hears of every collective's end. */
  distInit(args: { backend: 'mpi' | 'nccl'; timeoutMs: number; onComplete: (id: number) => void }): { rank: number; worldSize: number; library: string };
  /** Waits for the queued collectives, then frees the group. */
  distDestroy(): void;
  distSubmit(args: NativeCollectiveArgs): WorkHandle;
  /** Blocks until the collective ends; throws its error. */
  distWait(work: WorkHandle): void;
  distCompleted(work: WorkHandle): boolean;
  normForward(args: NativeNormForwardArgs): void;
  normBackward(args: NativeNormBackwardArgs): void;
  biasGelu(args: NativeGeluArgs & { y: NativeOperand }): void;
  geluBackward(args: NativeGeluArgs & { dy: NativeOperand; dx: NativeOperand }): void;
  /** Returns the first row whose target is neither a class nor ignoreIndex, or -1 (always -1 on CUDA, which writes NaN there). */
  crossEntropyForward(args: NativeCrossEntropyArgs & { losses: NativeOperand }): number;
  crossEntropyBackward(args: NativeCrossEntropyArgs & { scale: NativeOperand; dlogits: NativeOperand }): void;
  _test: NativeTestHooks;
}

/**
 * The geometry of a fused attention call: q [batch, L, E], k [batch, S, E], v [batch, S, Ev];
 * the mask (maskKind 1: bool, 2: additive in the inputs' dtype) read at
 * (b / heads) * outer + (b % heads) * head + i * row + j * col; dropout's Philox seed and offset.
 */
export interface NativeAttentionShape {
  batch: number; heads: number; L: number; S: number; E: number; Ev: number; scale: number; causal: boolean;
  maskKind: number; maskStrides: number[]; dropoutP: number; seed: bigint; offset: bigint;
}

export interface NativeAttentionArgs {
  dtype: number; q: NativeOperand; k: NativeOperand; v: NativeOperand; mask: NativeOperand | null;
  shape: NativeAttentionShape;
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function load(): NativeAddon {
  const root = path.join(__dirname, '..');
  const tried: string[] = [];
  for (const { file, source } of nativeCandidates(root, process.env, process.platform, process.arch, listDir)) {
    if (source !== 'MIXPREC_NATIVE_PATH' && !fs.existsSync(file)) {
      tried.push(`${file} (${source}): not found`);
      continue;
    }
    try {
      const addon = require(file) as NativeAddon;
      addon.setErrorFactory(errorFromNative);
      return addon;
    } catch (e) {
      // Read the message structurally: an error thrown by another realm's require is no `Error` here.
      const message = typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e);
      tried.push(`${file} (${source}): ${message}`);
    }
  }
  throw new MixprecError('ERR_NATIVE_ADDON', `mixprec: cannot load the native addon; tried\n  ${tried.join('\n  ')}\n` +
    `Run 'npm install' in the mixprec package (or 'npm run build:native' in a checkout) to build it from source.`);
}

/** The loaded addon (one per JS environment: main thread or worker). */
export const native: NativeAddon = load();
