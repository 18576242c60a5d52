// Tensor memory: JS-owned typed arrays, shared by views (reshape) through a ref-counted Storage,
// recycled through a size-bucketed pool when disposed, and counted for R.memory().
//
// Ownership rule: a buffer goes back to the pool only when every tensor using it was disposed
// (explicitly or by a tidy() scope). A buffer the pool does not take is freed at once (its
// ArrayBuffer detached), not left for the garbage collector. Tensors the user simply drops are
// reclaimed by the garbage collector, so a loop that never calls dispose() still runs in flat memory.
//
// A tensor on a CUDA device holds a device buffer instead (`buf`; `data` is then empty), from the
// CUDA library's caching allocator: freed to it when the last tensor using it is disposed, or when
// the garbage collector takes the buffer.
import { DeviceError } from '../errors.js';
import type { DeviceBuffer } from '../native/groups/device.js';
import { native } from '../native/load.js';
import { type Device, cudaIndex } from './device.js';
import { type DType, type Data, newData } from './dtype.js';

const EMPTY_F32 = new Float32Array(0);
const EMPTY_I32 = new Int32Array(0);

export class Storage {
  refs = 1;
  /** Set when a graph holds the data as a constant: never recycled or released, only collected. */
  pinned = false;
  /** Elements held, here or on the device. */
  readonly length: number;
  readonly dtype: DType;
  /**
   * data: the values in host memory (empty when they are on a device); buf: their device buffer
   * on `device` (null for host memory).
   */
  constructor(
    readonly data: Data,
    readonly buf: DeviceBuffer | null = null,
    readonly device: Device = 'cpu',
    length?: number,
    dtype?: DType,
  ) {
    this.length = length ?? data.length;
    this.dtype = dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
  }

  get byteLength(): number {
    return this.length * 4;
  }
}

/** A storage of n elements on CUDA device `device`, contents arbitrary. */
export function deviceStorage(device: Device, dtype: DType, n: number): Storage {
  const buf = native().deviceAlloc(cudaIndex(device), dtype === 'int32' ? 1 : 0, n);
  return new Storage(dtype === 'int32' ? EMPTY_I32 : EMPTY_F32, buf, device, n, dtype);
}

/** A storage of n elements on `device` (host memory for 'cpu'); zero-filled when `zero`. */
export function allocStorage(device: Device, dtype: DType, n: number, zero: boolean): Storage {
  if (device === 'cpu') return new Storage(allocData(dtype, n, zero));
  const s = deviceStorage(device, dtype, n);
  if (zero) native().deviceUpload(s.buf!, newData(dtype, n));
  return s;
}

/** A copy of src's values in host memory (waits for the device when they are on one). */
export function hostCopy(src: Storage): Data {
  if (src.buf === null) return src.data.slice();
  const out = newData(src.dtype, src.length);
  native().deviceDownload(src.buf, out);
  return out;
}

/** A new storage on `device` with src's values. */
export function copyStorage(src: Storage, device: Device): Storage {
  if (device === 'cpu') return new Storage(hostCopy(src));
  const out = deviceStorage(device, src.dtype, src.length);
  copyInto(out, src);
  return out;
}

/** Writes src's values into dst (same dtype and length; any devices). */
export function copyInto(dst: Storage, src: Storage): void {
  if (dst === src) return;
  if (dst.buf === null) {
    if (src.buf === null) dst.data.set(src.data);
    else native().deviceDownload(src.buf, dst.data);
  } else if (src.buf === null) native().deviceUpload(dst.buf, src.data);
  else if (src.device === dst.device) native().deviceCopy(dst.buf, src.buf);
  else native().deviceUpload(dst.buf, hostCopy(src)); // another device: through the host
}

/** The DeviceError for host code reading a device tensor's values directly. */
export function onDeviceError(what: string, device: Device): DeviceError {
  return new DeviceError(`${what} is on ${device}: this reads its values in host memory (move it with .to('cpu'))`);
}

/** The storage of symbolic tensors (values of a graph being defined): no data, never released. */
export const SYMBOLIC = new Storage(new Float32Array(0));
SYMBOLIC.refs = Infinity;
SYMBOLIC.pinned = true;

const POOL_LIMIT_BYTES = 512 * 1024 * 1024;
const pool = new Map<number, Data[]>(); // key: length * 2 + (int32 ? 1 : 0)
let pooledBytes = 0;

function key(dtype: DType, n: number): number {
  return n * 2 + (dtype === 'int32' ? 1 : 0);
}

/** A buffer of n elements: zero-filled when `zero`, else with arbitrary contents (the kernel overwrites it). */
export function allocData(dtype: DType, n: number, zero: boolean): Data {
  const bucket = pool.get(key(dtype, n));
  const reused = bucket?.pop();
  if (reused) {
    pooledBytes -= reused.byteLength;
    if (zero) reused.fill(0);
    return reused;
  }
  return newData(dtype, n);
}

