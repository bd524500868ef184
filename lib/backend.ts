/**
 * What the native addon was built with and chose at run time, and CUDA queries.
 */
import { cudaStatus, CudaState, cudaVersionName, probeOf } from './cudaStatus';
import { Device } from './device';
import { argRangeError } from './errors';
import { native } from './native';

/** The report of {@link backend}. */
export interface BackendInfo {
  /**
   * The CPU kernels' SIMD path in use: 'amx' (AVX-512-BF16 plus AMX tiles for bfloat16 products),
   * 'avx512bf16', 'avx512', 'f16c' (AVX2 + FMA + F16C) or 'scalar'.
   */
  simd: string;
  /** The best path this CPU supports (MIXPREC_SIMD can lower `simd` below it). */
  simdDetected: string;
  /** Threads CPU kernels may use (MIXPREC_NUM_THREADS, else the core count). */
  numThreads: number;
  /** Whether the CUDA kernels were compiled into this build. */
  cudaCompiled: boolean;
  /** Usable CUDA devices (0 without a GPU or driver). */
  cudaDeviceCount: number;
  /**
   * Whether CUDA can be used and, if not, which of the causes: 'not-compiled', 'no-driver',
   * 'driver-too-old' (the driver supports an older CUDA than the runtime linked in), 'no-gpu'
   * (a driver but no visible device) or 'error' (another runtime error).
   */
  cudaState: CudaState;
  /** Why CUDA is unavailable, with what to do ('' when it is available). */
  cudaUnavailableReason: string;
  /** The CUDA runtime this build links ('13.0'), '' without CUDA. */
  cudaRuntimeVersion: string;
  /** The newest CUDA the installed driver supports ('13.0'), '' without a driver or CUDA. */
  cudaDriverVersion: string;
}

/**
 * Reports the build and the run-time choices.
 *
 * @example
 * ```ts
 * console.log(mp.backend()); // { simd: 'avx512bf16', numThreads: 2, cudaCompiled: true, cudaState: 'no-driver', ... }
 * ```
 */
export function backend(): BackendInfo {
  const i = native.info();
  return {
    simd: i.simdActive,
    simdDetected: i.simdDetected,
    numThreads: i.numThreads,
    cudaCompiled: i.cudaCompiled,
    cudaDeviceCount: i.cudaDeviceCount,
    ...cudaFields(i),
  };
}

function cudaFields(i: ReturnType<typeof native.info>): Pick<BackendInfo, 'cudaState' | 'cudaUnavailableReason' | 'cudaRuntimeVersion' | 'cudaDriverVersion'> {
  const status = cudaStatus(probeOf(i));
  return {
    cudaState: status.state,
    cudaUnavailableReason: status.reason,
    cudaRuntimeVersion: i.cudaRuntimeVersion > 0 ? cudaVersionName(i.cudaRuntimeVersion) : '',
    cudaDriverVersion: i.cudaDriverVersion > 0 ? cudaVersionName(i.cudaDriverVersion) : '',
  };
}

/**
 * Forces the CPU kernels onto a lower SIMD path (process-wide; used by tests and benchmarks to
 * compare paths). Returns false when the CPU lacks `level`.
 *
 * @example
 * ```ts
 * mp.setSimdLevel('scalar'); // portable path
 * mp.setSimdLevel(mp.backend().simdDetected); // back to the best
 * ```
 */
export function setSimdLevel(level: 'scalar' | 'f16c' | 'avx512' | 'avx512bf16' | 'amx' | string): boolean {
  return native.setSimdLevel(level);
}

/** CUDA queries. */
export const cuda = {
  /** Whether a CUDA device can be used. @example `const x = mp.ones([2]); const y = mp.cuda.isAvailable() ? x.to('cuda') : x;` */
  isAvailable(): boolean {
    const i = native.info();
    return i.cudaCompiled && i.cudaDeviceCount > 0;
  },
  /** Number of usable CUDA devices. */
  deviceCount(): number {
    return native.info().cudaDeviceCount;
  },
  /** Waits until all queued work on the device has finished. @example `mp.cuda.synchronize()` */
  synchronize(device: number | string = 0): void {
    const parsed = typeof device === 'number' ? undefined : Device.parse('cuda.synchronize', 'device', device);
    const d = typeof device === 'number' ? device : parsed?.type === 'cuda' ? parsed.index : -1;
    if (!Number.isInteger(d) || d < 0) throw argRangeError('cuda.synchronize', 'device', 'a CUDA device index', device);
    const target = Device.parse('cuda.synchronize', 'device', `cuda:${d}`);
    target.require('cuda.synchronize');
    native.synchronize(target);
  },
  /**
   * The compute capability `[major, minor]` of a CUDA device (default 0).
   * @example `mp.cuda.getDeviceCapability(); // [9, 0] on an H100/H200`
   */
  getDeviceCapability(device = 0): [number, number] {
    if (!Number.isInteger(device) || device < 0) throw argRangeError('cuda.getDeviceCapability', 'device', 'a CUDA device index', device);
    const target = Device.parse('cuda.getDeviceCapability', 'device', `cuda:${device}`);
    target.require('cuda.getDeviceCapability');
    const cc = native.computeCapability(target);
    return [Math.floor(cc / 10), cc % 10];
  },
  /**
   * Whether CUDA device 0 (or `device`) computes in bfloat16 natively (compute capability 8.0+).
   * @example `const dtype = mp.cuda.isBf16Supported() ? 'bfloat16' : 'float16';`
   */
  isBf16Supported(device = 0): boolean {
    return cuda.isAvailable() && cuda.getDeviceCapability(device)[0] >= 8;
  },
};
