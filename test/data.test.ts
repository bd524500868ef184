import * as mp from '../lib';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

/** The row indices a batch came from, read off an int32 column holding 0..n-1. */
function ids(batch: mp.Tensor[], column = batch.length - 1): number[] {
  return Array.from(batch[column].dataSync());
}

/** Every batch of one epoch as [ids, shapes], disposing the batches. */
function epoch(loader: mp.data.DataLoader): { ids: number[][]; shapes: number[][][] } {
  const out: { ids: number[][]; shapes: number[][][] } = { ids: [], shapes: [] };
  for (const batch of loader) {
    out.ids.push(ids(batch));
    out.shapes.push(batch.map((t) => t.shape));
    mp.dispose(batch);
  }
  return out;
}

function withIndexDataset<T>(n: number, fn: (ds: mp.data.TensorDataset) => T): T {
  return mp.tidy(() => fn(new mp.data.TensorDataset(mp.randn([n, 2, 3]), mp.arange(n))));
}

describe('TensorDataset', () => {
  test('length and get(i) return views of row i of every tensor', () => {
    mp.tidy(() => {
      const x = mp.tensor([[1, 2], [3, 4], [5, 6]]);
      const y = mp.tensor([7, 8, 9], { dtype: 'int32' });
      const ds = new mp.data.TensorDataset(x, y);
      expect(ds.length).toBe(3);
      expect(ds.tensors).toEqual([x, y]);
      const [xi, yi] = ds.get(1);
      expect(xi.shape).toEqual([2]);
      expect(yi.shape).toEqual([]);
      expect(xi.toArray()).toEqual([3, 4]);
      expect(yi.item()).toBe(8);
      expect(ds.get(-1)[0].toArray()).toEqual([5, 6]);
      // A view: writing the base shows through.
      x.fill_(0);
      expect(xi.toArray()).toEqual([0, 0]);
    });
  });

  test('bad inputs name the class, the argument and what came', () => {
    mp.tidy(() => {
      expect(() => new mp.data.TensorDataset()).toThrow(/TensorDataset: at least one tensor/);
      expect(() => new mp.data.TensorDataset(mp.zeros([3]), mp.zeros([4, 2]))).toThrow(
        "TensorDataset: argument 'tensors[1]' must be a tensor whose first dimension is 3 (the size of tensors[0]'s), got float32 tensor of shape [4, 2] on cpu",
      );
      expect(() => new mp.data.TensorDataset(mp.tensor(1))).toThrow(/TensorDataset: argument 'tensors\[0\]' must be a tensor with a first \(sample\) dimension, got float32 tensor of shape \[\]/);
      expect(() => new mp.data.TensorDataset([1, 2] as unknown as mp.Tensor)).toThrow(mp.MixprecTypeError);
      const gone = mp.zeros([2]);
      gone.dispose();
      expect(() => new mp.data.TensorDataset(gone)).toThrow(/TensorDataset: argument 'tensors\[0\]' is a disposed/);
      const ds = new mp.data.TensorDataset(mp.zeros([2]));
      expect(() => ds.get(2)).toThrow("TensorDataset.get: argument 'index' must be an integer in [-2, 2), got 2");
      expect(() => ds.get(0.5)).toThrow(mp.MixprecRangeError);
      expect(() => ds.get(-3)).toThrow(/got -3/);
    });
  });
});

