/**
 * The typed wrappers through which lib/distributed reaches the addon's distributed engine
 * (csrc/distributed: MPI loaded at run time, one communication thread per process).
 */
import { dtypeCode } from '../dtype';
import { native, type NativeCollectiveArgs, type WorkHandle } from '../native';
import type { Tensor } from '../tensor';
import { operand } from './nativeOperands';

export type { WorkHandle };

/** What a collective reads and writes; the element counts follow csrc/distributed/collective.h. */
export interface CollectiveCall {
  kind: NativeCollectiveArgs['kind'];
  id: number;
  size: number;
  /** Elements each rank contributes. */
  count: number;
  op?: string;
  root?: number;
  input?: Tensor;
  output?: Tensor;
}

export function distAvailability(backend: 'mpi' | 'nccl'): { available: boolean; reason: string } {
  return native.distAvailability(backend);
}

export function distInit(backend: 'mpi' | 'nccl', timeoutMs: number, onComplete: (id: number) => void): { rank: number; worldSize: number; library: string } {
  return native.distInit({ backend, timeoutMs, onComplete });
}

export function distDestroy(): void {
  native.distDestroy();
}

/** Queues the collective on the engine's thread; the tensors must stay alive until it ends. */
export function distSubmit(call: CollectiveCall): WorkHandle {
  if (call.kind === 'barrier') return native.distSubmit({ kind: 'barrier', id: call.id });
  const tensor = call.output ?? call.input;
  const args: NativeCollectiveArgs = {
    kind: call.kind, id: call.id, dtype: dtypeCode(tensor!.dtype), count: call.count, size: call.size,
    op: call.op, root: call.root,
  };
  if (call.input) args.input = operand(call.input);
  if (call.output) args.output = operand(call.output);
  return native.distSubmit(args);
}

export function distWait(work: WorkHandle): void {
  native.distWait(work);
}

export function distCompleted(work: WorkHandle): boolean {
  return native.distCompleted(work);
}

/** Copies `dst.numel` elements of `src` from element `srcOffset` (of src's own offset) into `dst`. */
export function copyElementsFrom(dst: Tensor, src: Tensor, srcOffset: number): void {
  if (dst.numel === 0) return;
  native.copy(dst.storage.handle, dst.offset, src.storage.handle, src.offset + srcOffset, dst.numel, dtypeCode(dst.dtype));
}
