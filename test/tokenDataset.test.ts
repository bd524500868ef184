// mp.data.TokenDataset: random next-token windows with a seeded sampler. The reference is the token
// array itself: with tokens 0, 1, 2, ... a window's first token is its start, so every row of x and
// y can be checked against the slice it must be. 4-7 s wall clock on the shared 2-core machine.
import * as mp from '../lib';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

/** Tokens 0..n-1 (each window names its own start), or the given values. */
const counting = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

function rows(t: mp.Tensor): number[][] {
  return t.toArray() as number[][];
}

describe('TokenDataset', () => {
  test('batch(B): int32 [B, T] inputs and the same windows shifted by one as targets', () => {
    const tokens = counting(1000);
    const data = new mp.data.TokenDataset(tokens, { blockSize: 16, seed: 5 });
    expect(data.length).toBe(984);
    const { x, y } = data.batch(8);
    expect(x.dtype).toBe('int32');
    expect(y.dtype).toBe('int32');
    expect(x.shape).toEqual([8, 16]);
    expect(y.shape).toEqual([8, 16]);
    const xs = rows(x);
    rows(y).forEach((row, b) => {
      const start = xs[b][0];
      expect(start).toBeGreaterThanOrEqual(0);
      expect(start).toBeLessThan(984);
      expect(xs[b]).toEqual(Array.from(tokens.subarray(start, start + 16)));
      expect(row).toEqual(Array.from(tokens.subarray(start + 1, start + 17)));
    });
    mp.dispose([x, y]);
  });

  test('the same tokens and seed give the same batches, whatever else draws random numbers', () => {
    const tokens = counting(500);
    const a = new mp.data.TokenDataset(tokens, { blockSize: 8, seed: 42 });
    const b = new mp.data.TokenDataset(tokens, { blockSize: 8, seed: 42 });
    const c = new mp.data.TokenDataset(tokens, { blockSize: 8, seed: 43 });
    const starts = (d: mp.data.TokenDataset): number[] => {
      const { x, y } = d.batch(16);
      const s = rows(x).map((r) => r[0]);
      mp.dispose([x, y]);
      return s;
    };
    const first = [starts(a), starts(a), starts(a)];
    mp.manualSeed(0);
    mp.dispose(mp.rand([100])); // the default generator moves; the datasets' own do not
    expect([starts(b), starts(b), starts(b)]).toEqual(first);
    expect(starts(c)).not.toEqual(first[0]);
    // Successive batches differ: the stream moves on.
    expect(first[1]).not.toEqual(first[0]);
  });

  test('batches(n, B) yields the same sequence as n calls of batch(B); generator state saves the position', () => {
    const tokens = counting(300);
    const a = new mp.data.TokenDataset(tokens, { blockSize: 4, seed: 7n });
    const b = new mp.data.TokenDataset(tokens, { blockSize: 4, seed: 7n });
    const viaBatches: number[][][] = [];
    for (const { x, y } of a.batches(3, 5)) {
      viaBatches.push(rows(x));
      mp.dispose([x, y]);
    }
    const viaBatch: number[][][] = [];
    for (let i = 0; i < 3; ++i) {
      const { x, y } = b.batch(5);
      viaBatch.push(rows(x));
      mp.dispose([x, y]);
    }
    expect(viaBatches).toEqual(viaBatch);
    // Resume: restore the state saved after batch 1 and draw batch 2 again.
    const c = new mp.data.TokenDataset(tokens, { blockSize: 4, seed: 7n });
    mp.dispose(Object.values(c.batch(5)));
    const saved = c.generator.getState();
    mp.dispose(Object.values(c.batch(5)));
    c.generator.setState(saved);
    const { x, y } = c.batch(5);
    expect(rows(x)).toEqual(viaBatch[1]);
    mp.dispose([x, y]);
    expect([...a.batches(0, 5)]).toEqual([]);
  });

  test('every start from 0 to length - 1 can be drawn, and no other', () => {
    // 6 tokens, blockSize 3: starts 0, 1, 2 (the window 3..6 would need a 7th token).
    const data = new mp.data.TokenDataset([10, 11, 12, 13, 14, 15], { blockSize: 3, seed: 1 });
    expect(data.length).toBe(3);
    const { x, y } = data.batch(300);
    const seen = new Set(rows(x).map((r) => r[0] - 10));
    expect([...seen].sort()).toEqual([0, 1, 2]);
    expect(rows(y).every((r) => r[2] <= 15)).toBe(true);
    mp.dispose([x, y]);
  });

  test('as a Dataset: get(i) is the window at i, and the DataLoader batches windows in order', () => {
    const data = new mp.data.TokenDataset([5, 6, 7, 8, 9], { blockSize: 2 });
    const [x1, y1] = data.get(1);
    expect(x1.toArray()).toEqual([6, 7]);
    expect(y1.toArray()).toEqual([7, 8]);
    mp.dispose([x1, y1]);
    const loader = new mp.data.DataLoader(data, { batchSize: 2 });
    const batches = [...loader].map((batch) => {
      const out = batch.map((t) => t.toArray());
      mp.dispose(batch);
      return out;
    });
    expect(batches).toEqual([[[[5, 6], [6, 7]], [[6, 7], [7, 8]]], [[[7, 8]], [[8, 9]]]]);
  });

  test('the tokens are copied: changing the caller\'s array does not change the batches', () => {
    const tokens = counting(50);
    const data = new mp.data.TokenDataset(tokens, { blockSize: 4 });
    tokens.fill(0);
    const sample = data.get(10);
    expect(sample[0].toArray()).toEqual([10, 11, 12, 13]);
    mp.dispose(sample);
  });

  test('bad arguments: clear errors naming the argument', () => {
    const T = mp.data.TokenDataset;
    expect(() => new T([1, 2, 3], { blockSize: 3 })).toThrow("TokenDataset: argument 'tokens' must be at least blockSize + 1 = 4 tokens (one window), got an array of length 3");
    expect(() => new T([1, 2, 3], { blockSize: 0 })).toThrow("TokenDataset: argument 'options.blockSize' must be a positive integer, got 0");
    expect(() => new T([1, 2, 3], {} as never)).toThrow(/options.blockSize' must be a positive integer, got undefined/);
    expect(() => new T([1, 2, 3], { blockSize: 1, seed: 1.5 })).toThrow("TokenDataset: argument 'options.seed' must be a safe integer or a bigint, got 1.5");
    expect(() => new T([1, 2, 3], { blockSize: 1, shuffle: true } as never)).toThrow("TokenDataset: unknown option 'shuffle' (expected 'blockSize', 'seed')");
    expect(() => new T([1, -2, 3], { blockSize: 1 })).toThrow("TokenDataset: argument 'tokens' must hold non-negative int32 token ids, got -2 at index 1");
    expect(() => new T([1, 2.5, 3], { blockSize: 1 })).toThrow(/got 2.5 at index 1/);
    expect(() => new T([1, 2 ** 31, 3], { blockSize: 1 })).toThrow(/got 2147483648 at index 1/);
    expect(() => new T(new Float32Array(4) as never, { blockSize: 1 })).toThrow("TokenDataset: argument 'tokens' must be an Int32Array or array of token ids, got a Float32Array of length 4");
    expect(() => new T([1, 2, 3], undefined as never)).toThrow(mp.MixprecTypeError);
    const data = new T([1, 2, 3, 4], { blockSize: 2 });
    expect(() => data.batch(0)).toThrow("TokenDataset.batch: argument 'batchSize' must be a positive integer, got 0");
    expect(() => data.batches(-1, 2)).toThrow("TokenDataset.batches: argument 'count' must be a non-negative integer, got -1");
    expect(() => data.batches(2, 1.5)).toThrow(mp.MixprecRangeError);
    expect(() => data.get(2)).toThrow("TokenDataset.get: argument 'index' must be an integer in [0, 2), got 2");
    expect(() => data.get(-1)).toThrow(mp.MixprecRangeError);
  });
});
