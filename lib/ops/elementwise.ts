/**
 * add, sub, mul, div, pow, maximum, minimum (with broadcasting and PyTorch's type promotion) and
 * the in-place forms. 16-bit values are computed in float32 and rounded once.
 */
import { canCast, dtypeCode, isFloatingPoint, promoteTypes, promoteWithScalar, type DType } from '../dtype';
import { argTypeError, MixprecError, MixprecTypeError } from '../errors';
import { native } from '../native';
import { nativeTable } from '../nativeTable';
import { broadcastShapes, broadcastStrides, sameShape } from '../shape';
import { castInto, Tensor } from '../tensor';
import { sumToShape } from './gradUtils';
import { operand, strided } from './nativeOperands';
import { checkTensor, newResult, requireSameDevice, withDtype } from './operands';
import { checkInPlace, defineOp, type BackwardContext, type OpDef } from './registry';

/** A tensor or a JS scalar operand. */
export type Operand = Tensor | number | boolean;

const binaryNames = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'reluGrad'] as const;
type BinaryName = (typeof binaryNames)[number];
const opCodes = nativeTable('binaryOp', binaryNames);

function isScalar(v: unknown): v is number | boolean {
  return typeof v === 'number' || typeof v === 'boolean';
}

function resultDtype(op: BinaryName, dtype: DType): DType {
  // True division: integers divide as float32, as PyTorch's default dtype.
  return op === 'div' && !isFloatingPoint(dtype) ? 'float32' : dtype;
}

function rejectBoolSub(op: string, dtypes: DType[]): void {
  if (dtypes.every((d) => d === 'bool')) {
    throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: subtracting bool values is not supported; use logical operations, or convert with .int() first`);
  }
}

/** Result dtype and the computation of `a op b` writing into `out` (a new tensor when omitted). */
export function binary(op: BinaryName, opName: string, a: Operand, b: Operand, out?: Tensor): Tensor {
  if (!isScalar(a) && !(a instanceof Tensor)) throw argTypeError(opName, 'input', 'a Tensor or a number', a);
  if (!isScalar(b) && !(b instanceof Tensor)) throw argTypeError(opName, 'other', 'a Tensor or a number', b);
  if (isScalar(a) && isScalar(b)) throw argTypeError(opName, 'input', 'a Tensor (at least one operand must be a tensor)', a);
  const code = opCodes[op];
  if (isScalar(a) || isScalar(b)) {
    const scalarFirst = isScalar(a);
    const t = checkTensor(opName, scalarFirst ? 'other' : 'input', scalarFirst ? b : a);
    const s = (scalarFirst ? a : b) as number | boolean;
    if (op === 'sub') rejectBoolSub(opName, [t.dtype, typeof s === 'boolean' ? 'bool' : 'int32']);
    const dtype = resultDtype(op, promoteWithScalar(t.dtype, s));
    if (op === 'pow' && !scalarFirst && !isFloatingPoint(dtype) && Number(s) < 0) {
      // PyTorch refuses a negative scalar exponent of an integer tensor (the result is no integer).
      throw new MixprecError('ERR_INVALID_ARG', `${opName}: Integers to negative integer powers are not allowed (exponent ${Number(s)} on a ${t.dtype} tensor; convert it with .float() first)`);
    }
    const target = out ?? newResult(opName, t.shape, dtype, t);
    withDtype(t, dtype, (x) => {
      native.binaryScalar(code, dtypeCode(dtype), x.storage.handle, x.offset, Number(s), scalarFirst, target.storage.handle, target.offset, t.numel);
    });
    return target;
  }
  const x = checkTensor(opName, 'input', a);
  const y = checkTensor(opName, 'other', b);
  requireSameDevice(opName, [x, y]);
  if (op === 'sub') rejectBoolSub(opName, [x.dtype, y.dtype]);
  const dtype = resultDtype(op, promoteTypes(x.dtype, y.dtype));
  const shape = broadcastShapes(opName, x.shape, y.shape);
  const target = out ?? newResult(opName, shape, dtype, x);
  withDtype(x, dtype, (cx) =>
    withDtype(y, dtype, (cy) => {
      native.binary({ op: code, dtype: dtypeCode(dtype), a: strided(cx, broadcastStrides(x.shape, shape)),
        b: strided(cy, broadcastStrides(y.shape, shape)), out: operand(target), shape });
    }),
  );
  return target;
}

/** `self op= other`: computed in the promoted dtype, which must be castable back to self's. */
function binaryInPlace(op: BinaryName, self: Tensor, other: Operand): Tensor {
  const opName = `${op}_`;
  checkTensor(opName, 'self', self);
  checkInPlace(opName, self, other);
  const otherDtype = other instanceof Tensor ? checkTensor(opName, 'other', other).dtype : undefined;
  const promoted = resultDtype(op, otherDtype !== undefined ? promoteTypes(self.dtype, otherDtype) : isScalar(other) ? promoteWithScalar(self.dtype, other) : self.dtype);
  if (!canCast(promoted, self.dtype)) {
    throw new MixprecError('ERR_DTYPE_MISMATCH', `${opName}: result type ${promoted} can't be cast to the desired output type ${self.dtype}`);
  }
  if (other instanceof Tensor) {
    requireSameDevice(opName, [self, other]);
    const shape = broadcastShapes(opName, self.shape, other.shape);
    if (!sameShape(shape, self.shape)) {
      throw new MixprecError('ERR_SHAPE_MISMATCH', `${opName}: the result of shape [${shape.join(', ')}] does not fit self of shape [${self.shape.join(', ')}] (in-place ops cannot grow self)`);
    }
  }
  if (promoted === self.dtype) {
    binary(op, opName, self, other, self);
  } else {
    const result = binary(op, opName, self, other);
    try {
      castInto(result, self);
    } finally {
      result.dispose();
    }
  }
  self.markModified();
  return self;
}

