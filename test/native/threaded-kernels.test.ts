// Values at sizes that split across the pool: every kernel that divides its work between
// threads (normalization, convolution, pooling, elementwise, embedding, optimizers, GEMM/GEMV,
// copies) is checked against a float64 loop with 2 threads, so a split that is dropped,
// duplicated or misplaced fails even though both thread counts would agree.
// (Reductions, softmax and losses: threaded-reduce.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, getNumThreads, native, setNumThreads } from '../../lib/index.js';
import { expectNear, lcg, numel, strides } from '../helpers/reference.js';
import { kernels } from '../helpers/kernels.js';

const nat = kernels();
beforeAll(() => {
  setNumThreads(2);
  expect(getNumThreads()).toBe(2);
});
afterAll(() => setNumThreads(0));

describe('normalization', () => {
  it('batch_norm training forward and backward on [8, 64, 16, 16] (channels split 16 at a time, rows 128)', () => {
    const [N, C, S] = [8, 64, 256];
    const shape = [N, C, 16, 16];
    const n = N * C * S;
    const x = lcg(n, 1, -2, 3);
    const gamma = lcg(C, 2, 0.5, 1.5);
    const beta = lcg(C, 3);
    const gy = lcg(n, 4);
    const rm0 = lcg(C, 5);
    const rv0 = lcg(C, 6, 0.5, 2);
    const [eps, mom] = [1e-5, 0.1];
    const mean = new Float64Array(C);
    const varb = new Float64Array(C);
    for (let i = 0; i < n; i++) mean[Math.floor(i / S) % C]! += x[i]! / (N * S);
    for (let i = 0; i < n; i++) varb[Math.floor(i / S) % C]! += (x[i]! - mean[Math.floor(i / S) % C]!) ** 2 / (N * S);
    const inv = varb.map((v) => 1 / Math.sqrt(v + eps));
    const wantY = new Float64Array(n);
    const sdy = new Float64Array(C);
    const sdyx = new Float64Array(C);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / S) % C;
      const xh = (x[i]! - mean[c]!) * inv[c]!;
      wantY[i] = xh * gamma[c]! + beta[c]!;
      sdy[c]! += gy[i]!;
      sdyx[c]! += gy[i]! * xh;
    }
    const wantGx = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / S) % C;
      const xh = (x[i]! - mean[c]!) * inv[c]!;
      wantGx[i] = gamma[c]! * inv[c]! * (gy[i]! - sdy[c]! / (N * S) - (xh * sdyx[c]!) / (N * S));
    }
    const y = new Float32Array(n);
    const rm = rm0.slice();
    const rv = rv0.slice();
    const sm = new Float32Array(C);
    const si = new Float32Array(C);
    nat.batch_norm(x, shape, gamma, beta, rm, rv, y, sm, si, { training: true, momentum: mom, eps });
    expectNear(y, wantY, 1e-5, 1e-5, 'y');
    expectNear(rm, Array.from(mean, (m, c) => (1 - mom) * rm0[c]! + mom * m), 1e-5, 1e-6, 'running_mean');
    expectNear(rv, Array.from(varb, (v, c) => (1 - mom) * rv0[c]! + (mom * v * N * S) / (N * S - 1)), 1e-5, 1e-6, 'running_var');
    const gx = new Float32Array(n);
    const gg = new Float32Array(C);
    const gb = new Float32Array(C);
    nat.batch_norm_backward(gy, x, shape, gamma, sm, si, gx, gg, gb, { training: true });
    expectNear(gx, wantGx, 1e-4, 1e-5, 'grad_x');
    expectNear(gg, sdyx, 1e-4, 1e-4, 'grad_gamma');
    expectNear(gb, sdy, 1e-5, 1e-4, 'grad_beta');
  });

  it('layer_norm forward and backward on [512, 256] (rows split 128 at a time, weight gradient columns 64)', () => {
    const [m, d] = [512, 256];
    const x = lcg(m * d, 7, -2, 2);
    const w = lcg(d, 8, 0.5, 1.5);
    const b = lcg(d, 9);
    const gy = lcg(m * d, 10);
    const eps = 1e-5;
    const wantY = new Float64Array(m * d);
    const wantGx = new Float64Array(m * d);
    const gw = new Float64Array(d);
    const gb = new Float64Array(d);
    for (let i = 0; i < m; i++) {
      let mu = 0;
      for (let j = 0; j < d; j++) mu += x[i * d + j]! / d;
      let v = 0;
      for (let j = 0; j < d; j++) v += (x[i * d + j]! - mu) ** 2 / d;
      const rs = 1 / Math.sqrt(v + eps);
      let s1 = 0;
      let s2 = 0;
      for (let j = 0; j < d; j++) {
        const p = i * d + j;
        const xh = (x[p]! - mu) * rs;
        wantY[p] = xh * w[j]! + b[j]!;
        gw[j]! += gy[p]! * xh;
        gb[j]! += gy[p]!;
        s1 += gy[p]! * w[j]!;
        s2 += gy[p]! * w[j]! * xh;
      }
      for (let j = 0; j < d; j++) {
        const p = i * d + j;
        wantGx[p] = rs * (gy[p]! * w[j]! - s1 / d - (x[p]! - mu) * rs * (s2 / d));
      }
    }
    const y = new Float32Array(m * d);
    const mean = new Float32Array(m);
    const rstd = new Float32Array(m);
    nat.layer_norm(x, [m, d], [d], w, b, y, mean, rstd, eps);
    expectNear(y, wantY, 1e-5, 1e-5, 'y');
    const gx = new Float32Array(m * d);
    const gwo = new Float32Array(d);
    const gbo = new Float32Array(d);
    nat.layer_norm_backward(gy, x, [m, d], [d], mean, rstd, w, gx, gwo, gbo);
    expectNear(gx, wantGx, 1e-4, 1e-5, 'grad_x');
    expectNear(gwo, gw, 1e-4, 1e-4, 'grad_weight');
    expectNear(gbo, gb, 1e-5, 1e-4, 'grad_bias');
  });
});

