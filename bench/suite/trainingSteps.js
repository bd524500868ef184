// Training step time and peak memory of three workloads in float32, AMP bfloat16 (autocast) and
// AMP float16 (autocast + GradScaler), and the autocast + scaler overhead of the W1 AMP step.
//   W1: MLP 784-1024-1024-10, ReLU, crossEntropy, Adam (lr 1e-3), batch 256.
//   W2: the GPT of examples/gpt (2 layers, 4 heads, 128 wide, context 64, vocabulary 4096, tied
//       head), next-token crossEntropy, AdamW (lr 1e-3, decay 0.1 on matrices), batch 16.
//   W3: CNN on [N, 1, 28, 28]: conv3x3 1→64, ReLU, conv3x3 64→64, ReLU, maxPool 2,
//       conv3x3 64→128, ReLU, maxPool 2, flatten, linear 128·7·7→10; crossEntropy,
//       SGD (lr 0.01, momentum 0.9), batch 512. Convs use padding 1: 28→28→28→14→14→7.
// Random data (seeded), one batch reused by every step. Every variant builds its model from the
// same seed. A step is one mp.tidy: zeroGrad, forward (in the variant's precision), backward,
// optimizer step. Per variant: untimed warm-up steps, then the peak-memory counter is reset and
// peak = mp.memory().devices.cpu.peakBytes over the next step(s) (it includes what was resident:
// parameters, optimizer state, the batch); then every variant's timed steps run interleaved.
'use strict';
const mp = require('../../dist');
const { timeMs, median, quantile } = require('./util');

const nn = mp.nn;
const F = nn.functional;
const variants = ['float32', 'bfloat16', 'float16'];

function buildW1() {
  mp.manualSeed(0);
  const layers = [new nn.Linear(784, 1024), new nn.Linear(1024, 1024), new nn.Linear(1024, 10)];
  const model = new nn.Sequential(layers[0], new nn.ReLU(), layers[1], new nn.ReLU(), layers[2]);
  return { model, layers, optimizer: new mp.optim.Adam(model.parameters(), { lr: 1e-3 }) };
}

function buildW3() {
  mp.manualSeed(0);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 64, 3, { padding: 1 }), new nn.ReLU(),
    new nn.Conv2d(64, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(64, 128, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(128 * 7 * 7, 10));
  return { model, optimizer: new mp.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 }) };
}

/** W2's GPT (examples/gpt/model.ts, compiled by `npm run bench` into examples/build). */
const gpt = { vocabSize: 4096, blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 128, dropout: 0 };

function buildW2() {
  const { Gpt } = require('../../examples/build/gpt/model');
  mp.manualSeed(0);
  const model = new Gpt(gpt);
  return { model, optimizer: new mp.optim.AdamW(model.optimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.95] }) };
}

const classify = (model, x, y) => F.crossEntropy(model.forward(x), y);

const workloads = {
  w1: { name: 'W1 MLP 784-1024-1024-10, Adam', build: buildW1, loss: classify,
    data: (b) => ({ x: mp.randn([b, 784]), y: mp.randint(0, 10, [b]) }) },
  w2: { name: `W2 GPT ${gpt.nLayer} layers × ${gpt.nHead} heads × ${gpt.nEmbd} wide, context ${gpt.blockSize}, vocabulary ${gpt.vocabSize}, AdamW`, build: buildW2,
    loss: (model, x, y) => F.crossEntropy(model.forward(x).reshape([-1, gpt.vocabSize]), y.reshape([-1])),
    data: (b) => ({ x: mp.randint(0, gpt.vocabSize, [b, gpt.blockSize], { dtype: 'int32' }), y: mp.randint(0, gpt.vocabSize, [b, gpt.blockSize], { dtype: 'int32' }) }) },
  w3: { name: 'W3 CNN 28x28 (3 convs, padding 1), SGD momentum', build: buildW3, loss: classify,
    data: (b) => ({ x: mp.randn([b, 1, 28, 28]), y: mp.randint(0, 10, [b]) }) },
};

function makeData(workload, batch) {
  mp.manualSeed(1);
  const { x, y } = workloads[workload].data(batch);
  return { x: mp.keep(x), y: mp.keep(y) };
}

const autocastOptions = (dtype) => ({ deviceType: 'cpu', dtype });

