// Devices through the binding on a machine without a GPU: the default device, the parser,
// the CUDA report and its errors (never a silent CPU fallback), model.to() refused. The paths of
// a machine with GPUs run against the CUDA stand-in in test/device/cuda-mock.test.ts.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { deviceError } from '../helpers/fixtures.js';
import { packageRoot } from '../../lib/native/load.js';
import { NeuralNetwork } from '../../lib/v2/models/sequential.js';
import { Dense } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';

const REASONS = /^(ravdl was built without CUDA|the CUDA runtime could not be loaded: |no CUDA device \(cudaGetDeviceCount: )/;
const cuda = R.backendInfo().cuda;

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

  it.skipIf(cuda.available)('R.cuda says there is no device, and why, where CUDA is missing', () => {
    expect([R.cuda.is_available(), R.cuda.device_count()]).toEqual([false, 0]);
    for (const f of [() => R.cuda.synchronize(), () => R.cuda.empty_cache('cuda:0'), () => R.cuda.memory_cached()]) {
      expect(deviceError(f).message).toContain(`is not available: ${cuda.reason!}`);
    }
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

  it.skipIf(cuda.available)('model.to() an unavailable or unknown device moves nothing', () => {
    const model = new NeuralNetwork(new Adam({ lr: 0.01 }), 'SquareLoss');
    model.add(new Dense(2, { input_shape: [2] }));
    expect(deviceError(() => model.to('cuda')).message).toMatch(/^NeuralNetwork\.to: CUDA device 'cuda:0' is not available: /);
    expect(deviceError(() => model.to('gpu' as never)).message).toContain("unknown device 'gpu'");
    for (const [, p] of model.state_tensors()) expect(p.device).toBe('cpu');
  });
});
