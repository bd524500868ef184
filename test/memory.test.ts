import { spawnSync } from 'node:child_process';
import * as mp from '../lib';
import { native } from './helpers/native';

const liveTensors = () => mp.memory().numTensors;
const cpuBytes = () => mp.memory().devices.cpu?.numBytes ?? 0;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => expect(liveTensors()).toBe(0));

describe('dispose and using', () => {
  test('dispose frees memory, is idempotent, and later use throws', () => {
    const before = cpuBytes();
    const t = mp.zeros([256]);
    expect(cpuBytes()).toBe(before + 1024);
    t.dispose();
    t.dispose();
    expect(cpuBytes()).toBe(before);
    expect(t.isDisposed).toBe(true);
    expect(() => t.add(1)).toThrow(/disposed float32 tensor of shape \[256\]/);
    expect(() => t.dataSync()).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    expect(t.toString()).toContain('<disposed>');
  });

  test('using disposes at the end of the block', () => {
    let escaped: mp.Tensor;
    {
      using t = mp.ones([4]);
      escaped = t;
      expect(liveTensors()).toBe(1);
    }
    expect(escaped.isDisposed).toBe(true);
  });

  test('mp.dispose walks containers', () => {
    const a = mp.ones([1]);
    const b = mp.ones([1]);
    mp.dispose({ list: [a, { b }] });
    expect(a.isDisposed && b.isDisposed).toBe(true);
  });
});

