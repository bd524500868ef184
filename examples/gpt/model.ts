/**
 * A nanoGPT-style language model written as user code: token + position embeddings, `nLayer`
 * pre-LayerNorm blocks (causal self-attention, then a GELU MLP), a final LayerNorm and an output
 * projection tied to the token embedding. Copy it and change what you like.
 */
import * as mp from 'mixprec';

const F = mp.nn.functional;

export interface GptConfig {
  vocabSize: number;
  /** Longest context the position embedding covers. */
  blockSize: number;
  nLayer: number;
  nHead: number;
  /** Model width; a multiple of nHead. */
  nEmbd: number;
  dropout: number;
}

/** Keys and values of the positions seen so far, one entry per block ([B, nHead, T, headSize] each). */
export type KvCache = { k: mp.Tensor; v: mp.Tensor }[];

class CausalSelfAttention extends mp.nn.Module<[mp.Tensor, KvCache | undefined, number], mp.Tensor> {
  qkv: mp.nn.Linear;
  proj: mp.nn.Linear;
  residDrop: mp.nn.Dropout;

  constructor(readonly config: GptConfig) {
    super();
    this.qkv = new mp.nn.Linear(config.nEmbd, 3 * config.nEmbd);
    this.proj = new mp.nn.Linear(config.nEmbd, config.nEmbd);
    this.residDrop = new mp.nn.Dropout(config.dropout);
  }

  /** x: [B, T, C]. With a cache, the new keys and values are appended to `cache[layer]` (generation). */
  forward(x: mp.Tensor, cache: KvCache | undefined, layer: number): mp.Tensor {
    const [B, T, C] = x.shape;
    const { nHead } = this.config;
    const heads = (t: mp.Tensor): mp.Tensor => t.reshape([B, T, nHead, C / nHead]).transpose(1, 2);
    let [q, k, v] = this.qkv.forward(x).split(C, 2).map(heads);
    if (cache !== undefined) {
      const past = cache[layer];
      if (past !== undefined) {
        k = mp.cat([past.k, k], 2);
        v = mp.cat([past.v, v], 2);
        mp.dispose([past.k, past.v]);
      }
      cache[layer] = { k: mp.keep(k), v: mp.keep(v) };
    }
    // A query block as long as the keys is the whole prefix: causal. A shorter one (one new token
    // during generation) sees every cached position, so it needs no mask.
    const y = F.scaledDotProductAttention(q, k, v, {
      isCausal: T === k.shape[2],
      dropoutP: this.training ? this.config.dropout : 0,
    });
    return this.residDrop.forward(this.proj.forward(y.transpose(1, 2).reshape([B, T, C])));
  }
}

class Mlp extends mp.nn.Module {
  fc: mp.nn.Linear;
  proj: mp.nn.Linear;
  drop: mp.nn.Dropout;

  constructor(config: GptConfig) {
    super();
    this.fc = new mp.nn.Linear(config.nEmbd, 4 * config.nEmbd);
    this.proj = new mp.nn.Linear(4 * config.nEmbd, config.nEmbd);
    this.drop = new mp.nn.Dropout(config.dropout);
  }

  forward(x: mp.Tensor): mp.Tensor {
    return this.drop.forward(this.proj.forward(F.gelu(this.fc.forward(x), { approximate: 'tanh' })));
  }
}

class Block extends mp.nn.Module<[mp.Tensor, KvCache | undefined, number], mp.Tensor> {
  ln1: mp.nn.LayerNorm;
  attn: CausalSelfAttention;
  ln2: mp.nn.LayerNorm;
  mlp: Mlp;

  constructor(config: GptConfig) {
    super();
    this.ln1 = new mp.nn.LayerNorm(config.nEmbd);
    this.attn = new CausalSelfAttention(config);
    this.ln2 = new mp.nn.LayerNorm(config.nEmbd);
    this.mlp = new Mlp(config);
  }

  forward(x: mp.Tensor, cache: KvCache | undefined, layer: number): mp.Tensor {
    const h = x.add(this.attn.forward(this.ln1.forward(x), cache, layer));
    return h.add(this.mlp.forward(this.ln2.forward(h)));
  }
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** Divides the logits before sampling (default 1). */
  temperature?: number;
  /** Sample only among the k most likely tokens (default: all). */
  topK?: number;
  /** Source of the sampling draws (default: the global generator). */
  generator?: mp.Generator;
}

export class Gpt extends mp.nn.Module<[mp.Tensor, KvCache?, number?], mp.Tensor> {
  wte: mp.nn.Embedding;
  wpe: mp.nn.Embedding;
  drop: mp.nn.Dropout;
  blocks: mp.nn.ModuleList<Block>;
  lnF: mp.nn.LayerNorm;

