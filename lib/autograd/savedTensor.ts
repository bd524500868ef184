/**
 * A tensor saved for backward. It holds a reference on the storage, so the forward code may
 * dispose its intermediates (tidy scopes do) without breaking backward, and it remembers the
 * storage version, so an in-place write between forward and backward is reported instead of
 * silently giving wrong gradients.
 */
import { MixprecError } from '../errors';
import { Tensor } from '../tensor';
import { accumulatorOf, linkAccumulator } from './leafAccumulator';

export class SavedTensor {
  private readonly version: number;
  private released = false;

  constructor(
    private readonly original: Tensor,
    private readonly opName: string,
    private readonly position: number,
  ) {
    this.version = original.storage.version;
    original.storage.retain();
    if (original.requiresGrad && original.isLeaf) accumulatorOf(original);
  }

  /** The saved tensor (the original while it is alive, else a view with the same graph links). */
  unpack(): Tensor {
    if (this.released) {
      throw new MixprecError('ERR_AUTOGRAD', `${this.opName}: trying to backward through the graph a second time (or to read saved tensors after they were freed); pass {retainGraph: true} to the first backward() if you need to backward twice`);
    }
    const t = this.original;
    if (t.storage.version !== this.version) {
      throw new MixprecError('ERR_AUTOGRAD', `${this.opName}: one of the tensors needed for gradient computation (saved tensor ${this.position}, ${t.dtype} [${t.shape.join(', ')}]) has been modified by an in-place operation: its version is ${t.storage.version}, expected ${this.version}. Use the out-of-place form of the op (e.g. add instead of add_) or clone() before modifying`);
    }
    if (!t.isDisposed) return t;
    const view = new Tensor(t.storage, t.shape, t.offset);
    view.requiresGrad = t.requiresGrad;
    view.gradNode = t.gradNode;
    view.gradOutputIndex = t.gradOutputIndex;
    if (t.requiresGrad && t.isLeaf) linkAccumulator(view, t);
    return view;
  }

  /** Drops the storage reference (after a backward without retainGraph). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.original.storage.release();
  }
}
