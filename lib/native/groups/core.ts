export interface CudaDevice {
  name: string;
  memoryBytes: number;
  /** e.g. '9.0' */
  computeCapability: string;
}

export interface CudaInfo {
  /** The CUDA backend was compiled into this build (nvcc found, RAVDL_CUDA not OFF). */
  built: boolean;
  /** Its library and the CUDA runtime loaded and at least one device answered. */
  available: boolean;
  /** Why it is not available (absent when it is). */
  reason?: string;
  devices: CudaDevice[];
}

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
  /** The CUDA backend: whether it was built, whether it can run here (else why not), its devices. */
  cuda: CudaInfo;
  version: string;
}

export interface CoreBinding {
  backendInfo(): BackendInfo;
  /**
   * Threads for every kernel and BLAS; 0 restores the default (cores or RAVDL_NUM_THREADS).
   * Process-wide: the engine has one pool shared by the main thread and every worker thread,
   * so a call from any thread changes it for all of them.
   */
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /**
   * Frees a typed array's memory now rather than at the next garbage collection, by detaching
   * its ArrayBuffer (the array and every other view of that buffer then have length 0). Only an
   * array that spans its whole, non-shared buffer is released; returns whether it was.
   */
  releaseBuffer(data: ArrayBufferView): boolean;
  /** Forces a GEMM path; 'blas' throws ERR_BACKEND when the build has no BLAS. */
  setGemmBackend(backend: 'blas' | 'builtin'): void;
  /**
   * FP32 peak in GFLOP/s: independent FMA chains at the built-in GEMM's SIMD level, for about
   * `ms` milliseconds ([1, 2000]) on `threads` threads of the pool ([1, pool size]; default or
   * 0 = the pool's size). For the benchmark suite's 'limit' column.
   */
  probe_fma_gflops(ms: number, threads?: number): number;
  /**
   * Memory bandwidth in GB/s: STREAM-style triad a[i] = b[i] + s*c[i] on three arrays of `n`
   * floats (n <= 2^27, n * reps <= 2^30) on the pool's threads, best of `reps` passes, 12 bytes
   * per element.
   */
  probe_triad_gbps(n: number, reps: number): number;
}