/** A tensor operand's gradient reduced to its shape, or undefined for scalars / when not needed. */
function operandGrad(ctx: BackwardContext<[Operand, Operand]>, which: 0 | 1, g: Tensor | undefined, make: (g: Tensor) => Tensor): Tensor | undefined {
  const arg = ctx.args[which];
  if (g === undefined || !(arg instanceof Tensor)) return undefined;
  const position = which === 1 && ctx.args[0] instanceof Tensor ? 1 : 0;
  if (!ctx.needsInputGrad[position]) return undefined;
  return sumToShape(make(g), arg.shape);
}

/** The saved value of operand `which` (a tensor from `saved`, or the scalar itself). */
function savedOperand(ctx: BackwardContext<[Operand, Operand]>, which: 0 | 1): Operand {
  const arg = ctx.args[which];
  if (!(arg instanceof Tensor)) return arg;
  return ctx.saved[which === 1 && ctx.args[0] instanceof Tensor ? 1 : 0];
}

type BinaryFn = (a: Operand, b: Operand) => Tensor;

/**
 * defineOp for `a op b`: the backward below is written per operand (undefined for a scalar);
 * the registry wants one gradient per tensor input, so scalar positions are dropped.
 */
function defineBinary(def: OpDef<BinaryFn>): BinaryFn {
  const perOperand = def.backward!;
  return defineOp({
    ...def,
    backward: (ctx, grads) => perOperand(ctx, grads).filter((_, i) => ctx.args[i] instanceof Tensor),
  });
}

const saveTensors = (args: [Operand, Operand]): Tensor[] => args.filter((a): a is Tensor => a instanceof Tensor);

/**
 * `a + b` with broadcasting and type promotion (float16 + float32 → float32; a float16 tensor
 * plus a JS number stays float16).
 *
 * @example
 * ```ts
 * mp.add(mp.ones([2, 3]), mp.arange(3)); // [[1, 2, 3], [1, 2, 3]]
 * ```
 */
export const add: (a: Operand, b: Operand) => Tensor = defineBinary({
  name: 'add',
  autocast: 'passThrough',
  forward: (a: Operand, b: Operand): Tensor => binary('add', 'add', a, b),
  backward: (ctx, [g]): (Tensor | undefined)[] => [operandGrad(ctx, 0, g, (x) => x), operandGrad(ctx, 1, g, (x) => x)],
});

