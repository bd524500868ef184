// The soak of issue 15: W1 (MLP 784-1024-1024-10, ReLU, crossEntropy, Adam lr 1e-3, batch 256)
// trained with autocast float16 + GradScaler for many steps. Used by test/soak.test.ts (1,000
// steps) and scripts/soak.js (`npm run soak`, 10,000 steps); `mp` is passed in so the test runs
// lib/ and the script runs dist/.
//
// Each step's gradients are read on the host and checked for inf/NaN independently of the
// scaler, and compared with whether the scaler applied the step. The growth interval is short
// (default 50 instead of 2000) so the scale keeps growing into float16 overflow and backing off:
// the soak sees skipped steps, backoffs and growths, not only clean steps.
'use strict';

/**
 * True when every value of every gradient is finite (a plain loop over host copies): x - x is 0
 * for finite x and NaN for infinities and NaN. (Number.isFinite per element is 40x slower inside
 * jest's vm context: 220 ms against 6 ms for 1M elements.) The copies go into arrays allocated
 * once (`hostCopies`): a fresh 3-4 MiB array per gradient per step is garbage that V8 frees late
 * and the allocator keeps pages of, which moved RSS by up to 30 MiB between samples with no
 * leak anywhere.
 */
function gradientsFinite(params, hostCopies) {
  for (let k = 0; k < params.length; ++k) {
    const g = params[k].grad.dataSync(hostCopies[k]);
    for (let i = 0; i < g.length; ++i) if (g[i] - g[i] !== 0) return false;
  }
  return true;
}

/**
 * Runs the soak and returns its samples and counts.
 * options: steps, warmup (steps before the baseline sample), sampleEvery, batches (distinct
 * random batches cycled through), growthInterval, log (called with each sample).
 */
async function runSoak(mp, { steps, warmup, sampleEvery, batches = 8, batch = 256, growthInterval = 50, log = () => {} }) {
  const nn = mp.nn;
  const F = nn.functional;
  mp.manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(784, 1024), new nn.ReLU(), new nn.Linear(1024, 1024), new nn.ReLU(), new nn.Linear(1024, 10));
  const params = model.parameters();
  const hostCopies = params.map((p) => new Float32Array(p.numel));
  const optimizer = new mp.optim.Adam(params, { lr: 1e-3 });
  const scaler = new mp.amp.GradScaler({ device: 'cpu', growthInterval });
  mp.manualSeed(1);
  const data = Array.from({ length: batches }, () => ({ x: mp.keep(mp.randn([batch, 784])), y: mp.keep(mp.randint(0, 10, [batch])) }));

  const samples = [];
  const sample = async (step, startMs) => {
    // Collect first (when run with --expose-gc) so garbage (autograd's JS objects, loss.item()'s
    // reads) does not move the sample; a leak survives gc. The backing stores of collected
    // ArrayBuffers are freed by a background task, so the sample waits a moment and collects
    // again before it reads RSS.
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
    globalThis.gc?.();
    const m = mp.memory();
    const s = {
      step,
      liveBytes: m.numBytes,
      numTensors: m.numTensors,
      rssBytes: process.memoryUsage().rss,
      stepsPerSecond: step / ((performance.now() - startMs) / 1000),
    };
    samples.push(s);
    log(s);
  };

  let skipped = 0;
  let nonFinite = 0;
  const mismatches = [];
  const losses = [];
  const start = performance.now();
  for (let step = 1; step <= steps; ++step) {
    const { x, y } = data[step % batches];
    const { finite, result, loss } = mp.tidy(() => {
      optimizer.zeroGrad();
      const l = mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => F.crossEntropy(model.forward(x), y));
      scaler.scale(l).backward();
      const allFinite = gradientsFinite(params, hostCopies);
      const r = scaler.step(optimizer);
      scaler.update();
      return { finite: allFinite, result: r, loss: l.item() };
    });
    const applied = await result.applied;
    losses.push(loss);
    if (!applied) ++skipped;
    if (!finite) ++nonFinite;
    if (applied !== finite) mismatches.push({ step, applied, gradientsFinite: finite });
    if (step === warmup || step % sampleEvery === 0 || step === steps) await sample(step, start);
  }
  const seconds = (performance.now() - start) / 1000;
  const statistics = await scaler.statistics();
  scaler.dispose();
  optimizer.dispose();
  model.dispose();
  mp.dispose(data.flatMap((d) => [d.x, d.y]));
  return { samples, skipped, nonFinite, mismatches, losses, statistics, seconds, stepsPerSecond: steps / seconds };
}

/** The median of a few numbers. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The verdict over the samples from `warmup` on: live bytes and tensor count equal to the warm-up
 * sample's at every later sample; RSS at the end within `rssGrowthLimit` of RSS after warm-up;
 * and every skipped step explained by a non-finite gradient (and every non-finite gradient
 * skipped). Each end of the RSS comparison is the median of `endSamples` samples (the first ones
 * from `warmup` on, the last ones), so one sample taken while the allocator holds a few more pages
 * does not decide the verdict; a leak raises every later sample and so the median too.
 */
function verdict(result, { warmup, rssGrowthLimit = 0.05, endSamples = 3 }) {
  const after = result.samples.filter((s) => s.step >= warmup);
  const base = after[0];
  const last = after[after.length - 1];
  const n = Math.max(1, Math.min(endSamples, after.length >> 1));
  const baseRss = median(after.slice(0, n).map((s) => s.rssBytes));
  const lastRss = median(after.slice(-n).map((s) => s.rssBytes));
  const rssGrowth = (lastRss - baseRss) / baseRss;
  const problems = [];
  for (const s of after) {
    if (s.liveBytes !== base.liveBytes) problems.push(`live bytes ${s.liveBytes} at step ${s.step}, ${base.liveBytes} at step ${base.step}`);
    if (s.numTensors !== base.numTensors) problems.push(`${s.numTensors} tensors at step ${s.step}, ${base.numTensors} at step ${base.step}`);
  }
  if (rssGrowth >= rssGrowthLimit) {
    problems.push(`RSS (median of ${n} samples at each end) grew ${(rssGrowth * 100).toFixed(2)}% from step ${base.step} to ${last.step}`);
  }
  for (const m of result.mismatches) problems.push(`step ${m.step}: applied ${m.applied} but gradients finite ${m.gradientsFinite}`);
  return { ok: problems.length === 0, problems, rssGrowth, baseRss, lastRss, base, last };
}

module.exports = { runSoak, verdict };