describe('tidy', () => {
  test('frees intermediates and keeps what is returned, through nesting', () => {
    const kept = mp.ones([1]);
    mp.keep(kept);
    const result = mp.tidy(() => {
      const a = mp.ones([3]);
      const inner = mp.tidy(() => {
        const b = a.mul(2);
        return { b, c: [b.add(1)] };
      });
      expect(inner.b.isDisposed).toBe(false);
      return inner.c[0];
    });
    expect(result.toArray()).toEqual([3, 3, 3]);
    expect(liveTensors()).toBe(2);
    result.dispose();
    kept.dispose();
  });

  test('keep exempts a tensor made inside the scope', () => {
    let state: mp.Tensor | undefined;
    mp.tidy(() => {
      state = mp.keep(mp.zeros([2]));
      mp.zeros([2]);
    });
    expect(state!.isDisposed).toBe(false);
    expect(liveTensors()).toBe(1);
    state!.dispose();
  });

  test('a throwing fn still frees everything it made', () => {
    expect(() =>
      mp.tidy(() => {
        mp.ones([8]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
  });

  test('async fn: scope follows the async context and closes when the promise settles', async () => {
    const out = await mp.tidy(async () => {
      const a = mp.ones([2]);
      await nextTurn();
      const b = a.add(1);
      await Promise.resolve();
      return b.mul(2);
    });
    expect(out.toArray()).toEqual([4, 4]);
    out.dispose();
  });

  test('concurrent async tidy scopes never free each other\'s tensors', async () => {
    const loop = (tag: number) =>
      mp.tidy(async () => {
        let acc = mp.zeros([4]);
        for (let i = 0; i < 20; ++i) {
          await (i % 2 ? nextTurn() : Promise.resolve());
          acc = acc.add(tag);
        }
        return acc;
      });
    const [a, b] = await Promise.all([loop(1), loop(2)]);
    expect(a.toArray()).toEqual([20, 20, 20, 20]);
    expect(b.toArray()).toEqual([40, 40, 40, 40]);
    expect(liveTensors()).toBe(2);
    mp.dispose([a, b]);
  });

  test('a whole training-like step runs inside tidy with long-lived state kept', () => {
    const weight = mp.keep(mp.zeros([4]));
    for (let step = 0; step < 5; ++step) {
      mp.tidy(() => {
        const grad = mp.ones([4]).mul(0.5);
        weight.sub_(grad);
      });
    }
    expect(weight.toArray()).toEqual([-2.5, -2.5, -2.5, -2.5]);
    expect(liveTensors()).toBe(1);
    weight.dispose();
  });
});

describe('memory report', () => {
  test('counts tensors and bytes per device and dtype, views share bytes, peaks reset', () => {
    mp.resetPeakMemory();
    const base = mp.memory();
    const h = mp.zeros([100], { dtype: 'float16' });
    const v = h.reshape([10, 10]);
    const f = mp.zeros([10], { dtype: 'float64' });
    const m = mp.memory();
    expect(m.numTensors).toBe(base.numTensors + 3);
    // Deltas against the report before: a storage dropped by an earlier test may still await its
    // finalizer (the garbage collector's timing), and its bytes stay counted until it runs.
    const delta = (dtype: 'float16' | 'float64') => {
      const now = m.devices.cpu.dtypes[dtype] ?? { numTensors: 0, numBytes: 0 };
      const was = base.devices.cpu?.dtypes[dtype] ?? { numTensors: 0, numBytes: 0 };
      return { numTensors: now.numTensors - was.numTensors, numBytes: now.numBytes - was.numBytes };
    };
    expect(delta('float16')).toEqual({ numTensors: 2, numBytes: 200 });
    expect(delta('float64')).toEqual({ numTensors: 1, numBytes: 80 });
    expect(m.numBytes).toBe(base.numBytes + 280);
    mp.dispose([h, v, f]);
    const after = mp.memory();
    expect(after.numBytes).toBe(base.numBytes);
    expect(after.peakBytes).toBeGreaterThanOrEqual(base.numBytes + 280);
    mp.resetPeakMemory();
    expect(mp.memory().peakBytes).toBe(after.numBytes);
  });

  test('100,000 create/dispose cycles keep resident memory and counts flat', () => {
    const cycle = () => {
      const t = mp.zeros([4096]);
      const u = t.add(1);
      t.dispose();
      u.dispose();
    };
    // Warm up until V8's heap sizing and the allocator's free lists have settled.
    for (let i = 0; i < 100_000; ++i) cycle();
    global.gc?.();
    const before = process.memoryUsage();
    const bytesBefore = cpuBytes();
    const tensorsBefore = liveTensors();
    for (let i = 0; i < 100_000; ++i) cycle();
    global.gc?.();
    const after = process.memoryUsage();
    expect(cpuBytes()).toBe(bytesBefore);
    expect(liveTensors()).toBe(tensorsBefore);
    if (global.gc) expect(after.heapUsed - before.heapUsed).toBeLessThan(8 * 1024 * 1024);
    // 200,000 tensors of 16 KiB went through: leaking their memory would add 3.2 GB. The bound
    // is generous because RSS also moves with V8's page caching and malloc's free lists.
    expect(after.rss - before.rss).toBeLessThan(128 * 1024 * 1024);
  });

  test('tensors dropped without dispose in an async loop are reclaimed by GC', async () => {
    const start = cpuBytes();
    const collectedBefore = mp.memory().numCollected;
    let maxBytes = 0;
    const rssStart = process.memoryUsage().rss;
    for (let step = 0; step < 1500; ++step) {
      mp.zeros([256 * 1024]); // 1 MiB, never disposed
      if (step % 10 === 0) await nextTurn();
      maxBytes = Math.max(maxBytes, cpuBytes() - start);
    }
    // 1.5 GiB was allocated in total; with GC reclaiming, far less is ever live at once.
    expect(maxBytes).toBeLessThan(512 * 1024 * 1024);
    expect(process.memoryUsage().rss - rssStart).toBeLessThan(768 * 1024 * 1024);
    // A forced collection (npm test runs node with --expose-gc) reclaims the rest, and the live
    // counts follow in that same collection: the tensors' count tokens are finalized during GC,
    // not by FinalizationRegistry tasks that V8 may run much later (CI saw 1,500 tensors still
    // counted after 500 forced collections with those).
    if (global.gc) {
      global.gc();
      expect(cpuBytes()).toBe(start);
      expect(liveTensors()).toBe(0);
      // Every one of them was a leak the collector caught.
      expect(mp.memory().numCollected - collectedBefore).toBe(1500);
    }
  });
});

describe('live tensor counts', () => {
  test('views collected while their base lives leave the count in the collecting GC', () => {
    if (!global.gc) return;
    const base = mp.zeros([64]);
    const before = liveTensors();
    const collectedBefore = mp.memory().numCollected;
    const keepAlive: mp.Tensor[] = [];
    // In a function of its own, so no stack slot of this frame holds the last view.
    const makeViews = () => {
      for (let i = 0; i < 100; ++i) {
        const view = base.reshape([8, 8]);
        if (i % 10 === 0) keepAlive.push(view);
      }
    };
    makeViews();
    expect(liveTensors()).toBe(before + 100);
    global.gc();
    // The ten views still referenced and the base stay counted; the storage is untouched.
    expect(liveTensors()).toBe(before + 10);
    expect(mp.memory().numCollected - collectedBefore).toBe(90);
    expect(cpuBytes()).toBeGreaterThanOrEqual(256);
    // Disposed tensors never count as collected, even once the collector frees their objects.
    keepAlive.forEach((v) => v.dispose());
    keepAlive.length = 0;
    base.dispose();
    global.gc();
    expect(liveTensors()).toBe(before - 1);
    expect(mp.memory().numCollected - collectedBefore).toBe(90);
  });

  test('the count token binding refuses anything but a token, by name', () => {
    expect(() => native.untrackTensor({} as never)).toThrow(/untrackTensor: argument 0 \(token\) must be a tensor token from trackTensor/);
    const storage = native.alloc({ type: 'cpu', index: 0 }, 0, 4, false);
    expect(() => native.untrackTensor(storage as never)).toThrow(/a tensor token from trackTensor/);
    native.release(storage);
    expect(() => native.trackTensor(-1)).toThrow(/trackTensor: argument 0 \(key\)/);
    expect(() => native.trackTensor(native.newCountKey() + 1)).toThrow(/trackTensor: argument 0 \(key\) must be a key from newCountKey/);
  });
});

describe('CPU block cache', () => {
  const cached = () => mp.memory().devices.cpu.cachedBytes;

  test('a freed block of 64 KiB or more is reused by the next allocation of its size, not counted as live', () => {
    mp.emptyCache();
    const before = cpuBytes();
    const t = mp.ones([100_000]); // 400,000 bytes: cached as 98 whole pages
    t.dispose();
    expect(cpuBytes()).toBe(before);
    expect(cached()).toBe(98 * 4096);
    const hits = native.cpuCacheInfo().hits;
    const u = mp.empty([100_000]);
    expect(native.cpuCacheInfo().hits).toBe(hits + 1);
    expect(cached()).toBe(0);
    u.dispose();
    // Smaller blocks go back to malloc.
    mp.ones([1000]).dispose();
    expect(cached()).toBe(98 * 4096);
    expect(mp.emptyCache()).toBe(98 * 4096);
    expect(cached()).toBe(0);
  });

  test('a reused block is zeroed when the allocation asks for zeros', () => {
    mp.emptyCache();
    mp.full([70_000], 7).dispose();
    expect(cached()).toBeGreaterThan(0);
    const z = mp.zeros([70_000]);
    expect(cached()).toBe(0);
    expect(mp.tidy(() => z.abs().sum().item())).toBe(0);
    z.dispose();
  });

  test('MIXPREC_CPU_CACHE_BYTES bounds the cache (0 turns it off)', () => {
    const script = `const mp = require('./dist');
      for (const n of [100000, 200000, 300000]) mp.ones([n]).dispose();
      const { native } = require('./dist/native');
      console.log(JSON.stringify(native.cpuCacheInfo()));`;
    const run = (limit: string) => {
      const r = spawnSync(process.execPath, ['-e', script], { cwd: `${__dirname}/..`, encoding: 'utf8', env: { ...process.env, MIXPREC_CPU_CACHE_BYTES: limit } });
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout) as { cachedBytes: number; limitBytes: number };
    };
    expect(run('0')).toMatchObject({ cachedBytes: 0, limitBytes: 0 });
    // Blocks of 400,000, 800,000 and 1,200,000 bytes (whole pages) into 2 MiB: the last two fit,
    // and the oldest is the one evicted.
    const pages = (n: number) => Math.ceil(n / 4096) * 4096;
    const bounded = run(String(2 * 1024 * 1024));
    expect(bounded.limitBytes).toBe(2 * 1024 * 1024);
    expect(bounded.cachedBytes).toBe(pages(800_000) + pages(1_200_000));
  });
});