// Per size: at most 64 buffers, or more while they total under 1 MiB (a scope may make
// thousands of tiny tensors). Beyond that they would be buffers that entered the pool without
// being taken from it (user data), crowding out the ones a training step reuses.
const BUCKET_LIMIT = 64;
const SMALL_BUCKET_BYTES = 1 << 20;

function recycle(data: Data): void {
  if (data.byteLength === 0) return;
  if (pooledBytes + data.byteLength > POOL_LIMIT_BYTES) return release(data);
  const k = key(data instanceof Int32Array ? 'int32' : 'float32', data.length);
  let bucket = pool.get(k);
  if (!bucket) pool.set(k, (bucket = []));
  if (bucket.length >= BUCKET_LIMIT && (bucket.length + 1) * data.byteLength > SMALL_BUCKET_BYTES) return release(data);
  bucket.push(data);
  pooledBytes += data.byteLength;
}

// Below this size the garbage collector's cost is negligible and a native call is not worth it.
const RELEASE_MIN_BYTES = 64 * 1024;

/** Frees a buffer nobody uses any more now (detaching it), instead of at the next collection. */
function release(data: Data): void {
  if (data.byteLength >= RELEASE_MIN_BYTES) native().releaseBuffer(data);
}

// ---- live-tensor accounting ----
let liveTensors = 0;
let liveBytes = 0;

/** What the FinalizationRegistry holds for a watched tensor (never the tensor itself). */
export interface GcCell {
  bytes: number;
  /** Set by dispose(): the tensor was already un-counted, the finalizer must not do it again. */
  done: boolean;
}
// Registered without an unregister token: a token makes register() about 4x slower.
const registry = new FinalizationRegistry<GcCell>((cell) => {
  registryBacklog--;
  if (cell.done) return;
  cell.done = true;
  liveTensors--;
  liveBytes -= cell.bytes;
});
// Finalization callbacks only run when the event loop turns, so a synchronous loop that never
// yields would grow the registry by one entry per tensor. Past this many entries, new tensors are
// left to the garbage collector uncounted (R.memory().untracked) and memory stays flat.
const GC_BACKLOG_LIMIT = 100_000;
let registryBacklog = 0;
let untrackedTensors = 0;
/** The cell of a tensor that is not watched: already un-counted, so dispose() must not un-count it. */
const UNWATCHED: GcCell = { bytes: 0, done: true };

/**
 * Counts a new tensor. Tensors created inside a tidy() scope are released by the scope; only
 * those outside one (or leaving one) are watched for garbage collection (watchGc).
 */
export function track(bytes: number): void {
  liveTensors++;
  liveBytes += bytes;
}

/** Un-counts the tensor when the garbage collector reclaims it. */
export function watchGc(owner: object, bytes: number): GcCell {
  if (registryBacklog >= GC_BACKLOG_LIMIT) {
    liveTensors--;
    liveBytes -= bytes;
    untrackedTensors++;
    return UNWATCHED;
  }
  const cell = { bytes, done: false };
  registry.register(owner, cell);
  registryBacklog++;
  return cell;
}

/** Un-counts a disposed tensor and drops its storage reference (recycling the buffer at zero refs). */
export function untrack(bytes: number, storage: Storage, cell: GcCell | null): void {
  if (cell !== UNWATCHED) {
    if (cell) cell.done = true;
    liveTensors--;
    liveBytes -= bytes;
  }
  releaseStorage(storage);
}

/** Drops one reference to storage: at zero (unless pinned) its buffer is recycled, or freed on a device. */
export function releaseStorage(storage: Storage): void {
  if (--storage.refs === 0 && !storage.pinned) {
    if (storage.buf !== null) native().deviceFree(storage.buf);
    else recycle(storage.data);
  }
}

export interface MemoryInfo {
  /** Tensors created and neither disposed nor garbage-collected yet. */
  tensors: number;
  /** Bytes of tensor data those tensors hold (views count once, with their base). */
  bytes: number;
  /** Bytes of disposed buffers kept for reuse. */
  pooledBytes: number;
  /**
   * Tensors created (since start) while 100,000 others awaited garbage collection, as in a long
   * loop that never yields to the event loop: freed by the collector as usual, but not counted above.
   */
  untracked: number;
}

export function memory(): MemoryInfo {
  return { tensors: liveTensors, bytes: liveBytes, pooledBytes, untracked: untrackedTensors };
}

/** Frees every pooled buffer now. */
export function clearPool(): void {
  for (const bucket of pool.values()) for (const data of bucket) release(data);
  pool.clear();
  pooledBytes = 0;
}