describe('conv2d forward, input and weight gradients (samples split into 2 tasks)', () => {
  // torch's definition with the padding modes' index rules, in float64.
  function reference(xs: number[], ws: number[], x: Float32Array, w: Float32Array, gy: Float32Array, a: { stride: number; padding: number; dilation: number; groups: number; mode: string }) {
    const [N, C, H, W] = xs as [number, number, number, number];
    const [Co, Cg, KH, KW] = ws as [number, number, number, number];
    const { stride: s, padding: p, dilation: dl, groups: G, mode } = a;
    const OH = Math.floor((H + 2 * p - dl * (KH - 1) - 1) / s) + 1;
    const OW = Math.floor((W + 2 * p - dl * (KW - 1) - 1) / s) + 1;
    const src = (i: number, n: number): number => {
      if (i >= 0 && i < n) return i;
      if (mode === 'zeros') return -1;
      if (mode === 'reflect') return i < 0 ? -i : 2 * (n - 1) - i;
      if (mode === 'replicate') return i < 0 ? 0 : n - 1;
      return ((i % n) + n) % n;
    };
    const y = new Float64Array(N * Co * OH * OW);
    const gx = new Float64Array(x.length);
    const gw = new Float64Array(w.length);
    const Og = Co / G;
    for (let n = 0; n < N; n++)
      for (let o = 0; o < Co; o++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            const yi = ((n * Co + o) * OH + oh) * OW + ow;
            let acc = 0;
            for (let ci = 0; ci < Cg; ci++)
              for (let kh = 0; kh < KH; kh++)
                for (let kw = 0; kw < KW; kw++) {
                  const ih = src(oh * s + kh * dl - p, H);
                  const iw = src(ow * s + kw * dl - p, W);
                  if (ih < 0 || iw < 0) continue;
                  const xi = ((n * C + Math.floor(o / Og) * Cg + ci) * H + ih) * W + iw;
                  const wi = ((o * Cg + ci) * KH + kh) * KW + kw;
                  acc += w[wi]! * x[xi]!;
                  gx[xi]! += gy[yi]! * w[wi]!;
                  gw[wi]! += gy[yi]! * x[xi]!;
                }
            y[yi] = acc;
          }
    return { y, gx, gw, ys: [N, Co, OH, OW] };
  }
  const cases = [
    { name: 'Winograd 3x3, 8 -> 16 channels', xs: [8, 8, 16, 16], ws: [16, 8, 3, 3], a: { stride: 1, padding: 1, dilation: 1, groups: 1, mode: 'zeros' } },
    { name: 'Winograd with reflect padding', xs: [8, 8, 15, 13], ws: [16, 8, 3, 3], a: { stride: 1, padding: 2, dilation: 1, groups: 1, mode: 'reflect' } },
    { name: 'im2col: grouped, dilated, circular padding', xs: [8, 8, 20, 20], ws: [12, 4, 3, 3], a: { stride: 1, padding: 2, dilation: 2, groups: 2, mode: 'circular' } },
    { name: 'im2col: strided 5x5', xs: [8, 3, 33, 33], ws: [24, 3, 5, 5], a: { stride: 2, padding: 2, dilation: 1, groups: 1, mode: 'zeros' } },
    { name: '1x1 direct', xs: [8, 32, 16, 16], ws: [32, 32, 1, 1], a: { stride: 1, padding: 0, dilation: 1, groups: 1, mode: 'zeros' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const x = lcg(numel(c.xs), 11);
      const w = lcg(numel(c.ws), 12);
      const attrs = { stride: c.a.stride, padding: c.a.padding, dilation: c.a.dilation, groups: c.a.groups, padding_mode: c.a.mode as 'zeros' };
      const ys = nat.conv2d_shape(c.xs, c.ws, attrs);
      const gy = lcg(numel(ys), 13);
      const r = reference(c.xs, c.ws, x, w, gy, c.a);
      expect(ys).toEqual(r.ys);
      const y = new Float32Array(numel(ys));
      const gx = new Float32Array(x.length);
      const gw = new Float32Array(w.length);
      nat.conv2d(x, c.xs, w, c.ws, null, y, attrs);
      nat.conv2d_backward_input(gy, ys, w, c.ws, gx, c.xs, attrs);
      nat.conv2d_backward_weight(gy, ys, x, c.xs, gw, c.ws, attrs);
      expectNear(y, r.y, 1e-4, 1e-4, 'y');
      expectNear(gx, r.gx, 1e-4, 1e-4, 'grad_x');
      expectNear(gw, r.gw, 1e-4, 1e-3, 'grad_w');
      const gb = new Float32Array(c.ws[0]!);
      nat.conv2d_backward_bias(gy, ys, gb);
      const wantGb = new Float64Array(c.ws[0]!);
      const P = ys[2]! * ys[3]!;
      gy.forEach((v, i) => (wantGb[Math.floor(i / P) % c.ws[0]!]! += v));
      expectNear(gb, wantGb, 1e-5, 1e-4, 'grad_bias');
    });
  }
});