/** `a - b` (broadcasting, promotion). @example `mp.sub(mp.tensor([1, 2]), 1)`, `mp.sub(1, mp.tensor([1, 2]))` */
export const sub: (a: Operand, b: Operand) => Tensor = defineBinary({
  name: 'sub',
  autocast: 'passThrough',
  forward: (a: Operand, b: Operand): Tensor => binary('sub', 'sub', a, b),
  backward: (ctx, [g]): (Tensor | undefined)[] => [operandGrad(ctx, 0, g, (x) => x), operandGrad(ctx, 1, g, (x) => x.neg())],
});

/** `a * b` (broadcasting, promotion). @example `mp.mul(mp.tensor([1, 2]), mp.tensor([3, 4]))` */
export const mul: (a: Operand, b: Operand) => Tensor = defineBinary({
  name: 'mul',
  autocast: 'passThrough',
  forward: (a: Operand, b: Operand): Tensor => binary('mul', 'mul', a, b),
  save: saveTensors,
  backward: (ctx, [g]): (Tensor | undefined)[] => [
    operandGrad(ctx, 0, g, (x) => mul(x, savedOperand(ctx, 1))),
    operandGrad(ctx, 1, g, (x) => mul(x, savedOperand(ctx, 0))),
  ],
});

/** True division `a / b`: integer operands give float32. @example `mp.div(mp.arange(4), 2)` */
export const div: (a: Operand, b: Operand) => Tensor = defineBinary({
  name: 'div',
  autocast: 'passThrough',
  forward: (a: Operand, b: Operand): Tensor => binary('div', 'div', a, b),
  save: saveTensors,
  backward: (ctx, [g]): (Tensor | undefined)[] => [
    operandGrad(ctx, 0, g, (x) => div(x, savedOperand(ctx, 1))),
    operandGrad(ctx, 1, g, (x) => {
      const b = savedOperand(ctx, 1);
      return div(mul(x, savedOperand(ctx, 0)), mul(b, b)).neg();
    }),
  ],
});

/**
 * `a ** b` elementwise (broadcasting, promotion: an int32 tensor to an integral power stays
 * int32; to a negative integer scalar it throws, as PyTorch). @example `mp.pow(mp.tensor([1, 2]), 2)`, `mp.pow(2, mp.tensor([1, 2]))`
 */
export const pow: (a: Operand, b: Operand) => Tensor = defineBinary({
  name: 'pow',
  autocast: { cuda: 'fp32', cpu: 'passThrough' },
  forward: (a: Operand, b: Operand): Tensor => binary('pow', 'pow', a, b),
  save: saveTensors,
  backward: (ctx, [g]): (Tensor | undefined)[] => {
    const a = savedOperand(ctx, 0);
    const b = savedOperand(ctx, 1);
    return [
      operandGrad(ctx, 0, g, (x) => (b instanceof Tensor ? mul(x, mul(b, pow(a, sub(b, 1)))) : Number(b) === 0 ? mul(x, 0) : mul(x, mul(pow(a, Number(b) - 1), Number(b))))),
      operandGrad(ctx, 1, g, (x) => mul(x, mul(pow(a, b), a instanceof Tensor ? a.log() : Math.log(Number(a))))),
    ];
  },
});

/** The gradient share of `a` in maximum/minimum: 1 where a wins, ½ on ties (PyTorch). */
function winnerShare(a: Operand, b: Operand, wins: 'gt' | 'lt', dtype: DType): Tensor {
  // Compare with the tensor on the left: a scalar `a` wins where b loses to it.
  const [w, tie] = a instanceof Tensor
    ? [wins === 'gt' ? a.gt(b) : a.lt(b), a.eq(b)]
    : [wins === 'gt' ? (b as Tensor).lt(a) : (b as Tensor).gt(a), (b as Tensor).eq(a)];
  return w.to(dtype).add(tie.to(dtype).mul(0.5));
}

/** Elementwise maximum; NaN in either operand gives NaN. @example `mp.maximum(mp.tensor([1, 4]), mp.tensor([3, 2]))` */
export const maximum: (a: Operand, b: Operand) => Tensor = defineBinary({
  name: 'maximum',
  autocast: 'passThrough',
  forward: (a: Operand, b: Operand): Tensor => binary('maximum', 'maximum', a, b),
  save: saveTensors,
  backward: (ctx, [g]): (Tensor | undefined)[] => {
    const a = savedOperand(ctx, 0);
    const b = savedOperand(ctx, 1);
    return [
      operandGrad(ctx, 0, g, (x) => x.mul(winnerShare(a, b, 'gt', x.dtype))),
      operandGrad(ctx, 1, g, (x) => x.mul(winnerShare(b, a, 'gt', x.dtype))),
    ];
  },
});

