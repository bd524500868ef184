/**
 * scaledDotProductAttention, PyTorch's `F.scaled_dot_product_attention`, on one fused kernel:
 * `softmax(q kᵀ · scale + mask) v` computed FlashAttention-2 style (csrc/cpu/attentionKernels.cpp),
 * so the L×S weights are never stored. The public op is a composite that checks and resolves
 * the arguments (mask broadcasting, dropout's random counters) and calls the primitive
 * `flashAttention`, whose backward recomputes the weights from the saved row logsumexp.
 */
import { isGradEnabled } from '../autograd/gradMode';
import { zeros } from '../creation';
import { dtypeCode, isFloatingPoint } from '../dtype';
import { argRangeError, argTypeError, MixprecError, MixprecRangeError, MixprecTypeError } from '../errors';
import { native, type NativeAttentionArgs, type NativeAttentionShape } from '../native';
import { defaultGenerator, Generator } from '../random';
import { contiguousStrides } from '../shape';
import { Tensor } from '../tensor';
import { checkOptions, finiteNumber, optionalBoolean, probability } from '../validate';
import { operand } from './nativeOperands';
import { checkTensor, newResult, requireSameDevice, reshaped, withViews } from './operands';
import { defineOp } from './registry';

const OP = 'scaledDotProductAttention';

/** Options of {@link scaledDotProductAttention}, as PyTorch's keyword arguments. */
export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcastable to [..., L, S]: bool (true = the key takes part) or floating (added to the
   * scores; converted to the inputs' dtype). Never receives a gradient.
   */
  attnMask?: Tensor;
  /** Probability of zeroing an attention weight (the kept ones are scaled by 1/(1-p)). Default 0. */
  dropoutP?: number;
  /** Query i sees keys j <= i (PyTorch's top-left alignment when L != S). Not with attnMask. */
  isCausal?: boolean;
  /** Multiplies the scores; default 1/sqrt(E). */
  scale?: number;
  /** Dropout's random stream (default: the default generator, as PyTorch). */
  generator?: Generator;
}

const OPTION_KEYS = ['attnMask', 'dropoutP', 'isCausal', 'scale', 'generator'] as const;

/** What the primitive needs besides its tensors. @internal */
export interface FlashAttentionParams {
  /** The batch size is split as (batch / heads, batch % heads) to address the mask. */
  heads: number;
  scale: number;
  causal: boolean;
  maskKind: 0 | 1 | 2;
  maskStrides: number[];
  dropoutP: number;
  seed: bigint;
  offset: bigint;
}

function nativeArgs(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined, p: FlashAttentionParams): NativeAttentionArgs {
  const [batch, L, E] = q.shape;
  const shape: NativeAttentionShape = { batch, heads: p.heads, L, S: k.shape[1], E, Ev: v.shape[2], scale: p.scale, causal: p.causal,
    maskKind: p.maskKind, maskStrides: p.maskStrides, dropoutP: p.dropoutP, seed: p.seed, offset: p.offset };
  return { dtype: dtypeCode(q.dtype), q: operand(q), k: operand(k), v: operand(v), mask: mask === undefined ? null : operand(mask), shape };
}

/**
 * The fused kernel on q [N, L, E], k [N, S, E], v [N, S, Ev] (checked and resolved by
 * {@link scaledDotProductAttention}): returns [out [N, L, Ev], logsumexp [N, L]] (float32, float64
 * for float64 inputs). Its gradient is the FlashAttention-2 backward; second derivatives are
 * not available (as PyTorch's flash attention). @internal
 */
export const flashAttention: (q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined, params: FlashAttentionParams) => Tensor[] = defineOp({
  name: 'flashAttention',
  autocast: 'passThrough',
  forward: (q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined, params: FlashAttentionParams): Tensor[] => {
    const [batch, L] = q.shape;
    const lseDtype = q.dtype === 'float64' ? 'float64' : 'float32';
    if (k.shape[1] === 0 || v.shape[2] === 0) {
      // No keys: the weights are an empty row, the output zeros (as the composition's matmul).
      // No value features: an empty output, and nothing for the kernel to do.
      return [zeros([batch, L, v.shape[2]], { dtype: q.dtype, device: q.device }), zeros([batch, L], { dtype: lseDtype, device: q.device }).fill_(-Infinity)];
    }
    const out = newResult(OP, [batch, L, v.shape[2]], q.dtype, q);
    const lse = newResult(OP, [batch, L], lseDtype, q);
    native.attentionForward({ ...nativeArgs(q, k, v, mask, params), out: operand(out), lse: operand(lse) });
    return [out, lse];
  },
  save: ([q, k, v, mask], [out, lse]) => (mask === undefined ? [q, k, v, out, lse] : [q, k, v, out, lse, mask]),
  backward: ({ args: [, , , , params], saved: [q, k, v, out, lse, mask] }, [gradOut, gradLse]) => {
    if (gradLse !== undefined) throw new MixprecError('ERR_AUTOGRAD', 'flashAttention: its logsumexp output carries no gradient');
    if (isGradEnabled()) {
      throw new MixprecError('ERR_AUTOGRAD', `${OP}: second derivatives through the fused kernel are not available (as PyTorch's flash attention); compose matmul, softmax and matmul for a double backward`);
    }
    const gradQ = newResult(OP, q.shape, q.dtype, q);
    const gradK = newResult(OP, k.shape, k.dtype, k);
    const gradV = newResult(OP, v.shape, v.dtype, v);
    if (gradOut === undefined || k.shape[1] === 0 || q.shape[1] === 0 || v.shape[2] === 0) {
      for (const g of [gradQ, gradK, gradV]) g.fill_(0);
    } else {
      const g = gradOut.dtype === q.dtype ? gradOut : gradOut.to(q.dtype);
      native.attentionBackward({ ...nativeArgs(q, k, v, mask, params), out: operand(out), gradOut: operand(g), lse: operand(lse),
        gradQ: operand(gradQ), gradK: operand(gradK), gradV: operand(gradV) });
      if (g !== gradOut) g.dispose();
    }
    return [gradQ, gradK, gradV, undefined];
  },
});

