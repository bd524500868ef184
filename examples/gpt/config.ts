/** The GPT example's presets: model size, tokenizer, batch and schedule. */
import type { GptConfig } from './model';

export interface TrainConfig {
  model: Omit<GptConfig, 'vocabSize'>;
  /** Byte-pair vocabulary size (trained on the training split). */
  vocabSize: number;
  batchSize: number;
  /** Micro-batches whose gradients add up to one optimizer step. */
  gradAccumSteps: number;
  /** Optimizer steps. */
  maxSteps: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  betas: [number, number];
  gradClip: number;
  /** Steps between two validation losses. */
  evalEvery: number;
  /** Batches averaged for one validation loss. */
  evalBatches: number;
}

export const presets: Record<'tiny' | 'small' | 'medium', TrainConfig> = {
  /** For CI: about a minute on two cores. */
  tiny: {
    model: { blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 64, dropout: 0 },
    vocabSize: 512,
    batchSize: 16,
    gradAccumSteps: 1,
    maxSteps: 300,
    lr: 3e-3,
    minLr: 3e-4,
    warmupSteps: 30,
    weightDecay: 0.1,
    betas: [0.9, 0.95],
    gradClip: 1,
    evalEvery: 50,
    evalBatches: 8,
  },
  /** The default: the three variants in about five minutes on two cores. */
  small: {
    model: { blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 256, dropout: 0 },
    vocabSize: 4096,
    batchSize: 8,
    gradAccumSteps: 1,
    maxSteps: 150,
    lr: 1e-3,
    minLr: 1e-4,
    warmupSteps: 15,
    weightDecay: 0.1,
    betas: [0.9, 0.95],
    gradClip: 1,
    evalEvery: 25,
    evalBatches: 8,
  },
  /** Longer and wider, for a machine with time to spare. */
  medium: {
    model: { blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.1 },
    vocabSize: 4096,
    batchSize: 16,
    gradAccumSteps: 2,
    maxSteps: 2000,
    lr: 6e-4,
    minLr: 6e-5,
    warmupSteps: 100,
    weightDecay: 0.1,
    betas: [0.9, 0.95],
    gradClip: 1,
    evalEvery: 100,
    evalBatches: 20,
  },
};

export type PresetName = keyof typeof presets;

/** Linear warm-up to `lr`, then cosine decay to `minLr` at `maxSteps` (nanoGPT's schedule), as a factor of `lr`. */
export function lrFactor(c: TrainConfig, step: number): number {
  if (step < c.warmupSteps) return (step + 1) / c.warmupSteps;
  const progress = Math.min(1, (step - c.warmupSteps) / Math.max(1, c.maxSteps - c.warmupSteps));
  const min = c.minLr / c.lr;
  return min + 0.5 * (1 - min) * (1 + Math.cos(Math.PI * progress));
}
