// The op-catalog conformance suite: every op of the catalog (and every public op function) has
// test cases; each case matches PyTorch's forward output and input gradients (fixtures from
// test/fixtures/gen/gen_ops.py) and passes a finite-difference gradient check.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import * as Ops from '../../lib/ops/index.js';
import type { OpCase, Tensor } from './case.js';
import { groups } from './cases/index.js';

interface FixtureTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: number[];
}
interface Fixture {
  inputs: FixtureTensor[];
  outputs: FixtureTensor[];
  upstream?: (number[] | null)[];
  grads?: (number[] | null)[];
}

const fixtureDir = join(import.meta.dirname, '..', 'fixtures', 'ops');
/** gen_ops.py writes NaN and infinities (not JSON numbers) as 'nan', 'inf', '-inf'. */
const NON_FINITE: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };
function loadGroup(group: string): Record<string, Fixture> {
  const path = join(fixtureDir, `${group}.json`);
  if (!existsSync(path)) return {};
  const text = readFileSync(path, 'utf8');
  return (JSON.parse(text, (_k, v) => (typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v)) as { cases: Record<string, Fixture> }).cases;
}

/** Public functions of lib/ops that are plumbing, not ops. */
const NOT_OPS = new Set(['ops', 'getOp', 'callOp', 'onDispatch', 'dispatch', 'defineOp', 'unbroadcast']);

function closeTo(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (w === g) continue;
    const err = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (!(err <= 0) && (worst < 0 || err > worstErr)) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) expect.fail(`${what}: element ${worst} is ${got[worst]}, expected ${want[worst]} (rtol ${rtol}, atol ${atol})`);
}

function makeInputs(c: OpCase, fx: Fixture | undefined): Tensor[] {
  return c.inputs.map((spec, i) => {
    const data = fx?.inputs[i]?.data;
    if (!data) throw new Error(`no fixture for ${c.op}/${c.id}: run npm run fixtures:ops`);
    const dtype = spec.dtype ?? 'float32';
    const t = R.t(dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data), { shape: spec.shape });
    if (dtype === 'float32' && spec.grad !== false && c.grad !== false) t.requires_grad_(true);
    return t;
  });
}

const asList = (o: Tensor | Tensor[]) => (Array.isArray(o) ? o : [o]);

/** sum_i sum(out_i * upstream_i) in float64 from the outputs' data (for finite differences). */
function weightedSum(outs: Tensor[], upstream: (number[] | null)[]): number {
  let s = 0;
  outs.forEach((o, i) => {
    const u = upstream[i];
    if (!u) return;
    const d = o._data;
    for (let k = 0; k < d.length; k++) s += d[k]! * u[k]!;
  });
  return s;
}

const allCases = Object.entries(groups).flatMap(([group, cases]) => cases.map((c) => ({ group, c })));

describe('catalog coverage', () => {
  it('every catalog op has a test case (backward ops: through their forward op)', () => {
    const covered = new Set(allCases.map(({ c }) => c.op));
    const missing: string[] = [];
    for (const [name, def] of R.ops()) {
      const need = def.gradientOf ?? name;
      if (!covered.has(need)) missing.push(def.gradientOf ? `${name} (via ${need})` : name);
    }
    expect(missing, 'ops without a test case').toEqual([]);
  });
  it('every public op function has a test case', () => {
    const covered = new Set(allCases.map(({ c }) => c.op));
    const missing = Object.entries(Ops)
      .filter(([name, v]) => typeof v === 'function' && !NOT_OPS.has(name) && !name.startsWith('_'))
      .map(([name]) => name)
      .filter((name) => !covered.has(name));
    expect(missing, 'public op functions without a test case').toEqual([]);
  });
  it('case keys are unique', () => {
    const keys = allCases.map(({ c }) => `${c.op}/${c.id}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

for (const [group, cases] of Object.entries(groups)) {
  describe(`ops: ${group}`, () => {
    const fixtures = loadGroup(group);
    for (const c of cases) {
      const key = `${c.op}/${c.id}`;
      it(key, () => {
        const fx = c.torch === null ? undefined : fixtures[key];
        if (c.torch !== null && !fx) expect.fail(`no fixture for ${key} in test/fixtures/ops/${group}.json: run npm run fixtures:ops`);
        if (c.torch === null) {
          const ins = c.inputs.map((s) => (s.dtype === 'int32' ? R.zeros(s.shape, { dtype: 'int32' }) : R.randn(s.shape)));
          c.check?.(R, asList(c.call(R, ins)), ins);
          return;
        }
        const ins = makeInputs(c, fx);
        const outs = asList(c.call(R, ins));
        expect(outs.length, 'number of outputs').toBe(fx!.outputs.length);
        const rtol = c.tol?.rtol ?? 1e-5;
        const atol = c.tol?.atol ?? 1e-5;
        outs.forEach((o, i) => {
          const want = fx!.outputs[i]!;
          expect([...o.shape], `output ${i} shape`).toEqual(want.shape);
          expect(o.dtype, `output ${i} dtype`).toBe(want.dtype);
          closeTo(`output ${i}`, o._data, want.data, rtol, atol);
        });
        c.check?.(R, outs, ins);
        if (!fx!.grads) return;

        // Gradients through the tape, against PyTorch. Record what backward dispatches.
        const upstream = fx!.upstream!;
        const loss = outs
          .map((o, i) => (upstream[i] ? R.sum(R.mul(o, R.t(Float32Array.from(upstream[i]!), { shape: [...o.shape] }))) : null))
          .filter((x): x is Tensor => x !== null)
          .reduce((acc, x) => R.add(acc, x));
        const produced = new Set<Tensor>();
        const stop = R.onDispatch((_op, _ins, o) => o.forEach((t) => produced.add(t)));
        try {
          loss.backward();
        } finally {
          stop();
        }
        ins.forEach((x, i) => {
          const want = fx!.grads![i];
          if (!want) return;
          expect(x.grad, `input ${i} has a gradient`).not.toBeNull();
          expect(produced.has(x.grad!), `input ${i}'s gradient was built by catalog ops during backward`).toBe(true);
          closeTo(`grad of input ${i}`, x.grad!._data, want, Math.max(rtol, 1e-4), Math.max(atol, 1e-4));
        });

        // Finite differences on a few elements of each differentiable input.
        if (c.fd === false) return;
        const eps = c.fd?.eps ?? 1e-2;
        const tol = c.fd?.tol ?? 2e-2;
        R.no_grad(() => {
          ins.forEach((x, i) => {
            if (!fx!.grads![i] || x.size === 0) return;
            const data = x._data;
            const picks = new Set([0, x.size - 1, Math.floor(x.size / 2), Math.floor(x.size / 3)]);
            for (const k of picks) {
              const orig = data[k]!;
              data[k] = orig + eps;
              const up = weightedSum(asList(c.call(R, ins)), upstream);
              data[k] = orig - eps;
              const down = weightedSum(asList(c.call(R, ins)), upstream);
              data[k] = orig;
              const numeric = (up - down) / (2 * eps);
              const analytic = x.grad!._data[k]!;
              expect(Math.abs(numeric - analytic), `finite difference of input ${i}[${k}]: numeric ${numeric}, analytic ${analytic}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(analytic)));
            }
          });
        });
      });
    }
  });
}
