/**
 * Attaches every op's Tensor method in one defined order. `tensor.ts` sits below the ops and
 * cannot import them, so each op file declares its methods (declaration merging, so the types
 * see them) and exports an installer; the public entry points (`lib/index.ts` and the folder
 * entries above the ops) call {@link installTensorMethods} before anything can use a method.
 */
// Import order is op registration order, which docs/ops.md lists.
import { installAutogradMethods } from '../autograd/tensorMethods';
import { installViewCastMethods } from './viewCast';
import { installElementwiseMethods } from './elementwise';
import { installUnaryMethods } from './unary';
import { installCompareMethods } from './compare';
import { installShapeMethods } from './shapeOps';
import { installMatmulMethods } from './matmul';
import { installReduceMethods } from './reduce';
import { installReduceAlongMethods } from './reduceAlong';
import { installFillCopyMethods } from './fillCopy';
import { installIndexingMethods } from './indexing';

let installed = false;

/**
 * Puts the autograd and op methods (`x.add`, `x.backward`, `x.fill_`, …) on `Tensor.prototype`.
 * Idempotent: every entry point calls it, the first call does the work. The recorded
 * reshape/view/to/clone replace the raw ones last, after everything else is in place.
 */
export function installTensorMethods(): void {
  if (installed) return;
  installed = true;
  installAutogradMethods();
  installFillCopyMethods();
  installElementwiseMethods();
  installCompareMethods();
  installUnaryMethods();
  installReduceMethods();
  installReduceAlongMethods();
  installMatmulMethods();
  installShapeMethods();
  installIndexingMethods();
  installViewCastMethods();
}
