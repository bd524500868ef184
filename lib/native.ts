/**
 * Loads the native addon and declares what it exports. Only the tensor and memory layers call
 * it; everything above goes through them.
 */
import * as path from 'node:path';

import { errorFromNative } from './errors';

/** Opaque handle to a block of native memory. */
export type StorageHandle = { readonly __storage: unique symbol };

export interface NativeInfo {
  simdDetected: string;
  simdActive: string;
  numThreads: number;
  cudaCompiled: boolean;
  cudaDeviceCount: number;
  cudaUnavailableReason: string;
}

export interface NativeMemoryStats {
  bytes: number;
  peakBytes: number;
  devices: { device: number; bytes: number; peakBytes: number; dtypes: { storages: number; bytes: number }[] }[];
}

/** The addon's code tables (csrc/napi/enumBindings.cpp): lib's names to native codes (dtypeSize: bytes). */
export type NativeEnumName = 'dtype' | 'dtypeSize' | 'binaryOp' | 'unaryOp' | 'compareOp' | 'reduceKind' | 'randomKind' | 'peakKind';

/** The addon's functions; dtype, op and kind arguments are codes from `enums` (lib/nativeTable.ts reads them). */
export interface NativeAddon {
  enums: Readonly<Record<NativeEnumName, Readonly<Record<string, number>>>>;
  setErrorFactory(factory: (kind: string, code: string, message: string) => Error): void;
  info(): NativeInfo;
  setSimdLevel(level: string): boolean;
  cudaSynchronize(device: number): void;
  /** Compute capability as major * 10 + minor (90 for sm_90). */
  cudaCapability(device: number): number;
  alloc(device: number, dtype: number, numel: number, zeroed: boolean): StorageHandle;
  release(handle: StorageHandle): void;
  isReleased(handle: StorageHandle): boolean;
  write(handle: StorageHandle, offset: number, dtype: number, data: ArrayBufferView): void;
  read(handle: StorageHandle, offset: number, numel: number, dtype: number, asDtype?: number): ArrayBuffer;
  readAsync(handle: StorageHandle, offset: number, numel: number, dtype: number, asDtype?: number): Promise<ArrayBuffer>;
  copy(dst: StorageHandle, dstOffset: number, src: StorageHandle, srcOffset: number, numel: number, dtype: number): void;
  memoryStats(): NativeMemoryStats;
  resetPeakMemory(): void;
  cpuCacheInfo(): { cachedBytes: number; limitBytes: number; hits: number; misses: number };
  /** Frees the cached CPU blocks; returns the bytes released. */
  emptyCpuCache(): number;
  cast(src: StorageHandle, srcOffset: number, srcDtype: number, dst: StorageHandle, dstOffset: number, dstDtype: number, n: number): void;
  castReference(src: StorageHandle, srcOffset: number, srcDtype: number, dst: StorageHandle, dstOffset: number, dstDtype: number, n: number): void;
  binary(op: number, dtype: number, a: StorageHandle, aOffset: number, aStrides: number[], b: StorageHandle, bOffset: number,
    bStrides: number[], out: StorageHandle, outOffset: number, shape: number[]): void;
  binaryScalar(op: number, dtype: number, a: StorageHandle, aOffset: number, scalar: number, scalarFirst: boolean,
    out: StorageHandle, outOffset: number, n: number): void;
  unary(op: number, dtype: number, a: StorageHandle, aOffset: number, out: StorageHandle, outOffset: number, n: number, p0: number, p1: number): void;
  compare(op: number, dtype: number, a: StorageHandle, aOffset: number, aStrides: number[], b: StorageHandle, bOffset: number,
    bStrides: number[], out: StorageHandle, outOffset: number, shape: number[]): void;
  compareScalar(op: number, dtype: number, a: StorageHandle, aOffset: number, scalar: number, out: StorageHandle, outOffset: number, n: number): void;
  stridedCopy(dtype: number, src: StorageHandle, srcOffset: number, srcStrides: number[], dst: StorageHandle, dstOffset: number,
    dstStrides: number[], shape: number[]): void;
  fill(dtype: number, out: StorageHandle, outOffset: number, n: number, value: number): void;
  reduceSum(inDtype: number, input: StorageHandle, inOffset: number, outDtype: number, out: StorageHandle, outOffset: number,
    outer: number, size: number, inner: number, mean: boolean): void;
  reduceAlong(kind: number, inDtype: number, input: StorageHandle, inOffset: number, outDtype: number, out: StorageHandle, outOffset: number,
    outer: number, size: number, inner: number, p0: number): void;
  softmax(log: boolean, dtype: number, input: StorageHandle, inOffset: number, out: StorageHandle, outOffset: number,
    outer: number, size: number, inner: number): void;
  matmul(dtype: number, a: StorageHandle, aOffset: number, aBatchStrides: number[], aRowStride: number, aColStride: number,
    b: StorageHandle, bOffset: number, bBatchStrides: number[], bRowStride: number, bColStride: number,
    out: StorageHandle, outOffset: number, batchShape: number[], m: number, n: number, k: number): void;
  /** The scalar reference matmul (CPU only), which the GEMM tests compare the fast paths against. */
  matmulReference(dtype: number, a: StorageHandle, aOffset: number, aBatchStrides: number[], aRowStride: number, aColStride: number,
    b: StorageHandle, bOffset: number, bBatchStrides: number[], bRowStride: number, bColStride: number,
    out: StorageHandle, outOffset: number, batchShape: number[], m: number, n: number, k: number): void;
  /** GFLOP/s of a register-only loop on this thread: kind 0 zmm FMA, 1 zmm VDPBF16PS, 2 ymm FMA; 0 when unsupported. */
  peakProbe(kind: number, iterations: number): number;
  random(kind: number, dtype: number, out: StorageHandle, outOffset: number, n: number, seed: bigint, offset: bigint, a: number, b: number): void;
  arange(dtype: number, out: StorageHandle, outOffset: number, n: number, start: number, step: number): void;
  linspace(dtype: number, out: StorageHandle, outOffset: number, n: number, start: number, end: number): void;
  eye(dtype: number, out: StorageHandle, outOffset: number, rows: number, cols: number): void;
  where(dtype: number, cond: StorageHandle, condOffset: number, condStrides: number[], a: StorageHandle, aOffset: number, aStrides: number[],
    b: StorageHandle, bOffset: number, bStrides: number[], out: StorageHandle, outOffset: number, shape: number[]): void;
  /** The index-taking kernels return the position of the first out-of-range index (checked before any write), or -1; always -1 on CUDA. */
  gather(dtype: number, input: StorageHandle, inOffset: number, inputShape: number[], index: StorageHandle, indexOffset: number,
    indexShape: number[], out: StorageHandle, outOffset: number, dim: number): number;
  scatterAdd(dtype: number, input: StorageHandle, inOffset: number, inputShape: number[], index: StorageHandle, indexOffset: number,
    indexShape: number[], src: StorageHandle, srcOffset: number, srcShape: number[], out: StorageHandle, outOffset: number, dim: number): number;
  indexSelect(dtype: number, input: StorageHandle, inOffset: number, index: StorageHandle, indexOffset: number, out: StorageHandle,
    outOffset: number, outer: number, size: number, inner: number, count: number): number;
  indexAdd(dtype: number, input: StorageHandle, inOffset: number, index: StorageHandle, indexOffset: number, source: StorageHandle,
    sourceOffset: number, out: StorageHandle, outOffset: number, outer: number, size: number, inner: number, count: number): number;
  /** window: [kh, kw, dh, dw, ph, pw, sh, sw]. */
  unfold(dtype: number, input: StorageHandle, inOffset: number, out: StorageHandle, outOffset: number, planes: number, height: number,
    width: number, window: number[], padValue: number): void;
  fold(dtype: number, input: StorageHandle, inOffset: number, out: StorageHandle, outOffset: number, planes: number, height: number,
    width: number, window: number[]): void;
  /**
   * Multi-tensor calls (csrc/napi/optimizerBindings.cpp): handles[l][i] / offsets[l][i] locate
   * tensor i of list l, holding numels[i] elements (a step counter: one float32). `reference`
   * runs the scalar CPU reference. gradScale / foundInf: float32 one-element storages, or null.
   * SGD lists: params, grads, steps, momentumBuffers (the last two empty without momentum).
   */
  sgdStep(dtype: number, numels: number[], handles: StorageHandle[][], offsets: number[][], gradScale: StorageHandle | null,
    gradScaleOffset: number, foundInf: StorageHandle | null, foundInfOffset: number, lr: number, momentum: number,
    dampening: number, weightDecay: number, nesterov: boolean, maximize: boolean, reference: boolean): void;
  /** Adam lists: params, grads, steps, expAvgs, expAvgSqs, maxExpAvgSqs (empty without amsgrad). */
  adamStep(dtype: number, numels: number[], handles: StorageHandle[][], offsets: number[][], gradScale: StorageHandle | null,
    gradScaleOffset: number, foundInf: StorageHandle | null, foundInfOffset: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, decoupled: boolean, amsgrad: boolean, maximize: boolean, reference: boolean): void;
  /** out (float32, one element) = the normType-norm of all elements of handles[0] together. */
  multiTensorNorm(dtype: number, numels: number[], handles: StorageHandle[][], offsets: number[][], normType: number,
    out: StorageHandle, outOffset: number, reference: boolean): void;
  /** Multiplies every element of handles[0] by the float32 scalar `scale`, in place. */
  /** GradScaler's pass: non-finite check (flags) and, with a scale, multiply by 1/scale in place. */
  ampUnscale(dtype: number, numels: number[], handles: StorageHandle[][], offsets: number[][], scale: StorageHandle | null,
    scaleOffset: number, foundInf: StorageHandle, foundInfOffset: number, flags: StorageHandle | null, flagsOffset: number,
    reference: boolean): void;
  /** GradScaler's scale update on the scale's device (core/ampMath.h). */
  ampUpdateScale(scale: StorageHandle, scaleOffset: number, tracker: StorageHandle, trackerOffset: number,
    hysteresisLeft: StorageHandle, hysteresisOffset: number, foundInf: StorageHandle, foundInfOffset: number,
    stats: StorageHandle, statsOffset: number, growthFactor: number, backoffFactor: number, growthInterval: number,
    hysteresis: number, minScale: number, maxScale: number): void;
  multiTensorScale(dtype: number, numels: number[], handles: StorageHandle[][], offsets: number[][], scale: StorageHandle,
    scaleOffset: number, reference: boolean): void;
  /** Clamps every element of handles[0] to [min, max], in place. */
  multiTensorClamp(dtype: number, numels: number[], handles: StorageHandle[][], offsets: number[][], min: number, max: number,
    reference: boolean): void;
}

function load(): NativeAddon {
  const file = process.env.MIXPREC_NATIVE_PATH ?? path.join(__dirname, '..', 'build', 'Release', 'mixprec.node');
  let addon: NativeAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(file) as NativeAddon;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(`mixprec: cannot load the native addon at ${file} (${reason}). Run 'npm install' (or 'npm run build:native') to build it.`);
  }
  addon.setErrorFactory(errorFromNative);
  return addon;
}

/** The loaded addon (one per JS environment: main thread or worker). */
export const native: NativeAddon = load();
