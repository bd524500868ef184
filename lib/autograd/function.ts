/**
 * Custom autograd functions, as PyTorch's `torch.autograd.Function`: a static forward that
 * computes (without recording) and a static backward that returns the input gradients.
 */
import { MixprecError, MixprecTypeError } from '../errors';
import { Tensor } from '../tensor';
import { isGradEnabled, withoutRecording } from './gradMode';
import { gradNeeds, outputsOf, recordNode, tensorInputs } from './record';
import { SavedTensor } from './savedTensor';

/** The context object forward and backward share. Extra fields may be stored on it. */
export class FunctionCtx {
  /** Per tensor input (argument order): whether backward must compute its gradient. */
  readonly needsInputGrad: boolean[];
  /** @internal */ readonly saved: SavedTensor[] = [];
  /** @internal */ readonly nonDifferentiable = new Set<Tensor>();
  [field: string]: unknown;

  constructor(
    needs: boolean[],
    private readonly recording: boolean,
    private readonly fnName: string,
  ) {
    this.needsInputGrad = needs;
  }

  /** Keeps tensors for backward (checked against in-place writes). */
  saveForBackward(...tensors: Tensor[]): void {
    if (!this.recording) return;
    tensors.forEach((t, i) => this.saved.push(new SavedTensor(t, this.fnName, this.saved.length + i)));
  }

  /** The tensors passed to {@link saveForBackward}, in order. */
  get savedTensors(): Tensor[] {
    return this.saved.map((s) => s.unpack());
  }

  /** Declares outputs that have no gradient (indices, masks). */
  markNonDifferentiable(...tensors: Tensor[]): void {
    for (const t of tensors) this.nonDifferentiable.add(t);
  }
}

type Grads = Tensor | undefined | (Tensor | undefined)[];

/** A forward's result must be a Tensor or an array of Tensors: anything else cannot carry a gradient. */
function checkForwardResult(name: string, out: unknown): void {
  const bad = (v: unknown) => !(v instanceof Tensor);
  if (Array.isArray(out) ? out.length === 0 || out.some(bad) : bad(out)) {
    const got = Array.isArray(out) ? `an array [${out.map((v) => (v instanceof Tensor ? 'Tensor' : v === null ? 'null' : typeof v)).join(', ')}]` : out === null ? 'null' : typeof out;
    throw new MixprecTypeError('ERR_AUTOGRAD', `${name}.forward returned ${got}, expected a Tensor or a non-empty array of Tensors`);
  }
}

/**
 * Base class of custom differentiable functions. Subclasses implement static `forward(ctx,
 * ...args)` and `backward(ctx, ...grads)` (one gradient per tensor input, undefined for none);
 * call them with `apply`.
 *
 * @example
 * ```ts
 * const x = mp.tensor([1, 2]).requiresGrad_();
 * class Cube extends mp.autograd.Function {
 *   static forward(ctx: mp.autograd.FunctionCtx, x: mp.Tensor) {
 *     ctx.saveForBackward(x);
 *     return x.pow(3);
 *   }
 *   static backward(ctx: mp.autograd.FunctionCtx, g: mp.Tensor) {
 *     const [x] = ctx.savedTensors;
 *     return g.mul(x.pow(2)).mul(3);
 *   }
 * }
 * const y = Cube.apply(x) as mp.Tensor;
 * ```
 */
export class Function {
  /** Computes the outputs; operations inside are not recorded. */
  static forward(ctx: FunctionCtx, ...args: unknown[]): Tensor | Tensor[] {
    void ctx;
    void args;
    throw new MixprecError('ERR_AUTOGRAD', `${this.name}.forward: a custom Function must implement static forward(ctx, ...args)`);
  }

  /** Gradients of the tensor inputs from the gradients of the outputs. */
  static backward(ctx: FunctionCtx, ...grads: (Tensor | undefined)[]): Grads {
    void ctx;
    void grads;
    throw new MixprecError('ERR_AUTOGRAD', `${this.name}.backward: a custom Function must implement static backward(ctx, ...grads)`);
  }

  /** Runs forward and records the call, so backward flows through {@link backward}. */
  static apply(...args: unknown[]): Tensor | Tensor[] {
    const inputs = tensorInputs(args);
    const needs = isGradEnabled() ? gradNeeds(inputs) : undefined;
    const ctx = new FunctionCtx(needs ?? inputs.map(() => false), needs !== undefined, this.name);
    const out = withoutRecording(() => this.forward(ctx, ...args));
    checkForwardResult(this.name, out);
    if (!needs) return out;
    const outputs = outputsOf(out);
    recordNode(`${this.name}Backward`, inputs, needs, outputs, (grads) => {
      const result = this.backward(ctx, ...grads);
      if (result === undefined && needs.includes(true)) {
        // A bare undefined is a backward that forgot its return; "no gradient" is spelled [undefined].
        throw new MixprecTypeError('ERR_AUTOGRAD', `${this.name}.backward returned undefined, expected a gradient for each tensor input (a Tensor, or undefined in an array for an input without one); did it forget to return?`);
      }
      const list = Array.isArray(result) ? result : [result];
      if (list.length !== inputs.length) {
        throw new MixprecError('ERR_AUTOGRAD', `${this.name}.backward returned ${list.length} gradient(s), expected ${inputs.length} (one per tensor input; undefined for none)`);
      }
      list.forEach((g: unknown, i) => {
        if (g !== undefined && !(g instanceof Tensor)) {
          throw new MixprecTypeError('ERR_AUTOGRAD', `${this.name}.backward returned ${g === null ? 'null' : typeof g} as gradient ${i}, expected a Tensor or undefined`);
        }
      });
      return list;
    }, ctx.saved, ctx.nonDifferentiable);
    return out;
  }
}
