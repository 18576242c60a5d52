// The generic kernel entry (bindings/kernel.cpp): runKernel(op, device, meta, ...data) runs a
// catalog op's kernel found by (op, device) in the registry. Bad arguments of every kind are
// typed errors naming the op; results equal the catalog op's.
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { native } from '../../lib/native/load.js';

const N = native();
type Buf = Float32Array | Int32Array;

/** meta for `inputs` / `outputs` ([data, shape] pairs, null for an absent input) and flat attrs. */
function meta(inputs: ([Buf, number[]] | null)[], outputs: [Buf, number[]][], attrs: number[] = []): Float64Array {
  const m: number[] = [0, inputs.length, outputs.length];
  for (const t of [...inputs, ...outputs]) {
    if (!t) m.push(-1);
    else m.push(t[1].length, ...t[1]);
  }
  m.push(...attrs);
  m[0] = m.length;
  return Float64Array.from(m);
}
function run(op: string | number, inputs: ([Buf, number[]] | null)[], outputs: [Buf, number[]][], attrs: number[] = [], device = 'cpu'): void {
  N.runKernel(op, device, meta(inputs, outputs, attrs), ...inputs.map((t) => t?.[0] ?? null), ...outputs.map((t) => t[0]));
}
function codeOf(f: () => void): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error('expected an error');
}
const f32 = (...v: number[]) => Float32Array.from(v);

