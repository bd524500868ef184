/**
 * In-place fills and copies: fill_, zero_, copy_ (any dtype, any device, broadcasting).
 */
import { dtypeCode } from '../dtype';
import { argTypeError, MixprecError } from '../errors';
import { native } from '../native';
import { broadcastShapes, broadcastStrides, contiguousStrides, sameShape } from '../shape';
import { Tensor } from '../tensor';
import { strided } from './nativeOperands';
import { checkTensor } from './operands';
import { checkInPlace } from './registry';

function fillInPlace(self: Tensor, value: number | boolean): Tensor {
  checkTensor('fill_', 'self', self);
  checkInPlace('fill_', self);
  if (typeof value !== 'number' && typeof value !== 'boolean') throw argTypeError('fill_', 'value', 'a number or boolean', value);
  native.fill(dtypeCode(self.dtype), self.storage.handle, self.offset, self.numel, Number(value));
  self.markModified();
  return self;
}

function copyInPlace(self: Tensor, source: Tensor): Tensor {
  checkTensor('copy_', 'self', self);
  const src = checkTensor('copy_', 'src', source);
  checkInPlace('copy_', self, src);
  const shape = broadcastShapes('copy_', self.shape, src.shape);
  if (!sameShape(shape, self.shape)) {
    throw new MixprecError('ERR_SHAPE_MISMATCH', `copy_: src of shape [${src.shape.join(', ')}] cannot be broadcast to self's shape [${self.shape.join(', ')}]`);
  }
  // Bring src to self's device and dtype (temporaries are disposed), then copy or broadcast.
  const moved = src.to({ dtype: self.dtype, device: self.device });
  try {
    if (sameShape(src.shape, self.shape)) {
      native.copy(self.storage.handle, self.offset, moved.storage.handle, moved.offset, self.numel, dtypeCode(self.dtype));
    } else {
      native.stridedCopy({ dtype: dtypeCode(self.dtype), src: strided(moved, broadcastStrides(src.shape, self.shape)),
        dst: strided(self, contiguousStrides(self.shape)), shape: self.shape });
    }
  } finally {
    if (moved !== src) moved.dispose();
  }
  self.markModified();
  return self;
}

declare module '../tensor' {
  interface Tensor {
    /**
     * Fills with `value` (rounded once into the dtype); returns this.
     * @example `mp.empty([2, 3]).fill_(0.5)`
     */
    fill_(value: number | boolean): Tensor;
    /** Fills with zeros; returns this. */
    zero_(): Tensor;
    /**
     * Copies `src` in, converting dtype, moving between devices and broadcasting as needed;
     * returns this.
     * @example `mp.zeros([2]).copy_(mp.ones([2], { dtype: 'float16' }))`
     */
    copy_(src: Tensor): Tensor;
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installFillCopyMethods(): void {
  Tensor.prototype.fill_ = function (this: Tensor, value: number | boolean) { return fillInPlace(this, value); };
  Tensor.prototype.zero_ = function (this: Tensor) { return fillInPlace(this, 0); };
  Tensor.prototype.copy_ = function (this: Tensor, src: Tensor) { return copyInPlace(this, src); };
}