  constructor(readonly config: GptConfig) {
    super();
    if (config.nEmbd % config.nHead !== 0) throw new Error(`Gpt: nEmbd (${config.nEmbd}) must be a multiple of nHead (${config.nHead})`);
    this.wte = new mp.nn.Embedding(config.vocabSize, config.nEmbd);
    this.wpe = new mp.nn.Embedding(config.blockSize, config.nEmbd);
    this.drop = new mp.nn.Dropout(config.dropout);
    this.blocks = new mp.nn.ModuleList(Array.from({ length: config.nLayer }, () => new Block(config)));
    this.lnF = new mp.nn.LayerNorm(config.nEmbd);
    // GPT-2's initialisation: N(0, 0.02) everywhere, zero biases, and the projections that add
    // into the residual stream scaled down by sqrt(2 * nLayer) so its variance stays bounded.
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('.bias')) mp.nn.init.zeros_(p);
      else if (name.startsWith('blocks.') && name.includes('.weight') && !name.includes('.ln')) {
        const residual = name.endsWith('attn.proj.weight') || name.endsWith('mlp.proj.weight');
        mp.nn.init.normal_(p, 0, residual ? 0.02 / Math.sqrt(2 * config.nLayer) : 0.02);
      }
    }
    mp.nn.init.normal_(this.wte.weight, 0, 0.02);
    mp.nn.init.normal_(this.wpe.weight, 0, 0.02);
  }

  /**
   * idx: [B, T] int32 token ids → logits [B, T, vocabSize]. `cache` (generation) holds the keys and
   * values of the `start` positions before idx.
   */
  forward(idx: mp.Tensor, cache?: KvCache, start = 0): mp.Tensor {
    const T = idx.shape[1];
    if (start + T > this.config.blockSize) throw new Error(`Gpt: ${start + T} positions exceed blockSize ${this.config.blockSize}`);
    const pos = mp.arange(start, start + T, 1, { dtype: 'int32', device: idx.device });
    let x = this.drop.forward(this.wte.forward(idx).add(this.wpe.forward(pos)));
    let layer = 0;
    for (const block of this.blocks) x = block.forward(x, cache, layer++);
    // The output projection is the token embedding itself (weight tying): one matrix, two uses,
    // and its gradient is the sum of both.
    return F.linear(this.lnF.forward(x), this.wte.weight);
  }

  /** Parameter groups for AdamW, as nanoGPT makes them: weight decay on matrices and embeddings only, not on biases or LayerNorm gains. */
  optimizerGroups(weightDecay: number): { params: mp.Tensor[]; weightDecay: number }[] {
    const decay: mp.Tensor[] = [];
    const noDecay: mp.Tensor[] = [];
    for (const p of this.parameters()) (p.ndim >= 2 ? decay : noDecay).push(p);
    return [{ params: decay, weightDecay }, { params: noDecay, weightDecay: 0 }];
  }

  /**
   * Continues each row of idx ([B, T] int32) by `maxNewTokens` sampled tokens, feeding one new
   * token at a time through a KV cache, under noGrad. Returns [B, T + maxNewTokens].
   */
  generate(idx: mp.Tensor, options: GenerateOptions): mp.Tensor {
    const { maxNewTokens, temperature = 1, topK, generator } = options;
    const [B, T0] = idx.shape;
    if (T0 + maxNewTokens > this.config.blockSize) throw new Error(`generate: ${T0} + ${maxNewTokens} tokens exceed blockSize ${this.config.blockSize}`);
    const wasTraining = this.training;
    this.eval();
    const cache: KvCache = [];
    const rows: number[][] = Array.from({ length: B }, (_, b) => Array.from(idx.dataSync().slice(b * T0, (b + 1) * T0)));
    try {
      mp.noGrad(() => {
        let input = idx;
        let start = 0;
        for (let i = 0; i < maxNewTokens; ++i) {
          const next = mp.tidy(() => {
            const logits = this.forward(input, cache, start);
            const last = logits.narrow(1, input.shape[1] - 1, 1).reshape([B, -1]).to('float32');
            return sample(last.dataSync() as Float32Array, B, temperature, topK, generator);
          });
          start += input.shape[1];
          if (input !== idx) input.dispose();
          input = mp.tensor(next.map((t) => [t]), { dtype: 'int32', device: idx.device });
          next.forEach((t, b) => rows[b].push(t));
        }
        if (input !== idx) input.dispose();
      });
    } finally {
      for (const entry of cache) mp.dispose([entry.k, entry.v]);
      this.train(wasTraining);
    }
    return mp.tensor(rows, { dtype: 'int32', device: idx.device });
  }
}

/** One token per row from [B, V] logits: temperature, then the top k, then a softmax draw. */
function sample(logits: Float32Array, B: number, temperature: number, topK: number | undefined, generator?: mp.Generator): number[] {
  const V = logits.length / B;
  const draws = mp.rand([B], { generator, dtype: 'float64' }).dataSync();
  const out: number[] = [];
  for (let b = 0; b < B; ++b) {
    const row = Array.from(logits.subarray(b * V, (b + 1) * V), (l) => l / temperature);
    const cut = topK === undefined || topK >= V ? -Infinity : [...row].sort((x, y) => y - x)[topK - 1];
    const max = Math.max(...row);
    const weights = row.map((l) => (l < cut ? 0 : Math.exp(l - max)));
    // Walk the cumulative weights to the draw; rounding can leave u a hair past the total, so
    // the fallback is the last token that could be drawn, never one the top-k cut removed.
    let u = draws[b] * weights.reduce((s, w) => s + w, 0);
    let chosen = -1;
    for (let t = 0; t < V; ++t) {
      if (weights[t] === 0) continue;
      chosen = t;
      u -= weights[t];
      if (u < 0) break;
    }
    out.push(chosen);
  }
  return out;
}
