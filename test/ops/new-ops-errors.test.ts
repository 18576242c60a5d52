// Bad inputs to the losses, conv1d and average pooling: typed errors naming the op and the
// shapes or values, raised before anything is computed.
import { describe, it, expect } from 'vitest';
import * as R from '../../lib/index.js';
import { expectError } from '../helpers/fixtures.js';

describe('elementwise losses', () => {
  it('shapes, weights and options', () => {
    const p = R.rand([4, 3]);
    expectError(() => R.l1_loss(p, R.rand([4, 2])), R.ShapeError, 'l1_loss', '[4, 2]', '[4, 3]');
    expectError(() => R.huber_loss(p, R.rand([3])), R.ShapeError, 'huber_loss', '[3]');
    expectError(() => R.huber_loss(p, p, { delta: 0 }), R.AttrError, 'huber_loss', 'delta', '0');
    expectError(() => R.l1_loss(p, p, { reduction: 'avg' as never }), R.AttrError, 'l1_loss', 'reduction', '"avg"');
    expectError(() => R.binary_cross_entropy(p, p, { weight: R.ones([4]) }), R.ShapeError, 'binary_cross_entropy', 'weight', '[4]');
    // A weight that broadcasts only to a larger shape is refused (it would change the loss's shape).
    expectError(() => R.binary_cross_entropy_with_logits(p, p, { pos_weight: R.ones([2, 4, 3]) }), R.ShapeError, 'binary_cross_entropy_with_logits', 'pos_weight', '[2, 4, 3]');
    expectError(() => R.binary_cross_entropy_with_logits(p, p, { pos_weigth: R.ones([3]) } as never), R.AttrError, 'binary_cross_entropy_with_logits', "'pos_weigth'");
    expectError(() => R.l1_loss(p, R.t([[1, 2, 3]], { dtype: 'int32' })), R.DtypeError, 'l1_loss', 'int32');
  });
  it('binary_cross_entropy needs probabilities: a value outside [0, 1] or NaN is an error naming it', () => {
    expectError(() => R.binary_cross_entropy(R.t([0.5, 1.5]), R.t([1, 0])), R.ArgError, 'binary_cross_entropy', '1.5', 'index 1', 'with_logits');
    expectError(() => R.binary_cross_entropy(R.t([NaN, 0.5]), R.t([1, 0])), R.ArgError, 'binary_cross_entropy', 'NaN');
    expectError(() => R.binary_cross_entropy(R.t([-0.1]), R.t([1])), R.ArgError, 'binary_cross_entropy', '-0.1');
  });
  it('binary_cross_entropy at exactly 0 and 1 stays finite (each log clamped at -100), like torch', () => {
    const y = R.binary_cross_entropy(R.t([0, 1, 1]), R.t([1, 0, 1]), { reduction: 'none' });
    expect(Array.from(y._data, (v) => v + 0)).toEqual([100, 100, 0]);
  });
});

describe('conv1d', () => {
  const x = R.randn([2, 3, 8]);
  it('ranks and channels', () => {
    expectError(() => R.conv1d(x, R.randn([4, 2, 3])), R.ShapeError, 'conv1d', '[2, 3, 8]', '[4, 2, 3]');
    expectError(() => R.conv1d(R.randn([2, 3, 8, 1]), R.randn([4, 3, 3])), R.ShapeError, 'conv1d', '(N, C, L)', '[2, 3, 8, 1]');
    expectError(() => R.conv1d(x, R.randn([4, 3, 3, 1])), R.ShapeError, 'conv1d', 'w must be', '[4, 3, 3, 1]');
    expectError(() => R.conv1d(x, R.randn([4, 3, 3]), R.randn([3])), R.ShapeError, 'conv1d', 'bias', '[3]', '[4]');
    expectError(() => R.conv1d(R.randn([1, 3, 2]), R.randn([4, 3, 3])), R.ShapeError, 'conv1d', '[1, 3, 2]');
  });
  it('options', () => {
    const w = R.randn([4, 3, 3]);
    expectError(() => R.conv1d(x, w, null, { padding: [1, 1] as never }), R.AttrError, 'conv1d', 'padding');
    expectError(() => R.conv1d(x, w, null, { padding: 'same', stride: 2 }), R.AttrError, 'conv1d', 'same');
    expectError(() => R.conv1d(x, w, null, { groups: 2 }), R.AttrError, 'conv1d', 'groups');
    expectError(() => R.conv1d(x, w, null, { dilation: 0 }), R.AttrError, 'conv1d', 'dilation');
    expectError(() => R.conv1d(x, w, null, { kernel_size: 3 } as never), R.AttrError, 'conv1d', "'kernel_size'");
  });
});

