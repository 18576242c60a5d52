// Devices through the binding on a machine without a GPU: the default device, the parser,
// the CUDA report and its errors (never a silent CPU fallback), the mixed-device check of the
// op dispatcher, model.to(). The paths of a machine with GPUs run against a simulated report
// (_setCudaInfoForTest); tensors "on cuda" then still hold host data, and every op on them but
// views is ERR_DEVICE until the CUDA kernels are wired to the catalog.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { DeviceError } from '../../lib/errors.js';
import { packageRoot } from '../../lib/native/load.js';
import { _setCudaInfoForTest } from '../../lib/tensor/device.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { NeuralNetwork } from '../../lib/v2/models/sequential.js';
import { Functional } from '../../lib/v2/models/functional.js';
import { Dense } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';
import { expectCode } from '../helpers/fixtures.js';
import { dispatchInto, getOp } from '../../lib/ops/define.js';
import { parseAttrs } from '../../lib/ops/attrs.js';

const REASONS = /^(ravdl was built without CUDA|the CUDA runtime could not be loaded: |no CUDA device \(cudaGetDeviceCount: )/;
const cuda = R.backendInfo().cuda;

function deviceError(fn: () => unknown): DeviceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DeviceError);
    expect((e as DeviceError).code).toBe('ERR_DEVICE');
    return e as DeviceError;
  }
  throw new Error('expected a DeviceError');
}

/** A tensor placed on `device` as if that device existed (host data; internal field). */
function fakeOn(device: 'cuda:0' | 'cuda:1', values: number[]): Tensor {
  const x = R.t(values);
  x._device = device;
  return x;
}

const simulated = { built: true, available: true, devices: [{ name: 'Simulated GPU', memoryBytes: 2 ** 34, computeCapability: '9.0' }] };
afterEach(() => _setCudaInfoForTest(null));

