import { describe, expect, it } from 'vitest';
import { backendInfo, getNumThreads, native, setGemmBackend, setNumThreads } from '../../lib/index.js';
import { expectCode } from '../helpers/fixtures.js';

describe('engine controls', () => {
  it('reports the backend', () => {
    const info = backendInfo();
    expect(['blas', 'builtin']).toContain(info.gemm);
    expect(['avx512', 'avx2', 'portable']).toContain(info.simd);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    // No GPU on the test machines: the CUDA report says why (test/tensor/device.test.ts has the rest).
    expect(typeof info.cuda.built).toBe('boolean');
    if (!info.cuda.available) expect(info.cuda.reason).toMatch(/CUDA/);
    if (process.env.RAVDL_GEMM === 'builtin') expect(info.gemm).toBe('builtin');
    if (process.env.RAVDL_GEMM === 'blas' && info.blas !== 'none') expect(info.gemm).toBe('blas');
  });

  it('sets the thread count and restores the default', () => {
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    expect(backendInfo().threads).toBe(1);
    setNumThreads(0);
    expect(getNumThreads()).toBe(backendInfo().hardwareThreads > 0 ? getNumThreads() : 1);
    expectCode(() => setNumThreads(-1), 'ERR_ATTR', /setNumThreads/);
    expectCode(() => native().setNumThreads('2' as any), 'ERR_ARG', /setNumThreads/);
  });

  it('switches the GEMM backend, with a typed error for an unknown one', () => {
    const before = backendInfo().gemm;
    setGemmBackend('builtin');
    expect(backendInfo().gemm).toBe('builtin');
    if (backendInfo().blas !== 'none') {
      setGemmBackend('blas');
      expect(backendInfo().gemm).toBe('blas');
    } else {
      expectCode(() => setGemmBackend('blas'), 'ERR_BACKEND', /BLAS/);
    }
    setGemmBackend(before);
    expectCode(() => setGemmBackend('cublas' as any), 'ERR_ATTR', /cublas/);
  });
});
