// Native functions of the matmul kernel group (bindings/matmul.cpp).
export interface MatmulBinding {
  /**
   * out = op(a) @ op(b) with torch.matmul semantics; op transposes the last two dims when
   * transA / transB is set (not allowed on a 1-D operand: ERR_ATTR).
   * Output shape (see matmul_shape): a 1-D [k] acts as [1, k] and b 1-D [k] as [k, 1], the
   * added dim being dropped from the result; otherwise [...A, m, k] @ [...B, k, n] gives
   * [...broadcast(A, B), m, n]. `out` must hold exactly that many elements and must not
   * share memory with a or b. Uses the GEMM backend selected by setGemmBackend.
   * Errors: ERR_SHAPE (inner dims, batch broadcast, buffer lengths), ERR_DTYPE, ERR_ARG.
   */
  matmul(
    a: Float32Array,
    aShape: number[],
    b: Float32Array,
    bShape: number[],
    out: Float32Array,
    transA?: boolean,
    transB?: boolean,
  ): void;

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
