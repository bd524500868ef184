// The GPT example (examples/gpt/): the KV cache gives the logits of a full forward, the tied
// embedding's gradient is the derivative of the loss (checked by finite differences in float64),
// generation is reproducible, and the `tiny` preset learns the Brown corpus in float32 and AMP
// bfloat16 (about a minute here: 2 × 300 steps).
import * as mp from 'mixprec';

import { presets } from '../examples/gpt/config';
import { loadGptData } from '../examples/gpt/data';
import { Gpt, type KvCache } from '../examples/gpt/model';
import { trainGpt } from '../examples/gpt/train';

const F = mp.nn.functional;
const small = { vocabSize: 40, blockSize: 12, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 };

describe('GPT example model', () => {
  test('the KV cache: feeding tokens one at a time gives the logits of the full forward', () => {
    mp.manualSeed(3);
    const model = new Gpt(small).eval();
    const ids = [[5, 1, 7, 30, 2, 11, 9], [0, 39, 3, 3, 8, 21, 4]];
    mp.tidy(() => {
      const full = mp.noGrad(() => model.forward(mp.tensor(ids, { dtype: 'int32' })));
      const cache: KvCache = [];
      // A prefix of three, then one token at a time, as generate() feeds it.
      const pieces = [mp.noGrad(() => model.forward(mp.tensor(ids.map((r) => r.slice(0, 3)), { dtype: 'int32' }), cache, 0))];
      for (let t = 3; t < 7; ++t) pieces.push(mp.noGrad(() => model.forward(mp.tensor(ids.map((r) => [r[t]]), { dtype: 'int32' }), cache, t)));
      const stepped = mp.cat(pieces, 1);
      for (const entry of cache) mp.dispose([entry.k, entry.v]);
      const a = full.dataSync();
      const b = stepped.dataSync();
      expect(b.length).toBe(a.length);
      let worst = 0;
      for (let i = 0; i < a.length; ++i) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      // Same arithmetic up to the order of the attention's sums over fewer/more keys per tile.
      expect(worst).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  test('weight tying: one parameter, and its gradient (embedding + output projection) matches finite differences in float64', () => {
    mp.manualSeed(4);
    const model = new Gpt(small).to('float64');
    const names = model.namedParameters().map(([n]) => n);
    expect(names.filter((n) => n.startsWith('wte'))).toEqual(['wte.weight']);
    const x = mp.keep(mp.tensor([[1, 2, 3, 4, 5, 6], [7, 8, 9, 1, 2, 3]], { dtype: 'int32' }));
    const y = mp.keep(mp.tensor([[2, 3, 4, 5, 6, 7], [8, 9, 1, 2, 3, 4]], { dtype: 'int32' }));
    const loss = (): mp.Tensor => F.crossEntropy(model.forward(x).reshape([-1, small.vocabSize]), y.reshape([-1]));
    mp.tidy(() => loss().backward());
    const w = model.wte.weight;
    const grad = w.grad!.dataSync() as Float64Array;
    // A random direction d: (L(w + εd) − L(w − εd)) / 2ε must equal <grad, d>. Rows of tokens that
    // appear only as targets get gradient only through the output projection, the others through both.
    const d = mp.randn(w.shape, { dtype: 'float64' }).dataSync();
    const analytic = grad.reduce((s, g, i) => s + g * d[i], 0);
    const eps = 1e-5;
    const original = Float64Array.from(w.dataSync());
    const at = (sign: number): number => {
      mp.noGrad(() => w.copy_(mp.tensor(original.map((v, i) => v + sign * eps * d[i]), { dtype: 'float64' }).reshape(w.shape)));
      return mp.tidy(() => mp.noGrad(() => loss().dataSync()[0]));
    };
    const numeric = (at(1) - at(-1)) / (2 * eps);
    expect(Math.abs(numeric - analytic)).toBeLessThan(1e-6 * Math.max(1, Math.abs(analytic)));
    mp.dispose([x, y]);
    model.dispose();
  });

  test('generate is reproducible with a generator, keeps the prompt, and refuses to run past blockSize', () => {
    mp.manualSeed(5);
    const model = new Gpt(small);
    const prompt = mp.tensor([[1, 2, 3]], { dtype: 'int32' });
    const a = model.generate(prompt, { maxNewTokens: 6, topK: 5, generator: new mp.Generator(9) });
    const b = model.generate(prompt, { maxNewTokens: 6, topK: 5, generator: new mp.Generator(9) });
    expect(a.shape).toEqual([1, 9]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync()).slice(0, 3)).toEqual([1, 2, 3]);
    expect(model.training).toBe(true);
    expect(() => model.generate(prompt, { maxNewTokens: 10 })).toThrow(/exceed blockSize 12/);
    mp.dispose([prompt, a, b]);
    model.dispose();
  });
});

describe('GPT example training (tiny preset, Brown corpus)', () => {
  test('float32 and AMP bfloat16 both learn: validation loss falls from ln(vocab) to under 4.9, and bfloat16 ends within 5% of float32 (PyTorch: 4.2%)', async () => {
    const data = loadGptData(presets.tiny.vocabSize);
    expect(data.tokenizer.vocabSize).toBe(512);
    const runs = [];
    for (const variant of ['float32', 'bfloat16'] as const) {
      const r = await trainGpt({ config: presets.tiny, data, variant, seed: 0 });
      r.model.dispose();
      runs.push(r);
    }
    const [fp32, bf16] = runs;
    for (const r of runs) {
      expect(r.valCurve[0].loss).toBeGreaterThan(5.8); // near ln(512) = 6.24 at the start
      expect(r.finalValLoss).toBeLessThan(4.9);
    }
    // bfloat16 ends measurably above float32 on this short, high-learning-rate run, and so does
    // PyTorch's: on the same weights and batches (bench/gptExport.js + bench/gptTorchReference.py,
    // PyTorch 2.14.1 on the CPU) float32 ended at 4.4513 and bfloat16 autocast at 4.6403 (+4.2%);
    // mixprec measured 4.4554 and 4.6164 (+3.6%). The bar allows that gap, not more.
    expect((bf16.finalValLoss - fp32.finalValLoss) / fp32.finalValLoss).toBeLessThan(0.05);
  }, 600_000);
});
