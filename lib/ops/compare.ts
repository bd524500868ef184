/**
 * Comparisons eq ne lt le gt ge: broadcasting, operands promoted to their common dtype, bool
 * result. A JS scalar is rounded into the tensor's dtype first, as PyTorch does.
 */
import { dtypeCode, promoteTypes, promoteWithScalar } from '../dtype';
import { argTypeError } from '../errors';
import { native } from '../native';
import { nativeTable } from '../nativeTable';
import { broadcastShapes, broadcastStrides } from '../shape';
import { Tensor } from '../tensor';
import type { Operand } from './elementwise';
import { defineOp } from './registry';
import { operand, strided } from './nativeOperands';
import { checkTensor, newResult, requireSameDevice, withDtype } from './operands';

const compareNames = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
type CompareName = (typeof compareNames)[number];
const codes = nativeTable('compareOp', compareNames);

function compare(name: CompareName, input: Tensor, other: Operand): Tensor {
  const a = checkTensor(name, 'input', input);
  if (typeof other === 'number' || typeof other === 'boolean') {
    const dtype = promoteWithScalar(a.dtype, other);
    const out = newResult(name, a.shape, 'bool', a);
    withDtype(a, dtype, (x) => {
      native.compareScalar(codes[name], dtypeCode(dtype), x.storage.handle, x.offset, Number(other), out.storage.handle, out.offset, a.numel);
    });
    return out;
  }
  if (!(other instanceof Tensor)) throw argTypeError(name, 'other', 'a Tensor or a number', other);
  const b = checkTensor(name, 'other', other);
  requireSameDevice(name, [a, b]);
  const dtype = promoteTypes(a.dtype, b.dtype);
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = newResult(name, shape, 'bool', a);
  withDtype(a, dtype, (x) =>
    withDtype(b, dtype, (y) => {
      native.compare({ op: codes[name], dtype: dtypeCode(dtype), a: strided(x, broadcastStrides(a.shape, shape)),
        b: strided(y, broadcastStrides(b.shape, shape)), out: operand(out), shape });
    }),
  );
  return out;
}

/** `a == b` → bool. @example `mp.eq(mp.tensor([1, 2, 3]), mp.tensor([1, 0, 3]))` */
export const eq: (a: Tensor, b: Operand) => Tensor = defineOp({ name: 'eq', autocast: 'passThrough', differentiable: false, forward: (a: Tensor, b: Operand): Tensor => compare('eq', a, b) });
/** `a != b` → bool (true where either is NaN). */
export const ne: (a: Tensor, b: Operand) => Tensor = defineOp({ name: 'ne', autocast: 'passThrough', differentiable: false, forward: (a: Tensor, b: Operand): Tensor => compare('ne', a, b) });
/** `a < b` → bool. */
export const lt: (a: Tensor, b: Operand) => Tensor = defineOp({ name: 'lt', autocast: 'passThrough', differentiable: false, forward: (a: Tensor, b: Operand): Tensor => compare('lt', a, b) });
/** `a <= b` → bool. */
export const le: (a: Tensor, b: Operand) => Tensor = defineOp({ name: 'le', autocast: 'passThrough', differentiable: false, forward: (a: Tensor, b: Operand): Tensor => compare('le', a, b) });
/** `a > b` → bool. @example `mp.gt(mp.tensor([-1, 2]), 0)` */
export const gt: (a: Tensor, b: Operand) => Tensor = defineOp({ name: 'gt', autocast: 'passThrough', differentiable: false, forward: (a: Tensor, b: Operand): Tensor => compare('gt', a, b) });
/** `a >= b` → bool. */
export const ge: (a: Tensor, b: Operand) => Tensor = defineOp({ name: 'ge', autocast: 'passThrough', differentiable: false, forward: (a: Tensor, b: Operand): Tensor => compare('ge', a, b) });

declare module '../tensor' {
  interface Tensor {
    eq(other: Operand): Tensor;
    ne(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installCompareMethods(): void {
  const ops = { eq, ne, lt, le, gt, ge };
  for (const name of Object.keys(codes) as CompareName[]) {
    Tensor.prototype[name] = function (this: Tensor, other: Operand) { return ops[name](this, other); };
  }
}
