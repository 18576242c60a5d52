import { afterEach, describe, expect, it } from 'vitest';
import { native, setNumThreads } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';
import { kernels } from '../helpers/kernels.js';

const nat = kernels();
afterEach(() => setNumThreads(0));
const exact = { atol: 0, rtol: 0 };
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('concat / split (PyTorch fixtures)', () => {
  for (const c of loadFixtures('misc', 'concat')) {
    it(c.name, () => {
      const xs = Array.from({ length: c.attrs.n }, (_, k) => c.inputs[`x${k}`]!);
      const shapes = xs.map((x) => x.shape);
      const outShape = nat.concat_shape(shapes, c.attrs.axis);
      expect(outShape).toEqual(c.outputs.out!.shape);
      const out = new Float32Array(size(outShape));
      nat.concat(xs.map((x) => x.data as Float32Array), shapes, c.attrs.axis, out);
      expectClose(out, c.outputs.out!.data, { ...exact, label: c.name });
    });
  }
  for (const c of loadFixtures('misc', 'split')) {
    it(c.name, () => {
      const x = c.inputs.x!;
      const expected = c.attrs.sizes.map((_: number, k: number) => c.outputs[`out${k}`]!);
      const outs = expected.map((e: any) => new Float32Array(e.data.length));
      nat.split(x.data as Float32Array, x.shape, c.attrs.axis, c.attrs.sizes, outs);
      outs.forEach((o: Float32Array, k: number) => expectClose(o, expected[k].data, { ...exact, label: `${c.name}[${k}]` }));
    });
  }
});

describe('slice (PyTorch fixtures)', () => {
  for (const c of loadFixtures('misc', 'slice')) {
    it(`${c.name}: forward and backward`, () => {
      const { starts, ends, steps } = c.attrs;
      const x = c.inputs.x!;
      const shape = nat.slice_shape(x.shape, starts, ends, steps);
      expect(shape).toEqual(c.outputs.out!.shape);
      const out = new Float32Array(size(shape));
      nat.slice(x.data as Float32Array, x.shape, starts, ends, steps, out);
      expectClose(out, c.outputs.out!.data, { ...exact, label: c.name });
      const gx = new Float32Array(x.data.length).fill(3);
      nat.slice_backward(c.inputs.gy!.data as Float32Array, shape, x.shape, starts, ends, steps, gx);
      expectClose(gx, c.outputs.gx!.data, { ...exact, label: `${c.name} gx` });
    });
  }
});

describe('permute (PyTorch fixtures)', () => {
  for (const c of loadFixtures('misc', 'permute')) {
    it(`${c.name}: ${JSON.stringify(c.inputs.x!.shape)} by ${JSON.stringify(c.attrs.perm)}`, () => {
      const x = c.inputs.x!;
      expect(nat.permute_shape(x.shape, c.attrs.perm)).toEqual(c.outputs.out!.shape);
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const out = new Float32Array(x.data.length);
        nat.permute(x.data as Float32Array, x.shape, c.attrs.perm, out);
        expectClose(out, c.outputs.out!.data, { ...exact, label: c.name });
      }
    });
  }

  it('transposes a large matrix (tiled path) and Int32Array data', () => {
    const [R, C] = [300, 517];
    const x = Float32Array.from({ length: R * C }, (_, i) => i);
    const out = new Float32Array(R * C);
    nat.permute(x, [R, C], [1, 0], out);
    let bad = 0;
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) if (out[j * R + i] !== x[i * C + j]) bad++;
    expect(bad).toBe(0);
    const xi = Int32Array.from({ length: 24 }, (_, i) => i - 5);
    const oi = new Int32Array(24);
    nat.permute(xi, [2, 3, 4], [2, 0, 1], oi);
    // out[c, a, b] = x[a, b, c]
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) expect(oi[(c * 2 + a) * 3 + b]).toBe(xi[(a * 3 + b) * 4 + c]);
  });
});

describe('Int32Array data through concat, split and slice', () => {
  it('moves int32 values unchanged', () => {
    const a = Int32Array.from([1, 2, 3, 4]);
    const b = Int32Array.from([5, 6]);
    const out = new Int32Array(6);
    nat.concat([a, b], [[2, 2], [2, 1]], 1, out);
    expect(Array.from(out)).toEqual([1, 2, 5, 3, 4, 6]);
    const p = new Int32Array(4);
    const q = new Int32Array(2);
    nat.split(out, [2, 3], -1, [2, 1], [p, q]);
    expect(Array.from(p)).toEqual([1, 2, 3, 4]);
    expect(Array.from(q)).toEqual([5, 6]);
    const s = new Int32Array(2);
    nat.slice(out, [2, 3], [0, -1], [2, 3], [1, 1], s);
    expect(Array.from(s)).toEqual([5, 6]);
  });
});

