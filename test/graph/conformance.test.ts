// Every op case of the catalog (test/ops/cases) recorded in one graph, forward and backward,
// saved, loaded (re-validated against the catalog) and executed: the outputs and gradients are
// bit for bit those of the same calls run eagerly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync, existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import type { OpCase, Tensor } from '../ops/case.js';
import { groups } from '../ops/cases/index.js';

interface Fixture {
  inputs: { shape: number[]; dtype: 'float32' | 'int32'; data: (number | string)[] }[];
  upstream?: (number[] | null)[];
}
const fixtureDir = join(import.meta.dirname, '..', 'fixtures', 'ops');
const num = (v: number | string) => (typeof v === 'number' ? v : Number(v)); // fixtures write NaN/Infinity as strings
function fixtures(group: string): Record<string, Fixture> {
  const path = join(fixtureDir, `${group}.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { cases: Record<string, Fixture> }).cases : {};
}

const asList = (o: Tensor | Tensor[]) => (Array.isArray(o) ? o : [o]);
const RNG = { seed: 1234, offset: 0 };

/** Runs a case: inputs from its fixture (or fixed values), outputs, and gradients for the fixture's upstream. */
function runCase(c: OpCase, fx: Fixture | undefined): Tensor[] {
  R.setRngState(RNG);
  const ins = c.inputs.map((spec, i) => {
    const dtype = spec.dtype ?? 'float32';
    const data = fx?.inputs[i]?.data.map(num) ?? Array.from({ length: spec.shape.reduce((a, b) => a * b, 1) }, (_, k) => (dtype === 'int32' ? k % 2 : (k % 7) / 7 - 0.4));
    const t = R.t(dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data), { shape: spec.shape });
    if (dtype === 'float32' && spec.grad !== false && c.grad !== false && fx?.upstream) t.requires_grad_(true);
    return t;
  });
  const outs = asList(c.call(R, ins));
  const results = [...outs];
  if (fx?.upstream) {
    const terms = outs.map((o, i) => (fx.upstream![i] ? R.sum(R.mul(o, R.t(Float32Array.from(fx.upstream![i]!), { shape: [...o.shape] }))) : null)).filter((x): x is Tensor => x !== null);
    if (terms.length) {
      terms.reduce((a, b) => R.add(a, b)).backward();
      for (const x of ins) if (x.grad) results.push(x.grad);
    }
  }
  return results;
}

const cases = Object.entries(groups).flatMap(([group, cs]) => {
  const fx = fixtures(group);
  return cs.map((c) => ({ key: `${c.op}/${c.id}`, c, fx: c.torch === null ? undefined : fx[`${c.op}/${c.id}`] }));
});

describe('every op case recorded, saved, loaded and executed equals eager', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ravdl-conformance-graph-'));
  afterAll(() => {
    R.flush();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records, saves, loads and runs every case', async () => {
    const eager = new Map<string, Tensor[]>();
    for (const { key, c, fx } of cases) eager.set(key, runCase(c, fx));

    R.flush();
    new R.Graph({ name: 'conformance', algorithm: 'all ops', approach: 'distributed' });
    const counts = new Map<string, number>();
    for (const { key, c, fx } of cases) {
      const outs = runCase(c, fx);
      counts.set(key, outs.length);
      outs.forEach((o, i) => o.persist_op(`${key}#${i}`));
    }
    R.activate();
    R.Graph.current()!.save(dir);
    R.flush();
    const loaded = R.Graph.load(dir);
    expect(loaded.data.persist.size).toBe([...counts.values()].reduce((a, b) => a + b, 0));
    await R.execute();

    const bits = (t: Tensor) => (t.dtype === 'int32' ? Array.from(t._data) : Array.from(new Uint32Array(new Float32Array(t._data).buffer)));
    const mismatched: string[] = [];
    for (const { key } of cases) {
      const want = eager.get(key)!;
      expect(counts.get(key), `${key}: number of results`).toBe(want.length);
      want.forEach((w, i) => {
        const got = R.fetch_persisting_op(`${key}#${i}`);
        if (got.dtype !== w.dtype || JSON.stringify(got.shape) !== JSON.stringify(w.shape) || JSON.stringify(bits(got)) !== JSON.stringify(bits(w))) mismatched.push(`${key}#${i}`);
      });
    }
    expect(mismatched).toEqual([]);
  });
});