/**
 * relu's backward, PyTorch's `threshold_backward(grad, output, 0)`: `grad` where relu's `output`
 * is above 0 (or NaN), else 0, in one pass (no mask tensor, and an infinite gradient where relu
 * was off gives 0, not NaN). Differentiable in `grad` (for double backward); `output` gets none.
 * @internal relu's gradient; not exported.
 */
export const thresholdBackward: (grad: Tensor, output: Tensor) => Tensor = defineOp({
  name: 'thresholdBackward',
  autocast: 'passThrough',
  forward: (grad: Tensor, output: Tensor): Tensor => binary('reluGrad', 'thresholdBackward', checkTensor('thresholdBackward', 'grad', grad), checkTensor('thresholdBackward', 'output', output)),
  save: ([, output]) => [output],
  backward: ({ saved: [output], needsInputGrad }, [g]) => [g && needsInputGrad[0] ? thresholdBackward(g, output) : undefined, undefined],
});

/** Elementwise minimum; NaN in either operand gives NaN. @example `mp.minimum(mp.tensor([-1, 2]), 0)` */
export const minimum: (a: Operand, b: Operand) => Tensor = defineBinary({
  name: 'minimum',
  autocast: 'passThrough',
  forward: (a: Operand, b: Operand): Tensor => binary('minimum', 'minimum', a, b),
  save: saveTensors,
  backward: (ctx, [g]): (Tensor | undefined)[] => {
    const a = savedOperand(ctx, 0);
    const b = savedOperand(ctx, 1);
    return [
      operandGrad(ctx, 0, g, (x) => x.mul(winnerShare(a, b, 'lt', x.dtype))),
      operandGrad(ctx, 1, g, (x) => x.mul(winnerShare(b, a, 'lt', x.dtype))),
    ];
  },
});

declare module '../tensor' {
  interface Tensor {
    /** `this + other`; see {@link add}. */
    add(other: Operand): Tensor;
    /** `this - other`; see {@link sub}. */
    sub(other: Operand): Tensor;
    /** `this * other`; see {@link mul}. */
    mul(other: Operand): Tensor;
    /** `this / other`; see {@link div}. */
    div(other: Operand): Tensor;
    /** `this ** other`; see {@link pow}. */
    pow(other: Operand): Tensor;
    /** See {@link maximum}. */
    maximum(other: Operand): Tensor;
    /** See {@link minimum}. */
    minimum(other: Operand): Tensor;
    /** In place `this += other`; returns this. */
    add_(other: Operand): Tensor;
    /** In place `this -= other`; returns this. */
    sub_(other: Operand): Tensor;
    /** In place `this *= other`; returns this. */
    mul_(other: Operand): Tensor;
    /** In place `this /= other` (self must be floating point); returns this. */
    div_(other: Operand): Tensor;
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installElementwiseMethods(): void {
  Tensor.prototype.add = function (this: Tensor, other: Operand) { return add(this, other); };
  Tensor.prototype.sub = function (this: Tensor, other: Operand) { return sub(this, other); };
  Tensor.prototype.mul = function (this: Tensor, other: Operand) { return mul(this, other); };
  Tensor.prototype.div = function (this: Tensor, other: Operand) { return div(this, other); };
  Tensor.prototype.pow = function (this: Tensor, other: Operand) { return pow(this, other); };
  Tensor.prototype.maximum = function (this: Tensor, other: Operand) { return maximum(this, other); };
  Tensor.prototype.minimum = function (this: Tensor, other: Operand) { return minimum(this, other); };
  Tensor.prototype.add_ = function (this: Tensor, other: Operand) { return binaryInPlace('add', this, other); };
  Tensor.prototype.sub_ = function (this: Tensor, other: Operand) { return binaryInPlace('sub', this, other); };
  Tensor.prototype.mul_ = function (this: Tensor, other: Operand) { return binaryInPlace('mul', this, other); };
  Tensor.prototype.div_ = function (this: Tensor, other: Operand) { return binaryInPlace('div', this, other); };
}
