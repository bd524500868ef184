// One rank of a DistributedDataParallel scenario, launched by test/ddp.test.ts as
// `mpirun -np N node test/ddp/ddpRank.js <scenario>`. Each rank prints one line
// `DDPRESULT {json}`; the jest test compares the ranks' lines. References that need a single
// process (the same training on the full batch) run on rank 0 after the DDP run, with no
// collective. Runs the compiled package (dist/), as npm test builds it first.
'use strict';
const crypto = require('node:crypto');
const mp = require('../../dist');

const nn = mp.nn;
const F = nn.functional;
const scenario = process.argv[2];

function digest(tensors) {
  const h = crypto.createHash('sha256');
  for (const t of tensors) {
    const raw = t.rawData();
    h.update(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

/** Largest |a - b| over two lists of tensors, and the largest |b| (for a relative reading). */
function maxDiff(a, b) {
  let diff = 0;
  let scale = 0;
  a.forEach((t, i) => {
    const x = t.dataSync();
    const y = b[i].dataSync();
    for (let k = 0; k < x.length; ++k) {
      diff = Math.max(diff, Math.abs(x[k] - y[k]));
      scale = Math.max(scale, Math.abs(y[k]));
    }
  });
  return { diff, scale };
}

/** W1: the MLP 784-1024-1024-10 of the benchmarks and the soak. */
function w1(seed) {
  mp.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(784, 1024), new nn.ReLU(), new nn.Linear(1024, 1024), new nn.ReLU(), new nn.Linear(1024, 10));
}

function small(seed, hidden = 32) {
  mp.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(20, hidden), new nn.ReLU(), new nn.Linear(hidden, 4));
}

/** The same batches on every rank (seeded), global batch `batch`. */
function batches(steps, batch, features, classes) {
  mp.manualSeed(1234);
  return Array.from({ length: steps }, () => ({ x: mp.keep(mp.randn([batch, features])), y: mp.keep(mp.randint(0, classes, [batch])) }));
}

/** Rows [rank * n / size, (rank + 1) * n / size) of x. */
function shard(x, rank, size) {
  const n = x.shape[0] / size;
  return x.narrow(0, rank * n, n).contiguous();
}

/** Copies `src`'s parameter values into `dst` (same architecture). */
function copyParams(dst, src) {
  mp.noGrad(() => dst.parameters().forEach((p, i) => p.copy_(src.parameters()[i])));
}

/**
 * The single-process mirror of 2-rank DDP: each half's gradient computed separately, then
 * (g0 + g1) / 2 in float32, which is what the all-reduce (sum of two, halved exactly) gives.
 */
function halvesAveraged(model, lossOf, x, y, size) {
  const grads = [];
  for (let r = 0; r < size; ++r) {
    model.zeroGrad();
    mp.tidy(() => lossOf(model, shard(x, r, size), shard(y, r, size)).backward());
    grads.push(model.parameters().map((p) => mp.keep(p.grad.clone())));
  }
  mp.noGrad(() => model.parameters().forEach((p, i) => {
    const sum = grads.slice(1).reduce((acc, g) => acc.add(g[i]), grads[0][i]);
    p.grad.copy_(sum.div(size));
  }));
  mp.dispose(grads);
}

const ceLoss = (model, x, y) => F.crossEntropy(model.forward(x), y);

function correctness(rank, size) {
  const steps = 3;
  const data = batches(steps, 64, 784, 10);
  // A different initialisation on every rank: the construction broadcast must make them rank 0's.
  const inner = w1(100 + rank);
  const init = w1(100).parameters().map((p) => mp.keep(p.clone()));
  const ddp = new nn.parallel.DistributedDataParallel(inner, { bucketCapMb: 2 });
  const opt = new mp.optim.Adam(ddp.parameters(), { lr: 1e-3 });
  const digests = [digest(ddp.parameters())];
  const initMatches = maxDiff(ddp.parameters(), init).diff === 0;
  for (const { x, y } of data) {
    opt.zeroGrad();
    mp.tidy(() => ceLoss(ddp, shard(x, rank, size), shard(y, rank, size)).backward());
    opt.step();
    digests.push(digest(ddp.parameters()));
  }
  const result = { digests, initMatches, buckets: ddp.bucketLayout() };
  if (rank === 0) {
    // Reference 1: one process, each half's gradient separately, averaged as the all-reduce does.
    const mirror = w1(100);
    const mirrorOpt = new mp.optim.Adam(mirror.parameters(), { lr: 1e-3 });
    // Reference 2: one process on the full batch.
    const full = w1(100);
    const fullOpt = new mp.optim.Adam(full.parameters(), { lr: 1e-3 });
    const fullDiffs = [];
    for (const { x, y } of data) {
      halvesAveraged(mirror, ceLoss, x, y, size);
      mirrorOpt.step();
      fullOpt.zeroGrad();
      mp.tidy(() => ceLoss(full, x, y).backward());
      fullOpt.step();
    }
    result.mirrorDigest = digest(mirror.parameters());
    result.full = maxDiff(ddp.parameters(), full.parameters());
  }
  return result;
}

/**
 * GradScaler across ranks. Part 1: an inf injected into rank 1's gradient after the reduction
 * (a rank-local overflow) at step 2 must make every rank skip that step; the same with
 * {distributed: false} is the control, where the ranks part ways. Part 2: float16 autocast +
 * GradScaler DDP training against its single-process mirror and its full-batch run.
 */
function amp(rank, size) {
  const steps = 5;
  const data = batches(steps, 32, 20, 4);
  const ampLoss = (model, x, y) => mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => F.crossEntropy(model.forward(x), y));
  const run = (distributed) => {
    const ddp = new nn.parallel.DistributedDataParallel(small(7));
    const opt = new mp.optim.SGD(ddp.parameters(), { lr: 0.1 });
    const scaler = new mp.amp.GradScaler({ device: 'cpu', growthInterval: 2, distributed });
    const trace = [];
    data.forEach(({ x, y }, step) => {
      opt.zeroGrad();
      mp.tidy(() => scaler.scale(ampLoss(ddp, shard(x, rank, size), shard(y, rank, size))).backward());
      if (rank === 1 && step === 2) mp.noGrad(() => ddp.module.parameters()[1].grad.fill_(Infinity));
      const before = digest(ddp.parameters());
      scaler.step(opt);
      scaler.update();
      const state = scaler.stateDict();
      trace.push({ digest: digest(ddp.parameters()), applied: digest(ddp.parameters()) !== before, scale: state.scale, tracker: state._growth_tracker });
    });
    return trace;
  };
  const synced = run(true);
  const local = run(false);

  // Part 2: no injection; DDP against the single-process mirror and the full batch.
  const ddp = new nn.parallel.DistributedDataParallel(small(8));
  const opt = new mp.optim.SGD(ddp.parameters(), { lr: 0.1 });
  const scaler = new mp.amp.GradScaler({ device: 'cpu', growthInterval: 2 });
  for (const { x, y } of data) {
    opt.zeroGrad();
    mp.tidy(() => scaler.scale(ampLoss(ddp, shard(x, rank, size), shard(y, rank, size))).backward());
    scaler.step(opt);
    scaler.update();
  }
  const result = { synced, local, fp16Digest: digest(ddp.parameters()), fp16Scale: scaler.getScale() };
  if (rank === 0) {
    const mirror = small(8);
    const mirrorOpt = new mp.optim.SGD(mirror.parameters(), { lr: 0.1 });
    // The references run on rank 0 alone: their scalers must not all-reduce.
    const mirrorScaler = new mp.amp.GradScaler({ device: 'cpu', growthInterval: 2, distributed: false });
    const full = small(8);
    const fullOpt = new mp.optim.SGD(full.parameters(), { lr: 0.1 });
    const fullScaler = new mp.amp.GradScaler({ device: 'cpu', growthInterval: 2, distributed: false });
    for (const { x, y } of data) {
      halvesAveraged(mirror, (m, xs, ys) => mirrorScaler.scale(ampLoss(m, xs, ys)), x, y, size);
      mirrorScaler.step(mirrorOpt);
      mirrorScaler.update();
      fullOpt.zeroGrad();
      mp.tidy(() => fullScaler.scale(ampLoss(full, x, y)).backward());
      fullScaler.step(fullOpt);
      fullScaler.update();
    }
    result.mirrorDigest = digest(mirror.parameters());
    result.mirrorScale = mirrorScaler.getScale();
    result.full = maxDiff(ddp.parameters(), full.parameters());
    result.fullScale = fullScaler.getScale();
  }
  return result;
}

