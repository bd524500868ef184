/**
 * LayerNorm and RMSNorm as one fused native op each way (csrc/core/fusedMath.h): a row's mean and
 * rstd are computed in float32 (float64 for float64 data) whatever the input dtype, the output is
 * the input dtype rounded once, and backward writes dx, dweight and dbias in one pass over the
 * rows. Under `createGraph` the backward is composed from recorded ops instead, so second
 * derivatives exist.
 */
import { dtypeCode, isFloatingPoint, type DType } from '../dtype';
import { argRangeError, argTypeError, MixprecRangeError, MixprecTypeError } from '../errors';
import { isGradEnabled } from '../autograd/gradMode';
import { native } from '../native';
import { Tensor } from '../tensor';
import { checkTensor, newResult, requireSameDevice } from './operands';
import { operand } from './nativeOperands';
import { defineOp } from './registry';

/** The dtype of statistics and affine parameters for `dtype` data. */
export const opMathDtype = (dtype: DType): DType => (dtype === 'float64' ? 'float64' : 'float32');

interface NormRowsOptions {
  rms: boolean;
  eps: number;
}

function optionalOperand(t: Tensor | undefined): { storage: Tensor['storage']['handle']; offset: number } | null {
  return t === undefined ? null : operand(t);
}

/** `t` in `dtype`: itself, or a converted copy the caller disposes (`owned`). */
function inDtype(t: Tensor | undefined, dtype: DType, owned: Tensor[]): Tensor | undefined {
  if (t === undefined || t.dtype === dtype) return t;
  const c = t.to(dtype);
  owned.push(c);
  return c;
}

/**
 * The composed backward (recorded ops, so it is itself differentiable): the statistics are
 * recomputed from x rather than read from the saved ones.
 */
function composedBackward(x: Tensor, weight: Tensor | undefined, gy: Tensor, { rms, eps }: NormRowsOptions): [Tensor, Tensor | undefined, Tensor | undefined] {
  const m = opMathDtype(x.dtype);
  const xf = x.to(m);
  const g0 = gy.to(m);
  const centered = rms ? xf : xf.sub(xf.mean({ dim: 1, keepdim: true }));
  const rstd = centered.mul(centered).mean({ dim: 1, keepdim: true }).add(eps).rsqrt();
  const xhat = centered.mul(rstd);
  const g = weight === undefined ? g0 : g0.mul(weight.to(m));
  let inner = g.sub(xhat.mul(g.mul(xhat).mean({ dim: 1, keepdim: true })));
  if (!rms) inner = inner.sub(g.mean({ dim: 1, keepdim: true }));
  const dx = inner.mul(rstd).to(x.dtype);
  return [dx, g0.mul(xhat).sum({ dim: 0 }), g0.sum({ dim: 0 })];
}

/**
 * The fused kernel on [rows, cols]: returns [y, mean, rstd] (mean and rstd [rows] in the op-math
 * dtype, for backward; callers dispose them). Internal: {@link layerNorm} and {@link rmsNorm}
 * reshape to rows of the normalized size and call it.
 */
export const normRows: (x: Tensor, weight: Tensor | undefined, bias: Tensor | undefined, options: NormRowsOptions) => Tensor[] = defineOp({
  name: 'normRows',
  autocast: 'passThrough',
  forward: (x: Tensor, weight: Tensor | undefined, bias: Tensor | undefined, options: NormRowsOptions): Tensor[] => {
    const [rows, cols] = x.shape;
    const m = opMathDtype(x.dtype);
    const y = newResult('normRows', x.shape, x.dtype, x);
    const mean = newResult('normRows', [rows], m, x);
    const rstd = newResult('normRows', [rows], m, x);
    const owned: Tensor[] = [];
    try {
      const w = inDtype(weight, m, owned);
      const b = inDtype(bias, m, owned);
      native.normForward({
        rms: options.rms, dtype: dtypeCode(x.dtype), x: operand(x), weight: optionalOperand(w), bias: optionalOperand(b), y: operand(y),
        mean: operand(mean), rstd: operand(rstd), rows, cols, eps: options.eps,
      });
    } finally {
      for (const t of owned) t.dispose();
    }
    return [y, mean, rstd];
  },
  save: ([x, weight], [, mean, rstd]) => (weight === undefined ? [x, mean, rstd] : [x, mean, rstd, weight]),
  backward: ({ args: [, weight, bias, options], saved, needsInputGrad }, [gy]) => {
    const [x, mean, rstd, w] = saved;
    const wantWeight = weight !== undefined && needsInputGrad[1];
    const wantBias = bias !== undefined && needsInputGrad[weight === undefined ? 1 : 2];
    let dx: Tensor | undefined;
    let dw: Tensor | undefined;
    let db: Tensor | undefined;
    if (gy === undefined) {
      dx = undefined;
    } else if (isGradEnabled()) {
      [dx, dw, db] = composedBackward(x, w, gy, options);
    } else {
      const [rows, cols] = x.shape;
      const m = opMathDtype(x.dtype);
      const owned: Tensor[] = [];
      try {
        const g = inDtype(gy, x.dtype, owned)!;
        const wm = inDtype(w, m, owned);
        dx = newResult('layerNorm backward', x.shape, x.dtype, x);
        dw = wantWeight ? newResult('layerNorm backward', [cols], m, x) : undefined;
        db = wantBias ? newResult('layerNorm backward', [cols], m, x) : undefined;
        native.normBackward({
          rms: options.rms, dtype: dtypeCode(x.dtype), dy: operand(g), x: operand(x), weight: optionalOperand(wm), mean: operand(mean),
          rstd: operand(rstd), dx: operand(dx), dweight: optionalOperand(dw), dbias: optionalOperand(db), rows, cols,
        });
      } finally {
        for (const t of owned) t.dispose();
      }
    }
    const grads: (Tensor | undefined)[] = [dx];
    if (weight !== undefined) grads.push(wantWeight ? dw : undefined);
    if (bias !== undefined) grads.push(wantBias ? db : undefined);
    return grads;
  },
});

