// Data-parallel MNIST with DistributedDataParallel and AMP, one process per rank:
//
//   mpirun -np 2 node examples/ddp/train.js                         # bfloat16 autocast
//   mpirun -np 2 node examples/ddp/train.js --precision float16     # float16 autocast + GradScaler
//   mpirun -np 2 node examples/ddp/train.js --precision float32 --epochs 3
//
// (as root add --allow-run-as-root; more ranks than cores need --oversubscribe; several machines:
// docs/distributed.md). Every rank trains the demo's MLP (784-512-512-10, Adam lr 1e-3) on its
// DistributedSampler share of each epoch; the global batch (--batch, default 128) is split
// evenly, so 2 ranks see 64 samples each per step and the run follows single-process training
// on batches of 128. Rank 0 prints the loss per epoch and the test accuracy, which every rank
// computes on its share of the test set and all-reduces. Options: --steps N stops each epoch
// after N steps (a quick check).
'use strict';
const mp = require('mixprec');
const { joinOnRankDevice } = require('./rankDevice');

function parseArgs(argv) {
  const o = { precision: 'bfloat16', epochs: 1, batch: 128, steps: Infinity, seed: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i].replace(/^--/, ''), argv[i + 1]];
    if (!(key in o) || value === undefined) throw new Error(`train.js: unknown option or missing value: ${argv[i]} (options: ${Object.keys(o).map((k) => `--${k}`).join(', ')})`);
    o[key] = key === 'precision' ? value : Number(value);
  }
  if (!['float32', 'bfloat16', 'float16'].includes(o.precision)) throw new Error(`train.js: --precision must be float32, bfloat16 or float16, got ${o.precision}`);
  return o;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const { device, deviceType } = joinOnRankDevice();
  const rank = mp.distributed.getRank();
  const world = mp.distributed.getWorldSize();
  if (args.batch % world !== 0) throw new Error(`train.js: --batch ${args.batch} must divide by the ${world} ranks`);
  const log = (...m) => rank === 0 && console.log(...m);

  const { train, test } = mp.data.mnist();
  mp.manualSeed(args.seed); // the same on every rank; DDP broadcasts rank 0's weights anyway
  const mlp = new mp.nn.Sequential(new mp.nn.Linear(784, 512), new mp.nn.ReLU(), new mp.nn.Linear(512, 512), new mp.nn.ReLU(), new mp.nn.Linear(512, 10)).to(device);
  const model = new mp.nn.parallel.DistributedDataParallel(mlp);
  const optimizer = new mp.optim.Adam(model.parameters(), { lr: 1e-3 });
  // float16 needs loss scaling; the scaler agrees on overflow across ranks by itself.
  const scaler = args.precision === 'float16' ? new mp.amp.GradScaler({ device }) : undefined;
  const autocast = { deviceType, dtype: args.precision, enabled: args.precision !== 'float32' };
  const sampler = new mp.data.DistributedSampler(train, { seed: args.seed });
  const loader = new mp.data.DataLoader(train, { batchSize: args.batch / world, sampler, dropLast: true });
  log(`${world} ranks on ${device} (${mp.distributed.getBackendInfo().backend}), ${args.precision}, global batch ${args.batch} (${args.batch / world} per rank), ${loader.length} steps per epoch`);

  for (let epoch = 0; epoch < args.epochs; ++epoch) {
    sampler.setEpoch(epoch);
    const start = performance.now();
    const losses = [];
    let steps = 0;
    for (const batch of loader) {
      const [x, y] = batch;
      const loss = mp.tidy(() => {
        optimizer.zeroGrad();
        const l = mp.amp.autocast(autocast, () => mp.nn.functional.crossEntropy(model.forward(x.to(device).reshape([-1, 784])), y.to(device)));
        (scaler ? scaler.scale(l) : l).backward(); // gradients averaged across ranks here
        if (scaler) {
          scaler.step(optimizer);
          scaler.update();
        } else {
          optimizer.step();
        }
        return l.detach();
      });
      losses.push(loss);
      mp.dispose(batch);
      if (++steps >= args.steps) break;
    }
    // One host read per epoch: this rank's mean loss, averaged over the ranks.
    const meanLoss = mp.tidy(() => mp.stack(losses).float().mean().reshape([1]));
    mp.dispose(losses);
    mp.distributed.allReduce(meanLoss, { op: 'avg' });
    log(`epoch ${epoch + 1}: loss ${meanLoss.item().toFixed(4)}, ${((performance.now() - start) / 1000).toFixed(1)} s${scaler ? `, loss scale ${scaler.getScale()}` : ''}`);
    meanLoss.dispose();
  }

  // Test accuracy: each rank counts its share (no padding), the counts are summed.
  const testSampler = new mp.data.DistributedSampler(test, { shuffle: false, dropLast: true });
  const counts = mp.zeros([2], { dtype: 'int32', device });
  mp.noGrad(() => {
    for (const batch of new mp.data.DataLoader(test, { batchSize: 1000, sampler: testSampler })) {
      const [x, y] = batch;
      mp.tidy(() => {
        const predicted = mp.amp.autocast(autocast, () => model.forward(x.to(device).reshape([-1, 784]))).argmax(1);
        counts.add_(mp.stack([predicted.eq(y.to(device)).sum().to('int32'), mp.tensor(y.shape[0], { dtype: 'int32', device })]));
      });
      mp.dispose(batch);
    }
  });
  mp.distributed.allReduce(counts, { op: 'sum' });
  const [correct, seen] = counts.dataSync();
  log(`test accuracy ${((100 * correct) / seen).toFixed(2)}% (${correct} of ${seen})`);
  mp.distributed.destroyProcessGroup();
}

main();
