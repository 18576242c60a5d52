// ravdl: deep learning for Node.js on a native tensor engine.
//   import * as R from 'ravdl';  const x = R.t([[1, 2], [3, 4]], { requires_grad: true });
export { native, NativeLoadError } from './native/load.js';
export type { NativeBinding } from './native/api.js';
export type { BackendInfo, CudaInfo, CudaDevice } from './native/groups/core.js';
export type { Device, DeviceLike } from './tensor/device.js';
export { cuda } from './tensor/cuda.js';
export * from './errors.js';
export { Tensor, numel } from './tensor/tensor.js';
export type { Shape, NestedArray } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export { t, toTensor } from './tensor/create.js';
export type { TensorOptions, TensorLike } from './tensor/create.js';
export { tidy, keep } from './tensor/scope.js';
export { memory, clearPool } from './tensor/storage.js';
export type { MemoryInfo } from './tensor/storage.js';
export { manual_seed, initial_seed, getRngState, setRngState } from './tensor/random.js';
export { no_grad, enable_grad, isGradEnabled } from './autograd/mode.js';
export { backward } from './autograd/backward.js';
export type { BackwardOptions } from './autograd/backward.js';
export * from './ops/index.js';
import { native } from './native/load.js';
import type { BackendInfo } from './native/groups/core.js';

/** Which BLAS, SIMD level and thread count the engine uses, and whether CUDA is available. */
export function backendInfo(): BackendInfo {
  return native().backendInfo();
}

/**
 * Sets the threads used by every kernel and by BLAS (0 = default: one per core). Process-wide:
 * one pool serves the main thread and all worker threads, so a worker's call changes it for all.
 */
export function setNumThreads(n: number): void {
  native().setNumThreads(n);
}

export function getNumThreads(): number {
  return native().getNumThreads();
}

/** Forces the GEMM path: 'blas' (OpenBLAS, when built in) or 'builtin'. RAVDL_GEMM=builtin does the same at start-up. */
export function setGemmBackend(backend: 'blas' | 'builtin'): void {
  native().setGemmBackend(backend);
}

// Graph mode and the seed's requester API (R.Graph, R.activate, R.execute, ...).
export { Graph, initialize, flush, activate, execute, track_progress, fetch_persisting_op, federated_mean, federated_variance, federated_standard_deviation } from './requester.js';
export type { ExecuteOptions, GraphOptions, GraphProgress, GraphStatus, InitializeOptions, TrackProgressOptions } from './requester.js';
// The Ravenverse client: R.initialize(token, { server }) makes R.execute() run on a coordinator.
import './ravenverse/client.js';
