// CUDA against the CPU: the same casts to the bit, the same arithmetic, the same random streams,
// device memory accounting and errors. Plain JS over dist/ with node:assert, so the same checks
// run under jest (test/cuda.test.ts) and with bare node on a GPU machine (bench/gpu.sh), where
// node_modules does not travel.
'use strict';
const assert = require('node:assert/strict');
const mp = require('../../dist');

function xorshiftBits(n, seed) {
  const bits = new Uint32Array(n);
  let x = seed;
  for (let i = 0; i < n; ++i) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    bits[i] = x >>> 0;
  }
  return bits;
}

const same = (a, b) => assert.deepEqual(Array.from(a), Array.from(b));

const checks = {
  'casts are bit-identical to the CPU for every dtype pair'() {
    const bits = xorshiftBits(1 << 20, 0x2545f491);
    mp.tidy(() => {
      const cpu = mp.tensor(new Float32Array(bits.buffer));
      const gpu = cpu.to('cuda');
      for (const from of mp.dtypes) {
        const a = cpu.to(from);
        const b = gpu.to(from);
        for (const to of mp.dtypes) {
          const ca = Buffer.from(a.to(to).rawData().buffer);
          const cb = Buffer.from(b.to(to).cpu().rawData().buffer);
          assert.ok(ca.equals(cb), `${from} -> ${to} differs between cpu and cuda`);
        }
      }
    });
  },

  async 'elementwise ops, reductions and fills match the CPU'() {
    mp.manualSeed(11);
    await mp.tidy(async () => {
      for (const dtype of ['float32', 'float16', 'bfloat16', 'float64']) {
        const a = mp.randn([33, 1, 17], { dtype });
        const b = mp.randn([5, 1], { dtype });
        const ga = a.cuda();
        const gb = b.cuda();
        for (const op of ['add', 'sub', 'mul', 'div']) same(await mp[op](ga, gb).data(), mp[op](a, b).dataSync());
        same(await ga.mul(3).neg().data(), a.mul(3).neg().dataSync());
        // Summation order differs (a tree on the GPU), so compare with a tolerance.
        const s = ga.sum({ dim: [0, 2] }).cpu().dataSync();
        const r = a.sum({ dim: [0, 2] }).dataSync();
        s.forEach((v, i) => assert.ok(Math.abs(v - r[i]) <= Math.abs(r[i]) * 1e-2 + 1e-3, `${dtype} sum[${i}]: ${v} vs ${r[i]}`));
        same(mp.ones([7], { dtype, device: 'cuda' }).fill_(0.1).dataSync(), mp.full([7], 0.1, { dtype }).dataSync());
      }
      assert.deepEqual(mp.zeros([2, 3], { device: 'cuda' }).copy_(mp.tensor([1, 2, 3])).toArray(), [[1, 2, 3], [1, 2, 3]]);
      assert.deepEqual(mp.arange(6, { device: 'cuda' }).toArray(), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(mp.eye(2, { device: 'cuda' }).toArray(), [[1, 0], [0, 1]]);
      assert.deepEqual(mp.linspace(0, 1, 5, { device: 'cuda' }).toArray(), [0, 0.25, 0.5, 0.75, 1]);
    });
  },

  async 'unary math, pow/maximum/minimum and comparisons match the CPU'() {
    mp.manualSeed(12);
    await mp.tidy(async () => {
      for (const dtype of ['float32', 'float16', 'bfloat16', 'float64']) {
        const a = mp.randn([1000], { dtype });
        const g = a.cuda();
        for (const op of ['neg', 'abs', 'exp', 'tanh', 'sigmoid', 'relu', 'silu', 'gelu', 'sin', 'erf', 'sign']) {
          const want = Array.from(mp[op](a).dataSync());
          const got = Array.from(await mp[op](g).data());
          // Device libm may differ from the host's in the last bit.
          got.forEach((v, i) => assert.ok(Object.is(v, want[i]) || Math.abs(v - want[i]) <= Math.abs(want[i]) * 2 ** -20, `${dtype} ${op}[${i}]`));
        }
        same(mp.clamp(g, -0.5, 0.5).cpu().dataSync(), mp.clamp(a, -0.5, 0.5).dataSync());
        same(mp.maximum(g, 0).cpu().dataSync(), mp.maximum(a, 0).dataSync());
        same(g.gt(mp.zeros([1], { device: 'cuda' })).cpu().dataSync(), a.gt(mp.zeros([1])).dataSync());
        same(g.le(0.25).cpu().dataSync(), a.le(0.25).dataSync());
      }
    });
  },

  'reductions along a dim and softmax match the CPU'() {
    mp.tidy(() => {
      const x = mp.randn([6, 7, 5], { dtype: 'float32' });
      const g = x.cuda();
      for (const op of ['prod', 'max', 'min', 'argmax', 'argmin', 'logsumexp', 'variance', 'std']) {
        const want = mp[op](x, { dim: 1 }).dataSync();
        const got = mp[op](g, { dim: 1 }).cpu().dataSync();
        got.forEach((v, i) => assert.ok(Object.is(v, want[i]) || Math.abs(v - want[i]) <= Math.abs(want[i]) * 2 ** -20, `${op}[${i}]`));
      }
      const s = mp.softmax(g, -1).cpu().dataSync();
      mp.softmax(x, -1).dataSync().forEach((v, i) => assert.ok(Math.abs(v - s[i]) <= 1e-6, `softmax[${i}]`));
    });
  },

  'matmul, bmm and linear match the CPU within float32 accumulation error'() {
    mp.tidy(() => {
      for (const dtype of ['float32', 'float16', 'bfloat16', 'float64']) {
        const a = mp.randn([3, 33, 70], { dtype });
        const b = mp.randn([70, 19], { dtype });
        const want = mp.matmul(a, b).dataSync();
        const got = mp.matmul(a.cuda(), b.cuda()).cpu().dataSync();
        got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-2 * Math.max(1, Math.abs(want[i])), `${dtype} matmul[${i}]: ${v} vs ${want[i]}`));
        const w = mp.randn([5, 70], { dtype });
        const lw = mp.linear(a, w).dataSync();
        mp.linear(a.cuda(), w.cuda()).cpu().dataSync().forEach((v, i) => assert.ok(Math.abs(v - lw[i]) <= 1e-2 * Math.max(1, Math.abs(lw[i])), `${dtype} linear[${i}]`));
      }
    });
  },

  'shape ops (permute, slice, cat, expand) match the CPU'() {
    mp.tidy(() => {
      const x = mp.randn([3, 4, 5], { dtype: 'bfloat16' });
      const g = x.cuda();
      same(g.permute([2, 0, 1]).cpu().rawData(), x.permute([2, 0, 1]).rawData());
      same(g.slice(2, 1, 5, 2).cpu().rawData(), x.slice(2, 1, 5, 2).rawData());
      same(mp.cat([g, g], 1).cpu().rawData(), mp.cat([x, x], 1).rawData());
      same(g.slice(1, 0, 1).expand([3, 6, 5]).cpu().rawData(), x.slice(1, 0, 1).expand([3, 6, 5]).rawData());
    });
  },

  'indexing kernels (where, gather, scatterAdd, indexSelect, indexAdd, unfold, fold) match the CPU'() {
    mp.manualSeed(13);
    mp.tidy(() => {
      const index = mp.randint(0, 4, [3, 6, 5], { dtype: 'int32' });
      const rows = mp.randint(0, 6, [40], { dtype: 'int32' });
      // Atomic sums run in any order: a tolerance for scatterAdd and indexAdd, bits for the rest.
      const near = (got, want, what) => got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-2 * Math.max(1, Math.abs(want[i])), `${what}[${i}]: ${v} vs ${want[i]}`));
      for (const dtype of ['float32', 'float16', 'bfloat16', 'float64']) {
        const x = mp.randn([4, 6, 5], { dtype });
        const g = x.cuda();
        const cond = x.gt(0.25);
        same(mp.where(cond.cuda(), g, -Infinity).cpu().rawData(), mp.where(cond, x, -Infinity).rawData());
        same(mp.gather(g, 0, index.cuda()).cpu().rawData(), mp.gather(x, 0, index).rawData());
        const src = mp.randn([3, 6, 5], { dtype });
        near(mp.scatterAdd(g, 0, index.cuda(), src.cuda()).cpu().dataSync(), mp.scatterAdd(x, 0, index, src).dataSync(), `${dtype} scatterAdd`);
        same(mp.indexSelect(g, 1, rows.cuda()).cpu().rawData(), mp.indexSelect(x, 1, rows).rawData());
        const source = mp.randn([4, 40, 5], { dtype });
        near(mp.indexAdd(g, 1, rows.cuda(), source.cuda()).cpu().dataSync(), mp.indexAdd(x, 1, rows, source).dataSync(), `${dtype} indexAdd`);
        const img = mp.randn([2, 3, 9, 8], { dtype });
        const options = { stride: [2, 1], padding: 1, dilation: [1, 2] };
        const cols = mp.unfold(img.cuda(), [3, 2], { ...options, padValue: -Infinity });
        same(cols.cpu().rawData(), mp.unfold(img, [3, 2], { ...options, padValue: -Infinity }).rawData());
        const c = mp.unfold(img, [3, 2], options);
        // fold sums each pixel's windows in the same order on both devices.
        same(mp.fold(c.cuda(), [9, 8], [3, 2], options).cpu().rawData(), mp.fold(c, [9, 8], [3, 2], options).rawData());
      }
      // Out-of-range indices are skipped on CUDA (no error, no out-of-bounds access).
      const bad = mp.tensor([0, 7, -1], { dtype: 'int32', device: 'cuda' });
      assert.deepEqual(mp.indexSelect(mp.tensor([5, 6], { device: 'cuda' }), 0, bad).toArray(), [5, 0, 0]);
      assert.deepEqual(mp.indexAdd(mp.zeros([2], { device: 'cuda' }), 0, bad, mp.ones([3], { device: 'cuda' })).toArray(), [1, 0]);
    });
  },

  'uniform and integer random streams equal the CPU streams'() {
    mp.tidy(() => {
      const g1 = new mp.Generator(5);
      const g2 = new mp.Generator(5);
      same(mp.rand([4096], { generator: g1, device: 'cuda' }).dataSync(), mp.rand([4096], { generator: g2 }).dataSync());
      same(mp.randint(0, 100, [4096], { generator: g1, device: 'cuda' }).dataSync(), mp.randint(0, 100, [4096], { generator: g2 }).dataSync());
    });
  },

  'device memory is reported and freed'() {
    const before = mp.memory().devices['cuda:0']?.numBytes ?? 0;
    const t = mp.zeros([1024], { device: 'cuda', dtype: 'float16' });
    assert.equal(mp.memory().devices['cuda:0'].numBytes, before + 2048);
    t.dispose();
    assert.equal(mp.memory().devices['cuda:0'].numBytes, before);
    mp.cuda.synchronize();
  },

  'an impossible device allocation is a clear out-of-memory error'() {
    assert.throws(() => mp.zeros([2 ** 40], { device: 'cuda' }), { code: 'ERR_OUT_OF_MEMORY' });
    mp.tidy(() => assert.equal(mp.ones([3], { device: 'cuda' }).sum().item(), 3));
  },

  'optimizer steps and gradient clipping match the CPU, skipped steps leave everything as it was'() {
    const { clipGradNorm } = require('../../dist/nn/utils');
    mp.manualSeed(5);
    for (const dtype of ['float32', 'bfloat16']) {
      const init = [mp.keep(mp.randn([70000], { dtype })), mp.keep(mp.randn([3, 5], { dtype }))];
      const cpu = init.map((t) => mp.keep(t.clone()));
      const gpu = init.map((t) => mp.keep(t.cuda()));
      const sgdGpu = mp.keep(init[0].cuda());
      const opts = { lr: 0.01, amsgrad: true, weightDecay: 0.1 };
      const [a, b] = [new mp.optim.AdamW(cpu, opts), new mp.optim.AdamW(gpu, opts)];
      const [s, t] = [new mp.optim.SGD([init[0]], { lr: 0.1, momentum: 0.9 }), new mp.optim.SGD([sgdGpu], { lr: 0.1, momentum: 0.9 })];
      const scale = mp.keep(mp.tensor([4], { device: 'cuda' }));
      const inf = mp.keep(mp.tensor([1], { device: 'cuda' }));
      for (let k = 0; k < 3; ++k) mp.tidy(() => {
        for (const x of [...cpu, ...gpu, init[0], sgdGpu]) x.grad?.dispose();
        cpu.forEach((p, i) => { p.grad = mp.randn(p.shape, { dtype }).mul(4); gpu[i].grad = p.grad.cuda(); });
        init[0].grad = cpu[0].grad.clone();
        sgdGpu.grad = init[0].grad.cuda();
        const n = clipGradNorm(cpu, 50).item();
        const m = clipGradNorm(gpu, 50).item();
        assert.ok(Math.abs(n - m) <= n * 1e-5, `${dtype} norm ${n} vs ${m}`);
        a.step({ gradScale: mp.tensor([4]) });
        b.step({ gradScale: scale });
        s.step();
        t.step({ gradScale: mp.tensor([1]) });
        const before = gpu.map((p) => Array.from(p.rawData()));
        b.step({ foundInf: inf });
        assert.deepEqual(gpu.map((p) => Array.from(p.rawData())), before, 'a skipped step changed the parameters');
      });
      // The norms sum in another order, so clipped bfloat16 grads may differ by an ulp.
      const tol = dtype === 'float32' ? 1e-3 : 5e-2;
      const close = (x, y, what) => x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) <= tol * Math.max(1, Math.abs(v)), `${dtype} ${what}[${i}]: ${v} vs ${y[i]}`));
      mp.tidy(() => {
        cpu.forEach((p, i) => close(p.dataSync(), gpu[i].cpu().dataSync(), `adam param ${i}`));
        close(init[0].dataSync(), sgdGpu.cpu().dataSync(), 'sgd param');
      });
      assert.equal(b.state.get(gpu[1]).step.item(), 3);
      for (const x of [...init, ...cpu, ...gpu, sgdGpu]) { x.grad?.dispose(); x.grad = undefined; x.dispose(); }
      for (const o of [a, b, s, t]) o.dispose();
      scale.dispose();
      inf.dispose();
    }
  },

  'CUDA autocast: float16 linear equal to a manual float16 forward, float32 losses and gradients'() {
    mp.manualSeed(5);
    mp.tidy(() => {
      const x = mp.randn([8, 16], { device: 'cuda' });
      const w = mp.randn([4, 16], { device: 'cuda' }).requiresGrad_();
      const y = mp.tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: 'int32', device: 'cuda' });
      const { result, log } = mp.amp.explain({ deviceType: 'cuda' }, () => {
        const logits = mp.nn.functional.linear(x, w);
        return [logits, mp.nn.functional.crossEntropy(logits, y), mp.sum(logits)];
      });
      const [logits, loss, total] = result;
      assert.deepEqual([logits.dtype, loss.dtype, total.dtype], ['float16', 'float32', 'float32']);
      assert.deepEqual(log.entries.map((e) => `${e.op}:${e.category}`), ['linear:lowerPrecision', 'crossEntropy:fp32', 'sum:fp32SetOptDtype']);
      same(logits.cpu().rawData(), mp.nn.functional.linear(x.to('float16'), w.detach().to('float16')).cpu().rawData());
      loss.backward();
      assert.equal(w.grad.dtype, 'float32');
      // The CPU (a scope with the CUDA lists) computes the same float16 forward, up to the
      // summation order of the two GEMMs.
      const cpuLogits = mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16', policy: mp.amp.policies.cuda }, () => mp.nn.functional.linear(x.cpu(), w.detach().cpu()));
      const g = logits.cpu().dataSync();
      cpuLogits.dataSync().forEach((v, i) => assert.ok(Math.abs(v - g[i]) <= 2e-3 * Math.max(1, Math.abs(v)), `logit ${i}: cpu ${v} vs cuda ${g[i]}`));
      w.grad.dispose();
    });
  },

  async 'GradScaler on CUDA: the same scale trajectory and parameters as on the CPU, no host read per step'() {
    const run = (device) => {
      mp.manualSeed(9);
      const model = new mp.nn.Sequential(new mp.nn.Linear(16, 32), new mp.nn.ReLU(), new mp.nn.Linear(32, 4));
      if (device === 'cuda') model.to('cuda');
      const opt = new mp.optim.Adam(model.parameters(), { lr: 1e-2 });
      const scaler = new mp.amp.GradScaler({ device, initScale: 2 ** 20, growthInterval: 2 });
      const x = mp.randn([8, 16], { device });
      const y = mp.randint(0, 4, [8], { device });
      const reads = mp.hostReads();
      for (let i = 0; i < 6; ++i) {
        mp.tidy(() => {
          opt.zeroGrad();
          const loss = mp.amp.autocast({ deviceType: device, dtype: 'float16', policy: mp.amp.policies.cuda }, () => mp.nn.functional.crossEntropy(model.forward(x), y));
          scaler.scale(i === 3 ? loss.mul(Infinity) : loss).backward();
          scaler.step(opt);
          scaler.update();
        });
      }
      assert.equal(mp.hostReads() - reads, 0, `${device}: a scaled step read the host`);
      const out = { scale: scaler.getScale(), params: model.parameters().map((p) => Array.from(p.cpu().dataSync())) };
      scaler.dispose();
      opt.dispose();
      for (const p of model.parameters()) { p.grad?.dispose(); p.dispose(); }
      mp.dispose([x, y]);
      return out;
    };
    const cpu = run('cpu');
    const gpu = run('cuda');
    assert.equal(gpu.scale, cpu.scale);
    gpu.params.forEach((p, i) => p.forEach((v, k) => assert.ok(Math.abs(v - cpu.params[i][k]) <= 1e-2, `param ${i}[${k}]: cuda ${v} vs cpu ${cpu.params[i][k]}`)));
  },

  'operands on different devices are refused'() {
    mp.tidy(() => assert.throws(() => mp.ones([1]).add(mp.ones([1], { device: 'cuda' })), { code: 'ERR_DEVICE_MISMATCH' }));
  },

  'scaledDotProductAttention forward and backward match the CPU kernel (masks, causal, dropout, every float dtype)'() {
    const F = mp.nn.functional;
    // Float32 sums in a different order, then one rounding to the dtype: a few units of its last place.
    const tolerance = { float64: 1e-10, float32: 1e-4, bfloat16: 3e-2, float16: 4e-3 };
    const close = (label, got, want, tol) => {
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tol * (1 + Math.abs(want[i])), `${label}[${i}]: cuda ${v} vs cpu ${want[i]}`));
    };
    mp.manualSeed(21);
    mp.tidy(() => {
      const boolMask = mp.rand([2, 1, 70, 45]).ge(0.3);
      const addMask = mp.randn([70, 45]);
      for (const dtype of ['float32', 'bfloat16', 'float16', 'float64']) {
        const inputs = [[2, 3, 70, 40], [2, 3, 45, 40], [2, 3, 45, 24]].map((s) => mp.randn(s).to(dtype));
        const weights = mp.randn([2, 3, 70, 24]).to(dtype);
        const cases = { plain: {}, causal: { isCausal: true }, 'bool mask': { attnMask: boolMask }, 'additive mask': { attnMask: addMask.to(dtype) }, dropout: { dropoutP: 0.2 } };
        for (const [name, options] of Object.entries(cases)) {
          const run = (device) => {
            const leaves = inputs.map((t) => t.to(device).detach().requiresGrad_());
            const o = { ...options, ...(options.attnMask ? { attnMask: options.attnMask.to(device) } : {}) };
            mp.manualSeed(5);
            const out = F.scaledDotProductAttention(leaves[0], leaves[1], leaves[2], o);
            out.mul(weights.to(device)).sum().backward();
            const result = [out, ...leaves.map((l) => l.grad)].map((t) => Array.from(t.cpu().to('float64').dataSync()));
            for (const l of leaves) l.grad.dispose();
            return result;
          };
          const cpu = run('cpu');
          const gpu = run('cuda');
          ['out', 'dq', 'dk', 'dv'].forEach((what, i) => close(`${dtype} ${name} ${what}`, gpu[i], cpu[i], tolerance[dtype] * (i === 0 ? 1 : 4)));
        }
      }
    });
  },
};

module.exports = { checks };

if (require.main === module) {
  (async () => {
    let failed = 0;
    for (const [name, fn] of Object.entries(checks)) {
      try {
        await fn();
        console.log(`ok   ${name}`);
      } catch (e) {
        failed += 1;
        console.log(`FAIL ${name}\n${e && e.stack}`);
      }
    }
    console.log(`${Object.keys(checks).length - failed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  })();
}
