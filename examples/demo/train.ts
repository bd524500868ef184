/**
 * One run: one seed, one variant. Every variant re-seeds before building the model and the
 * DataLoader, so all three start from the same weights and see the same batches; only the
 * precision recipe differs.
 */
import * as mp from 'mixprec';

import type { DeviceType, ModelKind, Variant } from './args';
import { asInput, buildModel } from './models';
import type { Progress } from './progress';

const F = mp.nn.functional;

/** The hyper-parameters, identical for every variant. */
export const hyperParameters = { optimizer: 'Adam', lr: 1e-3, batchSize: 128 } as const;

/** Steps between two reads of the running loss (and of the loss scale) for the curves. */
export const lossEvery = 10;

export interface EpochRecord {
  epoch: number;
  /** Mean training loss of the epoch. */
  loss: number;
  /** Test accuracy after the epoch, a fraction. */
  accuracy: number;
  /** Wall time of the epoch's training steps (the test pass is not counted). */
  seconds: number;
  /** float16 only: steps the GradScaler skipped so far (cumulative) and its scale after the epoch. */
  skippedSteps?: number;
  scale?: number;
}

export interface RunResult {
  seed: number;
  variant: Variant;
  epochs: EpochRecord[];
  finalAccuracy: number;
  /** Mean of the epochs' `seconds`. */
  secondsPerEpoch: number;
  /** The training device's peak tensor bytes over the run (training and test passes). */
  peakBytes: number;
  /** Bytes already live on that device when the run started (on the CPU: the digits). */
  baselineBytes: number;
  /** Optimizer steps attempted (epochs × batches). */
  steps: number;
  /** float16: the GradScaler's totals at the end; null for the other variants. */
  skippedSteps: number | null;
  finalScale: number | null;
  /** float16: clean steps the GradScaler waits for before it grows the scale; null otherwise. */
  growthInterval: number | null;
  /** Mean loss of every `lossEvery` steps (the last window of an epoch may be shorter); `step` counts from 1 across epochs. */
  lossCurve: { step: number; loss: number }[];
  /** float16: the loss scale at step 0 and at every loss read. */
  scaleCurve: { step: number; scale: number }[];
}

export interface RunOptions {
  model: ModelKind;
  seed: number;
  variant: Variant;
  epochs: number;
  device: DeviceType;
  train: mp.data.TensorDataset;
  test: mp.data.TensorDataset;
  progress: Progress;
}

/** Runs `fn` in the variant's precision: as is for float32, else in an autocast scope. */
function inPrecision<T>(variant: Variant, deviceType: DeviceType, fn: () => T): T {
  return variant === 'float32' ? fn() : mp.amp.autocast({ deviceType, dtype: variant }, fn);
}

/** Fraction of test digits classified correctly, in the variant's precision (one read at the end). */
async function accuracy(model: mp.nn.Module, o: RunOptions): Promise<number> {
  model.eval();
  const correct = mp.keep(mp.zeros([], { dtype: 'int32', device: o.device }));
  for (const batch of new mp.data.DataLoader(o.test, { batchSize: 1000 })) {
    mp.noGrad(() => mp.tidy(() => {
      const [x, y] = batch;
      const logits = inPrecision(o.variant, o.device, () => model.forward(asInput(x.to(o.device), o.model)));
      correct.add_(logits.argmax({ dim: 1 }).eq(y.to(o.device)).sum());
    }));
    mp.dispose(batch);
  }
  model.train();
  const result = (await correct.data())[0] / o.test.length;
  correct.dispose();
  return result;
}

const deviceKey = (device: DeviceType): string => (device === 'cuda' ? 'cuda:0' : 'cpu');

/** One training step of the variant; returns the (detached) loss. */
function stepper(o: RunOptions, model: mp.nn.Module, optimizer: mp.optim.Adam, scaler: mp.amp.GradScaler | undefined) {
  const { variant, device } = o;
  return (x: mp.Tensor, y: mp.Tensor): mp.Tensor => {
    const input = asInput(x.to(device), o.model);
    const target = y.to(device);
    const loss = inPrecision(variant, device, () => F.crossEntropy(model.forward(input), target));
    optimizer.zeroGrad();
    if (scaler) {
      scaler.scale(loss).backward();
      scaler.step(optimizer);
      scaler.update();
    } else {
      loss.backward();
      optimizer.step();
    }
    return loss.detach();
  };
}