describe('maxpool2d forward and backward (planes split)', () => {
  for (const [name, attrs] of [
    ['2x2 fast path', { kernel_size: 2 }],
    ['3x3 stride 2 padding 1, dilated', { kernel_size: 3, stride: 2, padding: 1, dilation: 2 }],
  ] as const) {
    it(`${name} on [8, 16, 32, 32]`, () => {
      const xs = [8, 16, 32, 32];
      const x = lcg(numel(xs), 14);
      const k = attrs.kernel_size;
      const s = 'stride' in attrs ? attrs.stride : k;
      const p = 'padding' in attrs ? attrs.padding : 0;
      const d = 'dilation' in attrs ? attrs.dilation : 1;
      const OH = Math.floor((32 + 2 * p - d * (k - 1) - 1) / s) + 1;
      const ys = nat.maxpool2d_shape(xs, attrs);
      expect(ys).toEqual([8, 16, OH, OH]);
      const want = new Float64Array(numel(ys));
      const wantIdx = new Int32Array(numel(ys));
      for (let pl = 0; pl < 128; pl++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OH; ow++) {
            let best = -Infinity;
            let at = -1;
            for (let i = 0; i < k; i++)
              for (let j = 0; j < k; j++) {
                const ih = oh * s - p + i * d;
                const iw = ow * s - p + j * d;
                if (ih < 0 || ih >= 32 || iw < 0 || iw >= 32) continue;
                const v = x[pl * 1024 + ih * 32 + iw]!;
                if (v > best) {
                  best = v;
                  at = ih * 32 + iw;
                }
              }
            want[(pl * OH + oh) * OH + ow] = best;
            wantIdx[(pl * OH + oh) * OH + ow] = at;
          }
      const y = new Float32Array(numel(ys));
      const idx = new Int32Array(numel(ys));
      nat.maxpool2d(x, xs, y, idx, attrs);
      expectNear(y, want, 0, 0, 'y');
      expect(Array.from(idx)).toEqual(Array.from(wantIdx));
      const gy = lcg(numel(ys), 15);
      const wantGx = new Float64Array(x.length);
      for (let i = 0; i < gy.length; i++) wantGx[Math.floor(i / (OH * OH)) * 1024 + wantIdx[i]!]! += gy[i]!;
      const gx = new Float32Array(x.length);
      nat.maxpool2d_backward(gy, ys, idx, gx, xs);
      expectNear(gx, wantGx, 1e-6, 1e-6, 'grad_x');
    });
  }
});

