// The README's kernel coverage table is the one generated from the catalog and the CUDA
// library's op list (npm run kernels:coverage rewrites it). Where the CUDA library cannot be
// loaded (built without nvcc), the CUDA column is taken from the README and the rest checked.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, coverageSection, cudaLibraryOps, cudaOpsInSection, currentSection } from '../../scripts/kernel-coverage.js';
import { ops } from '../../lib/ops/index.js';
import { kernelAttrs, kernelOps } from '../../lib/native/kernels.js';

describe('kernel coverage', () => {
  it('the README table is up to date (npm run kernels:coverage)', () => {
    const have = currentSection(readFileSync(README, 'utf8'));
    const lib = cudaLibraryOps();
    const cuda = lib.ops ?? cudaOpsInSection(have);
    expect(have).toBe(coverageSection(cuda));
  });

  it('the table can go out of date: another CUDA list gives another table', () => {
    const lib = cudaLibraryOps().ops ?? [];
    expect(coverageSection([...lib, 'relu_backward'])).not.toBe(coverageSection(lib.filter((o) => o !== 'relu_backward')));
  });

  it('every op without a TypeScript kernel or a view has a native CPU kernel under its catalog name', () => {
    const cpu = new Set(kernelOps('cpu'));
    const missing = [...ops().values()].filter((d) => !d.view && !d.kernel && !cpu.has(d.name)).map((d) => d.name);
    expect(missing).toEqual([]);
    expect([...cpu].filter((n) => !ops().has(n))).toEqual([]);
  });

  it("kernels read only their op's catalog attributes, and a choice lists the catalog's values", () => {
    const bad = (e: string): never => {
      throw new Error(e);
    };
    for (const name of kernelOps('cpu')) {
      const schema = ops().get(name)!.attrs as Record<string, { check: (v: unknown, b: typeof bad) => unknown }>;
      for (const [attr, choices] of kernelAttrs(name)) {
        expect(Object.keys(schema), `${name}.${attr}`).toContain(attr);
        for (const c of choices) expect(() => schema[attr]!.check(c, bad), `${name}.${attr} = '${c}'`).not.toThrow();
        if (choices.length) expect(() => schema[attr]!.check('no-such-choice', bad)).toThrow();
      }
    }
    // The choices of string attributes: the catalog accepts exactly these (checked through the op).
    expect(kernelAttrs('conv2d')).toContainEqual(['padding_mode', ['zeros', 'reflect', 'replicate', 'circular']]);
    expect(kernelAttrs('mse_loss')).toEqual([['reduction', ['mean', 'sum', 'none']]]);
    expect(kernelAttrs('pad')).toContainEqual(['mode', ['constant', 'reflect', 'replicate', 'circular']]);
  });

  it('ops with a TypeScript CPU kernel declare every attribute their CUDA kernels read', () => {
    // Taken from the output tensor instead (cuda_ops.h): dtypes, and full's shape.
    const fromOutput = (op: string, attr: string) => attr === 'dtype' || (op === 'full' && attr === 'shape');
    for (const def of ops().values()) {
      if (!def.kernel) continue;
      const declared = kernelAttrs(def.name).map(([a]) => a);
      const catalog = Object.keys(def.attrs);
      for (const a of declared) expect(catalog, `${def.name}.${a}`).toContain(a);
      expect(declared.sort(), def.name).toEqual(catalog.filter((a) => !fromOutput(def.name, a)).sort());
    }
    expect(kernelAttrs('gather_backward')).toEqual([['axis', []], ['shape', []]]);
    expect(kernelAttrs('huber_loss')).toEqual([['reduction', ['mean', 'sum', 'none']], ['delta', []]]);
  });
});
