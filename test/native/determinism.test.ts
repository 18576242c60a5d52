// Determinism: every kernel of the binding gives the same bits at 1, 2, 3, 4 and 8 threads, with
// each GEMM backend (results are verified by replication on other machines, whose core counts
// differ). The calls (test/native/determinism-cases.ts) are large enough that the pool splits
// them, and each is compared bit for bit with its single-threaded result.
import { afterAll, describe, expect, it } from 'vitest';
import { backendInfo, native, setGemmBackend, setNumThreads } from '../../lib/index.js';
import { kernelOps } from '../../lib/native/kernels.js';
import { LEGACY_OP, kernels } from '../helpers/kernels.js';
import { DET_CASES, NOT_KERNELS, diffBytes, runCase, type DetCase } from './determinism-cases.js';

// The binding's kernel functions, and the former ones that now run through runKernel.
const nat = kernels() as Record<string, unknown>;
const binding = native() as unknown as Record<string, unknown>;
const THREADS = [2, 3, 4, 8];
const initialGemm = backendInfo().gemm as 'blas' | 'builtin';
const backends: ('blas' | 'builtin')[] = backendInfo().blas === 'none' ? ['builtin'] : ['builtin', 'blas'];

afterAll(() => {
  setNumThreads(0);
  setGemmBackend(initialGemm);
});

/** The case's failures at each thread count against 1 thread ('' when all agree). */
function check(c: DetCase): string {
  setNumThreads(1);
  const want = runCase(nat, c);
  const bad: string[] = [];
  for (const t of THREADS) {
    setNumThreads(t);
    const d = diffBytes(want, runCase(nat, c));
    if (d) bad.push(`${t} threads: ${d}`);
  }
  return bad.join('; ');
}

describe('every kernel has a determinism case', () => {
  it('covers all binding functions but shape functions and settings (runKernel through the cases below)', () => {
    const covered = new Set(DET_CASES.map((c) => (c.fn.startsWith('op:') || LEGACY_OP[c.fn] ? 'runKernel' : c.fn)));
    const missing = Object.keys(binding).filter((k) => typeof binding[k] === 'function' && !NOT_KERNELS.has(k) && !covered.has(k));
    expect(missing).toEqual([]);
    for (const c of DET_CASES) if (!c.fn.startsWith('op:')) expect(typeof nat[c.fn], c.fn).toBe('function');
  });
  it('covers every CPU kernel of the registry', () => {
    const covered = new Set(DET_CASES.map((c) => (c.fn.startsWith('op:') ? c.fn.slice(3) : LEGACY_OP[c.fn])));
    expect(kernelOps('cpu').filter((op) => !covered.has(op))).toEqual([]);
  });
});

describe('kernels without GEMM: same bits at 1, 2, 3, 4 and 8 threads', () => {
  for (const c of DET_CASES.filter((k) => !k.gemm)) {
    it(`${c.fn} ${c.label}`, () => {
      expect(check(c)).toBe('');
    });
  }
});

for (const backend of backends) {
  describe(`GEMM kernels with the ${backend} GEMM: same bits at 1, 2, 3, 4 and 8 threads`, () => {
    for (const c of DET_CASES.filter((k) => k.gemm)) {
      it(`${c.fn} ${c.label}`, () => {
        setGemmBackend(backend);
        // The gemm binding takes its path as an argument: the backend's own.
        const run: DetCase = c.fn === 'gemm' ? { ...c, make: () => [...c.make(), backend] } : c;
        expect(check(run)).toBe('');
      });
    }
  });
}
