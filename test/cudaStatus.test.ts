// The CUDA availability classes from the probe's raw facts. The (runtime, driver, error, count)
// tuples are what the CUDA runtime's documentation gives for each case: cudaDriverGetVersion
// reports 0 when no driver is installed, cudaGetDeviceCount fails with
// cudaErrorInsufficientDriver when the driver is older than the runtime (and, with the static
// runtime, also when there is no driver at all) and with cudaErrorNoDevice when there is no GPU.
import { cudaStatus, cudaVersionName } from '../lib/cudaStatus';
import * as mp from '../lib';

const probe = (runtimeVersion: number, driverVersion: number, error: string, deviceCount: number) =>
  cudaStatus({ compiled: true, runtimeVersion, driverVersion, error, deviceCount });

test('versions are named major.minor from 1000 * major + 10 * minor', () => {
  expect([13000, 12020, 11080, 12090].map(cudaVersionName)).toEqual(['13.0', '12.2', '11.8', '12.9']);
});

test('no driver at all: driver version 0, whatever error the device query gave', () => {
  for (const error of ['cudaErrorInsufficientDriver', 'cudaErrorNoDevice', '']) {
    expect(probe(13000, 0, error, 0)).toEqual({
      state: 'no-driver',
      reason: 'no NVIDIA driver is installed (libcuda.so.1 was not found; this build needs a driver for CUDA 13.0 or newer)',
    });
  }
});

test('a driver older than the runtime names both versions', () => {
  expect(probe(13000, 12020, 'cudaErrorInsufficientDriver', 0)).toEqual({
    state: 'driver-too-old',
    reason: 'the NVIDIA driver supports CUDA 12.2, older than the CUDA 13.0 runtime this build uses: update the driver, or rebuild with an older CUDA toolkit',
  });
});

test('a driver but no device is "no GPU", with the driver version', () => {
  for (const error of ['cudaErrorNoDevice', '']) {
    expect(probe(13000, 13010, error, 0)).toEqual({
      state: 'no-gpu',
      reason: 'the NVIDIA driver (CUDA 13.1) is installed but no GPU is visible (check the hardware and CUDA_VISIBLE_DEVICES)',
    });
  }
});

test('other runtime errors are passed on by name; a visible device is available; no CUDA build says so', () => {
  expect(probe(13000, 13000, 'cudaErrorDevicesUnavailable', 0)).toEqual({
    state: 'error', reason: 'the CUDA runtime 13.0 with driver 13.0 reports cudaErrorDevicesUnavailable',
  });
  // A newer driver than the runtime is the normal case; an older one that still works (minor
  // version compatibility) reports devices and is available too.
  expect(probe(13000, 13020, '', 2)).toEqual({ state: 'available', reason: '' });
  expect(probe(12040, 12020, '', 1)).toEqual({ state: 'available', reason: '' });
  expect(cudaStatus({ compiled: false, runtimeVersion: 0, driverVersion: 0, error: '', deviceCount: 0 })).toEqual({
    state: 'not-compiled', reason: 'mixprec was built without CUDA (rebuild with nvcc on PATH, or MIXPREC_CUDA=1 to require it)',
  });
});

test('backend() reports the class of this machine consistently with cuda.isAvailable()', () => {
  const b = mp.backend();
  expect(b.cudaState === 'available').toBe(mp.cuda.isAvailable());
  expect(b.cudaUnavailableReason === '').toBe(b.cudaState === 'available');
  if (b.cudaCompiled) expect(b.cudaRuntimeVersion).toMatch(/^\d+\.\d+$/);
  if (b.cudaState === 'no-driver') expect(b.cudaDriverVersion).toBe('');
});
