// R.cuda: the CUDA devices as PyTorch's torch.cuda shows them (is_available, device_count,
// synchronize, empty_cache, memory_cached). Every call that needs a device says why when there is
// none (a DeviceError, as for tensors): nothing falls back to the CPU.
import { DeviceError } from '../errors.js';
import { native } from '../native/load.js';
import { type DeviceLike, cudaIndex, resolveDevice } from './device.js';

/** The index N of a CUDA device ('cuda', 'cuda:N'), checked to be usable. */
function indexOf(where: string, device: DeviceLike): number {
  const d = resolveDevice(where, device);
  if (d === 'cpu') throw new DeviceError(`${where}: 'cpu' is not a CUDA device`);
  return cudaIndex(d);
}

export const cuda = {
  /** Whether a CUDA device can be used here (backendInfo().cuda.reason says why not). */
  is_available(): boolean {
    return native().backendInfo().cuda.available;
  },
  /** How many CUDA devices answered (0 where CUDA is not available). */
  device_count(): number {
    return native().backendInfo().cuda.devices.length;
  },
  /** Waits until everything queued on the device's stream has run (reading a value waits by itself). */
  synchronize(device: DeviceLike = 'cuda'): void {
    native().deviceSynchronize(indexOf('cuda.synchronize', device));
  },
  /** Returns the device's cached free blocks to the driver (live tensors keep theirs). */
  empty_cache(device: DeviceLike = 'cuda'): void {
    native().deviceEmptyCache(indexOf('cuda.empty_cache', device));
  },
  /** Bytes of device memory the caching allocator holds in free blocks for reuse. */
  memory_cached(device: DeviceLike = 'cuda'): number {
    return native().deviceCachedBytes(indexOf('cuda.memory_cached', device));
  },
};
