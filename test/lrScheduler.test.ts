import {
  CosineAnnealingLR,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  LRScheduler,
  MultiStepLR,
  SequentialLR,
  StepLR,
  type SchedulableOptimizer,
} from '../lib/optim/lrScheduler';
import { MixprecRangeError, MixprecTypeError } from '../lib';

function optimizer(...lrs: number[]): SchedulableOptimizer {
  return { paramGroups: lrs.map((lr) => ({ lr })) };
}

/** The lr of group `group` for epochs 0..epochs-1: the constructor sets epoch 0, step() the rest. */
function run(opt: SchedulableOptimizer, scheduler: LRScheduler, epochs: number, group = 0): number[] {
  const lrs = [opt.paramGroups[group].lr];
  expect(scheduler.getLastLr()).toEqual(opt.paramGroups.map((g) => g.lr));
  for (let e = 1; e < epochs; ++e) {
    scheduler.step();
    expect(scheduler.getLastLr()).toEqual(opt.paramGroups.map((g) => g.lr));
    lrs.push(opt.paramGroups[group].lr);
  }
  return lrs;
}

/** Recursive products drift from closed forms by a few ulps; 1e-12 relative is far below any real difference. */
function expectClose(got: number[], want: number[]): void {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => {
    if (Math.abs(g - want[i]) > 1e-12 * Math.max(Math.abs(want[i]), 1e-300)) throw new Error(`epoch ${i}: got ${g}, want ${want[i]}\ngot  ${got.join(', ')}\nwant ${want.join(', ')}`);
  });
}

const epochs = (n: number) => Array.from({ length: n }, (_, e) => e);

describe('schedules match PyTorch formulas', () => {
  test('StepLR: initialLr * gamma^floor(epoch / stepSize), every group', () => {
    const opt = optimizer(0.05, 2);
    const s = new StepLR(opt, 3, { gamma: 0.5 });
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.05, 2]);
    expect(s.lastEpoch).toBe(0);
    const lrs0: number[] = [];
    const lrs1: number[] = [];
    for (let e = 0; e < 10; ++e) {
      if (e > 0) s.step();
      lrs0.push(opt.paramGroups[0].lr);
      lrs1.push(opt.paramGroups[1].lr);
    }
    expect(lrs0).toEqual([0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.00625]);
    expectClose(lrs1, epochs(10).map((e) => 2 * 0.5 ** Math.floor(e / 3)));
    expect(s.lastEpoch).toBe(9);
  });

  test('StepLR default gamma is 0.1', () => {
    const opt = optimizer(1);
    expectClose(run(opt, new StepLR(opt, 2), 7), [1, 1, 0.1, 0.1, 0.01, 0.01, 0.001]);
  });

  test('MultiStepLR: gamma per milestone passed; a repeated milestone applies twice; unsorted input', () => {
    const opt = optimizer(0.1);
    const s = new MultiStepLR(opt, [5, 2, 5], { gamma: 0.1 });
    expect(s.milestones).toEqual([2, 5, 5]);
    expectClose(run(opt, s, 8), [0.1, 0.1, 0.01, 0.01, 0.01, 1e-4, 1e-4, 1e-4]);
  });

  test('ExponentialLR: initialLr * gamma^epoch', () => {
    const opt = optimizer(0.3);
    expectClose(run(opt, new ExponentialLR(opt, 0.9), 20), epochs(20).map((e) => 0.3 * 0.9 ** e));
  });

  test('CosineAnnealingLR: recursive form follows the closed form, through etaMin and back up', () => {
    const tMax = 7;
    const etaMin = 0.01;
    const opt = optimizer(0.5, 0.2);
    const s = new CosineAnnealingLR(opt, tMax, { etaMin });
    const closed = (base: number, e: number) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * e) / tMax))) / 2;
    const got0: number[] = [];
    const got1: number[] = [];
    for (let e = 0; e < 3 * tMax + 2; ++e) {
      if (e > 0) s.step();
      got0.push(opt.paramGroups[0].lr);
      got1.push(opt.paramGroups[1].lr);
    }
    expectClose(got0, epochs(3 * tMax + 2).map((e) => closed(0.5, e)));
    expectClose(got1, epochs(3 * tMax + 2).map((e) => closed(0.2, e)));
    expect(got0[tMax]).toBeCloseTo(etaMin, 15);
    expect(got0[2 * tMax]).toBeCloseTo(0.5, 14);
  });

  test('CosineAnnealingLR is chainable: it works from the current lr, as PyTorch does', () => {
    const opt = optimizer(1);
    const s = new CosineAnnealingLR(opt, 4);
    s.step(); // epoch 1: (1 + cos(pi/4)) / 2
    opt.paramGroups[0].lr = 0.5; // someone else halves it
    s.step(); // epoch 2: the ratio of consecutive closed forms applied to 0.5
    const ratio = (1 + Math.cos(Math.PI / 2)) / (1 + Math.cos(Math.PI / 4));
    expect(opt.paramGroups[0].lr).toBeCloseTo(0.5 * ratio, 15);
  });

  test('LinearLR: factor from startFactor to endFactor over totalIters, then constant', () => {
    const opt = optimizer(0.05);
    expectClose(run(opt, new LinearLR(opt, { startFactor: 0.5, totalIters: 4 }), 7), [0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05, 0.05]);
    const opt2 = optimizer(2);
    const s = new LinearLR(opt2, { startFactor: 1, endFactor: 0.25, totalIters: 6 });
    expectClose(run(opt2, s, 9), epochs(9).map((e) => 2 * (1 + ((0.25 - 1) * Math.min(e, 6)) / 6)));
    const opt3 = optimizer(3);
    expectClose(run(opt3, new LinearLR(opt3), 7), epochs(7).map((e) => 3 * (1 / 3 + ((2 / 3) * Math.min(e, 5)) / 5)));
  });

  test('LambdaLR: initialLr * lambda(epoch), one function or one per group', () => {
    const opt = optimizer(0.1, 1);
    const s = new LambdaLR(opt, [(e) => Math.floor(e / 3), (e) => 0.95 ** e]);
    expectClose(run(opt, s, 8, 0), epochs(8).map((e) => 0.1 * Math.floor(e / 3)));
    expectClose(s.getLastLr(), [0.1 * 2, 0.95 ** 7]);
    const opt2 = optimizer(0.2, 0.4);
    new LambdaLR(opt2, (e) => 1 / (e + 1));
    expect(opt2.paramGroups.map((g) => g.lr)).toEqual([0.2, 0.4]);
  });

  test('resuming with lastEpoch continues the schedule from initialLr', () => {
    const opt: SchedulableOptimizer = { paramGroups: [{ lr: 0.081, initialLr: 0.1 }] };
    const s = new ExponentialLR(opt, 0.9, { lastEpoch: 1 });
    expect(s.lastEpoch).toBe(2);
    expect(opt.paramGroups[0].lr).toBe(0.081);
    s.step();
    expectClose([opt.paramGroups[0].lr], [0.1 * 0.9 ** 3]);
    expect(() => new StepLR(optimizer(0.1), 2, { lastEpoch: 4 })).toThrow(
      'StepLR: optimizer.paramGroups[0].initialLr is not set; resuming with lastEpoch 4 needs the initialLr recorded when the schedule started',
    );
  });
});