/**
 * Gradient accumulation: micro-step 0 under noSync(), micro-step 1 with the property form
 * (requireBackwardGradSync = false), micro-step 2 synchronised. Against the mirror (each rank's
 * accumulated sum, averaged) bit for bit, and against the big batch's gradient.
 */
function noSync(rank, size) {
  const micro = 3;
  const data = batches(micro, 16, 20, 4);
  const lossOf = (model, x, y) => F.crossEntropy(model.forward(x), y).div(micro);
  const ddp = new nn.parallel.DistributedDataParallel(small(9));
  const grads = [];
  ddp.noSync(() => mp.tidy(() => lossOf(ddp, shard(data[0].x, rank, size), shard(data[0].y, rank, size)).backward()));
  grads.push(digest(ddp.parameters().map((p) => p.grad)));
  ddp.requireBackwardGradSync = false;
  const loss1 = lossOf(ddp, shard(data[1].x, rank, size), shard(data[1].y, rank, size));
  ddp.requireBackwardGradSync = true; // read at forward: this backward still does not sync
  loss1.backward();
  grads.push(digest(ddp.parameters().map((p) => p.grad)));
  mp.tidy(() => lossOf(ddp, shard(data[2].x, rank, size), shard(data[2].y, rank, size)).backward());
  const result = { localDigests: grads, gradDigest: digest(ddp.parameters().map((p) => p.grad)) };
  if (rank === 0) {
    const mirror = small(9);
    const perRank = [];
    for (let r = 0; r < size; ++r) {
      mirror.zeroGrad();
      for (const { x, y } of data) mp.tidy(() => lossOf(mirror, shard(x, r, size), shard(y, r, size)).backward());
      perRank.push(mirror.parameters().map((p) => mp.keep(p.grad.clone())));
    }
    const averaged = perRank[0].map((g, i) => perRank.slice(1).reduce((acc, o) => acc.add(o[i]), g).div(size));
    result.mirrorDigest = digest(averaged);
    const big = small(9);
    const xs = mp.cat(data.map((d) => d.x));
    const ys = mp.cat(data.map((d) => d.y));
    mp.tidy(() => F.crossEntropy(big.forward(xs), ys).backward());
    result.big = maxDiff(ddp.parameters().map((p) => p.grad), big.parameters().map((p) => p.grad));
  }
  return result;
}