describe('elementwise ops over 300,000 values (chunks of 32,768)', () => {
  const n = 300_000;
  const a = lcg(n, 16, -3, 3);
  const g = lcg(n, 17);
  it('unary forward and backward (sigmoid, tanh, exp, relu, pow_scalar)', () => {
    const checks: [string, (v: number) => number, (v: number, y: number) => number, boolean][] = [
      ['sigmoid', (v) => 1 / (1 + Math.exp(-v)), (_v, y) => y * (1 - y), true],
      ['tanh', Math.tanh, (_v, y) => 1 - y * y, true],
      ['exp', Math.exp, (_v, y) => y, true],
      ['relu', (v) => Math.max(v, 0), (v) => (v > 0 ? 1 : 0), false],
    ];
    const call = nat as unknown as Record<string, (...args: unknown[]) => void>;
    for (const [op, f, df, fromY] of checks) {
      const y = new Float32Array(n);
      const gx = new Float32Array(n);
      call[op]!(a, y);
      call[`${op}_backward`]!(fromY ? y : a, g, gx);
      expectNear(y, Array.from(a, f), 1e-5, 1e-6, op);
      expectNear(gx, Array.from(a, (v, i) => g[i]! * df(v, y[i]!)), 1e-5, 1e-6, `${op} backward`);
    }
    const y = new Float32Array(n);
    nat.pow_scalar(a, y, 3);
    expectNear(y, Array.from(a, (v) => v ** 3), 1e-5, 1e-6, 'pow_scalar');
  });
  it('binary ops: same shape, row broadcast, column broadcast and general broadcast', () => {
    const b = lcg(n, 18, 0.5, 2);
    const cases: [number[], number[], number[]][] = [
      [[n], [n], [n]],
      [[600, 500], [500], [600, 500]],
      [[600, 500], [600, 1], [600, 500]],
      [[60, 1, 500], [1, 10, 500], [60, 10, 500]],
    ];
    for (const [as, bs, os] of cases) {
      const av = a.subarray(0, numel(as));
      const bv = b.subarray(0, numel(bs));
      const ost = strides(os);
      const idx = (s: number[], i: number) => {
        const off = os.length - s.length;
        const st = strides(s);
        let r = 0;
        for (let d = 0; d < s.length; d++) if (s[d] !== 1) r += (Math.floor(i / ost[d + off]!) % os[d + off]!) * st[d]!;
        return r;
      };
      const want = { add: new Float64Array(numel(os)), mul: new Float64Array(numel(os)), div: new Float64Array(numel(os)) };
      for (let i = 0; i < numel(os); i++) {
        const x = av[idx(as, i)]!;
        const y = bv[idx(bs, i)]!;
        want.add[i] = x + y;
        want.mul[i] = x * y;
        want.div[i] = x / y;
      }
      for (const op of ['add', 'mul', 'div'] as const) {
        const out = new Float32Array(numel(os));
        nat[op](av, as, bv, bs, out);
        expectNear(out, want[op], 1e-6, 1e-6, `${op} ${JSON.stringify(as)} ${JSON.stringify(bs)}`);
      }
    }
  });
  it('where and broadcast_to with broadcast operands', () => {
    const cond = lcg(600, 19).map((v) => (v > 0 ? 1 : 0));
    const b = lcg(500, 20);
    const out = new Float32Array(n);
    nat.where(cond, [600, 1], a, [600, 500], b, [500], out);
    expectNear(out, Array.from(out, (_, i) => (cond[Math.floor(i / 500)] ? a[i]! : b[i % 500]!)), 0, 0, 'where');
    const bt = new Float32Array(n);
    nat.broadcast_to(b, [500], [600, 500], bt);
    expectNear(bt, Array.from(bt, (_, i) => b[i % 500]!), 0, 0, 'broadcast_to');
  });
});

