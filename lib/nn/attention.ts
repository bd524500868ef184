/**
 * MultiheadAttention: PyTorch's `nn.MultiheadAttention` (the subset without kdim/vdim,
 * add_bias_kv and add_zero_attn), on the fused scaledDotProductAttention when no weights are asked for.
 */
import type { DeviceLike } from '../device';
import type { DType } from '../dtype';
import { arange, empty } from '../creation';
import { MixprecError, MixprecRangeError } from '../errors';
import { where } from '../ops/indexing';
import { checkTensor, Tensor } from '../tensor';
import { layerOptions } from './args';
import * as F from './functional';
import { constant_, xavierUniform_ } from './init';
import { Linear } from './linear';
import { Module } from './module';
import { checkOptions, optionalBoolean, positiveInteger, probability } from '../validate';

const OP = 'MultiheadAttention';

/** Options of {@link MultiheadAttention}. */
export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Inputs and output are [batch, seq, embed] (default false: [seq, batch, embed], as PyTorch). */
  batchFirst?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default cpu). */
  device?: DeviceLike;
}

/** Options of {@link MultiheadAttention.forward}, as PyTorch's keyword arguments. */
export interface MultiheadAttentionForwardOptions {
  /** [batch, S], bool (true = this key is padding and is ignored) or floating (added to the scores). */
  keyPaddingMask?: Tensor;
  /** Also return the attention weights (default true, as PyTorch); false runs the fused kernel. */
  needWeights?: boolean;
  /** [L, S] or [batch·numHeads, L, S], bool (true = not allowed, PyTorch's MHA convention) or floating (added). */
  attnMask?: Tensor;
  /** Return the weights averaged over the heads (default true) rather than per head. */
  averageAttnWeights?: boolean;
  /**
   * A causal mask (query i sees keys j <= i). As in PyTorch it is only a hint when attnMask is
   * given (attnMask is used); unlike PyTorch it may also be given alone.
   */
  isCausal?: boolean;
}

const FORWARD_KEYS = ['keyPaddingMask', 'needWeights', 'attnMask', 'averageAttnWeights', 'isCausal'] as const;

/** A bool mask (true = masked out) or an additive one, as an additive mask in `dtype`. */
function additive(mask: Tensor, like: Tensor): Tensor {
  return mask.dtype === 'bool' ? where(mask, -Infinity, 0).to(like.dtype) : mask.to(like.dtype);
}

/**
 * Multi-head attention: projects query, key and value, attends per head with
 * {@link F.scaledDotProductAttention}, concatenates the heads and projects the result.
 * Parameters as PyTorch's (`inProjWeight` [3·embedDim, embedDim] Xavier-uniform, `inProjBias`
 * zeros, `outProj` a Linear with a zero bias). forward returns `[output, weights]`; the weights
 * (after dropout, as PyTorch) are undefined with `needWeights: false`, which is the fused path
 * (the L×S weights are never stored).
 *
 * @example
 * ```ts
 * const mha = new mp.nn.MultiheadAttention(16, 4, { batchFirst: true });
 * const x = mp.randn([2, 10, 16]);
 * const [y] = mha.forward(x, x, x, { needWeights: false, isCausal: true }); // [2, 10, 16]
 * ```
 */
export class MultiheadAttention extends Module<[Tensor, Tensor, Tensor, MultiheadAttentionForwardOptions?], [Tensor, Tensor | undefined]> {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  /** [3·embedDim, embedDim]: the query, key and value projections stacked. */
  inProjWeight: Tensor;
  /** [3·embedDim], or undefined with `bias: false`. */
  inProjBias: Tensor | undefined;
  outProj: Linear;