/**
 * A few untimed steps of the variant on a throwaway model, so no variant's first epoch pays for
 * JIT compilation and first-touch allocations the others skip. It runs before the run re-seeds,
 * so the measured run's weights and batches do not change.
 */
function warmUp(o: RunOptions): void {
  const model = buildModel(o.model).to(o.device);
  const optimizer = new mp.optim.Adam(model.parameters(), { lr: hyperParameters.lr });
  const scaler = o.variant === 'float16' ? new mp.amp.GradScaler({ device: o.device }) : undefined;
  const step = stepper(o, model, optimizer, scaler);
  for (const batch of new mp.data.DataLoader(o.train, { batchSize: hyperParameters.batchSize })) {
    for (let i = 0; i < 3; ++i) mp.tidy(() => void step(batch[0], batch[1]));
    mp.dispose(batch);
    break;
  }
  scaler?.dispose();
  optimizer.dispose();
  model.dispose();
}

export async function trainVariant(o: RunOptions): Promise<RunResult> {
  const { variant, device } = o;
  const key = deviceKey(device);
  warmUp(o);
  mp.resetPeakMemory();
  const baselineBytes = mp.memory().devices[key]?.numBytes ?? 0;

  mp.manualSeed(o.seed);
  const model = buildModel(o.model).to(device);
  const optimizer = new mp.optim.Adam(model.parameters(), { lr: hyperParameters.lr });
  // Shuffled by the default generator, whose stream continues after the weight init (as
  // PyTorch's global RNG does), so every variant of a seed sees the same batches.
  const loader = new mp.data.DataLoader(o.train, { batchSize: hyperParameters.batchSize, shuffle: true });
  // GradScaler (float16 only): the lines that use it are the `scaler` lines below.
  const scaler = variant === 'float16' ? new mp.amp.GradScaler({ device }) : undefined;

  const trainStep = stepper(o, model, optimizer, scaler);

  const batches = loader.length;
  const epochs: EpochRecord[] = [];
  const lossCurve: RunResult['lossCurve'] = [];
  const scaleCurve: RunResult['scaleCurve'] = [];
  if (scaler) scaleCurve.push({ step: 0, scale: scaler.getScale() });
  let stats = { steps: 0, skippedSteps: 0, scale: Number.NaN };
  for (let epoch = 1; epoch <= o.epochs; ++epoch) {
    const start = performance.now();
    // The epoch's loss sum stays on the device; it is read every `lossEvery` steps, between steps.
    const lossSum = mp.keep(mp.zeros([], { device }));
    let readSum = 0;
    let readAt = 0;
    let b = 0;
    for (const batch of loader) {
      mp.tidy(() => {
        const [x, y] = batch;
        lossSum.add_(trainStep(x, y));
      });
      mp.dispose(batch);
      ++b;
      if (b % lossEvery === 0 || b === batches) {
        const sum = (await lossSum.data())[0];
        const step = (epoch - 1) * batches + b;
        const loss = (sum - readSum) / (b - readAt);
        lossCurve.push({ step, loss });
        const scale = scaler?.getScale();
        if (scale !== undefined) scaleCurve.push({ step, scale });
        readSum = sum;
        readAt = b;
        o.progress.step(epoch, b, loss, scale);
      } else {
        o.progress.step(epoch, b);
      }
    }
    const seconds = (performance.now() - start) / 1000;
    const record: EpochRecord = { epoch, loss: readSum / batches, accuracy: 0, seconds };
    lossSum.dispose();
    if (scaler) {
      stats = await scaler.statistics();
      record.skippedSteps = stats.skippedSteps;
      record.scale = stats.scale;
    }
    record.accuracy = await accuracy(model, o);
    epochs.push(record);
    o.progress.epochDone(record);
  }

  const peakBytes = mp.memory().devices[key]?.peakBytes ?? 0;
  const growthInterval = scaler ? scaler.getGrowthInterval() : null;
  scaler?.dispose();
  optimizer.dispose();
  model.dispose();
  return {
    seed: o.seed,
    variant,
    epochs,
    finalAccuracy: epochs[epochs.length - 1].accuracy,
    secondsPerEpoch: epochs.reduce((s, e) => s + e.seconds, 0) / epochs.length,
    peakBytes,
    baselineBytes,
    steps: o.epochs * batches,
    skippedSteps: scaler ? stats.skippedSteps : null,
    finalScale: scaler ? stats.scale : null,
    growthInterval,
    lossCurve,
    scaleCurve,
  };
}
