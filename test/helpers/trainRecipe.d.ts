// Types for test/concurrency.test.ts, which runs trainRecipe.js on lib/.
import type * as mixprec from '../../lib';

export interface TrainResult {
  losses: number[];
  /** Each parameter's bytes, base64. */
  params: string[];
  scale: number;
  startMs: number;
  endMs: number;
  tensorsAfter: number;
}

export const configs: Record<'mlpFloat16Scaler' | 'mlpBfloat16Sgd' | 'cnnBfloat16AdamW', { dtype: string; scaler: boolean; optimizer: string; model: string; steps: number }>;

export function train(mp: typeof mixprec, name: keyof typeof configs, seed: number, onStart?: () => void): TrainResult;
