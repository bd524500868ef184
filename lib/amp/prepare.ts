/**
 * `mp.amp.prepare`: apex-style optimization levels (O0–O3) for a model and its optimizer. It
 * casts the model's floating-point parameters and buffers for the level, points the optimizer's
 * parameter groups at the new tensors, turns the optimizer's float32 master weights on or off,
 * and returns an `autocast` wrapper for the forward pass. It sits above nn and optim (like
 * customFunction.ts above the ops).
 */
import { noGrad } from '../autograd/gradMode';
import { cuda } from '../backend';
import type { DType } from '../dtype';
import { argRangeError, argTypeError, MixprecError } from '../errors';
import { keep } from '../memory';
import { Module, type AnyModule } from '../nn/module';
import { BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm } from '../nn/normalization';
import { MASTER_PARAM_KEY } from '../optim/masterWeights';
import { Optimizer } from '../optim/optimizer';
import { convert, Tensor } from '../tensor';
import { autocast } from './autocast';
import { checkDeviceType } from '../autocast/state';
import type { AutocastDeviceType } from '../autocast/policy';
import { isOptionsObject, rejectUnknownKeys } from '../validate';

/** apex's optimization levels. */
export type OptLevel = 'O0' | 'O1' | 'O2' | 'O3';

/** The 16-bit dtypes {@link prepare} trains in. */
export type LowPrecisionDType = 'float16' | 'bfloat16';

/** Options of {@link prepare}. */
export interface PrepareOptions {
  /** 'O0' (float32), 'O1' (float32 weights + autocast), 'O2' (16-bit weights, float32 norms and masters), 'O3' (pure 16-bit). */
  optLevel: OptLevel;
  /** The low precision (default float16 for deviceType 'cuda', bfloat16 for 'cpu'). */
  dtype?: LowPrecisionDType;
  /** The device type autocast applies to (default: the device type of the model's parameters). */
  deviceType?: AutocastDeviceType;
}

/** What {@link prepare} returns: the same model and optimizer, changed in place, and the settings. */
export interface Prepared<M extends AnyModule, O extends Optimizer<{ lr: number }>> {
  /** The model given, cast for the level. */
  readonly model: M;
  /** The optimizer given, its groups pointing at the model's current parameters. */
  readonly optimizer: O;
  readonly optLevel: OptLevel;
  /** The low precision (reported for O0 too, where nothing uses it). */
  readonly dtype: LowPrecisionDType;
  readonly deviceType: AutocastDeviceType;
  /** Whether the optimizer keeps float32 master copies (O2). */
  readonly masterWeights: boolean;
  /** Whether a GradScaler is recommended: float16 at O1–O3 (bfloat16 has float32's exponent range). */
  readonly lossScaling: boolean;
  /**
   * Runs `fn` (the forward pass and the loss) in `mp.amp.autocast({deviceType, dtype})` at
   * O1–O3, and as it is at O0; returns its result (a Promise when `fn` is async).
   */
  autocast<T>(fn: () => T): T;
}

const optLevels: readonly OptLevel[] = ['O0', 'O1', 'O2', 'O3'];
const optionKeys = ['optLevel', 'dtype', 'deviceType'];
const lowPrecision: readonly string[] = ['float16', 'bfloat16'];

/** What each level sets (apex's table, `frontend.py`). */
const levels: Record<OptLevel, { weights: 'float32' | 'low'; normsFloat32: boolean; masterWeights: boolean; autocast: boolean }> = {
  O0: { weights: 'float32', normsFloat32: true, masterWeights: false, autocast: false },
  O1: { weights: 'float32', normsFloat32: true, masterWeights: false, autocast: true },
  O2: { weights: 'low', normsFloat32: true, masterWeights: true, autocast: true },
  O3: { weights: 'low', normsFloat32: false, masterWeights: false, autocast: true },
};

const preparedModels = new WeakSet<object>();
const preparedOptimizers = new WeakSet<object>();

