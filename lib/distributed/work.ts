/**
 * The handle of a collective in flight: PyTorch's `Work` (`async_op=True`). It holds a reference
 * on every storage the collective reads or writes, so disposing a tensor meanwhile cannot free
 * memory the engine's thread is still using; the references go when the collective ends.
 */
import { distCompleted, distWait, type WorkHandle } from '../ops/collectiveCalls';
import type { Storage } from '../storage';

/** A collective started with `{async: true}`. */
export interface Work {
  /** Blocks until the collective has ended; throws its error (a MixprecError with an ERR_DISTRIBUTED_* code). */
  wait(): void;
  /** Whether it has ended (successfully or not); never blocks. */
  isCompleted(): boolean;
  /** Settles when it ends: resolves, or rejects with its error. The event loop stays free meanwhile. */
  promise(): Promise<void>;
}

export class CollectiveWork implements Work {
  private ended = false;
  private error: unknown = undefined;
  private settled?: Promise<void>;
  private resolve?: () => void;
  private reject?: (e: unknown) => void;

  /**
   * `held`: storages to release when it ends; `after`: what completes the call on success
   * (copies out of a staging buffer), run once before anyone sees it completed.
   */
  constructor(private readonly handle: WorkHandle, private readonly held: Storage[], private readonly after?: () => void) {
    for (const storage of held) storage.retain();
  }

  wait(): void {
    if (!this.ended) {
      let error: unknown;
      try {
        distWait(this.handle);
      } catch (e) {
        error = e;
      }
      this.finish(error);
    }
    if (this.error !== undefined) throw this.error;
  }

  isCompleted(): boolean {
    if (!this.ended && distCompleted(this.handle)) this.settle();
    return this.ended;
  }

  promise(): Promise<void> {
    if (!this.settled) {
      this.settled = new Promise<void>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
      if (this.ended) this.notify();
    }
    return this.settled;
  }

  /** The engine said it ended: collect the outcome without throwing (it is kept for wait/promise). */
  settle(): void {
    try {
      this.wait();
    } catch {
      // kept in this.error
    }
  }

  private finish(error: unknown): void {
    this.ended = true;
    if (error === undefined && this.after) {
      try {
        this.after();
      } catch (e) {
        error = e;
      }
    }
    this.error = error;
    for (const storage of this.held) storage.release();
    this.notify();
  }

  private notify(): void {
    if (!this.resolve || !this.reject) return;
    if (this.error === undefined) this.resolve();
    else this.reject(this.error);
  }
}
