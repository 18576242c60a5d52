// maxpool2d forward (values + indices) and backward against PyTorch fixtures, plus errors.
import { afterAll, describe, expect, it } from 'vitest';
import { native, setNumThreads } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';

const cases = loadFixtures('pool', 'maxpool2d');

afterAll(() => setNumThreads(0));

describe('maxpool2d matches PyTorch', () => {
  it('has fixtures for ceil_mode and dilation', () => {
    expect(cases.some((c) => c.attrs.ceil_mode && c.attrs.dilation === 2)).toBe(true);
    expect(cases.some((c) => c.attrs.stride === null)).toBe(true);
  });

  for (const threads of [1, 2]) {
    for (const c of cases) {
      it(`${c.name} (${threads} thread${threads > 1 ? 's' : ''})`, () => {
        setNumThreads(threads);
        const n = native();
        const { x, gy } = c.inputs;
        const { y, indices, gx } = c.outputs;
        expect(n.maxpool2d_shape(x.shape, c.attrs as any)).toEqual(y.shape);
        const out = new Float32Array(y.data.length);
        const idx = new Int32Array(y.data.length);
        n.maxpool2d(x.data as Float32Array, x.shape, out, idx, c.attrs as any);
        expectClose(out, y.data, { atol: 0, rtol: 0, label: 'y' });
        expect(Array.from(idx)).toEqual(Array.from(indices.data));
        const g = new Float32Array(gx.data.length).fill(3);
        n.maxpool2d_backward(gy.data as Float32Array, gy.shape, idx, g, x.shape);
        expectClose(g, gx.data, { atol: 1e-6, rtol: 1e-6, label: 'gx' });
      });
    }
  }
});

describe('maxpool2d errors', () => {
  const n = native();
  const xs = [1, 2, 4, 4];
  it('rejects bad attributes with ERR_ATTR', () => {
    expectCode(() => n.maxpool2d_shape(xs, {} as any), 'ERR_ATTR', /kernel_size is required/);
    expectCode(() => n.maxpool2d_shape(xs, { kernel_size: 0 }), 'ERR_ATTR', /kernel_size\[0\].*0/);
    expectCode(() => n.maxpool2d_shape(xs, { kernel_size: 2, stride: 0 }), 'ERR_ATTR', /stride\[0\].*0/);
    expectCode(() => n.maxpool2d_shape(xs, { kernel_size: 2, padding: 2 }), 'ERR_ATTR', /padding\[0\].*2/);
    expectCode(() => n.maxpool2d_shape(xs, { kernel_size: 2, dilation: [1, 0] }), 'ERR_ATTR', /dilation\[1\]/);
    expectCode(() => n.maxpool2d_shape(xs, { kernel_size: 2, ceil_mode: 1 as any }), 'ERR_ATTR', /ceil_mode/);
    expectCode(() => n.maxpool2d_shape(xs, { kernel_size: 2, pad: 1 } as any), 'ERR_ATTR', /unknown attribute 'pad'/);
  });
  it('rejects bad shapes with ERR_SHAPE and bad indices with ERR_INDEX', () => {
    expectCode(() => n.maxpool2d_shape([4, 4], { kernel_size: 2 }), 'ERR_SHAPE', /3-D/);
    expectCode(() => n.maxpool2d_shape(xs, { kernel_size: 5 }), 'ERR_SHAPE', /too small/);
    const x = new Float32Array(32);
    expectCode(() => n.maxpool2d(x, xs, new Float32Array(8), new Int32Array(7), { kernel_size: 2 }), 'ERR_SHAPE', /indices/);
    expectCode(() => n.maxpool2d(x, xs, new Float32Array(8), new Float32Array(8) as any, { kernel_size: 2 }), 'ERR_DTYPE', /Int32Array/);
    const gy = new Float32Array(8);
    const idx = new Int32Array(8);
    idx[3] = 16;
    expectCode(() => n.maxpool2d_backward(gy, [1, 2, 2, 2], idx, new Float32Array(32), xs), 'ERR_INDEX', /indices\[3\] = 16/);
    idx[3] = -5;
    expectCode(() => n.maxpool2d_backward(gy, [1, 2, 2, 2], idx, new Float32Array(32), xs), 'ERR_INDEX', /-5/);
    expectCode(() => n.maxpool2d_backward(gy, [1, 2, 2, 2], new Int32Array(7), new Float32Array(32), xs), 'ERR_SHAPE', /indices/);
    expectCode(() => n.maxpool2d_backward(gy, [2, 1, 2, 2], new Int32Array(8), new Float32Array(32), xs), 'ERR_SHAPE', /leading dims/);
  });
});

