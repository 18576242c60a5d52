// conv2d forward and gradients against PyTorch fixtures (test/fixtures/conv.json), plus errors.
import { afterAll, describe, expect, it } from 'vitest';
import { native, setNumThreads } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';
import { kernels } from '../helpers/kernels.js';

const cases = loadFixtures('conv', 'conv2d');
const f32 = (n: number) => new Float32Array(n);
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

afterAll(() => setNumThreads(0));

describe('conv2d matches PyTorch', () => {
  it('has fixtures for every padding form and mode', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const modes = new Set(cases.map((c) => c.attrs.padding_mode));
    expect([...modes].sort()).toEqual(['circular', 'reflect', 'replicate', 'zeros']);
  });

  for (const threads of [1, 2]) {
    for (const c of cases) {
      it(`${c.name} (${threads} thread${threads > 1 ? 's' : ''})`, () => {
        setNumThreads(threads);
        const n = kernels();
        const { x, w, b, gy } = c.inputs;
        const { y, gx, gw, gb } = c.outputs;
        expect(n.conv2d_shape(x.shape, w.shape, c.attrs)).toEqual(y.shape);
        const tol = { atol: 1e-4, rtol: 1e-4 };

        const out = f32(y.data.length);
        n.conv2d(x.data as Float32Array, x.shape, w.data as Float32Array, w.shape, b ? (b.data as Float32Array) : null, out, c.attrs);
        expectClose(out, y.data, { ...tol, label: 'y' });

        const gxo = f32(gx.data.length).fill(7); // stale contents must be overwritten
        n.conv2d_backward_input(gy.data as Float32Array, gy.shape, w.data as Float32Array, w.shape, gxo, x.shape, c.attrs);
        expectClose(gxo, gx.data, { ...tol, label: 'gx' });

        const gwo = f32(gw.data.length).fill(7);
        n.conv2d_backward_weight(gy.data as Float32Array, gy.shape, x.data as Float32Array, x.shape, gwo, w.shape, c.attrs);
        expectClose(gwo, gw.data, { ...tol, label: 'gw' });

        if (gb) {
          const gbo = f32(gb.data.length);
          n.conv2d_backward_bias(gy.data as Float32Array, gy.shape, gbo);
          expectClose(gbo, gb.data, { ...tol, label: 'gb' });
        }
      });
    }
  }
});

describe('conv2d on larger inputs', () => {
  it('gives the same results on 1 and 2 threads (sample-parallel path)', () => {
    const n = kernels();
    const xs = [8, 6, 14, 13], ws = [10, 3, 3, 3];
    const attrs = { stride: [1, 2] as [number, number], padding: 1, groups: 2, padding_mode: 'reflect' as const };
    const x = f32(size(xs)).map((_, i) => Math.sin(i * 0.37));
    const w = f32(size(ws)).map((_, i) => Math.cos(i * 0.11));
    const ys = n.conv2d_shape(xs, ws, attrs);
    const gy = f32(size(ys)).map((_, i) => Math.sin(i * 0.05));
    const run = (threads: number) => {
      setNumThreads(threads);
      const y = f32(size(ys)), gx = f32(size(xs)), gw = f32(size(ws));
      n.conv2d(x, xs, w, ws, null, y, attrs);
      n.conv2d_backward_input(gy, ys, w, ws, gx, xs, attrs);
      n.conv2d_backward_weight(gy, ys, x, xs, gw, ws, attrs);
      return { y, gx, gw };
    };
    const a = run(1), b = run(2);
    expectClose(b.y, a.y, { atol: 1e-5, label: 'y' });
    expectClose(b.gx, a.gx, { atol: 1e-5, label: 'gx' });
    expectClose(b.gw, a.gw, { atol: 1e-4, label: 'gw' });
  });
});

