/**
 * Float32 master weights for 16-bit parameters (apex O2's optimizer side): which parameters
 * have one, creating a master from its parameter, re-syncing it after outside writes, and the
 * float32 gradient copies the update reads. The optimizer runs the update on the masters and
 * writes them back into the parameters.
 */
import { noGrad } from '../autograd/gradMode';
import type { DType } from '../dtype';
import { keep, tidy } from '../memory';
import { where } from '../ops/indexing';
import { convert, type Tensor } from '../tensor';

/**
 * The state key of a parameter's float32 master copy (`state[i].masterParam` in a state dict;
 * TransformerEngine's FusedAdam calls it `master_param`).
 */
export const MASTER_PARAM_KEY = 'masterParam';

/** The master copies of one optimizer: on or off, and when each was last in sync. */
export class MasterWeights {
  /** Whether float16/bfloat16 parameters are updated through float32 masters. */
  enabled: boolean;
  /**
   * The storage version of each 16-bit parameter when its master was last known to round to it
   * (after the write-back of a step). A different version at the next step means something else
   * wrote the parameter (init, `Module.loadStateDict`, `copy_`): the master is re-synced first.
   */
  #syncedVersion = new WeakMap<Tensor, number>();

  constructor(enabled: boolean) {
    this.enabled = enabled;
  }

  /** Whether parameters of `dtype` are updated through a float32 master. */
  usedFor(dtype: DType): boolean {
    return this.enabled && (dtype === 'float16' || dtype === 'bfloat16');
  }

  /** Creates `p`'s master in `state` (kept), or re-syncs it when `p` was written since. */
  ensure(p: Tensor, state: Record<string, Tensor>): void {
    if (state[MASTER_PARAM_KEY] === undefined) {
      state[MASTER_PARAM_KEY] = keep(convert(p, 'float32', p.device));
    } else if (this.#syncedVersion.get(p) !== p.version) {
      resyncMaster(p, state[MASTER_PARAM_KEY]);
    }
    this.#syncedVersion.set(p, p.version);
  }

  /** Records that `params` now hold their masters rounded (after a step's write-back). */
  markSynced(params: Tensor[]): void {
    for (const p of params) this.#syncedVersion.set(p, p.version);
  }

  /** Forgets every sync, so the next step re-syncs each master (after state is loaded or freed). */
  forgetSync(): void {
    this.#syncedVersion = new WeakMap();
  }
}

/** Runs `update` on float32 copies of `params`' gradients (float32 ones as they are), then frees the copies. */
export function withFloat32Grads(params: Tensor[], update: (grads32: Tensor[]) => void): void {
  const grads = params.map((p) => p.grad as Tensor);
  const grads32 = grads.map((g) => (g.dtype === 'float32' ? g : convert(g, 'float32', g.device)));
  try {
    update(grads32);
  } finally {
    grads32.forEach((g, i) => g !== grads[i] && g.dispose());
  }
}

/**
 * Re-syncs a master copy after its 16-bit parameter `p` was written by someone else: elements
 * where `p` differs from the rounded master take `p`'s value, the others keep the master (so
 * loading the same checkpoint into the model again keeps the master's extra bits). Device ops
 * only, no host read.
 */
function resyncMaster(p: Tensor, master: Tensor): void {
  noGrad(() =>
    tidy(() => {
      const rounded = convert(master, p.dtype, p.device);
      master.copy_(where(rounded.eq(p), master, convert(p, 'float32', p.device)));
    }),
  );
}
