/**
 * Native memory shared by a tensor and its views, with the version counter autograd and the
 * autocast cache use to notice in-place writes.
 */
import type { Device } from './device';
import type { DType } from './dtype';
import { dtypeCode } from './dtype';
import { MixprecError } from './errors';
import { native, type StorageHandle } from './native';

export class Storage {
  /** Live tensors using this storage; the memory is freed when the last one is disposed. */
  private refs = 0;
  /** Bumped by every in-place write. */
  version = 0;

  private constructor(
    readonly handle: StorageHandle,
    readonly device: Device,
    readonly dtype: DType,
    readonly numel: number,
  ) {}

  /**
   * Allocates `numel` elements of `dtype` on `device` (zero-filled when `zeroed`) for `op`, which
   * an out-of-memory error names (the native message cannot know which op asked).
   */
  static allocate(op: string, device: Device, dtype: DType, numel: number, zeroed = false): Storage {
    let handle: StorageHandle;
    try {
      handle = native.alloc(device, dtypeCode(dtype), numel, zeroed);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ERR_OUT_OF_MEMORY') throw new MixprecError('ERR_OUT_OF_MEMORY', `${op}: ${(e as Error).message}`);
      throw e;
    }
    return new Storage(handle, device, dtype, numel);
  }

  /** Copies `data`'s bytes in, unchanged, as elements of this storage's dtype from element `offset` on. */
  write(offset: number, data: ArrayBufferView): void {
    native.write(this.handle, offset, dtypeCode(this.dtype), data);
  }

  /** A copy of `numel` elements' bytes, unchanged, from element `offset` on (device storages are read back). */
  read(offset: number, numel: number): ArrayBuffer {
    return native.read(this.handle, offset, numel, dtypeCode(this.dtype));
  }

  retain(): void {
    this.refs += 1;
  }

  /** Drops one user; frees the native memory with the last one. */
  release(): void {
    this.refs -= 1;
    if (this.refs === 0) native.release(this.handle);
  }

  /** Frees a storage that no tensor took (a temporary, or one whose tensor was never made). */
  discard(): void {
    if (this.refs === 0) native.release(this.handle);
  }

  /** Tensors (views included) and saved-for-backward references using this storage. */
  get refCount(): number {
    return this.refs;
  }

  get released(): boolean {
    return this.refs <= 0;
  }
}