/** The normalization layers O2 keeps in float32 (apex keeps BatchNorm; LayerNorm and GroupNorm as well here). */
function isNormLayer(m: AnyModule): boolean {
  return m instanceof BatchNorm1d || m instanceof BatchNorm2d || m instanceof LayerNorm || m instanceof GroupNorm;
}

/**
 * Prepares `model` and `optimizer` for mixed-precision training at an apex optimization level,
 * in place, and returns them with the settings and an `autocast` wrapper.
 *
 * | level | parameters | autocast | optimizer | trade-off |
 * | --- | --- | --- | --- | --- |
 * | O0 | float32 (all floating tensors) | off | as is | the baseline: accurate, slowest, most memory |
 * | O1 | float32 | on | as is | per-op casts (matmul/conv in 16 bits, precision-sensitive ops in float32); weights stay exact; the weight casts cost time each forward; the safe default |
 * | O2 | 16-bit, except BatchNorm1d/2d, LayerNorm and GroupNorm in float32 | on | float32 master weights | no weight casts, 16-bit activations and grads; the masters keep small updates; weights + grads take half the memory and the masters (4 bytes) give it back: with Adam 16 bytes per parameter as at O0, + a transient float32 gradient in the step |
 * | O3 | 16-bit, norms included | on | no masters, 16-bit state | least memory, fastest; updates below half an ulp of a weight are lost; a speed baseline more than a way to train |
 *
 * What it does:
 * - Casts floating-point parameters and buffers (BatchNorm's running statistics included) to
 *   the level's dtype, replacing the tensors in every module that holds them (as `Module.to`;
 *   the old tensors are disposed, so don't keep references across `prepare`). Integer buffers
 *   keep their dtype. Gradients present are converted too.
 * - Re-points the optimizer: each entry of `optimizer.paramGroups[g].params` that was a
 *   replaced tensor becomes its replacement (the group objects and their order stay, so
 *   schedulers holding the groups keep working); parameters the optimizer has that the model
 *   does not are left alone.
 * - Sets `optimizer.masterWeights` (true for O2, false otherwise). At O2 each new 16-bit
 *   parameter's master is seeded from the tensor it replaces (the original float32 values, as
 *   apex's masters are the original parameters), so no precision is lost by the cast.
 * - `autocast(fn)` runs `fn` in `mp.amp.autocast({ deviceType, dtype })` at O1, O2 and O3. At
 *   O2/O3 this is what casts float32 inputs for the 16-bit matrix products (apex patches the
 *   model's forward to cast inputs instead); it also keeps the ops autocast runs in float32
 *   (losses, softmax, exp/log, layerNorm/groupNorm on CUDA) in float32, so O3 here is "16-bit
 *   weights and state" rather than apex's every-op-in-float16. Outputs of 16-bit ops stay
 *   16-bit. To run without it, cast inputs with `x.to(dtype)` yourself.
 * - `lossScaling` is true for float16 at O1–O3: create a GradScaler and pass its `gradScale` /
 *   `foundInf` to `optimizer.step`.
 *
 * Call it once per model and optimizer, after moving the model to its device and before the
 * first step or any `optimizer.loadStateDict` (the optimizer must hold no state; resume by
 * loading the optimizer's state dict after `prepare`, whose masters then take over).
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(4, 3);
 * const batches = [[mp.randn([2, 4]), mp.tensor([0, 2], { dtype: 'int32' })]];
 * const opt = new mp.optim.AdamW(model.parameters(), { lr: 1e-3 });
 * const amp = mp.amp.prepare(model, opt, { optLevel: 'O2' }); // bfloat16 on the CPU
 * for (const [x, y] of batches) {
 *   opt.zeroGrad();
 *   const loss = amp.autocast(() => mp.nn.functional.crossEntropy(model.forward(x), y));
 *   loss.backward();
 *   opt.step(); // updates the float32 masters, writes bfloat16 weights
 * }
 * ```
 */
