/**
 * The fused 2-d convolution of CPU floating-point tensors (csrc/cpu/convKernels.cpp): each image
 * is unfolded into a per-thread buffer, multiplied and dropped, so the batch's im2col never
 * exists, and backward writes the input and weight gradients the same way (products and sums in
 * float32, float64 for float64, 16-bit results rounded once). Under
 * `createGraph` its backward is composed of recorded ops (unfold, matmul, fold), so second
 * derivatives exist. `conv2d` (nn/functional.ts) calls it for CPU tensors; CUDA tensors run
 * conv2d as unfold + matmul (batched GEMMs on the device already).
 */
import { isGradEnabled } from '../autograd/gradMode';
import { dtypeCode, type DType } from '../dtype';
import { native, type NativeConvGeometry } from '../native';
import { Tensor } from '../tensor';
import { fold, unfold, type Window, type WindowOptions } from './indexing';
import { matmul } from './matmul';
import { operand } from './nativeOperands';
import { newResult } from './operands';
import { defineOp } from './registry';

/** What conv2d has already parsed: the window (and the options it came from) and the groups. */
export interface ConvGeometry {
  kernel: [number, number];
  window: Window;
  windowOptions: WindowOptions;
  groups: number;
}

const fusedDtypes: ReadonlySet<DType> = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** Whether {@link conv2dFused} computes a convolution of `x`. */
export const hasFusedConv = (x: Tensor): boolean => x.device.type === 'cpu' && fusedDtypes.has(x.dtype);

function nativeGeometry(x: Tensor, weight: Tensor, geometry: ConvGeometry): NativeConvGeometry {
  const [batch, planes, height, width] = x.shape;
  return { dtype: dtypeCode(x.dtype), batch, planes, height, width, outChannels: weight.shape[0], groups: geometry.groups, window: geometry.window };
}

/** dx and dweight from recorded ops, so they are differentiable themselves. */
function composedBackward(x: Tensor, weight: Tensor, gy: Tensor, { kernel, window, windowOptions, groups }: ConvGeometry): [Tensor, Tensor] {
  const [n, c, h, w] = x.shape;
  const o = weight.shape[0];
  const rowsPerGroup = weight.numel / o;
  const columns = window.outH * window.outW;
  const gyGroups = gy.reshape([n, groups, o / groups, columns]);
  const cols = unfold(x, kernel, windowOptions).reshape([n, groups, rowsPerGroup, columns]);
  const dweight = matmul(gyGroups, cols.transpose(2, 3)).sum({ dim: 0 }).reshape(weight.shape);
  const dcols = matmul(weight.reshape([groups, o / groups, rowsPerGroup]).transpose(1, 2), gyGroups);
  const dx = fold(dcols.reshape([n, c * kernel[0] * kernel[1], columns]), [h, w], kernel, windowOptions);
  return [dx, dweight];
}

/**
 * `conv2d` on the fused kernels: x [N, C, H, W], weight [O, C / groups, kh, kw], optional bias
 * [O], all of one dtype (checked by conv2d, which calls this only where {@link hasFusedConv}).
 */
export const conv2dFused: (x: Tensor, weight: Tensor, bias: Tensor | undefined, geometry: ConvGeometry) => Tensor = defineOp({
  name: 'conv2dFused',
  autocast: 'passThrough',
  forward: (x: Tensor, weight: Tensor, bias: Tensor | undefined, geometry: ConvGeometry): Tensor => {
    const y = newResult('conv2d', [x.shape[0], weight.shape[0], geometry.window.outH, geometry.window.outW], x.dtype, x);
    native.conv2dForward({ ...nativeGeometry(x, weight, geometry), input: operand(x), weight: operand(weight), bias: bias === undefined ? null : operand(bias),
      out: operand(y) });
    return y;
  },
  save: ([x, weight]) => [x, weight],
  backward: ({ args: [, , bias, geometry], saved: [x, weight], needsInputGrad }, [gy]) => {
    if (gy === undefined) return [];
    const db = bias !== undefined && needsInputGrad[2] ? gy.sum({ dim: [0, 2, 3] }) : undefined;
    if (isGradEnabled()) {
      const [dx, dw] = composedBackward(x, weight, gy, geometry);
      return [needsInputGrad[0] ? dx : undefined, needsInputGrad[1] ? dw : undefined, db];
    }
    const g = nativeGeometry(x, weight, geometry);
    let dx: Tensor | undefined;
    let dw: Tensor | undefined;
    if (needsInputGrad[0]) {
      dx = newResult('conv2d backward', x.shape, x.dtype, x);
      native.conv2dBackwardInput({ ...g, gradOut: operand(gy), weight: operand(weight), gradInput: operand(dx) });
    }
    if (needsInputGrad[1]) {
      dw = newResult('conv2d backward', weight.shape, weight.dtype, weight);
      native.conv2dBackwardWeight({ ...g, input: operand(x), gradOut: operand(gy), gradWeight: operand(dw) });
    }
    return [dx, dw, db];
  },
});
