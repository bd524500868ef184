/** The seeded random permutation shared by the DataLoader's shuffle and the DistributedSampler. */
import { Generator, rand } from '../random';

/**
 * A random permutation of 0..n-1: uniform keys from `generator`, sorted. Ties (vanishingly
 * rare with float64 keys) keep index order, so the result depends only on the generator state.
 */
export function permutation(n: number, generator: Generator): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; ++i) order[i] = i;
  if (n < 2) return order;
  const keysTensor = rand([n], { dtype: 'float64', generator });
  const keys = keysTensor.dataSync();
  keysTensor.dispose();
  return order.sort((a, b) => keys[a] - keys[b] || a - b);
}