describe('DataLoader', () => {
  test('without shuffle: dataset order, batch shapes, length, last partial batch', () => {
    withIndexDataset(10, (ds) => {
      const loader = new mp.data.DataLoader(ds, { batchSize: 4 });
      expect(loader.length).toBe(3);
      const e = epoch(loader);
      expect(e.ids).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
      expect(e.shapes).toEqual([[[4, 2, 3], [4]], [[4, 2, 3], [4]], [[2, 2, 3], [2]]]);
      expect(epoch(loader).ids).toEqual(e.ids);
    });
  });

  test('dropLast drops the partial batch; defaults are batchSize 1, no shuffle', () => {
    withIndexDataset(10, (ds) => {
      const dropping = new mp.data.DataLoader(ds, { batchSize: 4, dropLast: true });
      expect(dropping.length).toBe(2);
      expect(epoch(dropping).ids).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
      expect(new mp.data.DataLoader(ds, { batchSize: 5, dropLast: true }).length).toBe(2);
      const single = new mp.data.DataLoader(ds);
      expect(single.length).toBe(10);
      expect(epoch(single).ids).toEqual([[0], [1], [2], [3], [4], [5], [6], [7], [8], [9]]);
      expect(new mp.data.DataLoader(ds, { batchSize: 64, dropLast: true }).length).toBe(0);
      expect(epoch(new mp.data.DataLoader(ds, { batchSize: 64, dropLast: true })).ids).toEqual([]);
    });
  });

  test('shuffle: every sample once per epoch, a new order each epoch, rows stay together', () => {
    withIndexDataset(50, (ds) => {
      const loader = new mp.data.DataLoader(ds, { batchSize: 8, shuffle: true, generator: new mp.Generator(3) });
      const first = epoch(loader).ids;
      const second = epoch(loader).ids;
      for (const e of [first, second]) {
        expect(e.map((b) => b.length)).toEqual([8, 8, 8, 8, 8, 8, 2]);
        expect(e.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      }
      expect(first.flat()).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(second.flat()).not.toEqual(first.flat());
      // The x rows of a batch are the dataset rows its ids name.
      const [x] = ds.tensors;
      const all = Array.from(x.dataSync());
      for (const batch of loader) {
        const xb = Array.from(batch[0].dataSync());
        ids(batch).forEach((id, j) => expect(xb.slice(j * 6, j * 6 + 6)).toEqual(all.slice(id * 6, id * 6 + 6)));
        mp.dispose(batch);
      }
    });
  });

  test('the same seed gives the same epochs, other seeds other orders; the generator advances', () => {
    withIndexDataset(40, (ds) => {
      const run = (seed: number) => {
        const loader = new mp.data.DataLoader(ds, { batchSize: 16, shuffle: true, generator: new mp.Generator(seed) });
        return [epoch(loader).ids.flat(), epoch(loader).ids.flat()];
      };
      expect(run(7)).toEqual(run(7));
      expect(run(8)[0]).not.toEqual(run(7)[0]);
      expect(run(9)[0]).not.toEqual(run(7)[0]);
      // An epoch draws from the generator it was given: its state moves on.
      const g = new mp.Generator(1);
      const before = g.getState().offset;
      epoch(new mp.data.DataLoader(ds, { shuffle: true, generator: g }));
      expect(g.getState().offset).toBeGreaterThan(before);
    });
  });

  test('without a generator, shuffling follows mp.manualSeed', () => {
    withIndexDataset(30, (ds) => {
      const loader = new mp.data.DataLoader(ds, { batchSize: 30, shuffle: true });
      mp.manualSeed(11);
      const a = epoch(loader).ids;
      mp.manualSeed(11);
      expect(epoch(loader).ids).toEqual(a);
      mp.manualSeed(12);
      expect(epoch(loader).ids).not.toEqual(a);
    });
  });

  test('batches keep dtypes and exact values: float16 and bfloat16 bit patterns, float64, bool', () => {
    mp.tidy(() => {
      // Bit patterns no float32 round trip may disturb: subnormals, -0, Inf, NaN payloads, max.
      const half = new Uint16Array([0x0001, 0x8000, 0x7c00, 0x7e01, 0x7bff, 0x3c01, 0x03ff, 0xfbff, 0x1234, 0x8001, 0xfc00, 0x5555]);
      const brain = new Uint16Array([0x0001, 0x8000, 0x7f80, 0x7fc1, 0x7f7f, 0x3f81, 0x007f, 0xff7f, 0x1234, 0x8001, 0xff80, 0x5555]);
      const dbl = Float64Array.from({ length: 12 }, (_, i) => Math.PI * 10 ** (i - 6) + 1e-300 * i);
      const flags = Uint8Array.from({ length: 6 }, (_, i) => i % 2);
      const ds = new mp.data.TensorDataset(
        mp.tensor(half, { dtype: 'float16', shape: [6, 2] }),
        mp.tensor(brain, { dtype: 'bfloat16', shape: [6, 2] }),
        mp.tensor(dbl, { shape: [6, 2] }),
        mp.tensor(Array.from(flags, (f) => f === 1)),
        mp.arange(6),
      );
      const loader = new mp.data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new mp.Generator(5) });
      let seen = 0;
      for (const batch of loader) {
        expect(batch.map((t) => t.dtype)).toEqual(['float16', 'bfloat16', 'float64', 'bool', 'int32']);
        const rows = ids(batch);
        seen += rows.length;
        const pick = <T extends ArrayLike<number>>(src: T, width: number) => rows.flatMap((r) => Array.from(src).slice(r * width, r * width + width));
        expect(Array.from(batch[0].rawData())).toEqual(pick(half, 2));
        expect(Array.from(batch[1].rawData())).toEqual(pick(brain, 2));
        expect(Array.from(batch[2].rawData())).toEqual(pick(dbl, 2));
        expect(Array.from(batch[3].rawData())).toEqual(pick(flags, 1));
        mp.dispose(batch);
      }
      expect(seen).toBe(6);
    });
  });

  test('the host copy is refreshed after an in-place write and refused once a tensor is disposed', () => {
    mp.tidy(() => {
      const x = mp.arange(4).reshape([4, 1]).float();
      const ds = new mp.data.TensorDataset(x);
      const loader = new mp.data.DataLoader(ds, { batchSize: 4 });
      expect(epoch2d(loader)).toEqual([[0], [1], [2], [3]]);
      x.fill_(5);
      expect(epoch2d(loader)).toEqual([[5], [5], [5], [5]]);
      x.dispose();
      expect(() => epoch2d(loader)).toThrow(/DataLoader: argument 'dataset.tensors\[0\]' is a disposed float32 tensor/);
    });
  });

  test('batch tensors belong to the caller: a tidy scope frees them', () => {
    withIndexDataset(8, (ds) => {
      const before = mp.memory().numTensors;
      mp.tidy(() => {
        for (const batch of new mp.data.DataLoader(ds, { batchSize: 3, shuffle: true })) expect(batch).toHaveLength(2);
      });
      expect(mp.memory().numTensors).toBe(before);
    });
  });

  test('any Dataset works: samples are stacked, per-sample tensors freed, stored ones kept', () => {
    mp.tidy(() => {
      const stored = mp.tensor([10, 20, 30]);
      const fresh: mp.data.Dataset = { length: 5, get: (i) => [mp.tensor([i, i * i]), mp.tensor(i, { dtype: 'int32' })] };
      const keeping: mp.data.Dataset = { length: 3, get: () => [stored] };
      const before = mp.memory().numTensors;
      const batches = [...new mp.data.DataLoader(fresh, { batchSize: 2 })];
      expect(batches.map((b) => b.map((t) => t.toArray()))).toEqual([
        [[[0, 0], [1, 1]], [0, 1]],
        [[[2, 4], [3, 9]], [2, 3]],
        [[[4, 16]], [4]],
      ]);
      expect(mp.memory().numTensors).toBe(before + 6);
      mp.dispose(batches);
      const [[b]] = [...new mp.data.DataLoader(keeping, { batchSize: 3 })];
      expect(b.toArray()).toEqual([[10, 20, 30], [10, 20, 30], [10, 20, 30]]);
      expect(stored.isDisposed).toBe(false);
      const broken: mp.data.Dataset = { length: 2, get: (i) => (i === 0 ? [mp.zeros([1])] : [mp.zeros([1]), mp.zeros([1])]) };
      expect(() => [...new mp.data.DataLoader(broken, { batchSize: 2 })]).toThrow("DataLoader: argument 'dataset.get(1)' must be an array of 1 tensors (like dataset.get(0)), got an array of length 2");
      const notTensors = { length: 1, get: () => [1] } as unknown as mp.data.Dataset;
      expect(() => [...new mp.data.DataLoader(notTensors)]).toThrow(/dataset.get\(0\)' must be a non-empty array of tensors/);
    });
  });

  test('bad arguments name DataLoader, the argument, expected and got', () => {
    withIndexDataset(4, (ds) => {
      expect(() => new mp.data.DataLoader({} as mp.data.Dataset)).toThrow("DataLoader: argument 'dataset' must be a Dataset (a non-negative integer length and a get(index) method), got an object");
      expect(() => new mp.data.DataLoader(ds, { batchSize: 0 })).toThrow("DataLoader: argument 'options.batchSize' must be a positive integer, got 0");
      expect(() => new mp.data.DataLoader(ds, { batchSize: 1.5 })).toThrow(mp.MixprecRangeError);
      expect(() => new mp.data.DataLoader(ds, { batchSize: '2' as unknown as number })).toThrow(/got "2"/);
      expect(() => new mp.data.DataLoader(ds, { shuffle: 1 as unknown as boolean })).toThrow("DataLoader: argument 'options.shuffle' must be a boolean, got 1");
      expect(() => new mp.data.DataLoader(ds, { dropLast: 'yes' as unknown as boolean })).toThrow(mp.MixprecTypeError);
      expect(() => new mp.data.DataLoader(ds, { generator: 42 as unknown as mp.Generator })).toThrow("DataLoader: argument 'options.generator' must be a Generator, got 42");
      expect(() => new mp.data.DataLoader(ds, { batch_size: 2 } as mp.data.DataLoaderOptions)).toThrow("DataLoader: unknown option 'batch_size'");
      expect(() => new mp.data.DataLoader(ds, null as unknown as mp.data.DataLoaderOptions)).toThrow(/options' must be an options object, got null/);
    });
  });
});

function epoch2d(loader: mp.data.DataLoader): number[][] {
  const out: number[][] = [];
  for (const [x] of loader) {
    out.push(...(x.toArray() as number[][]));
    x.dispose();
  }
  return out;
}

describe('mnist', () => {
  // The package's own files, read directly: the reference the split is checked against.
  const raw: number[][] = Array.from({ length: 10 }, (_, c) => (require(`mnist/src/digits/${c}.json`) as { data: number[] }).data);
  const perClass = raw.map((r) => r.length / 784);
  const trainPerClass = perClass.map((n) => Math.floor(n * 0.8));

  test('sizes, dtypes, labels per class, a deterministic 80/20 split per class, pixel range', () => {
    expect(perClass.reduce((a, b) => a + b)).toBe(10000);
    const { train, test } = mp.data.mnist();
    try {
      const [xTrain, yTrain] = train.tensors;
      const [xTest, yTest] = test.tensors;
      const nTrain = trainPerClass.reduce((a, b) => a + b);
      expect(train.length).toBe(nTrain);
      expect(test.length).toBe(10000 - nTrain);
      expect([xTrain.shape, xTrain.dtype, yTrain.shape, yTrain.dtype]).toEqual([[nTrain, 784], 'float32', [nTrain], 'int32']);
      expect([xTest.shape, xTest.dtype, yTest.shape, yTest.dtype]).toEqual([[10000 - nTrain, 784], 'float32', [10000 - nTrain], 'int32']);

      const count = (labels: ArrayLike<number>) => Array.from({ length: 10 }, (_, c) => Array.from(labels).filter((l) => l === c).length);
      const trainLabels = yTrain.dataSync();
      const testLabels = yTest.dataSync();
      expect(count(trainLabels)).toEqual(trainPerClass);
      expect(count(testLabels)).toEqual(perClass.map((n, c) => n - trainPerClass[c]));
      for (let c = 0; c < 10; ++c) {
        expect(trainPerClass[c] / perClass[c]).toBeGreaterThan(0.79);
        expect(trainPerClass[c] / perClass[c]).toBeLessThanOrEqual(0.8);
      }

      // Digit d of class c is the package's digit d of that class: train first, then test.
      const images = { train: xTrain.dataSync(), test: xTest.dataSync() };
      const labels = { train: trainLabels, test: testLabels };
      let worst = 0;
      for (const [split, c, d] of [['train', 0, 0], ['train', 3, 17], ['test', 3, 0], ['test', 9, 190], ['train', 9, trainPerClass[9] - 1]] as const) {
        const row = Array.from(labels[split]).indexOf(c) + d;
        expect(labels[split][row]).toBe(c);
        const digit = split === 'train' ? d : trainPerClass[c] + d;
        const source = raw[c].slice(digit * 784, digit * 784 + 784);
        const got = Array.from(images[split].subarray(row * 784, row * 784 + 784));
        got.forEach((v, p) => {
          expect(v).toBe(Math.fround(Math.round(source[p] * 255) / 255));
          worst = Math.max(worst, Math.abs(v - source[p]));
        });
      }
      // The package rounds k/255 to 3 decimals; restoring k/255 moves a pixel by at most 0.0005.
      expect(worst).toBeLessThanOrEqual(0.0005);

      // Every pixel is float32(k/255) for an integer k in 0..255.
      let lo = Infinity;
      let hi = -Infinity;
      let offGrid = 0;
      for (const all of [images.train, images.test]) {
        for (const v of all) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
          if (v !== Math.fround(Math.round(v * 255) / 255)) ++offGrid;
        }
      }
      expect([lo, hi, offGrid]).toEqual([0, 1, 0]);
    } finally {
      mp.dispose([train.tensors, test.tensors]);
    }
  });

  test('later calls reuse the parsed data and return fresh tensors that tidy leaves alone', () => {
    const first = mp.data.mnist();
    const second = mp.tidy(() => mp.data.mnist());
    try {
      expect(second.train.tensors[0]).not.toBe(first.train.tensors[0]);
      expect(second.train.tensors[0].isDisposed).toBe(false);
      expect(Array.from(second.test.tensors[1].dataSync())).toEqual(Array.from(first.test.tensors[1].dataSync()));
      const loader = new mp.data.DataLoader(second.train, { batchSize: 100, shuffle: true, generator: new mp.Generator(0) });
      const [x, y] = loader[Symbol.iterator]().next().value as mp.Tensor[];
      expect([x.shape, y.shape]).toEqual([[100, 784], [100]]);
      mp.dispose([x, y]);
    } finally {
      mp.dispose([first.train.tensors, first.test.tensors, second.train.tensors, second.test.tensors]);
    }
  });
});
