/**
 * Why CUDA can or cannot be used, decided from what the CUDA runtime reports (csrc/cuda's probe):
 * no driver at all, a driver too old for the runtime this build links, a driver but no GPU, or a
 * build without the CUDA kernels.
 */
import type { NativeInfo } from './native';

/** What the addon's CUDA probe reports (native.info()). */
export interface CudaProbe {
  compiled: boolean;
  /** 1000 * major + 10 * minor, e.g. 13000 for CUDA 13.0. */
  runtimeVersion: number;
  /** The newest CUDA version the installed driver supports; 0 when no driver is installed. */
  driverVersion: number;
  /** The device-count query's error name ('' when it succeeded). */
  error: string;
  deviceCount: number;
}

/** The classes of {@link cudaStatus}. */
export type CudaState = 'available' | 'not-compiled' | 'no-driver' | 'driver-too-old' | 'no-gpu' | 'error';

/** "13.0" from 13000. */
export function cudaVersionName(version: number): string {
  return `${Math.floor(version / 1000)}.${Math.floor((version % 1000) / 10)}`;
}

/** The state and, unless available, a sentence saying why and what to do. */
export function cudaStatus(p: CudaProbe): { state: CudaState; reason: string } {
  if (!p.compiled) {
    return { state: 'not-compiled', reason: 'mixprec was built without CUDA (rebuild with nvcc on PATH, or MIXPREC_CUDA=1 to require it)' };
  }
  if (p.deviceCount > 0) return { state: 'available', reason: '' };
  const runtime = cudaVersionName(p.runtimeVersion);
  if (p.driverVersion === 0) {
    return { state: 'no-driver', reason: `no NVIDIA driver is installed (libcuda.so.1 was not found; this build needs a driver for CUDA ${runtime} or newer)` };
  }
  const driver = cudaVersionName(p.driverVersion);
  if (p.error === 'cudaErrorInsufficientDriver') {
    return {
      state: 'driver-too-old',
      reason: `the NVIDIA driver supports CUDA ${driver}, older than the CUDA ${runtime} runtime this build uses: update the driver, or rebuild with an older CUDA toolkit`,
    };
  }
  if (p.error === '' || p.error === 'cudaErrorNoDevice') {
    return { state: 'no-gpu', reason: `the NVIDIA driver (CUDA ${driver}) is installed but no GPU is visible (check the hardware and CUDA_VISIBLE_DEVICES)` };
  }
  return { state: 'error', reason: `the CUDA runtime ${runtime} with driver ${driver} reports ${p.error}` };
}

/** The probe fields of native.info(). */
export function probeOf(info: NativeInfo): CudaProbe {
  return {
    compiled: info.cudaCompiled,
    runtimeVersion: info.cudaRuntimeVersion,
    driverVersion: info.cudaDriverVersion,
    error: info.cudaError,
    deviceCount: info.cudaDeviceCount,
  };
}
