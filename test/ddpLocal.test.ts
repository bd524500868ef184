// The parts of DistributedDataParallel and the distributed GradScaler that need no process
// group: the bucket plan (PyTorch's assignment rule, checked by hand-computed sizes) and the
// argument errors. The multi-process behaviour is in test/ddp.test.ts.
import * as mp from '../lib';
import { assignBuckets, FIRST_BUCKET_BYTES } from '../lib/nn/parallel/buckets';

const MiB = 1024 * 1024;
/** A float32 parameter of `n` elements. */
const param = (n: number, dtype: mp.DType = 'float32'): mp.Tensor => mp.zeros([n], { dtype }).requiresGrad_();

describe('bucket plan', () => {
  test('reverse registration order; the first bucket closes at 1 MiB, the next ones at the cap', () => {
    // 0.5 MiB each (131072 float32): the first bucket closes after two (1 MiB reached), then
    // 3 MiB buckets take six each, the rest stays open.
    const params = Array.from({ length: 10 }, () => param(131072));
    const plan = assignBuckets(params, 3 * MiB);
    expect(plan.map((b) => b.indices)).toEqual([[9, 8], [7, 6, 5, 4, 3, 2], [1, 0]]);
    expect(plan[1].offsets).toEqual([0, 131072, 262144, 393216, 524288, 655360]);
    expect(plan.map((b) => b.numel)).toEqual([262144, 786432, 262144]);
    expect(FIRST_BUCKET_BYTES).toBe(MiB);
  });

  test('a parameter is never split: one larger than the cap is a bucket of its own', () => {
    const plan = assignBuckets([param(10), param(3 * 262144), param(5)], MiB);
    expect(plan.map((b) => b.indices)).toEqual([[2, 1], [0]]);
  });

  test('one dtype per bucket; buckets ordered by their latest-registered parameter', () => {
    const plan = assignBuckets([param(4, 'bfloat16'), param(4), param(4, 'bfloat16'), param(4)], 25 * MiB);
    expect(plan.map((b) => [b.dtype, b.indices])).toEqual([['float32', [3, 1]], ['bfloat16', [2, 0]]]);
  });
});

describe('argument errors without a process group', () => {
  test('DistributedDataParallel needs an initialized process group and a module', () => {
    expect(mp.distributed.isInitialized()).toBe(false);
    expect(() => new mp.nn.parallel.DistributedDataParallel(new mp.nn.Linear(2, 2))).toThrow(expect.objectContaining({ code: 'ERR_DISTRIBUTED_NOT_INITIALIZED', message: expect.stringMatching(/initProcessGroup\(\) first/) }));
    expect(() => new mp.nn.parallel.DistributedDataParallel({} as never)).toThrow(/argument 'module' must be an nn.Module/);
    expect(() => new mp.nn.parallel.DistributedDataParallel(new mp.nn.Linear(2, 2), { bucketCapMb: 0 })).toThrow(/options.bucketCapMb.*positive/);
    expect(() => new mp.nn.parallel.DistributedDataParallel(new mp.nn.Linear(2, 2), { bucketCapMB: 1 } as never)).toThrow(/bucketCapMB/);
  });

  test('GradScaler: distributed is a boolean; without a process group the scaler works alone', () => {
    expect(() => new mp.amp.GradScaler({ device: 'cpu', distributed: 1 as never })).toThrow(/options.distributed/);
    const model = new mp.nn.Linear(2, 1);
    const opt = new mp.optim.SGD(model.parameters(), { lr: 0.1 });
    const scaler = new mp.amp.GradScaler({ device: 'cpu' });
    scaler.scale(model.forward(mp.ones([1, 2])).sum()).backward();
    const reads = mp.hostReads();
    scaler.step(opt);
    scaler.update();
    expect(mp.hostReads()).toBe(reads);
    expect(scaler.getScale()).toBe(65536);
  });
});
