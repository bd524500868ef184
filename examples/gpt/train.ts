/**
 * One GPT training run in one precision recipe: float32, bfloat16 autocast, or float16 autocast
 * + GradScaler. The full recipe: AdamW (decay on matrices only), warm-up + cosine learning rate,
 * gradient accumulation, clipping after `scaler.unscale`, periodic validation, and a checkpoint of
 * the best model.
 */
import * as mp from 'mixprec';

import { lrFactor, type TrainConfig } from './config';
import type { GptData } from './data';
import { Gpt } from './model';

const F = mp.nn.functional;

export type Variant = 'float32' | 'bfloat16' | 'float16';

export interface TrainOptions {
  config: TrainConfig;
  data: GptData;
  variant: Variant;
  /** Seeds the weights, dropout and the batch order: same seed, same start and batches in every variant. */
  seed: number;
  device?: 'cpu' | 'cuda';
  /** GradScaler's first scale (float16; default 2**16, PyTorch's). */
  initScale?: number;
  /** Where the best model's checkpoint goes (none when undefined). */
  checkpointDir?: string;
  /** Called after every optimizer step with the step (from 1) and, every few steps, the training loss. */
  onStep?: (step: number, loss: number | undefined, scale: number | undefined) => void;
}

export interface TrainResult {
  variant: Variant;
  seed: number;
  /** Validation loss at each evaluation (step 0 is before training). */
  valCurve: { step: number; loss: number }[];
  /** Mean training loss of every `lossEvery` steps. */
  lossCurve: { step: number; loss: number }[];
  scaleCurve: { step: number; scale: number }[];
  finalValLoss: number;
  bestValLoss: number;
  /** Training tokens per second over the whole run, evaluation excluded. */
  tokensPerSecond: number;
  /** Peak tensor bytes on the training device during the run, and those live before it. */
  peakBytes: number;
  baselineBytes: number;
  skippedSteps: number | null;
  finalScale: number | null;
  model: Gpt;
}

/** Steps between two reads of the training loss. */
export const lossEvery = 10;

function inPrecision<T>(variant: Variant, deviceType: 'cpu' | 'cuda', fn: () => T): T {
  return variant === 'float32' ? fn() : mp.amp.autocast({ deviceType, dtype: variant }, fn);
}

/** Mean validation loss over the config's `evalBatches` fixed batches, in the variant's precision. */
export function validationLoss(model: Gpt, data: GptData, c: TrainConfig, variant: Variant, device: mp.DeviceLike): number {
  const deviceType = mp.Device.parse('validationLoss', 'device', device).type;
  model.eval();
  const batches = data.validationBatches(c.evalBatches, c.batchSize, c.model.blockSize);
  let sum = 0;
  for (const { x, y } of batches) {
    sum += mp.noGrad(() => mp.tidy(() => {
      const logits = inPrecision(variant, deviceType, () => model.forward(x.to(device)));
      return F.crossEntropy(logits.reshape([-1, logits.shape[2]]).float(), y.to(device).reshape([-1])).dataSync()[0];
    }));
    mp.dispose([x, y]);
  }
  model.train();
  return sum / batches.length;
}

/**
 * The end of a training step, once the gradients are in: unscale (float16), clip the true
 * gradients (so the threshold means the same in every variant), step, update the scale, zero the
 * gradients and advance the schedule.
 */
export function optimizerStep(model: mp.nn.Module<any[], unknown>, optimizer: mp.optim.AdamW, scheduler: mp.optim.LambdaLR, scaler: mp.amp.GradScaler | undefined, gradClip: number): void {
  if (scaler) scaler.unscale(optimizer);
  mp.nn.utils.clipGradNorm(model.parameters(), gradClip);
  if (scaler) {
    scaler.step(optimizer);
    scaler.update();
  } else {
    optimizer.step();
  }
  optimizer.zeroGrad();
  scheduler.step();
}