/**
 * A training setup: its model, optimizer and (float16) scaler, and `step()`.
 * `mode`: 'float32' | 'bfloat16' | 'float16' (autocast + GradScaler), or the overhead baselines
 * 'float16-noscaler' (autocast, no scaler) and 'bfloat16-manual' (W1 only: no autocast scope, the
 * same casts written by hand, so it does the native work of the bfloat16 AMP step).
 */
function setup(workload, mode, data) {
  const built = workloads[workload].build();
  const { model, optimizer } = built;
  const scaler = mode === 'float16' ? new mp.amp.GradScaler({ device: 'cpu' }) : undefined;
  const { x, y } = data;
  let forward;
  const loss = () => workloads[workload].loss(model, x, y);
  if (mode === 'float32') {
    forward = loss;
  } else if (mode === 'bfloat16-manual') {
    // What autocast does for W1 (see mp.amp.explain): linear casts its float32 operands to
    // bfloat16 (recorded casts, so gradients reach the float32 parameters), relu passes
    // through, crossEntropy casts the logits back to float32.
    const c = (t) => t.to('bfloat16');
    const [l1, l2, l3] = built.layers;
    forward = () => {
      let h = F.relu(F.linear(c(x), c(l1.weight), c(l1.bias)));
      h = F.relu(F.linear(h, c(l2.weight), c(l2.bias)));
      return F.crossEntropy(F.linear(h, c(l3.weight), c(l3.bias)).to('float32'), y);
    };
  } else {
    const dtype = mode.startsWith('float16') ? 'float16' : 'bfloat16';
    forward = () => mp.amp.autocast(autocastOptions(dtype), loss);
  }
  const step = () => mp.tidy(() => {
    optimizer.zeroGrad();
    const loss = forward();
    if (scaler) {
      scaler.scale(loss).backward();
      scaler.step(optimizer);
      scaler.update();
    } else {
      loss.backward();
      optimizer.step();
    }
  });
  const dispose = () => {
    scaler?.dispose();
    optimizer.dispose();
    model.dispose();
  };
  return { step, dispose, model, optimizer, scaler };
}

const cpuMemory = () => mp.memory().devices.cpu ?? { numBytes: 0, peakBytes: 0 };

/**
 * Times one workload in the three variants. Peak memory first, one variant at a time (warm-up
 * steps, a reset, then `memorySteps` steps). Then the timed steps run in rounds, one step of every
 * variant per round in a rotating order, so a machine that slows down for a while (a shared host)
 * slows every variant alike; each speed-up is the median of the per-round ratios, next to the ratio
 * of the medians.
 */
async function stepTimes(workload, { batch, warmup, minSteps, maxSteps, budgetMs = Infinity, memorySteps = 1, log = () => {} }) {
  const data = makeData(workload, batch);
  const start = cpuMemory().numBytes;
  const runs = [];
  for (const variant of variants) {
    // The variants set up before this one stay live; their bytes are not this variant's.
    const others = cpuMemory().numBytes - start;
    const s = setup(workload, variant, data);
    for (let i = 0; i < warmup; ++i) s.step();
    mp.resetPeakMemory();
    const residentBytes = cpuMemory().numBytes - others;
    for (let i = 0; i < memorySteps; ++i) s.step();
    runs.push({ variant, s, times: [], residentBytes, peakBytes: cpuMemory().peakBytes - others });
  }
  let spent = 0;
  for (let round = 0; runs[0].times.length < maxSteps && (runs[0].times.length < minSteps || spent < budgetMs); ++round) {
    for (let i = 0; i < runs.length; ++i) {
      const r = runs[(round + i) % runs.length];
      const t = timeMs(r.s.step);
      r.times.push(t);
      spent += t / runs.length;
    }
  }
  const rows = [];
  for (const r of runs) {
    // float16: steps the scaler skipped (overflow), warm-up included; a skipped step does less work.
    const skippedSteps = r.s.scaler ? (await r.s.scaler.statistics()).skippedSteps : undefined;
    r.s.dispose();
    const times = r.times;
    const row = { variant: r.variant, steps: times.length, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times),
      peakBytes: r.peakBytes, residentBytes: r.residentBytes, skippedSteps };
    rows.push(row);
    log(workload, row);
  }
  mp.dispose(data);
  const f32 = rows[0];
  for (const [i, r] of rows.entries()) {
    r.speedup = median(runs[0].times.map((t, k) => t / runs[i].times[k]));
    r.speedupOfMedians = f32.medianMs / r.medianMs;
    r.peakRatio = r.peakBytes / f32.peakBytes;
  }
  return { workload, name: workloads[workload].name, batch, warmup, memorySteps, rows };
}