/** The mask's strides read along [...batch, L, S] (0 where it broadcasts), or a shape error. */
function maskStridesAlong(mask: Tensor, target: number[]): number[] {
  const lead = target.length - mask.ndim;
  const own = contiguousStrides(mask.shape);
  if (lead < 0 || mask.shape.some((n, i) => n !== 1 && n !== target[lead + i])) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${OP}: attnMask of shape [${mask.shape.join(', ')}] does not broadcast to the attention weights' shape [${target.join(', ')}]`);
  }
  return target.map((_, d) => (d < lead || mask.shape[d - lead] === 1 ? 0 : own[d - lead]));
}

/**
 * One stride for the flattened outer batch dims (all but the last), when the mask's strides
 * along them are a single stride times the flattened index (or all 0); undefined otherwise.
 */
function outerStride(sizes: number[], strides: number[]): number | undefined {
  let stride: number | undefined;
  let after = 1;
  for (let d = sizes.length - 1; d >= 0; --d) {
    if (sizes[d] !== 1) {
      if (stride === undefined) {
        if (strides[d] % after !== 0) return undefined;
        stride = strides[d] / after;
      } else if (strides[d] !== stride * after) {
        return undefined;
      }
    }
    after *= sizes[d];
  }
  return stride ?? 0;
}

/** The mask as the kernel reads it: the tensor (possibly converted or expanded) and its strides. */
function resolveMask(mask: Tensor, q: Tensor, batchShape: number[], L: number, S: number): { mask: Tensor; kind: 1 | 2; strides: number[]; temporary: boolean } {
  if (mask.requiresGrad && isGradEnabled()) {
    throw new MixprecError('ERR_AUTOGRAD', `${OP}: attnMask requires grad, but the fused kernel computes no mask gradient; pass attnMask.detach()`);
  }
  if (mask.device !== q.device) {
    throw new MixprecError('ERR_DEVICE_MISMATCH', `${OP}: attnMask is on ${mask.device} and query on ${q.device} (move one with .to())`);
  }
  if (mask.dtype !== 'bool' && !isFloatingPoint(mask.dtype)) {
    throw new MixprecTypeError('ERR_INVALID_DTYPE', `${OP}: attnMask must be bool or floating point, got ${mask.dtype}`);
  }
  const kind = mask.dtype === 'bool' ? 1 : 2;
  const target = [...batchShape, L, S];
  let m = kind === 2 && mask.dtype !== q.dtype ? mask.to(q.dtype) : mask;
  let temporary = m !== mask;
  let strides = maskStridesAlong(m, target);
  const nb = batchShape.length;
  const heads = nb === 0 ? 1 : batchShape[nb - 1];
  let outer = outerStride(batchShape.slice(0, Math.max(nb - 1, 0)), strides.slice(0, Math.max(nb - 1, 0)));
  if (outer === undefined) {
    // Broadcast in a pattern one stride cannot address: expand it (rare: [B, 1, H, L, S] and the like).
    const expanded = m.expand(target);
    if (temporary) m.dispose();
    m = expanded;
    temporary = true;
    strides = contiguousStrides(target);
    outer = heads * L * S;
  }
  return { mask: m, kind, strides: [outer, nb === 0 ? 0 : strides[nb - 1], strides[nb], strides[nb + 1]], temporary };
}