export async function trainGpt(o: TrainOptions): Promise<TrainResult> {
  const c = o.config;
  const device = o.device ?? 'cpu';
  const key = device === 'cuda' ? 'cuda:0' : 'cpu';
  mp.resetPeakMemory();
  const baselineBytes = mp.memory().devices[key]?.numBytes ?? 0;

  mp.manualSeed(o.seed);
  const model = new Gpt({ ...c.model, vocabSize: o.data.tokenizer.vocabSize }).to(device);
  const optimizer = new mp.optim.AdamW(model.optimizerGroups(c.weightDecay), { lr: c.lr, betas: c.betas });
  const scheduler = new mp.optim.LambdaLR(optimizer, (step) => lrFactor(c, step));
  const scaler = o.variant === 'float16' ? new mp.amp.GradScaler({ device, initScale: o.initScale }) : undefined;
  const batches = o.data.trainBatches(o.seed, c.batchSize, c.model.blockSize);

  const valCurve = [{ step: 0, loss: validationLoss(model, o.data, c, o.variant, device) }];
  const lossCurve: TrainResult['lossCurve'] = [];
  const scaleCurve: TrainResult['scaleCurve'] = scaler ? [{ step: 0, scale: scaler.getScale() }] : [];
  let best = valCurve[0].loss;
  let trainSeconds = 0;
  const lossSum = mp.keep(mp.zeros([], { device }));
  let readSum = 0;
  for (let step = 1; step <= c.maxSteps; ++step) {
    const start = performance.now();
    mp.tidy(() => {
      for (let micro = 0; micro < c.gradAccumSteps; ++micro) {
        const { x, y } = batches.next();
        const loss = inPrecision(o.variant, device, () => {
          const logits = model.forward(x.to(device));
          return F.crossEntropy(logits.reshape([-1, logits.shape[2]]), y.to(device).reshape([-1])).div(c.gradAccumSteps);
        });
        lossSum.add_(loss.detach());
        (scaler ? scaler.scale(loss) : loss).backward();
        mp.dispose([x, y]);
      }
      optimizerStep(model, optimizer, scheduler, scaler, c.gradClip);
    });
    trainSeconds += (performance.now() - start) / 1000;
    let reported: number | undefined;
    if (step % lossEvery === 0 || step === c.maxSteps) {
      const sum = lossSum.dataSync()[0];
      const span = step % lossEvery === 0 ? lossEvery : step % lossEvery;
      reported = (sum - readSum) / span;
      readSum = sum;
      lossCurve.push({ step, loss: reported });
      if (scaler) scaleCurve.push({ step, scale: scaler.getScale() });
    }
    if (step % c.evalEvery === 0 || step === c.maxSteps) {
      const loss = validationLoss(model, o.data, c, o.variant, device);
      valCurve.push({ step, loss });
      if (loss < best && o.checkpointDir !== undefined) {
        mp.checkpoint.save(o.checkpointDir, { model, optimizer, scaler, scheduler, step, extra: { valLoss: loss } }, { keep: 1 });
      }
      best = Math.min(best, loss);
    }
    o.onStep?.(step, reported, scaler?.getScale());
  }
  lossSum.dispose();
  const stats = scaler ? await scaler.statistics() : undefined;
  const peakBytes = mp.memory().devices[key]?.peakBytes ?? 0;
  scaler?.dispose();
  optimizer.dispose();
  return {
    variant: o.variant,
    seed: o.seed,
    valCurve,
    lossCurve,
    scaleCurve,
    finalValLoss: valCurve[valCurve.length - 1].loss,
    bestValLoss: best,
    tokensPerSecond: (c.maxSteps * c.gradAccumSteps * c.batchSize * c.model.blockSize) / trainSeconds,
    peakBytes,
    baselineBytes,
    skippedSteps: stats ? stats.skippedSteps : null,
    finalScale: stats ? stats.scale : null,
    model,
  };
}