/** A model whose branch `b` runs on rank 0 only and whose branch `c` never runs. */
class Branchy extends nn.Module {
  constructor(seed, useB) {
    super();
    mp.manualSeed(seed);
    this.a = new nn.Linear(6, 5);
    this.b = new nn.Linear(5, 5);
    this.c = new nn.Linear(5, 5);
    this.useB = useB;
  }
  forward(x) {
    const h = this.a.forward(x);
    return this.useB ? this.b.forward(h) : h;
  }
}

function unused(rank, size) {
  mp.manualSeed(5);
  const x = mp.randn([4 * size, 6]);
  const xr = shard(x, rank, size);
  const ddp = new nn.parallel.DistributedDataParallel(new Branchy(11, rank === 0), { findUnusedParameters: true });
  mp.tidy(() => ddp.forward(xr).pow(2).mean().backward());
  const grads = Object.fromEntries(ddp.module.namedParameters().map(([n, p]) => [n, p.grad === undefined ? null : digest([p.grad])]));
  const result = { grads };
  if (rank === 0) {
    // b's averaged gradient: rank 0's own, halved (every other rank contributed zeros).
    const ref = new Branchy(11, true);
    mp.tidy(() => ref.forward(xr).pow(2).mean().backward());
    result.bRef = digest([ref.b.weight.grad.div(size)]);
  }
  // Without findUnusedParameters the same model is an error naming the parameters, on every rank.
  const strict = new nn.parallel.DistributedDataParallel(new Branchy(11, true));
  try {
    mp.tidy(() => strict.forward(xr).pow(2).mean().backward());
    result.strictError = null;
  } catch (e) {
    result.strictError = { code: e.code, message: e.message };
  }
  // The process group is still in step after the error (the buckets completed with zeros).
  const after = mp.tensor([rank + 1]);
  mp.distributed.allReduce(after, { op: 'sum' });
  result.sumAfterError = after.item();
  return result;
}

function emit(result) {
  process.stdout.write(`DDPRESULT ${JSON.stringify({ rank: mp.distributed.getRank(), size: mp.distributed.getWorldSize(), ...result })}\n`);
}

/**
 * Buffers: rank-specific running statistics are overwritten by rank 0's at construction, and
 * (with broadcastBuffers) before every forward, so eval outputs agree; without, they differ.
 */
