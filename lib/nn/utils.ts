/** Gradient utilities (`mp.nn.utils`). */
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clipGrad';
