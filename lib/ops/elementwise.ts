/**
 * add, sub, mul, div, pow, maximum, minimum (with broadcasting and PyTorch's type promotion) and
 * the in-place forms. 16-bit values are computed in float32 and rounded once.
 */
import { canCast, dtypeCode, isFloatingPoint, promoteTypes, promoteWithScalar, type DType } from '../dtype';
import { argTypeError, MixprecError, MixprecTypeError } from '../errors';
import { native } from '../native';
import { broadcastShapes, broadcastStrides, sameShape } from '../shape';
import { Tensor } from '../tensor';
import { checkTensor, newResult, requireSameDevice, withDtype } from './operands';

/** A tensor or a JS scalar operand. */
export type Operand = Tensor | number | boolean;

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
const opCodes: Record<BinaryName, number> = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6 };

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
      native.binary(code, dtypeCode(dtype), cx.storage.handle, cx.offset, broadcastStrides(x.shape, shape), cy.storage.handle, cy.offset,
        broadcastStrides(y.shape, shape), target.storage.handle, target.offset, shape);
    }),
  );
  return target;
}

/** `self op= other`: computed in the promoted dtype, which must be castable back to self's. */
function binaryInPlace(op: BinaryName, self: Tensor, other: Operand): Tensor {
  const opName = `${op}_`;
  checkTensor(opName, 'self', self);
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
      native.cast(result.storage.handle, result.offset, dtypeCode(result.dtype), self.storage.handle, self.offset, dtypeCode(self.dtype), self.numel);
    } finally {
      result.dispose();
    }
  }
  self.markModified();
  return self;
}

/**
 * `a + b` with broadcasting and type promotion (float16 + float32 → float32; a float16 tensor
 * plus a JS number stays float16).
 *
 * @example
 * ```ts
 * mp.add(mp.ones([2, 3]), mp.arange(3)); // [[1, 2, 3], [1, 2, 3]]
 * ```
 */
export function add(a: Operand, b: Operand): Tensor {
  return binary('add', 'add', a, b);
}

/** `a - b` (broadcasting, promotion). @example `mp.sub(x, 1)`, `mp.sub(1, x)` */
export function sub(a: Operand, b: Operand): Tensor {
  return binary('sub', 'sub', a, b);
}

/** `a * b` (broadcasting, promotion). @example `mp.mul(x, y)` */
export function mul(a: Operand, b: Operand): Tensor {
  return binary('mul', 'mul', a, b);
}

/** True division `a / b`: integer operands give float32. @example `mp.div(mp.arange(4), 2)` */
export function div(a: Operand, b: Operand): Tensor {
  return binary('div', 'div', a, b);
}

/**
 * `a ** b` elementwise (broadcasting, promotion: an int32 tensor to an integral power stays
 * int32). @example `mp.pow(x, 2)`, `mp.pow(2, x)`
 */
export function pow(a: Operand, b: Operand): Tensor {
  return binary('pow', 'pow', a, b);
}

/** Elementwise maximum; NaN in either operand gives NaN. @example `mp.maximum(x, y)` */
export function maximum(a: Operand, b: Operand): Tensor {
  return binary('maximum', 'maximum', a, b);
}

/** Elementwise minimum; NaN in either operand gives NaN. @example `mp.minimum(x, 0)` */
export function minimum(a: Operand, b: Operand): Tensor {
  return binary('minimum', 'minimum', a, b);
}

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

Tensor.prototype.add = function (this: Tensor, other: Operand) { return binary('add', 'add', this, other); };
Tensor.prototype.sub = function (this: Tensor, other: Operand) { return binary('sub', 'sub', this, other); };
Tensor.prototype.mul = function (this: Tensor, other: Operand) { return binary('mul', 'mul', this, other); };
Tensor.prototype.div = function (this: Tensor, other: Operand) { return binary('div', 'div', this, other); };
Tensor.prototype.pow = function (this: Tensor, other: Operand) { return binary('pow', 'pow', this, other); };
Tensor.prototype.maximum = function (this: Tensor, other: Operand) { return binary('maximum', 'maximum', this, other); };
Tensor.prototype.minimum = function (this: Tensor, other: Operand) { return binary('minimum', 'minimum', this, other); };
Tensor.prototype.add_ = function (this: Tensor, other: Operand) { return binaryInPlace('add', this, other); };
Tensor.prototype.sub_ = function (this: Tensor, other: Operand) { return binaryInPlace('sub', this, other); };
Tensor.prototype.mul_ = function (this: Tensor, other: Operand) { return binaryInPlace('mul', this, other); };
Tensor.prototype.div_ = function (this: Tensor, other: Operand) { return binaryInPlace('div', this, other); };
