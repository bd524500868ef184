// Types for test/cuda.test.ts; the checks stay plain JS so bench/gpu.sh runs them with bare node.
/** Each CUDA check by name; one throws (an assertion) when the GPU disagrees with the CPU. */
export const checks: Record<string, () => unknown>;
