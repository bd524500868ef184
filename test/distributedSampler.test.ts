// DistributedSampler: PyTorch's index arithmetic (torch/utils/data/distributed.py), checked
// against a transcription of it written here from that code, with numReplicas/rank passed
// explicitly (no process group needed).
import * as mp from '../lib';

const dataset = (n: number): mp.data.Dataset => ({ length: n, get: () => [mp.zeros([1])] });

/** PyTorch's __iter__, transcribed: `base` is the epoch's order of 0..n-1. */
function torchShare(base: number[], numReplicas: number, rank: number, dropLast: boolean): number[] {
  const n = base.length;
  const numSamples = dropLast && n % numReplicas !== 0 ? Math.ceil((n - numReplicas) / numReplicas) : Math.ceil(n / numReplicas);
  const totalSize = numSamples * numReplicas;
  let indices = [...base];
  if (!dropLast) {
    const padding = totalSize - indices.length;
    if (padding <= indices.length) indices = indices.concat(indices.slice(0, padding));
    else indices = indices.concat(Array.from({ length: Math.ceil(padding / indices.length) }, () => indices).flat().slice(0, padding));
  } else {
    indices = indices.slice(0, totalSize);
  }
  return indices.filter((_, i) => i % numReplicas === rank);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('DistributedSampler', () => {
  test('without shuffle, each rank gets every numReplicas-th index; together they cover a divisible dataset exactly once', () => {
    const shares = [0, 1, 2].map((rank) => [...new mp.data.DistributedSampler(dataset(12), { numReplicas: 3, rank, shuffle: false })]);
    expect(shares).toEqual([[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]]);
    expect(shares.flat().sort((a, b) => a - b)).toEqual(range(12));
  });

  test.each([
    [10, 3], [10, 4], [2, 5], [7, 7], [1, 3], [0, 2], [100, 8], [5, 2],
  ])('PyTorch padding and dropLast rule for %i samples on %i ranks', (n, numReplicas) => {
    for (const dropLast of [false, true]) {
      const shares = range(numReplicas).map((rank) => {
        const s = new mp.data.DistributedSampler(dataset(n), { numReplicas, rank, shuffle: false, dropLast });
        const got = [...s];
        expect(got).toHaveLength(s.length);
        expect(got).toEqual(torchShare(range(n), numReplicas, rank, dropLast));
        return got;
      });
      // Every rank runs the same number of steps.
      expect(new Set(shares.map((s) => s.length)).size).toBeLessThanOrEqual(1);
      const seen = new Set(shares.flat());
      if (!dropLast) expect(seen.size).toBe(n); // padding repeats, never skips
      else expect(shares.flat().length).toBe(seen.size); // dropping never repeats
    }
  });

  test('shuffle: the same permutation on every rank from seed + epoch; a new one after setEpoch', () => {
    const n = 23;
    const make = (rank: number, seed = 5) => new mp.data.DistributedSampler(dataset(n), { numReplicas: 4, rank, seed });
    const samplers = range(4).map((r) => make(r));
    const epoch0 = samplers.map((s) => [...s]);
    // The order every rank used is the permutation of Generator(seed + epoch), as the DataLoader draws one.
    const base0 = permutationOf(n, 5);
    expect(epoch0).toEqual(range(4).map((r) => torchShare(base0, 4, r, false)));
    expect(new Set(epoch0.flat()).size).toBe(n);
    // Iterating again without setEpoch repeats the epoch (PyTorch's behaviour).
    expect([...samplers[2]]).toEqual(epoch0[2]);
    samplers.forEach((s) => s.setEpoch(1));
    const epoch1 = samplers.map((s) => [...s]);
    expect(epoch1).toEqual(range(4).map((r) => torchShare(permutationOf(n, 6), 4, r, false)));
    expect(epoch1).not.toEqual(epoch0);
    expect(samplers[0].epoch).toBe(1);
    // A different seed is a different order.
    expect([...make(0, 6)]).toEqual(epoch1[0]);
  });

  test('as a DataLoader sampler: the loader yields this rank\'s share in batches, resumable', () => {
    const x = mp.arange(10, { dtype: 'float32' });
    const ds = new mp.data.TensorDataset(x);
    const sampler = new mp.data.DistributedSampler(ds, { numReplicas: 3, rank: 2, shuffle: false });
    const loader = new mp.data.DataLoader(ds, { batchSize: 3, sampler });
    expect(loader.length).toBe(2); // 4 samples per rank
    const batches = [...loader].map(([b]) => Array.from(b.dataSync()));
    expect(batches).toEqual([[2, 5, 8], [1]]); // 10 padded to 12 with index 0 and 1
    expect(() => new mp.data.DataLoader(ds, { sampler, shuffle: true })).toThrow(/when a sampler is given/);
    expect(() => new mp.data.DataLoader(ds, { sampler: { length: 2 } as never })).toThrow(/options.sampler/);
    const it = loader[Symbol.iterator]();
    mp.dispose(it.next().value as mp.Tensor[]);
    const resumed = new mp.data.DataLoader(ds, { batchSize: 3, sampler });
    resumed.loadStateDict(loader.stateDict());
    expect([...resumed].map(([b]) => Array.from(b.dataSync()))).toEqual([[1]]);
    expect(() => resumed.loadStateDict({ epochs: 1, epoch: { order: new Int32Array([0, 1, 2, 99]), nextBatch: 0 } })).toThrow(/integers in \[0, 10\).*99 at position 3/);
  });

  test('a sampler yielding an index outside the dataset is a clear error', () => {
    const ds = new mp.data.TensorDataset(mp.zeros([3]));
    const sampler = { length: 2, *[Symbol.iterator]() { yield 0; yield 3; } };
    expect(() => [...new mp.data.DataLoader(ds, { sampler })]).toThrow(/sampler's indices.*3 at position 1/);
  });

  test('bad options name the argument', () => {
    expect(() => new mp.data.DistributedSampler(dataset(4), { numReplicas: 2, rank: 2 })).toThrow(/options.rank.*\[0, numReplicas = 2\).*got 2/);
    expect(() => new mp.data.DistributedSampler(dataset(4), { numReplicas: 0, rank: 0 })).toThrow(/options.numReplicas/);
    expect(() => new mp.data.DistributedSampler(dataset(4), { numReplicas: 2, rank: 0, seed: -1 })).toThrow(/options.seed/);
    expect(() => new mp.data.DistributedSampler(dataset(4), { numReplicas: 2, rank: 0, shufle: true } as never)).toThrow(/shufle/);
    expect(() => new mp.data.DistributedSampler(null as never)).toThrow(/dataset/);
    expect(() => new mp.data.DistributedSampler(dataset(4), { numReplicas: 2, rank: 0 }).setEpoch(1.5)).toThrow(/epoch/);
  });

  test('without a process group, numReplicas and rank are required', () => {
    expect(mp.distributed.isInitialized()).toBe(false);
    expect(() => new mp.data.DistributedSampler(dataset(4))).toThrow(/numReplicas and options.rank are needed when no process group is initialized/);
  });
});

/** The order the DataLoader's shuffle draws from a fresh Generator(seed) (its own permutation). */
function permutationOf(n: number, seed: number): number[] {
  const loader = new mp.data.DataLoader(new mp.data.TensorDataset(mp.arange(n, { dtype: 'float32' })), { batchSize: n, shuffle: true, generator: new mp.Generator(seed) });
  const [[b]] = [...loader];
  return Array.from(b.dataSync());
}
