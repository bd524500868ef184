// The CUDA checks of test/gpu/cudaChecks.js (shared with bench/gpu.sh, which runs them on a GPU
// machine with bare node).
import * as mp from '../lib';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { checks } = require('./gpu/cudaChecks.js') as { checks: Record<string, () => unknown> };

const onGpu = mp.cuda.isAvailable();
const describeGpu = onGpu ? describe : describe.skip; // skipped without a GPU: CI machines have none

describeGpu('cuda', () => {
  test.each(Object.keys(checks))('%s', async (name) => {
    await checks[name]();
  });
});

test('cuda.isAvailable agrees with the backend report', () => {
  const b = mp.backend();
  expect(onGpu).toBe(b.cudaCompiled && b.cudaDeviceCount > 0);
});