describe('runKernel', () => {
  it('computes what the catalog op computes, by name and by handle', () => {
    const a = f32(1, 2, 3, 4, 5, 6), b = f32(10, 20, 30), y = new Float32Array(6);
    run('add', [[a, [2, 3]], [b, [3]]], [[y, [2, 3]]]);
    expect([...y]).toEqual([11, 22, 33, 14, 25, 36]);
    const h = N.kernelHandle('sum', 'cpu');
    const s = new Float32Array(2);
    run(h, [[a, [2, 3]]], [[s, [2, 1]]], [1, 1, 1, 1]); // axis [1], keepdims true
    expect([...s]).toEqual([6, 15]);
    const x = R.t([[-1, 2], [3, -4]]);
    const want = R.leaky_relu(x, { negative_slope: 0.25 });
    const out = new Float32Array(4);
    run('leaky_relu', [[x._data as Float32Array, [2, 2]]], [[out, [2, 2]]], [1, 0.25]);
    expect([...out]).toEqual([...(want._data as Float32Array)]);
  });

  it('takes int32 tensors, absent optional inputs, choice attributes and in-place outputs', () => {
    const p = Int32Array.from([1, 2, 3, 4, 5, 6]), q = new Int32Array(6);
    run('permute', [[p, [2, 3]]], [[q, [3, 2]]], [2, 1, 0]);
    expect([...q]).toEqual([1, 4, 2, 5, 3, 6]);
    const x = f32(1, 2, 3, 4, 5, 6, 7, 8, 9), w = f32(1, 0, 0, 1), y = new Float32Array(9);
    run('conv2d', [[x, [1, 1, 3, 3]], [w, [1, 1, 2, 2]], null], [[y, [1, 1, 3, 3]]], [0, 1, -1]); // padding 'same'
    expect(y[0]).toBe(1 + 5);
    const v = f32(-1, 2, -3);
    run('relu', [[v, [3]]], [[v, [3]]]);
    expect([...v]).toEqual([0, 2, 0]);
  });

  it('gives ERR_DEVICE naming the op and the device where no kernel is registered', () => {
    const a = f32(1), y = new Float32Array(1);
    const e = codeOf(() => run('relu', [[a, [1]]], [[y, [1]]], [], 'cuda:0'));
    expect(e.code).toBe('ERR_DEVICE');
    expect(e.message).toMatch(/^relu: .*'cuda'/);
    expect(codeOf(() => run(N.kernelHandle('relu', 'cpu'), [[a, [1]]], [[y, [1]]], [], 'cuda')).code).toBe('ERR_DEVICE');
    expect(N.kernelOps('cpu')).toContain('conv2d_backward_input');
  });

  it('rejects bad arguments with typed errors, never running the kernel', () => {
    const a = f32(1, 2, 3, 4), y = new Float32Array(4).fill(7);
    const m = meta([[a, [4]]], [[y, [4]]]);
    const cases: [string, () => void, string][] = [
      ['unknown op', () => run('no_such_op', [[a, [4]]], [[y, [4]]]), 'ERR_ARG'],
      ['op of another type', () => N.runKernel({} as unknown as string, 'cpu', m, a, y), 'ERR_ARG'],
      ['fractional handle', () => N.runKernel(1.5, 'cpu', m, a, y), 'ERR_ARG'],
      ['unknown handle', () => N.runKernel(1e6, 'cpu', m, a, y), 'ERR_ARG'],
      ['bad device', () => N.runKernel('relu', 'tpu', m, a, y), 'ERR_ARG'],
      ['meta not a Float64Array', () => N.runKernel('relu', 'cpu', [4, 1, 1] as unknown as Float64Array, a, y), 'ERR_ARG'],
      ['meta too short', () => N.runKernel('relu', 'cpu', Float64Array.from([5, 1, 1, 1, 4]), a, y), 'ERR_ARG'],
      ['used length past the end', () => N.runKernel('relu', 'cpu', Float64Array.from([99, 1, 1]), a, y), 'ERR_ARG'],
      ['missing data argument', () => N.runKernel('relu', 'cpu', m, a), 'ERR_ARG'],
      ['data of another typed array', () => N.runKernel('relu', 'cpu', m, new Float64Array(4) as unknown as Float32Array, y), 'ERR_DTYPE'],
      ['data not a typed array', () => N.runKernel('relu', 'cpu', m, [1, 2, 3, 4] as unknown as Float32Array, y), 'ERR_ARG'],
      ['length and shape disagree', () => run('relu', [[a, [5]]], [[y, [4]]]), 'ERR_SHAPE'],
      ['negative dim', () => run('relu', [[a, [-4]]], [[y, [4]]]), 'ERR_SHAPE'],
      ['fractional dim', () => run('relu', [[a, [2.5, 2]]], [[y, [4]]]), 'ERR_SHAPE'],
      ['int32 where float32 is needed', () => run('relu', [[Int32Array.from([1, 2, 3, 4]), [4]]], [[y, [4]]]), 'ERR_DTYPE'],
      ['absent required input', () => run('relu', [null], [[y, [4]]]), 'ERR_ARG'],
      ['absent input with data', () => N.runKernel('relu', 'cpu', Float64Array.from([4, 1, 1, -1, 1, 4]), a, y), 'ERR_ARG'],
      ['output shape the op does not make', () => run('relu', [[a, [4]]], [[y, [2, 2]]]), 'ERR_SHAPE'],
      ['partial overlap of output and input', () => run('relu', [[a.subarray(0, 3), [3]]], [[a.subarray(1, 4), [3]]]), 'ERR_ARG'],
      ['two outputs sharing memory', () => run('max_pool2d', [[a, [1, 1, 2, 2]]], [[y.subarray(0, 1), [1, 1, 1, 1]], [new Int32Array(y.buffer, 0, 1), [1, 1, 1, 1]]], [1, 2]), 'ERR_ARG'],
      ['more attribute values than declared', () => run('relu', [[a, [4]]], [[y, [4]]], [1, 0]), 'ERR_ATTR'],
      ['bad attribute count', () => run('leaky_relu', [[a, [4]]], [[y, [4]]], [2.5, 1, 1]), 'ERR_ARG'],
      ['bad choice code', () => run('mse_loss', [[a, [4]], [a, [4]]], [[new Float32Array(1), []]], [1, -7]), 'ERR_ATTR'],
      ['number where a choice is needed', () => run('mse_loss', [[a, [4]], [a, [4]]], [[new Float32Array(1), []]], [1, 2]), 'ERR_ATTR'],
      ['wrong input count', () => run('add', [[a, [4]]], [[y, [4]]]), 'ERR_ARG'],
    ];
    for (const [what, f, code] of cases) {
      const e = codeOf(f);
      expect(e.code, `${what}: ${e.message}`).toBe(code);
      expect(e.message, what).toMatch(/^(relu|leaky_relu|add|mse_loss|max_pool2d|no_such_op|runKernel): /);
    }
    expect([...y]).toEqual([7, 7, 7, 7]);
  });

  it('lists each op\'s attributes with their choices, and what it does not know', () => {
    expect(N.kernelAttrs('softmax')).toEqual([['axis', []]]);
    expect(N.kernelAttrs('add')).toEqual([]);
    expect(codeOf(() => N.kernelAttrs('no_such_op')).code).toBe('ERR_ARG');
    expect(codeOf(() => N.kernelHandle('no_such_op', 'cpu')).code).toBe('ERR_ARG');
    expect(codeOf(() => N.kernelOps('gpu')).code).toBe('ERR_ARG');
  });
});
