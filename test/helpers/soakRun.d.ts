// Types for test/soak.test.ts, which runs the soak of soakRun.js on lib/.
import type * as mixprec from '../../lib';

export interface SoakSample { step: number; liveBytes: number; numTensors: number; rssBytes: number; stepsPerSecond: number }

export interface SoakResult {
  samples: SoakSample[];
  skipped: number;
  nonFinite: number;
  mismatches: { step: number; applied: boolean; gradientsFinite: boolean }[];
  losses: number[];
  statistics: mixprec.amp.ScalerStatistics;
  seconds: number;
  stepsPerSecond: number;
}

export interface SoakOptions {
  steps: number;
  warmup: number;
  sampleEvery: number;
  batches?: number;
  batch?: number;
  growthInterval?: number;
  log?: (sample: SoakSample) => void;
}

export function runSoak(mp: typeof mixprec, options: SoakOptions): Promise<SoakResult>;

export function verdict(result: SoakResult, options: { warmup: number; rssGrowthLimit?: number; endSamples?: number }): {
  ok: boolean;
  problems: string[];
  rssGrowth: number;
  baseRss: number;
  lastRss: number;
  base: SoakSample;
  last: SoakSample;
};