describe('average pooling', () => {
  const x = R.randn([1, 2, 6, 6]);
  it('avg_pool2d', () => {
    expectError(() => R.avg_pool2d(x, {} as never), R.AttrError, 'avg_pool2d', 'kernel_size');
    expectError(() => R.avg_pool2d(x, { kernel_size: 2, padding: 2 }), R.AttrError, 'avg_pool2d', 'padding');
    expectError(() => R.avg_pool2d(x, { kernel_size: 2, divisor_override: 0 }), R.AttrError, 'avg_pool2d', 'divisor_override');
    expectError(() => R.avg_pool2d(x, { kernel_size: 7 }), R.ShapeError, 'avg_pool2d', '[1, 2, 6, 6]');
    expectError(() => R.avg_pool2d(R.randn([6, 6]), { kernel_size: 2 }), R.ShapeError, 'avg_pool2d', '[6, 6]');
  });
  it('adaptive and global', () => {
    expectError(() => R.adaptive_avg_pool2d(x, 0), R.AttrError, 'adaptive_avg_pool2d', 'output_size');
    expectError(() => R.adaptive_avg_pool2d(x, [2, 2, 2] as never), R.AttrError, 'adaptive_avg_pool2d', 'output_size');
    expectError(() => R.adaptive_avg_pool2d(R.randn([2, 3]), 1), R.ShapeError, 'adaptive_avg_pool2d', '[2, 3]');
    expectError(() => R.adaptive_avg_pool2d(R.randn([1, 2, 0, 3]), 1), R.ShapeError, 'adaptive_avg_pool2d', '[1, 2, 0, 3]');
    expectError(() => R.global_avg_pool2d(R.randn([2, 3])), R.ShapeError, 'global_avg_pool2d', '[2, 3]');
    expectError(() => R.global_avg_pool2d(x, { keepdim: true } as never), R.AttrError, 'global_avg_pool2d', "'keepdim'");
  });
});

describe('tidy keeps what backward needs (the rule every op follows)', () => {
  it('a loss returned from tidy() backpropagates through conv1d, the pools and each new loss', () => {
    const make = () => {
      R.manual_seed(4);
      return { x: R.randn([2, 2, 8], { requires_grad: true }), w: R.randn([3, 2, 3], { requires_grad: true }), t: R.rand([2, 3]) };
    };
    const losses = [
      (y: R.Tensor, t: R.Tensor) => R.l1_loss(y, t),
      (y: R.Tensor, t: R.Tensor) => R.huber_loss(y, t),
      (y: R.Tensor, t: R.Tensor) => R.binary_cross_entropy(R.sigmoid(y), t, { weight: R.t([1, 2, 3]) }),
      (y: R.Tensor, t: R.Tensor) => R.binary_cross_entropy_with_logits(y, t, { pos_weight: R.t([2, 1, 1]) }),
    ];
    for (const loss of losses) {
      const net = (x: R.Tensor, w: R.Tensor, t: R.Tensor) => {
        const h = R.reshape(R.conv1d(x, w, null, { padding: 1 }), [2, 3, 2, 4]);
        return loss(R.global_avg_pool2d(R.adaptive_avg_pool2d(R.avg_pool2d(h, { kernel_size: 2, stride: 1, padding: 1 }), [2, 2])), t);
      };
      const a = make();
      net(a.x, a.w, a.t).backward();
      const b = make();
      R.tidy(() => net(b.x, b.w, b.t)).backward();
      expect(b.x.grad, 'x.grad after tidy').not.toBeNull();
      expect(Array.from(b.x.grad!._data)).toEqual(Array.from(a.x.grad!._data));
      expect(Array.from(b.w.grad!._data)).toEqual(Array.from(a.w.grad!._data));
    }
  });
});