describe('SequentialLR', () => {
  test('warm-up then decay: the second scheduler restarts at its epoch 0 at the milestone', () => {
    const opt = optimizer(1);
    const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 2 });
    const decay = new ExponentialLR(opt, 0.9);
    const s = new SequentialLR(opt, [warmup, decay], [3]);
    // Epoch 1: 0.1 * (1 + 0.9 / (2 * 0.1)); epoch 2: warm-up done; epoch 3: decay's epoch 0.
    expectClose(run(opt, s, 7), [0.1, 0.55, 1, 1, 0.9, 0.81, 0.729]);
    expect(s.lastEpoch).toBe(6);
    expect(warmup.lastEpoch).toBe(2);
    expect(decay.lastEpoch).toBe(3);
  });

  test('three schedulers, two milestones, two groups', () => {
    const opt = optimizer(0.4, 1);
    const step = new StepLR(opt, 2, { gamma: 0.5 });
    const cosine = new CosineAnnealingLR(opt, 4, { etaMin: 0.1 });
    const exp = new ExponentialLR(opt, 0.8);
    const s = new SequentialLR(opt, [step, cosine, exp], [4, 8]);
    const want = (base: number) =>
      epochs(12).map((e) => {
        if (e < 4) return base * 0.5 ** Math.floor(e / 2);
        if (e < 8) return 0.1 + ((base - 0.1) * (1 + Math.cos((Math.PI * (e - 4)) / 4))) / 2;
        return base * 0.8 ** (e - 8);
      });
    const got: number[][] = [[], []];
    for (let e = 0; e < 12; ++e) {
      if (e > 0) s.step();
      opt.paramGroups.forEach((g, i) => got[i].push(g.lr));
    }
    expectClose(got[0], want(0.4));
    expectClose(got[1], want(1));
  });

  test('bad arguments', () => {
    const opt = optimizer(1);
    const a = new StepLR(opt, 2);
    const b = new ExponentialLR(opt, 0.9);
    const other = new ExponentialLR(optimizer(1), 0.9);
    expect(() => new SequentialLR(opt, [], [])).toThrow("SequentialLR: argument 'schedulers' must be a non-empty array of schedulers, got an array of length 0");
    expect(() => new SequentialLR(opt, [a, {} as LRScheduler], [2])).toThrow("SequentialLR: argument 'schedulers[1]' must be an LRScheduler, got an object");
    expect(() => new SequentialLR(opt, [a, other], [2])).toThrow('SequentialLR: schedulers[1] (ExponentialLR) acts on another optimizer');
    expect(() => new SequentialLR(opt, [a, b], [])).toThrow("SequentialLR: argument 'milestones' must be an array of 1 epochs (one fewer than the schedulers), got an array of length 0");
    expect(() => new SequentialLR(opt, [a, b, a], [3, 3])).toThrow("SequentialLR: argument 'milestones[1]' must be a non-negative integer greater than the previous milestone, got 3");
    const seq = new SequentialLR(opt, [a, b], [2]);
    expect(() => new SequentialLR(opt, [seq, b], [2])).toThrow(/'schedulers\[0\]' must be a scheduler other than SequentialLR/);
  });
});

