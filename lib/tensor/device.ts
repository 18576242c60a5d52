// Devices: where a tensor's value lives. 'cpu' (the default) or 'cuda:N' ('cuda' means 'cuda:0').
// Asking for a CUDA device that this build or machine lacks is a DeviceError saying why (taken
// from the native backend's report); nothing ever falls back to the CPU silently.
import { DeviceError } from '../errors.js';
import { native } from '../native/load.js';

export type Device = 'cpu' | `cuda:${number}`;
/** What a caller may write: 'cpu', 'cuda' (device 0) or 'cuda:N'. */
export type DeviceLike = Device | 'cuda';

const CUDA_RE = /^cuda(?::(0|[1-9][0-9]{0,3}))?$/;

/** The canonical device of `d` ('cuda' -> 'cuda:0'); a DeviceError naming anything else. */
export function parseDevice(where: string, d: unknown): Device {
  if (d === 'cpu') return 'cpu';
  if (typeof d === 'string') {
    const m = CUDA_RE.exec(d);
    if (m) return `cuda:${Number(m[1] ?? 0)}`;
  }
  throw new DeviceError(`${where}: unknown device ${typeof d === 'string' ? `'${d}'` : String(d)} (valid: 'cpu', 'cuda', 'cuda:N')`);
}

/** The index N of device 'cuda:N'. */
export const cudaIndex = (d: Device): number => Number(d.slice(5));

/** Throws a DeviceError saying why when device `d` cannot be used on this machine. */
export function checkAvailable(where: string, d: Device): void {
  if (d === 'cpu') return;
  const cuda = native().backendInfo().cuda;
  if (!cuda.available) throw new DeviceError(`${where}: CUDA device '${d}' is not available: ${cuda.reason ?? 'unknown reason'}`);
  const index = cudaIndex(d);
  if (index >= cuda.devices.length) {
    throw new DeviceError(`${where}: no device '${d}': this machine has ${cuda.devices.length} CUDA device(s) (cuda:0..cuda:${cuda.devices.length - 1})`);
  }
}

/** parseDevice then checkAvailable. */
export function resolveDevice(where: string, d: unknown): Device {
  const dev = parseDevice(where, d);
  checkAvailable(where, dev);
  return dev;
}