export function prepare<M extends AnyModule, O extends Optimizer<{ lr: number }>>(model: M, optimizer: O, options: PrepareOptions): Prepared<M, O> {
  const op = 'amp.prepare';
  if (!(model instanceof Module)) throw argTypeError(op, 'model', 'an nn.Module', model);
  if (!(optimizer instanceof Optimizer)) throw argTypeError(op, 'optimizer', 'an optimizer (mp.optim.SGD, Adam, AdamW, ...)', optimizer);
  if (!isOptionsObject(options)) throw argTypeError(op, 'options', "an options object such as { optLevel: 'O1' }", options);
  rejectUnknownKeys(op, options, optionKeys, MixprecError);
  if (options.optLevel === undefined) throw new MixprecError('ERR_INVALID_ARG', `${op}: options.optLevel is required (${optLevels.map((l) => `'${l}'`).join(', ')})`);
  if (!optLevels.includes(options.optLevel as OptLevel)) {
    throw argRangeError(op, 'options.optLevel', `one of ${optLevels.map((l) => `'${l}'`).join(', ')} (the letter O and a digit)`, options.optLevel);
  }
  const optLevel = options.optLevel as OptLevel;
  const level = levels[optLevel];
  if (preparedModels.has(model)) throw new MixprecError('ERR_INVALID_ARG', `${op}: this ${model.constructor.name} was already prepared (prepare a model and its optimizer once, as apex's amp.initialize)`);
  if (preparedOptimizers.has(optimizer)) throw new MixprecError('ERR_INVALID_ARG', `${op}: this optimizer was already prepared (prepare a model and its optimizer once, as apex's amp.initialize)`);
  if (optimizer.state.size > 0) {
    throw new MixprecError('ERR_INVALID_ARG', `${op}: the optimizer already holds state for ${optimizer.state.size} parameters (call prepare before the first step and before loadStateDict)`);
  }

  const params = model.parameters();
  const types = [...new Set(params.map((p) => p.device.type))];
  let deviceType: AutocastDeviceType;
  if (options.deviceType === undefined) {
    if (types.length === 0) throw new MixprecError('ERR_INVALID_ARG', `${op}: the model has no parameters to take the device type from; pass options.deviceType`);
    if (types.length > 1) throw new MixprecError('ERR_INVALID_DEVICE', `${op}: the model's parameters are on several device types (${types.join(', ')}); pass options.deviceType`);
    deviceType = types[0];
  } else {
    deviceType = checkDeviceType(op, options.deviceType, 'options.deviceType');
    const other = types.find((t) => t !== deviceType);
    if (other !== undefined) {
      throw new MixprecError('ERR_INVALID_DEVICE', `${op}: options.deviceType is '${deviceType}' but the model has parameters on ${other} (move the model with model.to(...) before prepare)`);
    }
  }
  if (options.dtype !== undefined && (typeof options.dtype !== 'string' || !lowPrecision.includes(options.dtype))) {
    throw argRangeError(op, 'options.dtype', "'float16' or 'bfloat16'", options.dtype, 'ERR_INVALID_DTYPE');
  }
  const dtype = (options.dtype as LowPrecisionDType | undefined) ?? (deviceType === 'cuda' ? 'float16' : 'bfloat16');
  if (optLevel !== 'O0' && deviceType === 'cuda' && dtype === 'bfloat16' && cuda.isAvailable() && !cuda.isBf16Supported()) {
    const [major, minor] = cuda.getDeviceCapability();
    throw new MixprecError('ERR_INVALID_DTYPE', `${op}: this CUDA device (compute capability ${major}.${minor}) does not support bfloat16; use dtype 'float16'`);
  }

  const target = (m: AnyModule, t: Tensor): DType => {
    if (!t.isFloatingPoint()) return t.dtype;
    if (level.weights === 'float32' || (level.normsFloat32 && isNormLayer(m))) return 'float32';
    return dtype;
  };
  const previousMasterWeights = optimizer.masterWeights;
  optimizer.masterWeights = level.masterWeights; // the state is empty: cannot throw
  let replaced: Map<Tensor, Tensor>;
  try {
    replaced = castModel(model, target);
  } catch (e) {
    optimizer.masterWeights = previousMasterWeights;
    throw e;
  }

  // Re-point the optimizer's groups (same group objects, same order) at the new tensors.
  const optimized = new Set<Tensor>();
  for (const group of optimizer.paramGroups) {
    group.params.forEach((p, i) => {
      const next = replaced.get(p);
      if (next !== undefined) {
        group.params[i] = next;
        optimized.add(p);
      }
    });
  }
  // Seed O2's masters from the tensors being replaced, then free those, one at a time.
  const olds = [...replaced.keys()];
  try {
    for (const old of olds) {
      const next = replaced.get(old) as Tensor;
      if (level.masterWeights && optimized.has(old) && lowPrecision.includes(next.dtype)) {
        optimizer.state.set(next, { [MASTER_PARAM_KEY]: keep(convert(old, 'float32', old.device)) });
      }
      old.grad?.dispose();
      old.grad = undefined;
      old.dispose();
    }
  } catch (e) {
    // Out of memory while seeding: the model and optimizer are consistent (the missing masters
    // are made from the 16-bit parameters on the first step); free what is left.
    for (const old of olds) {
      if (!old.isDisposed) {
        old.grad?.dispose();
        old.dispose();
      }
    }
    throw e;
  }
  preparedModels.add(model);
  preparedOptimizers.add(optimizer);

  const scopeOptions = { deviceType, dtype };
  const run = level.autocast
    ? <T>(fn: () => T): T => {
        if (typeof fn !== 'function') throw argTypeError('amp.prepare(...).autocast', 'fn', 'a function', fn);
        return autocast(scopeOptions, fn);
      }
    : <T>(fn: () => T): T => {
        if (typeof fn !== 'function') throw argTypeError('amp.prepare(...).autocast', 'fn', 'a function', fn);
        return fn();
      };
  return Object.freeze({
    model,
    optimizer,
    optLevel,
    dtype,
    deviceType,
    masterWeights: level.masterWeights,
    lossScaling: dtype === 'float16' && optLevel !== 'O0',
    autocast: run,
  });
}

