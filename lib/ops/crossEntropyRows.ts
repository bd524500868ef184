/**
 * Cross-entropy of logits [rows, classes] against int32 class indices as one fused native op
 * each way: forward is logSoftmax + nll per row in one pass (max, sum of exp, the target's
 * logit) computed in float32 for 16-bit logits, saving only the row's logsumexp; backward writes
 * dlogits = g * (softmax - onehot) in the logits' dtype in one pass. `nn.functional.crossEntropy`
 * reduces its per-row losses.
 */
import { dtypeCode, isFloatingPoint } from '../dtype';
import { MixprecRangeError, MixprecTypeError } from '../errors';
import { isGradEnabled } from '../autograd/gradMode';
import { arange } from '../creation';
import { native } from '../native';
import { Tensor } from '../tensor';
import { checkTensor, newResult, requireSameDevice, withDtype } from './operands';
import { operand } from './nativeOperands';
import { opMathDtype } from './norm';
import { defineOp } from './registry';

/** Options of {@link crossEntropyRows}. */
export interface CrossEntropyRowsOptions {
  /** Rows with this target get loss 0 and no gradient. */
  ignoreIndex: number;
  /** Label smoothing in [0, 1]: the target distribution is (1 - s) onehot + s / classes. */
  labelSmoothing: number;
}

/** dlogits from recorded ops (createGraph), with the smoothing and ignored rows of the kernel. */
function composedBackward(logits: Tensor, target: Tensor, g: Tensor, { ignoreIndex, labelSmoothing: s }: CrossEntropyRowsOptions): Tensor {
  const m = opMathDtype(logits.dtype);
  const classes = logits.shape[1];
  const valid = target.ne(ignoreIndex);
  const onehot = arange(classes, { device: logits.device, dtype: 'int32' }).reshape([1, classes]).eq(target.unsqueeze(1)).to(m);
  const p = logits.to(m).softmax(1);
  const rowScale = g.to(m).mul(valid.to(m)).unsqueeze(1);
  return p.sub(onehot.mul(1 - s)).sub(s / classes).mul(rowScale).to(logits.dtype);
}

/**
 * Per-row cross-entropy of `logits` [rows, classes] against `target` [rows] (int32): returns
 * [losses, lse], both [rows] in float32 (float64 for float64 logits); lse is saved for backward
 * and callers dispose it. Internal: `nn.functional.crossEntropy` calls it.
 */
export const crossEntropyRows: (logits: Tensor, target: Tensor, options: CrossEntropyRowsOptions) => Tensor[] = defineOp({
  name: 'crossEntropyRows',
  autocast: 'fp32',
  forward: (logitsInput: Tensor, targetInput: Tensor, options: CrossEntropyRowsOptions): Tensor[] => {
    const logits = checkTensor('crossEntropy', 'input', logitsInput);
    const target = checkTensor('crossEntropy', 'target', targetInput);
    if (!isFloatingPoint(logits.dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `crossEntropy: input must hold floating-point scores, got ${logits.dtype}`);
    if (logits.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== logits.shape[0]) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `crossEntropy: input [rows, classes] needs a target [rows], got input [${logits.shape.join(', ')}] and target [${target.shape.join(', ')}]`);
    }
    requireSameDevice('crossEntropy', [logits, target]);
    const [rows, cols] = logits.shape;
    const m = opMathDtype(logits.dtype);
    const losses = newResult('crossEntropy', [rows], m, logits);
    const lse = newResult('crossEntropy', [rows], m, logits);
    const bad = native.crossEntropyForward({
      dtype: dtypeCode(logits.dtype), logits: operand(logits), target: operand(target), losses: operand(losses), lse: operand(lse),
      rows, cols, ignoreIndex: options.ignoreIndex, smoothing: options.labelSmoothing,
    });
    if (bad >= 0) {
      losses.dispose();
      lse.dispose();
      const value = target.dataSync()[bad];
      throw new MixprecRangeError('ERR_INDEX_OUT_OF_RANGE', `crossEntropy: argument 'target' holds class index ${value} at position ${bad}, out of range for ${cols} classes (valid: 0..${cols - 1} or ignoreIndex ${options.ignoreIndex})`);
    }
    return [losses, lse];
  },
  save: ([logits, target], [, lse]) => [logits, target, lse],
  backward: ({ args: [, , options], saved: [logits, target, lse] }, [g]) => {
    if (g === undefined) return [undefined];
    if (isGradEnabled()) return [composedBackward(logits, target, g, options)];
    const [rows, cols] = logits.shape;
    const dlogits = newResult('crossEntropy backward', logits.shape, logits.dtype, logits);
    withDtype(g, opMathDtype(logits.dtype), (scale) => {
      native.crossEntropyBackward({
        dtype: dtypeCode(logits.dtype), logits: operand(logits), target: operand(target), lse: operand(lse), scale: operand(scale),
        dlogits: operand(dlogits), rows, cols, ignoreIndex: options.ignoreIndex, smoothing: options.labelSmoothing,
      });
    });
    return [dlogits];
  },
});