function buffers(rank) {
  const make = (broadcastBuffers) => {
    mp.manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(4, 4), new nn.BatchNorm1d(4));
    mp.noGrad(() => model[1].runningMean.fill_(rank + 1));
    const ddp = new nn.parallel.DistributedDataParallel(model, { broadcastBuffers });
    const meanAfterInit = Array.from(model[1].runningMean.dataSync());
    mp.noGrad(() => model[1].runningMean.fill_(10 * (rank + 1)));
    ddp.eval();
    mp.manualSeed(4);
    const out = mp.noGrad(() => ddp.forward(mp.randn([3, 4])));
    return { meanAfterInit, outDigest: digest([out]) };
  };
  return { broadcast: make(true), local: make(false) };
}

/** Three ranks: identical parameters after every step, close to the full batch. */
function three(rank, size) {
  const steps = 3;
  const data = batches(steps, 24, 20, 4);
  const ddp = new nn.parallel.DistributedDataParallel(small(20 + rank));
  const opt = new mp.optim.SGD(ddp.parameters(), { lr: 0.1, momentum: 0.9 });
  const digests = [];
  for (const { x, y } of data) {
    opt.zeroGrad();
    mp.tidy(() => ceLoss(ddp, shard(x, rank, size), shard(y, rank, size)).backward());
    opt.step();
    digests.push(digest(ddp.parameters()));
  }
  const result = { digests };
  if (rank === 0) {
    const full = small(20);
    const fullOpt = new mp.optim.SGD(full.parameters(), { lr: 0.1, momentum: 0.9 });
    for (const { x, y } of data) {
      fullOpt.zeroGrad();
      mp.tidy(() => ceLoss(full, x, y).backward());
      fullOpt.step();
    }
    result.full = maxDiff(ddp.parameters(), full.parameters());
  }
  return result;
}

/** Rank 1 dies (SIGKILL) at step 3; the others must end with an error, never hang. */
function kill(rank, size) {
  const data = batches(1, 8 * size, 20, 4);
  const ddp = new nn.parallel.DistributedDataParallel(small(30));
  const opt = new mp.optim.SGD(ddp.parameters(), { lr: 0.1 });
  for (let step = 0; step < 1000; ++step) {
    if (rank === 1 && step === 3) process.kill(process.pid, 'SIGKILL');
    opt.zeroGrad();
    mp.tidy(() => ceLoss(ddp, shard(data[0].x, rank, size), shard(data[0].y, rank, size)).backward());
    opt.step();
  }
  return { finished: true };
}

/**
 * bfloat16 parameters under Adam's float32 master weights: the buckets hold bfloat16 gradients
 * (the all-reduce widens each pair to float32 and rounds once); against the mirror bit for bit.
 */
function masterWeights(rank, size) {
  const steps = 3;
  const data = batches(steps, 16, 20, 4);
  const bf16Loss = (model, x, y) => F.crossEntropy(model.forward(x.to('bfloat16')).float(), y);
  const ddp = new nn.parallel.DistributedDataParallel(small(40).to('bfloat16'));
  const opt = new mp.optim.Adam(ddp.parameters(), { lr: 1e-2, masterWeights: true });
  const digests = [];
  for (const { x, y } of data) {
    opt.zeroGrad();
    mp.tidy(() => bf16Loss(ddp, shard(x, rank, size), shard(y, rank, size)).backward());
    opt.step();
    digests.push(digest(ddp.parameters()));
  }
  const result = { digests, gradDtype: ddp.parameters()[0].grad.dtype };
  if (rank === 0) {
    const mirror = small(40).to('bfloat16');
    const mirrorOpt = new mp.optim.Adam(mirror.parameters(), { lr: 1e-2, masterWeights: true });
    for (const { x, y } of data) {
      halvesAveraged(mirror, bf16Loss, x, y, size);
      mirrorOpt.step();
    }
    result.mirrorDigest = digest(mirror.parameters());
  }
  return result;
}

const scenarios = { correctness, amp, noSync, unused, buffers, three, kill, masterWeights };

mp.distributed.initProcessGroup({ backend: 'mpi', timeoutMs: Number(process.env.DDP_TIMEOUT_MS ?? 60000) });
const rank = mp.distributed.getRank();
const size = mp.distributed.getWorldSize();
emit(scenarios[scenario](rank, size));
mp.distributed.destroyProcessGroup();