describe('conv2d errors', () => {
  const n = kernels();
  const xs = [1, 4, 5, 5], ws = [2, 4, 3, 3];
  const x = f32(100), w = f32(72), out = f32(18);

  it('rejects bad attributes with ERR_ATTR naming the value', () => {
    expectCode(() => n.conv2d_shape(xs, ws, { stride: 0 }), 'ERR_ATTR', /stride\[0\].*got 0/);
    expectCode(() => n.conv2d_shape(xs, ws, { dilation: [1, -2] }), 'ERR_ATTR', /dilation\[1\].*-2/);
    expectCode(() => n.conv2d_shape(xs, ws, { padding: -1 }), 'ERR_ATTR', /padding\[0\].*-1/);
    expectCode(() => n.conv2d_shape(xs, ws, { padding: 'full' as any }), 'ERR_ATTR', /'full'/);
    expectCode(() => n.conv2d_shape(xs, ws, { padding: 'same', stride: 2 }), 'ERR_ATTR', /strided/);
    expectCode(() => n.conv2d_shape(xs, ws, { groups: 3 }), 'ERR_ATTR', /groups=3/);
    expectCode(() => n.conv2d_shape(xs, ws, { padding_mode: 'mirror' as any }), 'ERR_ATTR', /'mirror'/);
    expectCode(() => n.conv2d_shape(xs, ws, { padding: 5, padding_mode: 'reflect' }), 'ERR_ATTR', /reflect/);
    expectCode(() => n.conv2d_shape(xs, ws, { strides: 2 } as any), 'ERR_ATTR', /unknown attribute 'strides'/);
    expectCode(() => n.conv2d_shape(xs, ws, { stride: [1, 2, 3] as any }), 'ERR_ATTR', /stride/);
    expectCode(() => n.conv2d_shape(xs, ws, { stride: 1.5 }), 'ERR_ATTR', /stride/);
  });

  it('rejects mismatched shapes and buffers with ERR_SHAPE', () => {
    expectCode(() => n.conv2d_shape([1, 4, 5], ws), 'ERR_SHAPE', /4-D/);
    expectCode(() => n.conv2d_shape(xs, [2, 3, 3, 3]), 'ERR_SHAPE', /input channels/);
    expectCode(() => n.conv2d_shape(xs, ws, { dilation: 3 }), 'ERR_SHAPE', /larger than the padded input/);
    expectCode(() => n.conv2d(x, xs, w, ws, null, f32(17)), 'ERR_SHAPE', /conv2d: output 0 has 17 elements/);
    expectCode(() => n.conv2d(f32(99), xs, w, ws, null, out), 'ERR_SHAPE', /conv2d: input 0 has 99 elements/);
    expectCode(() => n.conv2d(x, xs, w, ws, f32(3), out), 'ERR_SHAPE', /conv2d: input 2 has 3 elements/);
    expectCode(() => n.conv2d_backward_input(f32(16), [1, 2, 2, 4], w, ws, f32(100), xs), 'ERR_SHAPE', /gy/);
    expectCode(() => n.conv2d_backward_weight(out, [1, 2, 3, 3], x, xs, f32(71), ws), 'ERR_SHAPE', /conv2d_backward_weight: output 0 has 71 elements/);
    expectCode(() => n.conv2d_backward_bias(out, [2, 9], f32(2)), 'ERR_SHAPE', /4-D/);
    expectCode(() => n.conv2d_backward_bias(out, [1, 2, 3, 3], f32(3)), 'ERR_SHAPE', /conv2d_backward_bias: output 0 must have shape \[2\]/);
  });

  it('rejects wrong types and aliasing outputs', () => {
    expectCode(() => n.conv2d(new Float64Array(100) as any, xs, w, ws, null, out), 'ERR_DTYPE', /conv2d: input 0 must be a Float32Array/);
    expectCode(() => n.conv2d(x, xs, w, ws, null, out, 3 as any), 'ERR_ARG', /attrs/);
    expectCode(() => n.conv2d(x, xs, w, ws, null, x.subarray(10, 28)), 'ERR_ARG', /conv2d: output 0 partially overlaps input 0/);
    const buf = f32(100);
    expectCode(() => n.conv2d_backward_input(buf.subarray(0, 18), [1, 2, 3, 3], w, ws, buf, xs), 'ERR_ARG', /conv2d_backward_input: output 0 partially overlaps input 0/);
  });
});
