// Data-parallel training of the GPT example (examples/gpt/) with DistributedDataParallel and AMP,
// one process per rank:
//
//   npx tsc -p examples/tsconfig.json                                   # compiles examples/gpt
//   mpirun -np 2 node examples/ddp/gpt.js --preset tiny                 # bfloat16 autocast
//   mpirun -np 2 node examples/ddp/gpt.js --preset tiny --precision float16 --steps 100
//
// (as root add --allow-run-as-root; more ranks than cores need --oversubscribe.) The preset's
// batch is the global batch, split evenly over the ranks; each rank draws its windows from its own
// seeded stream, DDP averages the gradients, and every rank takes the same optimizer step (the
// GradScaler agrees on overflows across ranks by itself). Rank 0 evaluates and prints.
'use strict';
const mp = require('mixprec');
const { lrFactor, presets } = require('../build/gpt/config');
const { loadGptData } = require('../build/gpt/data');
const { Gpt } = require('../build/gpt/model');
const { optimizerStep, validationLoss } = require('../build/gpt/train');
const { joinOnRankDevice } = require('./rankDevice');

function parseArgs(argv) {
  const o = { preset: 'tiny', precision: 'bfloat16', steps: 0, seed: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i].replace(/^--/, ''), argv[i + 1]];
    if (!(key in o) || value === undefined) throw new Error(`gpt.js: unknown option or missing value: ${argv[i]} (options: ${Object.keys(o).map((k) => `--${k}`).join(', ')})`);
    o[key] = key === 'preset' || key === 'precision' ? value : Number(value);
  }
  if (!(o.preset in presets)) throw new Error(`gpt.js: --preset must be one of ${Object.keys(presets).join(', ')}, got ${o.preset}`);
  if (!['float32', 'bfloat16', 'float16'].includes(o.precision)) throw new Error(`gpt.js: --precision must be float32, bfloat16 or float16, got ${o.precision}`);
  return o;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const config = presets[args.preset];
  const steps = args.steps || config.maxSteps;
  const { device, deviceType } = joinOnRankDevice();
  const rank = mp.distributed.getRank();
  const world = mp.distributed.getWorldSize();
  if (config.batchSize % world !== 0) throw new Error(`gpt.js: the preset's batch ${config.batchSize} must divide by the ${world} ranks`);
  const log = (...m) => rank === 0 && console.log(...m);

  // Rank 0 trains and caches the tokenizer first; the others then read the cache.
  const data = rank === 0 ? loadGptData(config.vocabSize, log) : undefined;
  mp.distributed.barrier();
  const shared = data ?? loadGptData(config.vocabSize);

  mp.manualSeed(args.seed); // the same on every rank; DDP broadcasts rank 0's weights anyway
  const gpt = new Gpt({ ...config.model, vocabSize: shared.tokenizer.vocabSize }).to(device);
  const model = new mp.nn.parallel.DistributedDataParallel(gpt);
  const optimizer = new mp.optim.AdamW(gpt.optimizerGroups(config.weightDecay), { lr: config.lr, betas: config.betas });
  const scheduler = new mp.optim.LambdaLR(optimizer, (step) => lrFactor({ ...config, maxSteps: steps }, step));
  const scaler = args.precision === 'float16' ? new mp.amp.GradScaler({ device }) : undefined;
  const autocast = { deviceType, dtype: args.precision, enabled: args.precision !== 'float32' };
  const perRank = config.batchSize / world;
  const batches = shared.trainBatches(args.seed * 1009 + rank, perRank, config.model.blockSize);
  log(`${world} ranks on ${device}, ${args.precision}, preset ${args.preset}: global batch ${config.batchSize} (${perRank} per rank) × ${config.model.blockSize} tokens, ${steps} steps`);

  const start = performance.now();
  for (let step = 1; step <= steps; ++step) {
    const loss = mp.tidy(() => {
      const { x, y } = batches.next();
      const l = mp.amp.autocast(autocast, () => {
        const logits = model.forward(x.to(device));
        return mp.nn.functional.crossEntropy(logits.reshape([-1, logits.shape[2]]), y.to(device).reshape([-1]));
      });
      (scaler ? scaler.scale(l) : l).backward(); // gradients averaged across ranks here
      mp.dispose([x, y]);
      optimizerStep(gpt, optimizer, scheduler, scaler, config.gradClip);
      return mp.keep(l.detach().float().reshape([1]));
    });
    if (step % config.evalEvery === 0 || step === steps) {
      // The ranks' mean training loss of this step, then rank 0's validation loss.
      mp.distributed.allReduce(loss, { op: 'avg' });
      const trainLoss = loss.item();
      if (rank === 0) log(`step ${step}: train loss ${trainLoss.toFixed(4)}, validation loss ${validationLoss(gpt, shared, config, args.precision, device).toFixed(4)}${scaler ? `, loss scale ${scaler.getScale()}` : ''}`);
    }
    loss.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  log(`${(steps * config.batchSize * config.model.blockSize / seconds).toFixed(0)} tokens/s over ${world} ranks (evaluation included)`);
  mp.distributed.destroyProcessGroup();
}

main();