/**
 * `pairs` rounds of step a and step b, alternating which runs first; returns both medians and
 * the median of the paired differences a - b (drift on a shared machine cancels in the pairs).
 */
function paired(a, b, { warmup, pairs }) {
  for (let i = 0; i < warmup; ++i) {
    a();
    b();
  }
  const ta = [];
  const tb = [];
  for (let r = 0; r < pairs; ++r) {
    if (r % 2) {
      tb.push(timeMs(b));
      ta.push(timeMs(a));
    } else {
      ta.push(timeMs(a));
      tb.push(timeMs(b));
    }
  }
  const diffs = ta.map((t, i) => t - tb[i]);
  return { aMs: median(ta), bMs: median(tb), diffMs: median(diffs), diffQ1Ms: quantile(diffs, 0.25), diffQ3Ms: quantile(diffs, 0.75), pairs };
}

/** µs autocast adds to one op call (tiny tensors, so native work is negligible): bench/autocast.js's method. */
function perOpDispatchMicros() {
  const calls = 1000;
  const rounds = 51;
  const x4 = mp.keep(mp.randn([4, 4]).to('bfloat16'));
  const w = mp.keep(mp.randn([4, 4]).requiresGrad_());
  const wb = mp.keep(w.to('bfloat16'));
  const a8 = mp.keep(mp.randn([8]).to('bfloat16'));
  const batch = (op, scoped) => () => mp.tidy(() => {
    const loop = () => { for (let i = 0; i < calls; ++i) op(); };
    if (scoped) mp.amp.autocast({ deviceType: 'cpu' }, loop);
    else loop();
  });
  const added = (op, baseOp) => {
    const on = batch(op, true);
    const off = batch(baseOp, false);
    on();
    off();
    let bestOn = Infinity;
    let bestOff = Infinity;
    for (let r = 0; r < rounds; ++r) {
      // Alternate the order so drift on a shared machine does not favour one side.
      if (r % 2) {
        bestOn = Math.min(bestOn, timeMs(on));
        bestOff = Math.min(bestOff, timeMs(off));
      } else {
        bestOff = Math.min(bestOff, timeMs(off));
        bestOn = Math.min(bestOn, timeMs(on));
      }
    }
    return ((bestOn - bestOff) * 1000) / calls;
  };
  const result = {
    // linear(x bf16, W float32 parameter) with a cache hit vs linear with the weight pre-cast:
    // the decision and the cast-cache lookup, without the cast's own work.
    lowerPrecision: added(() => F.linear(x4, w), () => F.linear(x4, wb)),
    // a passThrough op (relu on bfloat16) vs the same call outside any scope.
    passThrough: added(() => F.relu(a8), () => F.relu(a8)),
  };
  mp.dispose([x4, w, wb, a8]);
  return result;
}

/**
 * What the GradScaler adds after backward, timed on W1's real (scaled float16-recipe) gradients:
 * scaler.step(opt) + scaler.update() (unscale + inf check kernel, the skip-aware optimizer step,
 * the scale update) against opt.step() alone, in alternating short rounds. The gradients are
 * restored from a snapshot before every round (outside the timing), so repeated unscaling never
 * drives them into denormals. Plus scaler.scale(loss) (one multiply). Median of the differences.
 */