describe('devices', () => {
  it('puts tensors on the CPU by default', () => {
    const x = R.t([1, 2, 3]);
    expect(x.device).toBe('cpu');
    expect(x.to('cpu')).toBe(x);
    expect(R.zeros([2]).device).toBe('cpu');
    expect(R.add(x, x).device).toBe('cpu');
    expect(R.t([1], { device: 'cpu' }).device).toBe('cpu');
  });

  it('names an unknown device', () => {
    for (const bad of ['gpu', 'cuda:-1', 'tpu', 'CUDA', 'cuda:01', 'cuda:', 'cpu:0', '', 3, null]) {
      const shown = typeof bad === 'string' ? `'${bad}'` : String(bad);
      expect(deviceError(() => R.t([1], { device: bad as never })).message).toContain(`unknown device ${shown}`);
      expect(deviceError(() => R.zeros([2], { device: bad as never })).message).toContain(`unknown device ${shown}`);
      expect(deviceError(() => R.t([1]).to(bad as never)).message).toContain(`unknown device ${shown}`);
    }
  });

  it('reports the CUDA backend as an object with a reason when it is unavailable', () => {
    expect(typeof cuda.built).toBe('boolean');
    expect(typeof cuda.available).toBe('boolean');
    expect(Array.isArray(cuda.devices)).toBe(true);
    if (cuda.available) {
      expect(cuda.reason).toBeUndefined();
      for (const d of cuda.devices) {
        expect(d.name.length).toBeGreaterThan(0);
        expect(d.memoryBytes).toBeGreaterThan(0);
        expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
      }
    } else {
      expect(cuda.reason).toMatch(REASONS);
      expect(cuda.devices).toEqual([]);
      if (!cuda.built) expect(cuda.reason).toMatch(/^ravdl was built without CUDA/);
    }
  });

  it.skipIf(cuda.available)('refuses CUDA where it is missing, saying why, and makes no tensor', () => {
    const src = R.t([1]);
    const before = R.memory().tensors;
    for (const dev of ['cuda', 'cuda:0', 'cuda:3'] as const) {
      const why = `is not available: ${cuda.reason!}`;
      expect(deviceError(() => R.t([1, 2], { device: dev })).message).toContain(why);
      expect(deviceError(() => R.ones([2, 2], { device: dev })).message).toContain(why);
      expect(deviceError(() => R.randn([3], { device: dev })).message).toContain(why);
      expect(deviceError(() => R.arange(4, undefined, 1, { device: dev })).message).toContain(why);
      expect(deviceError(() => src.to(dev)).message).toMatch(/^to\(\): CUDA device 'cuda:\d+' is not available: /);
    }
    expect(R.memory().tensors).toBe(before); // nothing was allocated
  });

  it.skipIf(!cuda.built)('says the CUDA library could not be loaded when it is missing', () => {
    const code = `const b = require('node-gyp-build')(${JSON.stringify(packageRoot)}); process.stdout.write(JSON.stringify(b.backendInfo().cuda));`;
    const r = spawnSync(process.execPath, ['-e', code], {
      cwd: packageRoot,
      env: { ...process.env, RAVDL_CUDA_LIB: '/nonexistent/libravdl_cuda.so' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as typeof cuda;
    expect(info.available).toBe(false);
    expect(info.built).toBe(true);
    expect(info.reason).toMatch(/^the CUDA runtime could not be loaded: \/nonexistent\/libravdl_cuda\.so: /);
  });

  it('rejects an op on inputs on two devices, naming the op and both devices', () => {
    const a = R.t([1, 2]);
    const b = fakeOn('cuda:0', [3, 4]);
    expect(deviceError(() => R.add(a, b)).message).toBe("add: inputs on different devices: 'a' on cpu, 'b' on cuda:0 (move them with .to(device))");
    expect(deviceError(() => R.matmul(R.t([[1, 2]]), fakeOn('cuda:1', [1, 2]).reshape([2, 1]))).message).toMatch(/^matmul: inputs on different devices: '\w+' on cpu, '\w+' on cuda:1/);
    expect(deviceError(() => R.concat([a, a, b])).message).toMatch(/^concat: inputs on different devices: '\w+\[0\]' on cpu, '\w+\[2\]' on cuda:0/);
    expect(deviceError(() => R.add(fakeOn('cuda:0', [1]), fakeOn('cuda:1', [1]))).message).toContain("on cuda:0, 'b' on cuda:1");
    // An in-place output (optimizer updates, the graph executor) must be on the inputs' device.
    const neg = getOp('neg');
    const target = fakeOn('cuda:0', [0, 0]);
    expect(deviceError(() => dispatchInto(neg, [a], parseAttrs('neg', neg.attrs, {}), [target])).message).toBe('neg: in-place output 0 is on cuda:0, the inputs on cpu');
    expect(target.toArray()).toEqual([0, 0]); // untouched
  });

  it('never computes an op of a CUDA tensor on the CPU; views keep the device', () => {
    const x = fakeOn('cuda:0', [1, -2, 3, 4]);
    expect(deviceError(() => R.relu(x)).message).toBe("relu: no kernel for device 'cuda:0' (move its inputs with .to('cpu'))");
    expect(deviceError(() => R.add(x, x)).message).toMatch(/^add: no kernel for device 'cuda:0'/);
    expect(deviceError(() => R.sum(x)).message).toMatch(/^sum: no kernel for device 'cuda:0'/);
    const v = x.reshape([2, 2]);
    expect(v.device).toBe('cuda:0');
    expect(v.toArray()).toEqual([[1, -2], [3, 4]]);
    expect(R.zeros_like(R.t([1])).device).toBe('cpu');
  });

  it('moves tensors and models when a device is reported (simulated report)', () => {
    _setCudaInfoForTest(simulated);
    const x = R.t([[1, 2], [3, 4]], { device: 'cuda' });
    expect(x.device).toBe('cuda:0');
    expect(String(x)).toContain("device='cuda:0'");
    expect(R.zeros([3], { device: 'cuda:0' }).device).toBe('cuda:0');
    expect(R.t(x).device).toBe('cuda:0'); // a copy keeps the device unless told otherwise
    expect(R.t(x, { device: 'cpu' }).device).toBe('cpu');
    const back = x.to('cpu');
    expect(back.device).toBe('cpu');
    expect(back.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(R.add(back, back).toArray()).toEqual([[2, 4], [6, 8]]);
    expect(deviceError(() => R.t([1], { device: 'cuda:1' })).message).toContain("no device 'cuda:1': this machine has 1 CUDA device(s)");
    expectCode(() => R.t([1], { requires_grad: true }).to('cuda'), 'ERR_GRAD');
    expect(R.no_grad(() => R.t([1], { requires_grad: true }).to('cuda')).device).toBe('cuda:0');

    const model = new NeuralNetwork(new Adam({ lr: 0.01 }), 'SquareLoss');
    model.add(new Dense(3, { input_shape: [2] }));
    const X = R.t([[1, 2], [3, 4]]);
    const Y = R.t([[1, 0, 0], [0, 1, 0]]);
    model.train_on_batch(X, Y);
    const params = model.state_tensors().map(([, t]) => t);
    const weights = params.map((p) => p.data());
    expect(model.to('cuda')).toBe(model);
    for (const p of params) expect(p.device).toBe('cuda:0');
    // The optimizer state (Adam's two buffers per param) moved too.
    const state = (model.optimizer as unknown as { state: Map<string, { bufs: Record<string, Tensor> }> }).state;
    const bufs = [...state.values()].flatMap((st) => Object.values(st.bufs));
    expect(bufs.length).toBe(2 * params.length);
    for (const b of bufs) expect(b.device).toBe('cuda:0');
    expect(params.map((p) => p.data())).toEqual(weights); // values unchanged by the move
    expect(deviceError(() => model.predict(X)).message).toMatch(/inputs on different devices: '\w+' on cpu, '\w+' on cuda:0/);
    model.to('cpu');
    for (const p of params) expect(p.device).toBe('cpu');
    for (const b of bufs) expect(b.device).toBe('cpu');
    model.train_on_batch(X, Y); // state and params on the CPU again
  });

  it('moves a Functional model and its optimizer state (simulated report)', () => {
    _setCudaInfoForTest(simulated);
    class Net extends Functional {
      d1 = new Dense(4);
      d2 = new Dense(2);
      constructor() {
        super();
        this.initialize_params(new Adam({ lr: 0.01 }));
      }
      _forward_pass_call(input: Tensor) {
        return this.d2._forward_pass(R.relu(this.d1._forward_pass(input)));
      }
    }
    const net = new Net();
    const X = R.t([[1, 2, 3], [4, 5, 6]]);
    net._backward_pass(R.square_loss(R.t([[1, 0], [0, 1]]), net._forward_pass(X)));
    const params = net.state_tensors().map(([, t]) => t);
    expect(params.length).toBe(4);
    const state = (net.optimizer as unknown as { state: Map<string, { bufs: Record<string, Tensor> }> }).state;
    const bufs = [...state.values()].flatMap((st) => Object.values(st.bufs));
    expect(bufs.length).toBe(8);
    expect(net.to('cuda:0')).toBe(net);
    for (const t of [...params, ...bufs]) expect(t.device).toBe('cuda:0');
    expect(deviceError(() => net._forward_pass(X)).message).toBe("Dense 'd1': matmul: inputs on different devices: 'a' on cpu, 'b' on cuda:0 (move them with .to(device))");
    net.to('cpu');
    for (const t of [...params, ...bufs]) expect(t.device).toBe('cpu');
    expect(net._forward_pass(X).shape).toEqual([2, 2]);
  });

  it.skipIf(cuda.available)('model.to() an unavailable or unknown device moves nothing', () => {
    const model = new NeuralNetwork(new Adam({ lr: 0.01 }), 'SquareLoss');
    model.add(new Dense(2, { input_shape: [2] }));
    expect(deviceError(() => model.to('cuda')).message).toMatch(/^NeuralNetwork\.to: CUDA device 'cuda:0' is not available: /);
    expect(deviceError(() => model.to('gpu' as never)).message).toContain("unknown device 'gpu'");
    for (const [, p] of model.state_tensors()) expect(p.device).toBe('cpu');
  });
});
