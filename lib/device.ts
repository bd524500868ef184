/**
 * Devices: `'cpu'` and `'cuda'` / `'cuda:N'`.
 */
import { cudaStatus, probeOf } from './cudaStatus';
import { argTypeError, MixprecError } from './errors';
import { native } from './native';

/** A device name as users write it. */
export type DeviceLike = 'cpu' | 'cuda' | `cuda:${number}` | Device;

/**
 * A parsed device. Instances are interned, so `a.device === b.device` compares devices.
 *
 * @example
 * ```ts
 * const t = mp.zeros([2], { device: 'cpu' });
 * t.device.type; // 'cpu'
 * String(t.device); // 'cpu'
 * ```
 */
export class Device {
  private static readonly interned = new Map<string, Device>();
  /** The CPU. */
  static readonly cpu = Device.get('cpu', 0);

  private constructor(
    /** 'cpu' or 'cuda'. */
    readonly type: 'cpu' | 'cuda',
    /** The ordinal among devices of this type: N for cuda:N, 0 for the CPU. A Device is also the addon's device argument. */
    readonly index: number,
  ) {}

  private static get(type: 'cpu' | 'cuda', index: number): Device {
    const key = `${type}:${index}`;
    let d = Device.interned.get(key);
    if (!d) {
      d = new Device(type, index);
      Device.interned.set(key, d);
    }
    return d;
  }

  /** Parses a device, naming `op` and `arg` in errors. `'cuda'` means the current device, cuda:0. */
  static parse(op: string, arg: string, value: unknown): Device {
    if (value instanceof Device) return value;
    if (typeof value === 'string') {
      if (value === 'cpu') return Device.cpu;
      const m = /^cuda(?::(\d+))?$/.exec(value);
      if (m) return Device.get('cuda', m[1] === undefined ? 0 : Number(m[1]));
    }
    throw argTypeError(op, arg, "'cpu', 'cuda' or 'cuda:N'", value, 'ERR_INVALID_DEVICE');
  }

  /** Throws a clear error unless this device can hold tensors on this machine. */
  require(op: string): void {
    if (this.type === 'cpu') return;
    const info = native.info();
    const status = cudaStatus(probeOf(info));
    if (status.state === 'not-compiled') {
      throw new MixprecError('ERR_CUDA_UNAVAILABLE', `${op}: device '${this}' was asked for, but ${status.reason}`);
    }
    if (status.state !== 'available') {
      throw new MixprecError('ERR_CUDA_UNAVAILABLE', `${op}: device '${this}' was asked for, but CUDA is not available on this machine (${status.reason})`);
    }
    if (this.index >= info.cudaDeviceCount) {
      throw new MixprecError('ERR_INVALID_DEVICE', `${op}: device '${this}' does not exist; this machine has ${info.cudaDeviceCount} CUDA device(s)`);
    }
  }

  toString(): string {
    return this.type === 'cpu' ? 'cpu' : `cuda:${this.index}`;
  }
}
