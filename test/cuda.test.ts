// The CUDA checks of test/gpu/cudaChecks.js (shared with bench/gpu.sh, which runs them on a GPU
// machine with bare node).
import * as mp from '../lib';

import { checks } from './gpu/cudaChecks.js';
import { noGpuReason, skippedBecause } from './helpers/skipReason';

const onGpu = mp.cuda.isAvailable();
const describeGpu = onGpu ? describe : describe.skip; // skipped without a GPU: CI machines have none

describeGpu(onGpu ? 'cuda' : `cuda ${skippedBecause(noGpuReason())}`, () => {
  test.each(Object.keys(checks))('%s', async (name) => {
    await checks[name]();
  });
});

test("a tensor on 'cuda' is refused with ERR_CUDA_UNAVAILABLE, naming the op and the reason, exactly when cuda.isAvailable() is false", () => {
  const attempt = (make: () => mp.Tensor): unknown => {
    try {
      make().dispose();
      return undefined;
    } catch (e) {
      return e;
    }
  };
  const errors = [attempt(() => mp.zeros([2], { device: 'cuda' })), attempt(() => mp.tensor([1, 2]).to('cuda'))];
  expect(errors.map((e) => e === undefined)).toEqual([onGpu, onGpu]);
  if (onGpu) return;
  const b = mp.backend();
  const reason = b.cudaCompiled
    ? `CUDA is not available on this machine (${b.cudaUnavailableReason})`
    : b.cudaUnavailableReason;
  errors.forEach((e, i) => {
    expect(e).toBeInstanceOf(mp.MixprecError);
    expect((e as mp.MixprecError).code).toBe('ERR_CUDA_UNAVAILABLE');
    expect((e as Error).message).toBe(`${['zeros', 'to'][i]}: device 'cuda:0' was asked for, but ${reason}`);
  });
});
