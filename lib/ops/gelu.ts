/**
 * GELU's fused pieces: the backward of `gelu` as one native pass (dx = dy * gelu'(x)), and
 * `biasGelu`, gelu(x + bias) in one pass each way, the epilogue of a Linear layer followed by
 * GELU. Under `createGraph` the backwards are composed from recorded ops instead, so second
 * derivatives exist.
 */
import { dtypeCode, isFloatingPoint, promoteTypes } from '../dtype';
import { argTypeError, MixprecRangeError, MixprecTypeError } from '../errors';
import { isGradEnabled } from '../autograd/gradMode';
import { native } from '../native';
import { Tensor } from '../tensor';
import { checkTensor, newResult, requireSameDevice, withDtype } from './operands';
import { operand } from './nativeOperands';
import { defineOp } from './registry';

/** Options of {@link biasGelu} (and of `gelu`). */
export interface GeluOptions {
  /** 'none' (default): `x Φ(x)` with erf; 'tanh': PyTorch's tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/** The validated `approximate` option. */
export function geluApproximation(op: string, options: GeluOptions | undefined): 'none' | 'tanh' {
  const approximate = options?.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw argTypeError(op, 'options.approximate', "'none' or 'tanh'", approximate);
  return approximate;
}

/** d/dx gelu from recorded ops: Φ(x) + x φ(x) exactly; the tanh form's derivative for the approximation. */
function composedDerivative(x: Tensor, approximate: 'none' | 'tanh'): Tensor {
  if (approximate === 'tanh') {
    const k = Math.sqrt(2 / Math.PI);
    const inner = x.add(x.pow(3).mul(0.044715)).mul(k);
    const t = inner.tanh();
    const dInner = x.mul(x).mul(3 * 0.044715).add(1).mul(k);
    return t.add(1).mul(0.5).add(x.mul(0.5).mul(t.mul(t).neg().add(1)).mul(dInner));
  }
  const pdf = x.mul(x).mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
  return x.mul(Math.SQRT1_2).erf().add(1).mul(0.5).add(x.mul(pdf));
}

/**
 * dx = g * gelu'(x + bias) (bias [cols] of x's dtype, or none), in x's dtype: one native pass,
 * or recorded ops when the backward itself is being recorded (createGraph).
 */
export function geluGradient(x: Tensor, bias: Tensor | undefined, g: Tensor, approximate: 'none' | 'tanh'): Tensor {
  if (isGradEnabled()) {
    const pre = bias === undefined ? x : x.add(bias);
    return g.mul(composedDerivative(pre, approximate)).to(x.dtype);
  }
  const cols = bias === undefined ? Math.max(x.numel, 1) : bias.numel;
  const dx = newResult('gelu backward', x.shape, x.dtype, x);
  withDtype(g, x.dtype, (dy) => {
    native.geluBackward({
      tanh: approximate === 'tanh', dtype: dtypeCode(x.dtype), x: operand(x), bias: bias === undefined ? null : operand(bias),
      dy: operand(dy), dx: operand(dx), rows: cols === 0 ? 0 : x.numel / cols, cols,
    });
  });
  return dx;
}

/**
 * `gelu(x + bias)` with bias broadcast along the last dimension, in one pass: x + bias is not
 * rounded to a 16-bit dtype before the GELU (computed in float32, rounded once). Backward
 * recomputes x + bias rather than storing it. Use it for a Linear layer's bias followed by GELU
 * (`biasGelu(x.matmul(w.t()), b)`): the GEMM writes x, this pass reads it once.
 * @example `mp.nn.functional.biasGelu(mp.tensor([[-1, 0.5], [2, 0]]), mp.tensor([0.5, -0.5]), { approximate: 'tanh' })`
 */
export const biasGelu: (x: Tensor, bias: Tensor, options?: GeluOptions) => Tensor = defineOp({
  name: 'biasGelu',
  autocast: 'passThrough',
  forward: (input: Tensor, biasInput: Tensor, options?: GeluOptions): Tensor => {
    const x = checkTensor('biasGelu', 'x', input);
    const b = checkTensor('biasGelu', 'bias', biasInput);
    const approximate = geluApproximation('biasGelu', options);
    if (x.ndim === 0 || b.ndim !== 1 || b.shape[0] !== x.shape[x.ndim - 1]) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `biasGelu: bias must be 1-d with the size of x's last dimension${x.ndim === 0 ? ' (x must have at least one dimension)' : ` [${x.shape[x.ndim - 1]}]`}, got [${b.shape.join(', ')}]`);
    }
    if (!isFloatingPoint(x.dtype) || !isFloatingPoint(b.dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `biasGelu: x and bias must be floating point, got ${x.dtype} and ${b.dtype}`);
    requireSameDevice('biasGelu', [x, b]);
    const dtype = promoteTypes(x.dtype, b.dtype);
    const out = newResult('biasGelu', x.shape, dtype, x);
    const cols = b.shape[0];
    withDtype(x, dtype, (xc) => withDtype(b, dtype, (bc) => {
      native.biasGelu({ tanh: approximate === 'tanh', dtype: dtypeCode(dtype), x: operand(xc), bias: operand(bc), y: operand(out), rows: cols === 0 ? 0 : x.numel / cols, cols });
    }));
    return out;
  },
  save: ([x, b]) => [x, b],
  backward: ({ args: [, , options], saved: [x, b], needsInputGrad }, [g]) => {
    if (g === undefined) return [undefined, undefined];
    const dtype = g.dtype;
    const dx = withDtype(x, dtype, (xc) => withDtype(b, dtype, (bc) => geluGradient(xc, bc, g, geluApproximation('biasGelu', options))));
    const db = needsInputGrad[1] ? dx.reshape([-1, b.shape[0]]).sum({ dim: 0 }) : undefined;
    return [needsInputGrad[0] ? dx : undefined, db];
  },
});
