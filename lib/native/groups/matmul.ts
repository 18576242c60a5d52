// Native functions of the matmul group (bindings/matmul.cpp): matmul's shape function and the raw
// SGEMM entry (tests, benchmarks); matmul itself runs through runKernel (groups/kernel.ts).
export interface MatmulBinding {

  /** The output shape of matmul (the one source of truth for its shape rule). */
  matmul_shape(aShape: number[], bShape: number[], transA?: boolean, transB?: boolean): number[];

  /**
   * Raw row-major SGEMM for tests and benchmarks: C = alpha * op(A) @ op(B) + beta * C with
   * op(A) M x K (A stored K x M when transA), op(B) K x N (B stored N x K when transB),
   * C M x N; lda/ldb/ldc are row strides in elements. Every size and leading dimension is
   * checked against the buffer lengths (ERR_SHAPE, never an out-of-bounds read); C must not
   * overlap A or B (ERR_ARG). beta = 0 ignores C's old contents. `backend` forces a path
   * ('blas' throws ERR_BACKEND without BLAS); by default the selected backend is used.
   */
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
    backend?: 'blas' | 'builtin',
  ): void;
}
