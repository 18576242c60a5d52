// ravdl: deep learning for Node.js on a native tensor engine.
export { native, NativeLoadError } from './native/load.js';
export type { NativeBinding } from './native/api.js';
export type { BackendInfo } from './native/groups/core.js';
import { native } from './native/load.js';
import type { BackendInfo } from './native/groups/core.js';

/** Which BLAS, SIMD level and thread count the engine uses, and whether CUDA is available. */
export function backendInfo(): BackendInfo {
  return native().backendInfo();
}

/** Sets the threads used by every kernel and by BLAS (0 = default: one per core). */
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