describe('stateDict / loadStateDict', () => {
  /** Runs `make` for `before` epochs, saves through JSON, restores into a fresh copy; both must continue alike. */
  function roundTrip(make: (opt: SchedulableOptimizer) => LRScheduler, lrs: number[], before: number, after: number): void {
    const opt = optimizer(...lrs);
    const s = make(opt);
    for (let i = 0; i < before; ++i) s.step();
    const saved = JSON.stringify(s.stateDict());
    const opt2 = optimizer(...lrs);
    const restored = make(opt2);
    restored.loadStateDict(JSON.parse(saved));
    // The optimizer's state (its lrs) is restored separately, as with PyTorch.
    opt.paramGroups.forEach((g, i) => Object.assign(opt2.paramGroups[i], g));
    expect(restored.stateDict()).toEqual(JSON.parse(saved));
    expect(restored.getLastLr()).toEqual(s.getLastLr());
    for (let i = 0; i < after; ++i) {
      s.step();
      restored.step();
      expect(opt2.paramGroups.map((g) => g.lr)).toEqual(opt.paramGroups.map((g) => g.lr));
    }
  }

  test('every scheduler continues identically after a JSON round trip', () => {
    roundTrip((o) => new StepLR(o, 3, { gamma: 0.5 }), [0.1, 1], 4, 6);
    roundTrip((o) => new MultiStepLR(o, [2, 6]), [0.1], 3, 6);
    roundTrip((o) => new ExponentialLR(o, 0.7), [0.1], 2, 3);
    roundTrip((o) => new CosineAnnealingLR(o, 5, { etaMin: 0.01 }), [0.1], 4, 10);
    roundTrip((o) => new LinearLR(o, { startFactor: 0.25, totalIters: 6 }), [0.1], 2, 6);
    roundTrip((o) => new LambdaLR(o, (e) => 1 / (1 + e)), [0.1, 0.3], 2, 3);
    roundTrip((o) => new SequentialLR(o, [new LinearLR(o, { startFactor: 0.5, totalIters: 2 }), new CosineAnnealingLR(o, 6)], [3]), [0.2], 2, 8);
  });

  test('what is saved: epoch, base lrs, last lrs and hyperparameters; no optimizer, no functions', () => {
    const opt = optimizer(0.1);
    const s = new StepLR(opt, 3, { gamma: 0.5 });
    s.step();
    expect(s.stateDict()).toEqual({ baseLrs: [0.1], lastEpoch: 1, stepCount: 2, lastLr: [0.1], stepSize: 3, gamma: 0.5 });
    expect(Object.keys(new LambdaLR(optimizer(1), () => 1).stateDict())).not.toContain('lrLambdas');
    const seq = new SequentialLR(opt, [s, new ExponentialLR(opt, 0.5)], [2]);
    const state = seq.stateDict();
    expect(state.schedulers).toEqual([s.stateDict(), seq.schedulers[1].stateDict()]);
    expect(state).not.toHaveProperty('optimizer');
  });

  test('bad states are refused before anything changes', () => {
    const s = new StepLR(optimizer(0.1), 3);
    expect(() => s.loadStateDict({ lastEpoch: 5, gama: 0.5 })).toThrow("StepLR.loadStateDict: unknown state key 'gama' (expected 'baseLrs', 'lastEpoch', 'stepCount', 'lastLr', 'stepSize', 'gamma')");
    expect(s.lastEpoch).toBe(0);
    expect(() => s.loadStateDict({ lastEpoch: '5' })).toThrow("StepLR.loadStateDict: argument 'state.lastEpoch' must be a number, got \"5\"");
    expect(() => s.loadStateDict({ baseLrs: 0.1 })).toThrow("argument 'state.baseLrs' must be an array, got 0.1");
    expect(() => s.loadStateDict(null as unknown as Record<string, unknown>)).toThrow(MixprecTypeError);
    const opt = optimizer(1);
    const seq = new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(opt, 3)], [4]);
    expect(() => seq.loadStateDict({ ...seq.stateDict(), schedulers: [] })).toThrow("SequentialLR.loadStateDict: argument 'state.schedulers' must be an array of 2 scheduler states, got an array of length 0");
  });
});