describe('shape op errors', () => {
  const x = new Float32Array(24);
  it('concat', () => {
    expectCode(() => nat.concat_shape([[2, 3], [3, 3]], 1), 'ERR_SHAPE', /concat: input 1 has shape \[3, 3\].*dim 0/);
    expectCode(() => nat.concat_shape([[2, 3], [2, 3, 1]], 0), 'ERR_SHAPE', /input 1/);
    expectCode(() => nat.concat_shape([[2, 3]], 2), 'ERR_INDEX', /axis 2/);
    expectCode(() => nat.concat_shape([], 0), 'ERR_ARG', /at least one/);
    expectCode(() => nat.concat([x, x], [[2, 12], [2, 12]], 0, new Float32Array(47)), 'ERR_SHAPE', /concat: output 0 has 47 elements/);
    expectCode(() => nat.concat([x, new Int32Array(24)], [[2, 12], [2, 12]], 0, new Float32Array(48)), 'ERR_DTYPE', /every tensor must be float32/);
    expectCode(() => nat.concat([x, new Float64Array(24) as any], [[2, 12], [2, 12]], 0, new Float32Array(48)), 'ERR_DTYPE', /input 1 must be a Float32Array/);
    expectCode(() => nat.concat([x], [[2, 12]], 0, x), 'ERR_ARG', /share memory/);
  });
  it('split', () => {
    expectCode(() => nat.split(x, [4, 6], 1, [2, 3], [new Float32Array(8), new Float32Array(12)]), 'ERR_SHAPE', /sizes do not sum to dim 1/);
    expectCode(() => nat.split(x, [4, 6], 1, [2, 4], [new Float32Array(8)]), 'ERR_ARG', /1 outputs for 2 sizes/);
    expectCode(() => nat.split(x, [4, 6], 1, [-2, 8], [new Float32Array(8), new Float32Array(32)]), 'ERR_ATTR', /sizes must be >= 0/); // the kernel's check (the op's outputs cannot have a negative size)
    expectCode(() => nat.split(x, [4, 6], 1, [2, 4], [new Float32Array(8), new Float32Array(15)]), 'ERR_SHAPE', /split: output 1 has 15 elements/);
    expectCode(() => nat.split(x, [4, 6], -3, [2, 2], [new Float32Array(12), new Float32Array(12)]), 'ERR_INDEX', /axis -3/);
  });
  it('slice', () => {
    expectCode(() => nat.slice_shape([4, 6], [0, 0], [4, 6], [1, 0]), 'ERR_ATTR', /step must be >= 1, got 0/);
    expectCode(() => nat.slice_shape([4, 6], [0], [4, 6], [1, 1]), 'ERR_ATTR', /one entry per dim/);
    expectCode(() => nat.slice(x, [4, 6], [0, 0], [4, 6], [2, 2], new Float32Array(7)), 'ERR_SHAPE', /slice: output 0 has 7 elements/);
    expectCode(() => nat.slice(x, [4, 6], [0, 0], [4, 6], [2, 2], new Int32Array(6)), 'ERR_DTYPE', /every tensor must be float32/);
    expectCode(() => nat.slice_backward(new Float32Array(6), [2, 3], [4, 6], [0, 0], [4, 6], [1, 2], new Float32Array(24)), 'ERR_SHAPE', /gy has shape \[2, 3\]/);
    expectCode(() => nat.slice_backward(new Float32Array(12), [4, 3], [4, 6], [0, 0], [4, 6], [1, 2], new Float32Array(23)), 'ERR_SHAPE', /slice_backward: output 0 has 23 elements/);
  });
  it('permute', () => {
    const out = new Float32Array(24);
    expectCode(() => nat.permute(x, [2, 3, 4], [0, 1], out), 'ERR_ATTR', /perm has 2 entries/);
    expectCode(() => nat.permute(x, [2, 3, 4], [0, 0, 1], out), 'ERR_ATTR', /repeats dim 0/);
    expectCode(() => nat.permute(x, [2, 3, 4], [0, 3, 1], out), 'ERR_INDEX', /perm entry 3/);
    expectCode(() => nat.permute(x, [2, 3, 5], [0, 2, 1], out), 'ERR_SHAPE', /permute: input 0 has 24 elements/);
    expectCode(() => nat.permute(x, [2, 3, 4], [0, 2, 1], x), 'ERR_ARG', /share memory/);
    expectCode(() => nat.permute_shape([2, 3], [1, 1.5]), 'ERR_ATTR', /perm/);
  });
});
