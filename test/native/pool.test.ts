// maxpool2d forward (values + indices) and backward against PyTorch fixtures, plus errors.
import { afterAll, describe, expect, it } from 'vitest';
import { native, setNumThreads } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';
import { kernels, runOp, tensorArg } from '../helpers/kernels.js';

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
        const n = kernels();
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
  const n = kernels();
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
    expectCode(() => n.maxpool2d(x, xs, new Float32Array(8), new Int32Array(7), { kernel_size: 2 }), 'ERR_SHAPE', /max_pool2d: output 1 has 7 elements/);
    expectCode(() => n.maxpool2d(x, xs, new Float32Array(8), new Float32Array(8) as any, { kernel_size: 2 }), 'ERR_DTYPE', /max_pool2d: output 1 must be int32/);
    const gy = new Float32Array(8);
    const idx = new Int32Array(8);
    idx[3] = 16;
    expectCode(() => n.maxpool2d_backward(gy, [1, 2, 2, 2], idx, new Float32Array(32), xs), 'ERR_INDEX', /indices\[3\] = 16/);
    idx[3] = -5;
    expectCode(() => n.maxpool2d_backward(gy, [1, 2, 2, 2], idx, new Float32Array(32), xs), 'ERR_INDEX', /-5/);
    expectCode(() => n.maxpool2d_backward(gy, [1, 2, 2, 2], new Int32Array(7), new Float32Array(32), xs), 'ERR_SHAPE', /indices must have gy's shape|input 1 has 7 elements/);
    expectCode(() => n.maxpool2d_backward(gy, [2, 1, 2, 2], new Int32Array(8), new Float32Array(32), xs), 'ERR_SHAPE', /leading dims/);
  });
});

// The windows of average pooling are laid out by its kernels from the attributes and the
// shapes (native/src/registry_conv.cpp); their validation is tested in native/tests/test_pool.cpp.
describe('avg_pool2d / adaptive_avg_pool2d kernel errors', () => {
  const x = new Float32Array(16);
  it('a missing kernel_size is ERR_ATTR; shapes that are no pooling of x are ERR_SHAPE', () => {
    expectCode(() => runOp('avg_pool2d', [tensorArg(x, [1, 4, 4])], [tensorArg(new Float32Array(4), [1, 2, 2])]), 'ERR_ATTR', /avg_pool2d: attribute 'kernel_size' is required/);
    expectCode(() => runOp('avg_pool2d', [tensorArg(x, [16])], [tensorArg(new Float32Array(4), [4])], { kernel_size: 2 }), 'ERR_SHAPE', /must be 3-D/);
    expectCode(() => runOp('adaptive_avg_pool2d', [tensorArg(x, [1, 4, 4])], [tensorArg(new Float32Array(4), [2, 1, 2])]), 'ERR_SHAPE', /same leading dims/);
    expectCode(() => runOp('avg_pool2d_backward', [tensorArg(new Float32Array(3), [1, 1, 3])], [tensorArg(x, [1, 4, 4])], { kernel_size: 2 }), 'ERR_SHAPE', /avg_pool2d_backward/);
  });
});