describe('bad arguments name the scheduler, the argument, expected and got', () => {
  test.each([
    [() => new StepLR(undefined as unknown as SchedulableOptimizer, 2), "StepLR: argument 'optimizer' must be an optimizer with a non-empty paramGroups array, got undefined", MixprecTypeError],
    [() => new StepLR({ paramGroups: [] }, 2), "StepLR: argument 'optimizer' must be an optimizer with a non-empty paramGroups array, got an object", MixprecTypeError],
    [() => new StepLR({ paramGroups: [{ lr: NaN }] }, 2), "StepLR: argument 'optimizer.paramGroups[0].lr' must be a finite number, got NaN", MixprecTypeError],
    [() => new StepLR(optimizer(1), 0), "StepLR: argument 'stepSize' must be a positive integer, got 0", MixprecRangeError],
    [() => new StepLR(optimizer(1), 2, { gamma: Infinity }), "StepLR: argument 'options.gamma' must be a finite number, got Infinity", MixprecTypeError],
    [() => new StepLR(optimizer(1), 2, { lastEpoch: -2 }), "StepLR: argument 'options.lastEpoch' must be an integer >= -1, got -2", MixprecRangeError],
    [() => new StepLR(optimizer(1), 2, { step_size: 3 } as never), "StepLR: unknown option 'step_size' (expected 'gamma', 'lastEpoch')", MixprecTypeError],
    [() => new MultiStepLR(optimizer(1), [1, 2.5]), "MultiStepLR: argument 'milestones' must be an array of non-negative integers, got an array of length 2", MixprecTypeError],
    [() => new ExponentialLR(optimizer(1), undefined as unknown as number), "ExponentialLR: argument 'gamma' must be a finite number, got undefined", MixprecTypeError],
    [() => new CosineAnnealingLR(optimizer(1), 2.5), "CosineAnnealingLR: argument 'tMax' must be a positive integer, got 2.5", MixprecRangeError],
    [() => new CosineAnnealingLR(optimizer(1), 10, { etaMin: NaN }), "CosineAnnealingLR: argument 'options.etaMin' must be a finite number, got NaN", MixprecTypeError],
    [() => new LinearLR(optimizer(1), { startFactor: 0 }), "LinearLR: argument 'options.startFactor' must be in (0, 1], got 0", MixprecRangeError],
    [() => new LinearLR(optimizer(1), { startFactor: 1.5 }), "LinearLR: argument 'options.startFactor' must be in (0, 1], got 1.5", MixprecRangeError],
    [() => new LinearLR(optimizer(1), { endFactor: -0.1 }), "LinearLR: argument 'options.endFactor' must be in [0, 1], got -0.1", MixprecRangeError],
    [() => new LinearLR(optimizer(1), { totalIters: 0 }), "LinearLR: argument 'options.totalIters' must be a positive integer, got 0", MixprecRangeError],
    [() => new LambdaLR(optimizer(1), 0.5 as unknown as () => number), "LambdaLR: argument 'lrLambda' must be a function of the epoch or an array of them, got 0.5", MixprecTypeError],
    [() => new LambdaLR(optimizer(1, 2), [() => 1]), "LambdaLR: argument 'lrLambda' must be an array of 2 functions (one per parameter group), got an array of length 1", MixprecRangeError],
    [() => new LambdaLR(optimizer(1), () => NaN), 'LambdaLR: lrLambda(0) must return a finite number, got NaN', MixprecTypeError],
    [() => new LambdaLR(optimizer(1, 2), [() => 1, () => 'x' as unknown as number]), 'LambdaLR: lrLambda[1](0) must return a finite number, got "x"', MixprecTypeError],
  ])('%#', (make, message, kind) => {
    expect(make).toThrow(message);
    expect(make).toThrow(kind);
  });
});