describe('embedding (ids split 256 at a time) and its backward (column blocks split)', () => {
  it('4096 ids into a [2000, 64] table, repeated ids accumulating', () => {
    const [V, D, n] = [2000, 64, 4096];
    const w = lcg(V * D, 21);
    const ids = Int32Array.from(lcg(n, 22, 0, 50), Math.floor); // many repeats
    const out = new Float32Array(n * D);
    nat.embedding(w, [V, D], ids, out);
    expectNear(out, Array.from(out, (_, i) => w[ids[Math.floor(i / D)]! * D + (i % D)]!), 0, 0, 'embedding');
    const gy = lcg(n * D, 23);
    const want = new Float64Array(V * D);
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) want[ids[i]! * D + j]! += gy[i * D + j]!;
    const gw = new Float32Array(V * D).fill(7);
    nat.embedding_backward(gy, ids, V, D, null, gw);
    expectNear(gw, want, 1e-5, 1e-5, 'embedding_backward');
  });
});

describe('optimizer steps over 100,000 parameters (chunks of 8192)', () => {
  const n = 100_000;
  const p0 = lcg(n, 24);
  const g = lcg(n, 25);
  const m0 = lcg(n, 26, -0.1, 0.1);
  const v0 = lcg(n, 27, 0, 0.1);
  it('Adam (AMSGrad, coupled weight decay) and AdamW', () => {
    for (const decoupled of [false, true]) {
      const [lr, b1, b2, eps, wd, step] = [1e-2, 0.9, 0.999, 1e-8, 0.05, 3];
      const p = p0.slice();
      const m = m0.slice();
      const v = v0.slice();
      const vmax = v0.map((x) => x * 1.5);
      const want = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let pi = p0[i]!;
        let gi = g[i]!;
        if (decoupled) pi *= 1 - lr * wd;
        else gi += wd * pi;
        const mi = b1 * m0[i]! + (1 - b1) * gi;
        const vi = b2 * v0[i]! + (1 - b2) * gi * gi;
        const vm = Math.max(v0[i]! * 1.5, vi);
        want[i] = pi - (lr / (1 - b1 ** step)) * (mi / (Math.sqrt(vm) / Math.sqrt(1 - b2 ** step) + eps));
      }
      nat.adam_step(p, g, m, v, vmax, step, { lr, beta1: b1, beta2: b2, eps, weight_decay: wd, amsgrad: true, decoupled_weight_decay: decoupled });
      expectNear(p, want, 1e-5, 1e-6, decoupled ? 'AdamW' : 'Adam');
    }
  });
  it('RMSprop (centered, momentum) and SGD (Nesterov)', () => {
    const [lr, alpha, eps, mom] = [1e-2, 0.99, 1e-8, 0.9];
    const p = p0.slice();
    const sq = v0.slice();
    const buf = m0.slice();
    const gavg = m0.map((x) => x / 2);
    const want = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = alpha * v0[i]! + (1 - alpha) * g[i]! ** 2;
      const ga = alpha * (m0[i]! / 2) + (1 - alpha) * g[i]!;
      const avg = Math.sqrt(s - ga * ga) + eps;
      want[i] = p0[i]! - lr * (mom * m0[i]! + g[i]! / avg);
    }
    nat.rmsprop_step(p, g, sq, buf, gavg, { lr, alpha, eps, momentum: mom, centered: true });
    expectNear(p, want, 1e-4, 1e-5, 'RMSprop');

    const ps = p0.slice();
    const sb = m0.slice();
    nat.sgd_step(ps, g, sb, 2, { lr, momentum: mom, nesterov: true, weight_decay: 0.01 });
    const wantS = Array.from(p0, (pi, i) => {
      const gi = g[i]! + 0.01 * pi;
      const b = mom * m0[i]! + gi;
      return pi - lr * (gi + mom * b);
    });
    expectNear(ps, wantS, 1e-5, 1e-6, 'SGD');
  });
});