describe('avgpool2d errors (windows laid out by the avg_pool2d / adaptive_avg_pool2d ops)', () => {
  const n = native();
  const i32 = (...v: number[]) => Int32Array.from(v);
  const x = new Float32Array(16);
  it('windows outside the plane, reversed windows and divisors < 1 are ERR_ARG naming the op and the value', () => {
    expectCode(() => n.avgpool2d(x, [1, 4, 4], i32(0, 2), i32(2, 5), i32(0, 2), i32(2, 4), i32(4, 4, 4, 4), new Float32Array(4)), 'ERR_ARG', /avgpool2d: window h\[1\] = \[2, 5\) is not inside \[0, 4\]/);
    expectCode(() => n.avgpool2d(x, [1, 4, 4], i32(0, 2), i32(2, 1), i32(0, 2), i32(2, 4), i32(4, 4, 4, 4), new Float32Array(4)), 'ERR_ARG', /window h\[1\]/);
    expectCode(() => n.avgpool2d(x, [1, 4, 4], i32(0, 2), i32(2, 4), i32(0, 2), i32(2, 4), i32(4, 0, 4, 4), new Float32Array(4)), 'ERR_ARG', /div\[1\] = 0/);
    expectCode(() => n.avgpool2d(x, [1, 4, 4], i32(0, 2), i32(2, 4), i32(0, 2), i32(2, 4), new Float32Array(4) as any, new Float32Array(4)), 'ERR_DTYPE', /div/);
  });
  it('an output sharing memory with the windows is ERR_ARG (the fuzzer found it crashing the process)', () => {
    const buf = new ArrayBuffer(64);
    const out = new Float32Array(buf, 0, 4);
    const w0 = new Int32Array(buf, 8, 2); // inside out
    w0.set([0, 2]);
    expectCode(() => n.avgpool2d(x, [1, 4, 4], i32(0, 2), i32(2, 4), w0, i32(2, 4), i32(4, 4, 4, 4), out), 'ERR_ARG', /avgpool2d: out must not share memory with w0/);
    const gx = new Float32Array(new ArrayBuffer(64));
    const div = new Int32Array(gx.buffer, 16, 4);
    div.set([4, 4, 4, 4]);
    expectCode(() => n.avgpool2d_backward(new Float32Array(4), [1, 2, 2], i32(0, 2), i32(2, 4), i32(0, 2), i32(2, 4), div, gx, [1, 4, 4]), 'ERR_ARG', /gx must not share memory with div/);
  });
  it('wrong shapes are ERR_SHAPE', () => {
    const w = [i32(0, 2), i32(2, 4), i32(0, 2), i32(2, 4), i32(4, 4, 4, 4)] as const;
    expectCode(() => n.avgpool2d(x, [16], ...w, new Float32Array(4)), 'ERR_SHAPE', /3-D/);
    expectCode(() => n.avgpool2d(x, [1, 4, 4], ...w, new Float32Array(3)), 'ERR_SHAPE', /out/);
    expectCode(() => n.avgpool2d_backward(new Float32Array(6), [1, 2, 3], ...w, new Float32Array(16), [1, 4, 4]), 'ERR_SHAPE', /gy/);
  });
});