function checkInputs(q: Tensor, k: Tensor, v: Tensor): void {
  for (const [name, t] of [['query', q], ['key', k], ['value', v]] as const) {
    if (t.ndim < 2) throw argRangeError(OP, name, 'a tensor of at least 2 dimensions [..., seq, features]', t, 'ERR_INVALID_SHAPE');
    if (!isFloatingPoint(t.dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `${OP}: ${name} must be floating point, got ${t.dtype}`);
  }
  requireSameDevice(OP, [q, k, v]);
  if (k.dtype !== q.dtype || v.dtype !== q.dtype) {
    throw new MixprecError('ERR_DTYPE_MISMATCH', `${OP}: query, key and value must have the same dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype} (convert with .to(), or use autocast)`);
  }
  const batch = q.shape.slice(0, -2).join(', ');
  for (const [name, t] of [['key', k], ['value', v]] as const) {
    if (t.ndim !== q.ndim || t.shape.slice(0, -2).join(', ') !== batch) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${OP}: ${name} must have query's batch dimensions [${batch}], got shape [${t.shape.join(', ')}]`);
    }
  }
  const E = q.shape[q.ndim - 1];
  if (E === 0) throw argRangeError(OP, 'query', 'at least one feature (E >= 1)', q, 'ERR_INVALID_SHAPE');
  if (k.shape[k.ndim - 1] !== E) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${OP}: key must have query's feature size ${E} in its last dimension, got shape [${k.shape.join(', ')}]`);
  }
  if (v.shape[v.ndim - 2] !== k.shape[k.ndim - 2]) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${OP}: value must have key's sequence length ${k.shape[k.ndim - 2]}, got shape [${v.shape.join(', ')}]`);
  }
}

/**
 * `softmax(query · keyᵀ · scale + attnMask) · value` with PyTorch's semantics: query [..., L, E],
 * key [..., S, E], value [..., S, Ev] → [..., L, Ev]. Computed by one fused kernel (online
 * softmax, FlashAttention-2): memory O(L + S) per head besides the inputs and output; softmax
 * statistics and sums in float32 for every input dtype (16-bit outputs rounded once). Dropout
 * draws from `generator` exactly the mask `dropout(weights, p)` would, and the backward
 * regenerates it. Autocast: lower precision (PyTorch's list on CUDA and CPU). A row whose keys
 * are all masked out is NaN, as the composition's softmax.
 *
 * @example
 * ```ts
 * const q = mp.randn([2, 4, 8, 16]); // [batch, heads, L, E]
 * const out = mp.nn.functional.scaledDotProductAttention(q, q, q, { isCausal: true });
 * out.shape; // [2, 4, 8, 16]
 * ```
 */
export const scaledDotProductAttention: (query: Tensor, key: Tensor, value: Tensor, options?: ScaledDotProductAttentionOptions) => Tensor = defineOp({
  name: OP,
  autocast: 'lowerPrecision',
  forward: (query: Tensor, key: Tensor, value: Tensor, options?: ScaledDotProductAttentionOptions): Tensor => {
    const q = checkTensor(OP, 'query', query);
    const k = checkTensor(OP, 'key', key);
    const v = checkTensor(OP, 'value', value);
    checkInputs(q, k, v);
    const o = checkOptions(OP, options, OPTION_KEYS);
    const causal = optionalBoolean(OP, 'options.isCausal', o.isCausal, false);
    const dropoutP = o.dropoutP === undefined ? 0 : probability(OP, 'options.dropoutP', o.dropoutP);
    const E = q.shape[q.ndim - 1];
    const scale = o.scale === undefined ? 1 / Math.sqrt(E) : finiteNumber(OP, 'options.scale', o.scale);
    const generator = o.generator ?? defaultGenerator;
    if (!(generator instanceof Generator)) throw argTypeError(OP, 'options.generator', 'a Generator', generator);
    const batchShape = q.shape.slice(0, -2);
    const [L, S, Ev] = [q.shape[q.ndim - 2], k.shape[k.ndim - 2], v.shape[v.ndim - 1]];
    const batch = batchShape.reduce((a, b) => a * b, 1);
    let mask: ReturnType<typeof resolveMask> | undefined;
    if (o.attnMask !== undefined) {
      const m = checkTensor(OP, 'options.attnMask', o.attnMask);
      if (causal) throw new MixprecError('ERR_INVALID_ARG', `${OP}: attnMask and isCausal cannot both be set (as PyTorch); fold the causal mask into attnMask`);
      mask = resolveMask(m, q, batchShape, L, S);
    }
    const params: FlashAttentionParams = {
      heads: batchShape.length === 0 ? 1 : batchShape[batchShape.length - 1] || 1,
      scale, causal, maskKind: mask?.kind ?? 0, maskStrides: mask?.strides ?? [0, 0, 0, 0], dropoutP,
      // The generator advances as mp.rand of the [N, L, S] weights would, so the kept weights are the same.
      seed: dropoutP > 0 ? generator.getState().seed : 0n,
      offset: dropoutP > 0 ? generator.take(batch * L * S) : 0n,
    };
    const views = [q.reshape([batch, L, E]), k.reshape([batch, S, E]), v.reshape([batch, S, Ev])];
    if (mask?.temporary) views.push(mask.mask);
    return withViews(views, () => {
      const [out, lse] = flashAttention(views[0], views[1], views[2], mask?.mask, params);
      lse.dispose();
      return reshaped(out, [...batchShape, L, Ev]);
    });
  },
});