describe('GEMM and GEMV split across 2 threads', () => {
  const backends = backendInfo().blas === 'none' ? (['builtin'] as const) : (['builtin', 'blas'] as const);
  function ref(ta: boolean, tb: boolean, M: number, N: number, K: number, A: Float32Array, B: Float32Array): Float64Array {
    const C = new Float64Array(M * N);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (ta ? A[k * M + i]! : A[i * K + k]!) * (tb ? B[j * K + k]! : B[k * N + j]!);
        C[i * N + j] = s;
      }
    return C;
  }
  // [96 x 150] @ [150 x 200] splits N, [300 x 200] @ [200 x 40] splits M (each > 4 MFLOP);
  // one row (GEMV) of 300 x 5000 splits its columns.
  const shapes: [number, number, number][] = [
    [96, 200, 150],
    [300, 40, 200],
    [1, 5000, 300],
  ];
  for (const backend of backends)
    for (const [M, N, K] of shapes)
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        it(`${backend}: ${M} x ${N} x ${K}${ta ? ', A transposed' : ''}${tb ? ', B transposed' : ''}`, () => {
          const A = lcg(M * K, 28);
          const B = lcg(K * N, 29);
          const C = lcg(M * N, 30);
          const want = ref(ta, tb, M, N, K, A, B).map((v, i) => 0.5 * v + 2 * C[i]!);
          nat.gemm(ta, tb, M, N, K, 0.5, A, ta ? M : K, B, tb ? K : N, 2, C, N, backend);
          expectNear(C, want, 1e-5, 1e-4, 'C');
        });
      }
  it('batched matmul of many small matrices (batches split)', () => {
    const [b, m, k, n] = [512, 8, 16, 12];
    const A = lcg(b * m * k, 31);
    const B = lcg(b * k * n, 32);
    const out = new Float32Array(b * m * n);
    nat.matmul(A, [b, m, k], B, [b, k, n], out);
    const want = new Float64Array(b * m * n);
    for (let q = 0; q < b; q++) want.set(ref(false, false, m, n, k, A.subarray(q * m * k), B.subarray(q * k * n)), q * m * n);
    expectNear(out, want, 1e-5, 1e-5, 'matmul');
  });
});

describe('copies split across 2 threads', () => {
  it('pad and pad_backward of [64, 64, 64] (rows split), reflect with a crop', () => {
    const xs = [64, 64, 64];
    const x = lcg(numel(xs), 33);
    const pads = [2, -1, 3, 2];
    const ys = nat.pad_shape(xs, pads, 'reflect');
    expect(ys).toEqual([64, 65, 69]);
    const src = (o: number, before: number, n: number) => {
      const i = o - before;
      return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
    };
    const want = new Float64Array(numel(ys));
    const gy = lcg(numel(ys), 34);
    const wantGx = new Float64Array(x.length);
    for (let a = 0; a < 64; a++)
      for (let i = 0; i < 65; i++)
        for (let j = 0; j < 69; j++) {
          const xi = (a * 64 + src(i, 2, 64)) * 64 + src(j, 3, 64);
          const yi = (a * 65 + i) * 69 + j;
          want[yi] = x[xi]!;
          wantGx[xi]! += gy[yi]!;
        }
    const y = new Float32Array(numel(ys));
    nat.pad(x, xs, pads, 'reflect', 0, y);
    expectNear(y, want, 0, 0, 'pad');
    const gx = new Float32Array(x.length);
    nat.pad_backward(gy, ys, pads, 'reflect', gx);
    expectNear(gx, wantGx, 1e-6, 1e-6, 'pad_backward');
  });
  it('permute of [60, 70, 80] and concat of two [60, 70, 80] along axis 1', () => {
    const xs = [60, 70, 80];
    const x = lcg(numel(xs), 35);
    const out = new Float32Array(x.length);
    nat.permute(x, xs, [2, 0, 1], out);
    const want = new Float32Array(x.length);
    for (let i = 0; i < 60; i++) for (let j = 0; j < 70; j++) for (let k = 0; k < 80; k++) want[(k * 60 + i) * 70 + j] = x[(i * 70 + j) * 80 + k]!;
    expectNear(out, want, 0, 0, 'permute');
    const y = lcg(numel(xs), 36);
    const cat = new Float32Array(2 * x.length);
    nat.concat([x, y], [xs, xs], 1, cat);
    const wantCat = new Float32Array(cat.length);
    for (let i = 0; i < 60; i++) {
      wantCat.set(x.subarray(i * 5600, (i + 1) * 5600), i * 11200);
      wantCat.set(y.subarray(i * 5600, (i + 1) * 5600), i * 11200 + 5600);
    }
    expectNear(cat, wantCat, 0, 0, 'concat');
  });
});
