/**
 * Gradient clipping: clipGradNorm (rescale every gradient so that their joint norm is at most
 * maxNorm) and clipGradValue (clamp each gradient element), as torch.nn.utils.clip_grad_norm_ /
 * clip_grad_value_. Both work in place with one native multi-tensor call per (device, dtype).
 */
import { zeros } from '../creation';
import { argRangeError, argTypeError, MixprecError } from '../errors';
import { tidy } from '../memory';
import { div } from '../ops/elementwise';
import { groupByDeviceDtype, multiTensorClamp, multiTensorNorm, multiTensorScale, withScalarOn } from '../ops/multiTensor';
import { checkTensor, Tensor } from '../tensor';
import { booleanArg, numberArg } from '../validate';

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** The norm's order: any p > 0, or Infinity for the largest magnitude (default 2). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite (a host read; default false). */
  errorIfNonfinite?: boolean;
}

/** The live gradients of `params` (a tensor or an iterable of tensors); those without one are skipped. */
function gradsOf(op: string, params: unknown): Tensor[] {
  const list = params instanceof Tensor ? [params] : params;
  if (typeof list !== 'object' || list === null || typeof (list as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw argTypeError(op, 'params', 'a Tensor or an iterable of Tensors', params);
  }
  const grads: Tensor[] = [];
  [...(list as Iterable<unknown>)].forEach((p, i) => {
    const t = checkTensor(op, `params[${i}]`, p);
    if (t.grad === undefined) return;
    grads.push(checkTensor(op, `params[${i}].grad`, t.grad));
  });
  return grads;
}

function floatingGrads(op: string, grads: Tensor[]): void {
  grads.forEach((g, i) => {
    if (!g.isFloatingPoint()) throw argTypeError(op, `grads[${i}]`, 'a floating-point gradient', g, 'ERR_INVALID_DTYPE');
  });
}

/** The normType-norm of all of `tensors` together, as a new float32 0-d tensor on their device. */
function normOf(tensors: Tensor[], normType: number): Tensor {
  const out = zeros([], { device: tensors[0].device });
  multiTensorNorm(tensors, normType, out);
  return out;
}

/**
 * Scales the gradients of `params` in place so that their total norm (all gradients as one
 * vector) is at most `maxNorm`: each is multiplied by `min(1, maxNorm / (total + 1e-6))`, a
 * float32 device scalar, so nothing is read back to the host unless `errorIfNonfinite` is set.
 * Parameters without a gradient are skipped. Returns the total norm before clipping (float32,
 * 0-d, on the first gradient's device; 0 on the CPU when no parameter has a gradient).
 *
 * @example
 * ```ts
 * const params = [mp.tensor([1, 2]).requiresGrad_()];
 * const opt = new mp.optim.SGD(params, { lr: 0.1 });
 * const loss = params[0].mul(params[0]).sum();
 * loss.backward();
 * const norm = mp.nn.utils.clipGradNorm(params, 1.0);
 * opt.step();
 * ```
 */
export function clipGradNorm(params: Tensor | Iterable<Tensor>, maxNorm: number, options: ClipGradNormOptions = {}): Tensor {
  const op = 'clipGradNorm';
  numberArg(op, 'maxNorm', maxNorm);
  if (maxNorm < 0) throw argRangeError(op, 'maxNorm', 'a number >= 0', maxNorm);
  if (typeof options !== 'object' || options === null) throw argTypeError(op, 'options', 'an object {normType?, errorIfNonfinite?}', options);
  const normType = options.normType ?? 2;
  if (typeof normType !== 'number' || !(normType > 0)) throw argRangeError(op, 'normType', 'a number > 0 or Infinity', normType);
  const errorIfNonfinite = options.errorIfNonfinite ?? false;
  booleanArg(op, 'errorIfNonfinite', errorIfNonfinite);
  const grads = gradsOf(op, params);
  if (grads.length === 0) return zeros([]);
  floatingGrads(op, grads);
  const groups = groupByDeviceDtype(grads, (g) => g);
  const norms = groups.map((g) => normOf(g.items, normType));
  // The norm of the groups' norms is the norm of everything.
  let total = norms[0];
  if (norms.length > 1) {
    const onFirst = norms.map((n) => (n.device === norms[0].device ? n : n.to(norms[0].device)));
    total = normOf(onFirst, normType);
    for (const t of new Set([...norms, ...onFirst])) t.dispose();
  }
  if (errorIfNonfinite) {
    const value = total.item() as number;
    if (!Number.isFinite(value)) {
      total.dispose();
      throw new MixprecError('ERR_NONFINITE', `${op}: the total norm of order ${normType} of the gradients is ${value}, so they cannot be clipped; pass errorIfNonfinite: false to scale them by the non-finite norm anyway`);
    }
  }
  tidy(() => {
    const coef = div(maxNorm, total.add(1e-6)).clamp(undefined, 1);
    for (const { device, dtype, items } of groups) {
      withScalarOn(coef, device, (scale) => multiTensorScale(dtype, items, scale));
      for (const g of items) g.markModified();
    }
  });
  return total;
}

/**
 * Clamps every gradient element of `params` to [-clipValue, clipValue] in place (NaN stays
 * NaN). Parameters without a gradient are skipped.
 *
 * @example
 * ```ts
 * const params = [mp.tensor([1, 2]).requiresGrad_()];
 * params[0].mul(mp.tensor([3, -1])).sum().backward();
 * mp.nn.utils.clipGradValue(params, 0.5);
 * ```
 */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  const op = 'clipGradValue';
  numberArg(op, 'clipValue', clipValue);
  if (clipValue < 0) throw argRangeError(op, 'clipValue', 'a number >= 0', clipValue);
  const grads = gradsOf(op, params);
  floatingGrads(op, grads);
  for (const { dtype, items } of groupByDeviceDtype(grads, (g) => g)) {
    multiTensorClamp(dtype, items, -clipValue, clipValue);
    for (const g of items) g.markModified();
  }
}
