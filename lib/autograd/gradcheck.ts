/**
 * Gradient checking: the analytical Jacobian (from backward) against central finite
 * differences, in float64, as torch.autograd.gradcheck.
 */
import { tensor } from '../creation';
import { MixprecError, argTypeError } from '../errors';
import { resolveOptions } from '../options';
import { checkTensor, Tensor } from '../tensor';
import { grad } from './grad';
import { noGrad } from './gradMode';

/** Options of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
}

function outputsList(out: unknown): Tensor[] {
  const list = Array.isArray(out) ? out : [out];
  return list.filter((t): t is Tensor => t instanceof Tensor && t.isFloatingPoint());
}

function valuesOf(outs: Tensor[]): Float64Array[] {
  return outs.map((t) => Float64Array.from(t.dataSync()));
}

/**
 * Checks `fn`'s gradients with respect to every input that requires grad. Inputs must be
 * float64 (finite differences in lower precision are meaningless). Returns true or throws an
 * error naming the input, the output and the worst element.
 *
 * @example
 * ```ts
 * const x = mp.randn([3, 4], { dtype: 'float64' }).requiresGrad_();
 * mp.autograd.gradcheck((x) => x.tanh().sum({ dim: 1 }), [x]); // true
 * ```
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[], options?: GradcheckOptions): boolean {
  if (typeof fn !== 'function') throw argTypeError('gradcheck', 'fn', 'a function', fn);
  if (!Array.isArray(inputs)) throw argTypeError('gradcheck', 'inputs', 'an array of tensors', inputs);
  const o = resolveOptions('gradcheck', options, ['eps', 'atol', 'rtol']);
  const eps = (o.eps as number | undefined) ?? 1e-6;
  const atol = (o.atol as number | undefined) ?? 1e-5;
  const rtol = (o.rtol as number | undefined) ?? 1e-3;
  inputs.forEach((t, i) => {
    checkTensor('gradcheck', `inputs[${i}]`, t);
    if (t.requiresGrad && t.dtype !== 'float64') {
      throw new MixprecError('ERR_INVALID_DTYPE', `gradcheck: inputs[${i}] requires grad but is ${t.dtype}; gradcheck needs float64 inputs`);
    }
  });
  const checked = inputs.map((_, i) => i).filter((i) => inputs[i].requiresGrad);
  const outs = outputsList(fn(...inputs));
  const outSizes = outs.map((t) => t.numel);
  // Analytical Jacobian, one backward per output element.
  const analytical = checked.map((i) => outs.map((o) => new Float64Array(o.numel * inputs[i].numel)));
  outs.forEach((out, k) => {
    for (let j = 0; j < out.numel; ++j) {
      const onehot = new Float64Array(out.numel);
      onehot[j] = 1;
      const gradOutputs = outs.map((o, m) => (m === k ? tensor(onehot, { dtype: o.dtype, shape: o.shape }) : tensor(new Float64Array(o.numel), { dtype: o.dtype, shape: o.shape })));
      const grads = grad(outs, checked.map((i) => inputs[i]), { gradOutputs, retainGraph: true, allowUnused: true });
      grads.forEach((g, c) => {
        if (!g) return;
        const values = g.dataSync();
        analytical[c][k].set(values, j * inputs[checked[c]].numel);
      });
    }
  });
  // Numerical Jacobian by central differences on fresh copies of each input.
  checked.forEach((i, c) => {
    const base = Float64Array.from(inputs[i].dataSync());
    for (let e = 0; e < base.length; ++e) {
      const evalAt = (delta: number): Float64Array[] => {
        const values = base.slice();
        values[e] += delta;
        const shifted = tensor(values, { dtype: 'float64', shape: inputs[i].shape });
        const args = inputs.map((t, m) => (m === i ? shifted : t));
        return noGrad(() => valuesOf(outputsList(fn(...args))));
      };
      const plus = evalAt(eps);
      const minus = evalAt(-eps);
      outs.forEach((_, k) => {
        for (let j = 0; j < outSizes[k]; ++j) {
          const numerical = (plus[k][j] - minus[k][j]) / (2 * eps);
          const a = analytical[c][k][j * base.length + e];
          if (!(Math.abs(a - numerical) <= atol + rtol * Math.abs(numerical))) {
            throw new MixprecError('ERR_AUTOGRAD', `gradcheck: Jacobian mismatch for output ${k} with respect to input ${i}: element (${j}, ${e}) analytical ${a}, numerical ${numerical} (atol ${atol}, rtol ${rtol})`);
          }
        }
      });
    }
  });
  return true;
}