  constructor(embedDim: number, numHeads: number, options?: MultiheadAttentionOptions) {
    super();
    this.embedDim = positiveInteger(OP, 'embedDim', embedDim);
    this.numHeads = positiveInteger(OP, 'numHeads', numHeads);
    if (embedDim % numHeads !== 0) throw new MixprecRangeError('ERR_INVALID_ARG', `${OP}: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    const o = layerOptions(OP, options, ['dropout', 'bias', 'batchFirst']);
    this.dropout = o.dropout === undefined ? 0 : probability(OP, 'options.dropout', o.dropout);
    const bias = optionalBoolean(OP, 'options.bias', o.bias, true);
    this.batchFirst = optionalBoolean(OP, 'options.batchFirst', o.batchFirst, false);
    const like = { dtype: o.dtype, device: o.device };
    this.inProjWeight = this.registerParameter('inProjWeight', empty([3 * embedDim, embedDim], like));
    this.inProjBias = this.registerParameter('inProjBias', bias ? empty([3 * embedDim], like) : undefined);
    this.outProj = this.registerModule('outProj', new Linear(embedDim, embedDim, { bias, ...like }));
    xavierUniform_(this.inProjWeight);
    if (this.inProjBias) constant_(this.inProjBias, 0);
    if (this.outProj.bias) constant_(this.outProj.bias, 0);
  }

  /** query [L, N, E] (batchFirst: [N, L, E]), key and value [S, N, E] → [output [L, N, E], weights]. */
  forward(query: Tensor, key: Tensor, value: Tensor, options?: MultiheadAttentionForwardOptions): [Tensor, Tensor | undefined] {
    const o = checkOptions(`${OP}.forward`, options, FORWARD_KEYS);
    const needWeights = optionalBoolean(`${OP}.forward`, 'options.needWeights', o.needWeights, true);
    const average = optionalBoolean(`${OP}.forward`, 'options.averageAttnWeights', o.averageAttnWeights, true);
    const isCausal = optionalBoolean(`${OP}.forward`, 'options.isCausal', o.isCausal, false);
    const [q, k, v] = [['query', query], ['key', key], ['value', value]].map(([name, t]) => {
      const x = checkTensor(`${OP}.forward`, name as string, t);
      if (x.ndim !== 3 || x.shape[2] !== this.embedDim) {
        throw new MixprecRangeError('ERR_INVALID_SHAPE', `${OP}.forward: ${name} must be 3-d with embedDim ${this.embedDim} last (${this.batchFirst ? '[batch, seq, embed]' : '[seq, batch, embed]'}), got [${x.shape.join(', ')}]`);
      }
      return this.batchFirst ? x : x.transpose(0, 1);
    });
    const [N, L] = q.shape;
    const S = k.shape[1];
    if (k.shape[0] !== N || v.shape[0] !== N || v.shape[1] !== S) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${OP}.forward: key and value must have query's batch size ${N} and one length, got key [${key.shape.join(', ')}] and value [${value.shape.join(', ')}]`);
    }
    const E = this.embedDim;
    const project = (x: Tensor, part: number, len: number): Tensor => F.linear(x, this.inProjWeight.narrow(0, part * E, E), this.inProjBias?.narrow(0, part * E, E))
      .reshape([N, len, this.numHeads, this.headDim]).transpose(1, 2);
    const [qh, kh, vh] = [project(q, 0, L), project(k, 1, S), project(v, 2, S)];
    // The fused kernel takes causality as a flag; the weights path and a padding mask need it spelled out.
    const explicitCausal = isCausal && (needWeights || o.keyPaddingMask !== undefined);
    const mask = this.mask(o.attnMask as Tensor | undefined, o.keyPaddingMask as Tensor | undefined, explicitCausal, qh, N, L, S);
    const dropoutP = this.training ? this.dropout : 0;
    let heads: Tensor;
    let weights: Tensor | undefined;
    if (needWeights) {
      const scores = qh.matmul(kh.transpose(-2, -1)).mul(1 / Math.sqrt(this.headDim));
      const w = F.dropout((mask ? scores.add(mask) : scores).softmax(-1), dropoutP, dropoutP > 0);
      heads = w.matmul(vh);
      weights = average ? w.mean({ dim: 1 }) : w;
    } else {
      heads = F.scaledDotProductAttention(qh, kh, vh, { attnMask: mask, isCausal: isCausal && mask === undefined, dropoutP });
    }
    const out = this.outProj.forward(heads.transpose(1, 2).reshape([N, L, E]));
    return [this.batchFirst ? out : out.transpose(0, 1), weights];
  }

  /** The masks (and the causal one when `causal`, unless attnMask is given) as one additive [N or 1, H or 1, L, S] mask. */
  private mask(attnMask: Tensor | undefined, keyPadding: Tensor | undefined, causal: boolean, like: Tensor, N: number, L: number, S: number): Tensor | undefined {
    const parts: Tensor[] = [];
    if (attnMask !== undefined) {
      const m = checkTensor(`${OP}.forward`, 'options.attnMask', attnMask);
      const ok = (m.ndim === 2 && m.shape[0] === L && m.shape[1] === S) || (m.ndim === 3 && m.shape[0] === N * this.numHeads && m.shape[1] === L && m.shape[2] === S);
      if (!ok) throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${OP}.forward: attnMask must be [${L}, ${S}] or [${N * this.numHeads}, ${L}, ${S}], got [${m.shape.join(', ')}]`);
      parts.push(additive(m, like).reshape(m.ndim === 2 ? [1, 1, L, S] : [N, this.numHeads, L, S]));
    } else if (causal) {
      parts.push(additive(arange(S, { device: like.device }).reshape([1, S]).gt(arange(L, { device: like.device }).reshape([L, 1])), like).reshape([1, 1, L, S]));
    }
    if (keyPadding !== undefined) {
      const m = checkTensor(`${OP}.forward`, 'options.keyPaddingMask', keyPadding);
      if (m.ndim !== 2 || m.shape[0] !== N || m.shape[1] !== S) throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${OP}.forward: keyPaddingMask must be [${N}, ${S}], got [${m.shape.join(', ')}]`);
      parts.push(additive(m, like).reshape([N, 1, 1, S]));
    }
    if (parts.some((p) => p.requiresGrad)) throw new MixprecError('ERR_AUTOGRAD', `${OP}.forward: masks that require grad are not supported; detach them`);
    return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : parts[0].add(parts[1]);
  }

  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, dropout=${this.dropout}, bias=${this.inProjBias !== undefined}, batchFirst=${this.batchFirst}`;
  }
}
