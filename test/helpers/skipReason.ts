// Why a test is skipped, written into its title so the summary reporter (test/reporters/summary.js)
// can group skipped tests by reason: jest keeps no other note on a skipped test.
import * as mp from '../../lib';

/** The title suffix the summary reporter reads a skipped test's reason from. */
export function skippedBecause(reason: string): string {
  return `[skipped: ${reason}]`;
}

/** Why the CUDA tests cannot run here, in the backend's own words. */
export function noGpuReason(): string {
  const b = mp.backend();
  return b.cudaCompiled ? `no usable GPU: ${b.cudaUnavailableReason}` : `no GPU support in this build: ${b.cudaUnavailableReason}`;
}
