/**
 * Max pooling of CPU floating-point tensors in one pass each way (csrc/cpu/poolKernels.cpp):
 * forward reads each window in place and keeps its first maximum (NaN wins) and the window slot
 * it came from; backward adds each gradient at the pixel its slot names. The results are the bits
 * of the composition it replaces (unfold with -inf padding, argmax, gather; backward scatterAdd
 * and fold), without the unfolded windows in memory. Under `createGraph` its backward is that
 * composition's recorded ops, so second derivatives exist. `maxPool2d` (nn/functional.ts) calls
 * it for CPU tensors; CUDA tensors pool with the composition.
 */
import { isGradEnabled } from '../autograd/gradMode';
import { zeros } from '../creation';
import { dtypeCode, type DType } from '../dtype';
import { native } from '../native';
import { Tensor } from '../tensor';
import { fold, scatterAdd, type Window, type WindowOptions } from './indexing';
import { operand } from './nativeOperands';
import { newResult } from './operands';
import { defineOp } from './registry';

const OP = 'maxPool2d';

const fusedDtypes: ReadonlySet<DType> = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** Whether {@link maxPool2dFused} pools `x`. */
export const hasFusedMaxPool = (x: Tensor): boolean => x.device.type === 'cpu' && fusedDtypes.has(x.dtype);

/** What maxPool2d has parsed: the kernel, the window it gives and the options it came from. */
export interface PoolGeometry {
  kernel: [number, number];
  window: Window;
  windowOptions: WindowOptions;
}

function nativeGeometry(x: Tensor, window: Window): { dtype: number; planes: number; height: number; width: number; window: Window } {
  const [n, c, height, width] = x.shape;
  return { dtype: dtypeCode(x.dtype), planes: n * c, height, width, window };
}

/** dx from recorded ops (scatter into the windows, then fold), so it is differentiable itself; x is read for its shape only. */
function composedBackward(x: Tensor, slots: Tensor, gy: Tensor, { kernel, window, windowOptions }: PoolGeometry): Tensor {
  const [n, c, h, w] = x.shape;
  const columns = window.outH * window.outW;
  const windows = zeros([n, c, kernel[0] * kernel[1], columns], { dtype: x.dtype, device: x.device });
  const dcols = scatterAdd(windows, 2, slots.reshape([n, c, 1, columns]), gy.reshape([n, c, 1, columns]));
  return fold(dcols.reshape([n, c * kernel[0] * kernel[1], columns]), [h, w], kernel, windowOptions);
}

/**
 * Max pooling of x [N, C, H, W] (checked by maxPool2d, which calls this only where
 * {@link hasFusedMaxPool}): returns [pooled [N, C, outH, outW], slots (int32, the same shape:
 * each maximum's position ki * kw + kj in its window)]. @internal
 */
export const maxPool2dFused: (x: Tensor, geometry: PoolGeometry) => Tensor[] = defineOp({
  name: 'maxPool2dFused',
  autocast: 'passThrough',
  forward: (x: Tensor, geometry: PoolGeometry): Tensor[] => {
    const shape = [x.shape[0], x.shape[1], geometry.window.outH, geometry.window.outW];
    const y = newResult(OP, shape, x.dtype, x);
    const slots = newResult(OP, shape, 'int32', x);
    native.maxPool2dForward({ ...nativeGeometry(x, geometry.window), input: operand(x), out: operand(y), slots: operand(slots) });
    return [y, slots];
  },
  save: (_, [, slots]) => [slots],
  backward: ({ args: [x, geometry], saved: [slots] }, [gy]) => {
    if (gy === undefined) return [];
    if (isGradEnabled()) return [composedBackward(x, slots, gy, geometry)];
    const dx = newResult(OP, x.shape, x.dtype, x);
    native.maxPool2dBackward({ ...nativeGeometry(x, geometry.window), gradOut: operand(gy), slots: operand(slots), gradInput: operand(dx) });
    return [dx];
  },
});
