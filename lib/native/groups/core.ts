export interface BackendInfo {
  /** BLAS linked into this build, e.g. "OpenBLAS 0.3.21 ...", or "none". */
  blas: string;
  /** GEMM path in use now. */
  gemm: 'blas' | 'builtin';
  /** SIMD level of the built-in kernels on this CPU. */
  simd: 'avx512' | 'avx2' | 'portable';
  /** Threads of ravdl's pool (which also drives BLAS). */
  threads: number;
  hardwareThreads: number;
  /** Whether CUDA kernels are built and a device is present. */
  cuda: boolean;
  version: string;
}

export interface CoreBinding {
  backendInfo(): BackendInfo;
  /** Threads for every kernel and BLAS; 0 restores the default (cores or RAVDL_NUM_THREADS). */
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Forces a GEMM path; 'blas' throws ERR_BACKEND when the build has no BLAS. */
  setGemmBackend(backend: 'blas' | 'builtin'): void;
}