/**
 * Converts each floating-point parameter and buffer of `model` to `target(owner, tensor)` (a
 * tensor held by several modules is decided by the first, parents before children), and puts
 * the new tensors in every module property that held an old one. Nothing changes when a
 * conversion fails. Returns old → new for the tensors that changed; the old ones are left to
 * the caller to dispose. Module.to, with a per-module dtype.
 */
function castModel(model: AnyModule, target: (m: AnyModule, t: Tensor) => DType): Map<Tensor, Tensor> {
  const modules = model.modules();
  const seen = new Set<Tensor>();
  const converted = new Map<Tensor, Tensor>();
  const grads = new Map<Tensor, Tensor>();
  noGrad(() => {
    try {
      for (const m of modules) {
        for (const [, t] of [...m.namedParameters(false), ...m.namedBuffers(false)]) {
          if (seen.has(t)) continue;
          seen.add(t);
          const dtype = target(m, t);
          if (dtype === t.dtype) continue;
          converted.set(t, convert(t, dtype, t.device));
          if (t.grad !== undefined) grads.set(t, convert(t.grad, dtype, t.grad.device));
        }
      }
    } catch (e) {
      for (const out of converted.values()) out.dispose();
      for (const g of grads.values()) g.dispose();
      throw e;
    }
  });
  for (const [t, out] of converted) {
    out.requiresGrad = t.requiresGrad;
    keep(out);
    const grad = grads.get(t);
    if (grad !== undefined) out.grad = grad;
  }
  // Every property holding an old tensor (registered under any name) gets the new one.
  for (const m of modules) {
    const record = m as unknown as Record<string, unknown>;
    for (const key of Object.keys(m)) {
      const value = record[key];
      if (value instanceof Tensor && converted.has(value)) record[key] = converted.get(value);
    }
  }
  return converted;
}