function scalerComponent(data, rounds) {
  const s = setup('w1', 'float16', data);
  const { scaler, model } = s;
  s.step();
  const params = model.parameters();
  const loss = mp.keep(mp.tidy(() => {
    const l = mp.amp.autocast(autocastOptions('float16'), () => F.crossEntropy(model.forward(data.x), data.y));
    scaler.scale(l).backward();
    return l.detach();
  }));
  const saved = params.map((p) => mp.keep(p.grad.clone()));
  const restore = () => mp.noGrad(() => params.forEach((p, i) => p.grad.copy_(saved[i])));
  const withScaler = () => mp.tidy(() => {
    scaler.step(s.optimizer);
    scaler.update();
  });
  const plain = () => mp.tidy(() => { s.optimizer.step(); });
  const scale = () => mp.tidy(() => { scaler.scale(loss); });
  restore();
  withScaler();
  restore();
  plain();
  const a = [];
  const b = [];
  const c = [];
  for (let r = 0; r < rounds; ++r) {
    const first = r % 2 ? [withScaler, a] : [plain, b];
    const second = r % 2 ? [plain, b] : [withScaler, a];
    for (const [fn, out] of [first, second]) {
      restore();
      out.push(timeMs(fn));
    }
    c.push(timeMs(scale));
  }
  mp.dispose([loss, ...saved]);
  s.dispose();
  const diffs = a.map((t, i) => t - b[i]);
  return { stepUpdateMs: median(a), optimizerStepMs: median(b), scaleMs: median(c), addedMs: median(diffs) + median(c), iqrMs: [quantile(diffs, 0.25), quantile(diffs, 0.75)], rounds };
}

/**
 * The autocast + GradScaler overhead of the W1 AMP step.
 *   components (the verdict): autocast's dispatch = autocast-dispatched op calls per step
 *     (mp.amp.explain) x µs autocast adds per op call (tiny tensors, on vs off: bench/autocast.js's
 *     method); plus the scaler's added time (scalerComponent). As % of the float16 AMP + scaler
 *     step's median. Autocast's casts are not counted: a manual mixed-precision step casts too.
 *   end to end (cross-check, noisy): (bfloat16 AMP step - the same step with the casts written by
 *     hand, no autocast) + (float16 AMP + scaler step - the same without the scaler), medians of
 *     paired differences of whole steps; on a shared machine the noise is several % of a step.
 */
async function overhead({ batch, warmup, pairs, log = () => {} }) {
  const data = makeData('w1', batch);
  const amp = setup('w1', 'bfloat16', data);
  const manual = setup('w1', 'bfloat16-manual', data);
  const ac = paired(amp.step, manual.step, { warmup, pairs });
  const { log: decisions } = mp.amp.explain(autocastOptions('bfloat16'), () => mp.tidy(() => { F.crossEntropy(amp.model.forward(data.x), data.y); }));
  amp.dispose();
  manual.dispose();
  log('autocast', ac);
  const withScaler = setup('w1', 'float16', data);
  const noScaler = setup('w1', 'float16-noscaler', data);
  const sc = paired(withScaler.step, noScaler.step, { warmup, pairs });
  const skippedSteps = (await withScaler.scaler.statistics()).skippedSteps;
  withScaler.dispose();
  noScaler.dispose();
  log('scaler', sc);

  const perOp = perOpDispatchMicros();
  const scalerParts = scalerComponent(data, Math.max(11, pairs));
  mp.dispose(data);
  const byCategory = {};
  for (const e of decisions.entries) byCategory[e.category] = (byCategory[e.category] ?? 0) + 1;
  const ops = decisions.entries.length;
  const dispatchMs = decisions.entries.reduce((sum, e) => sum + (e.category === 'passThrough' ? perOp.passThrough : perOp.lowerPrecision), 0) / 1000;
  const ampStepMs = sc.aMs;
  return {
    batch,
    pairs,
    ampStepMs,
    components: {
      opsPerStep: ops, byCategory, perOpMicros: perOp, dispatchMs, scaler: scalerParts,
      addedMs: dispatchMs + scalerParts.addedMs, pct: (100 * (dispatchMs + scalerParts.addedMs)) / ampStepMs,
    },
    endToEnd: {
      autocast: { ampBf16Ms: ac.aMs, manualBf16Ms: ac.bMs, addedMs: ac.diffMs, iqrMs: [ac.diffQ1Ms, ac.diffQ3Ms] },
      scaler: { withScalerMs: sc.aMs, withoutScalerMs: sc.bMs, addedMs: sc.diffMs, iqrMs: [sc.diffQ1Ms, sc.diffQ3Ms], skippedSteps },
      addedMs: ac.diffMs + sc.diffMs,
      pct: (100 * (ac.diffMs + sc.diffMs)) / ampStepMs,
    },
  };
}

module.exports = { stepTimes, overhead, variants, setup, makeData };