/** Checks a norm's input, normalizedShape and affine tensors; returns the size of a row. */
function checkNormArgs(op: string, x: Tensor, normalizedShape: number[], tensors: [string, Tensor | undefined][], eps: number): number {
  if (!isFloatingPoint(x.dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: needs a floating-point input, got ${x.dtype}`);
  if (!Array.isArray(normalizedShape) || normalizedShape.length === 0 || normalizedShape.length > x.ndim) throw argTypeError(op, 'normalizedShape', `1 to ${x.ndim} trailing sizes of the input`, normalizedShape);
  const tail = x.shape.slice(x.ndim - normalizedShape.length);
  if (tail.some((s, i) => s !== normalizedShape[i])) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: normalizedShape [${normalizedShape.join(', ')}] must match the input's trailing sizes, got input [${x.shape.join(', ')}]`);
  }
  for (const [name, t] of tensors) {
    if (t === undefined) continue;
    if (checkTensor(op, name, t).ndim !== normalizedShape.length || t.shape.some((s, i) => s !== normalizedShape[i])) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: ${name} must have shape [${normalizedShape.join(', ')}], got [${t.shape.join(', ')}]`);
    }
    if (!isFloatingPoint(t.dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: ${name} must be floating point, got ${t.dtype}`);
  }
  requireSameDevice(op, [x, ...tensors.map(([, t]) => t).filter((t): t is Tensor => t !== undefined)]);
  if (typeof eps !== 'number' || !(eps >= 0)) throw argRangeError(op, 'eps', 'a non-negative number', eps);
  return tail.reduce((a, b) => a * b, 1);
}

/** torch.finfo(dtype).eps; integer inputs are refused before it matters. */
const machineEpsilon: Record<DType, number> = {
  float32: 2 ** -23, float16: 2 ** -10, bfloat16: 2 ** -7, float64: 2 ** -52, int32: 0, bool: 0,
};

function normalize(op: string, rms: boolean, input: Tensor, normalizedShape: number[], weight: Tensor | undefined, bias: Tensor | undefined, eps: number): Tensor {
  const x = checkTensor(op, 'input', input);
  const tensors: [string, Tensor | undefined][] = rms ? [['weight', weight]] : [['weight', weight], ['bias', bias]];
  const cols = checkNormArgs(op, x, normalizedShape, tensors, eps);
  const rows = cols === 0 ? 0 : x.numel / cols;
  const flat = (t: Tensor | undefined): Tensor | undefined => t?.reshape([cols]);
  const [y, mean, rstd] = normRows(x.reshape([rows, cols]), flat(weight), flat(bias), { rms, eps });
  mean.dispose();
  rstd.dispose();
  return y.reshape(x.shape);
}

/**
 * Layer normalization over the trailing `normalizedShape` dimensions, as one fused native op
 * each way: statistics in float32 for 16-bit inputs, the output in the input dtype rounded once.
 * @example `mp.nn.functional.layerNorm(mp.randn([2, 8]), [8], mp.ones([8]), mp.zeros([8]))`
 */
export const layerNorm: (input: Tensor, normalizedShape: number[], weight?: Tensor, bias?: Tensor, eps?: number) => Tensor = defineOp({
  name: 'layerNorm',
  autocast: { cuda: 'fp32', cpu: 'passThrough' },
  forward: (input: Tensor, normalizedShape: number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor =>
    normalize('layerNorm', false, input, normalizedShape, weight, bias, eps),
});

/**
 * Root-mean-square normalization (PyTorch's `rms_norm`): `x / sqrt(mean(x²) + eps) * weight`
 * over the trailing `normalizedShape` dimensions, fused as {@link layerNorm}. `eps` defaults to
 * the input dtype's machine epsilon, as in PyTorch.
 * @example `mp.nn.functional.rmsNorm(mp.randn([2, 8]), [8], mp.ones([8]))`
 */
export const rmsNorm: (input: Tensor, normalizedShape: number[], weight?: Tensor, eps?: number) => Tensor = defineOp({
  name: 'rmsNorm',
  autocast: { cuda: 'fp32', cpu: 'passThrough' },
  forward: (input: Tensor, normalizedShape: number[], weight?: Tensor, eps?: number): Tensor =>
    normalize('rmsNorm', true, input, normalizedShape, weight, undefined, eps ?? machineEpsilon[checkTensor('rmsNorm', 'input', input).dtype]),
});
