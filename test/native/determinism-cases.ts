// Calls of every kernel of the binding at sizes where the pool splits the work (>= ~1e5
// elements, or enough flops for the GEMM/conv task splits), for the determinism test: the same
// call at any thread count must give the same bits. Each case builds fresh arguments (inputs from
// a fixed LCG, zeroed outputs), so in-place kernels (optimizers) start from the same state.
import { lcg } from '../helpers/reference.js';
import { runOp, type tensorArg } from '../helpers/kernels.js';

type KT = ReturnType<typeof tensorArg>;
/** A tensor argument of an 'op:<name>' case. */
const t = (data: Float32Array | Int32Array, shape: number[]): KT => ({ _native: data, shape });

export interface DetCase {
  /** A function of test/helpers/kernels.ts' kernels() (the binding's, or a former binding function
   * now running through runKernel), or 'op:<name>': the catalog op's kernel through runKernel,
   * with make() giving [inputs, outputs, attrs]. */
  fn: string;
  label: string;
  /** The kernel runs GEMMs: checked with each GEMM backend. */
  gemm?: boolean;
  make: () => unknown[];
}

const f = (n: number, seed: number, lo = -1, hi = 1) => lcg(n, seed, lo, hi);
const z = (n: number) => new Float32Array(n);
const ids = (n: number, seed: number, hi: number) => Int32Array.from(lcg(n, seed, 0, hi), (v) => Math.floor(v));
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
// Odd sizes, so chunk boundaries fall inside SIMD blocks at some thread counts.
const E = 300_007;

const cases: DetCase[] = [];
const add = (fn: string, label: string, make: () => unknown[], gemm = false) => cases.push({ fn, label, gemm, make });

// ---- unary ops and their derivatives: name -> [params, input range]
const UNARY: Record<string, [number[], number, number]> = {
  relu: [[], -3, 3], sigmoid: [[], -8, 8], tanh: [[], -4, 4], leaky_relu: [[0.02], -3, 3], elu: [[0.7], -3, 3],
  selu: [[], -3, 3], softplus: [[1.5, 10], -15, 15], softsign: [[], -3, 3], tanhshrink: [[], -3, 3],
  logsigmoid: [[], -20, 20], hardshrink: [[0.4], -2, 2], hardtanh: [[-0.7, 0.8], -2, 2],
  softshrink: [[0.3], -2, 2], threshold: [[0.2, -1.5], -2, 2], exp: [[], -10, 10], log: [[], 0.01, 50],
  sqrt: [[], 0, 50], abs: [[], -3, 3], sign: [[], -3, 3], neg: [[], -3, 3], pow_scalar: [[1.7], 0, 4],
  clip: [[-0.5, 0.6], -2, 2], logical_not: [[], -1, 1],
};
for (const [name, [params, lo, hi]] of Object.entries(UNARY)) {
  add(name, `${E}`, () => [f(E, 1, lo, hi), z(E), ...params]);
  if (name !== 'logical_not' && name !== 'sign') add(`${name}_backward`, `${E}`, () => [f(E, 2, lo, hi), f(E, 3), z(E), ...params]);
}

// ---- binary ops: equal shapes (flat path) for some, broadcasting for the others
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logical_and', 'logical_or', 'logical_xor'];
BINARY.forEach((name, k) => {
  const lo = name === 'pow' ? 0.1 : -2;
  // Few distinct values, so the comparisons and logical ops see equal operands and zeros too.
  const q = (a: Float32Array) => (name === 'pow' ? a : a.map((v) => Math.round(v * 2) / 2));
  if (k % 2 === 0) add(name, `[${E}] (flat)`, () => [q(f(E, 4, lo, 2)), [E], q(f(E, 5, lo, 2)), [E], z(E)]);
  else add(name, '[300, 1] with [1, 1001] (broadcast)', () => [q(f(300, 4, lo, 2)), [300, 1], q(f(1001, 5, lo, 2)), [1, 1001], z(300 * 1001)]);
});
add('where', '[300, 1, 1001] (u8 cond, broadcast a)', () => [
  Uint8Array.from(f(300 * 1001, 6), (v) => (v > 0 ? 1 : 0)), [300, 1, 1001], f(1001, 7), [1001], f(300 * 1001, 8), [300, 1, 1001], z(300 * 1001),
]);
add('broadcast_to', '[1, 700] -> [500, 700]', () => [f(700, 9), [1, 700], [500, 700], z(350_000)]);
add('sum_to', '[500, 700] -> [1, 700]', () => [f(350_000, 10), [500, 700], [1, 700], z(700)]);
add('sum_to', '[500, 700] -> [500, 1]', () => [f(350_000, 10), [500, 700], [500, 1], z(500)]);

// ---- reductions over every layout of the reduction kernel (see threaded-reduce.test.ts)
const RS = [4, 300, 1000];
const RN = numel(RS);
const AXES: (number[] | null)[] = [[2], [1], [0], [0, 1], [0, 2], [1, 2], null];
const outLen = (axes: number[] | null) => (axes === null ? 1 : numel(RS.filter((_, i) => !axes.includes(i))));
for (const op of ['sum', 'mean', 'var', 'std', 'max', 'min', 'prod']) {
  for (const axes of op === 'sum' || op === 'var' ? AXES : [[2], [1], [1, 2], null]) {
    const [lo, hi] = op === 'prod' ? [0.99, 1.01] : [-1, 1];
    const extra = op === 'var' || op === 'std' ? [1] : [];
    add(op, `[4, 300, 1000] axes ${JSON.stringify(axes)}`, () => [f(RN, 11, lo, hi), RS, z(outLen(axes)), axes, false, ...extra]);
  }
}
for (const op of ['argmax', 'argmin']) {
  for (const axis of [2, 1, 0]) {
    add(op, `[4, 300, 1000] axis ${axis}`, () => [f(RN, 12), RS, new Int32Array(RN / RS[axis]!), axis, false]);
  }
  add(op, '[4, 300, 1000] flat', () => [f(RN, 12), RS, new Int32Array(1), null, false]);
}

// ---- softmax family: rows (inner 1) and tiles (inner > 1)
for (const name of ['softmax', 'log_softmax', 'softmin']) {
  const rows = [512, 1000];
  const tiles = [16, 300, 200];
  add(name, '[512, 1000] axis 1', () => [f(numel(rows), 13, -5, 5), rows, 1, z(numel(rows))]);
  add(name, '[16, 300, 200] axis 1', () => [f(numel(tiles), 13, -5, 5), tiles, 1, z(numel(tiles))]);
  add(`${name}_backward`, '[512, 1000] axis 1', () => [f(numel(rows), 14, 0, 0.01), f(numel(rows), 15), rows, 1, z(numel(rows))]);
  add(`${name}_backward`, '[16, 300, 200] axis 1', () => [f(numel(tiles), 14, 0, 0.01), f(numel(tiles), 15), tiles, 1, z(numel(tiles))]);
}

// ---- losses
const CE = { reduction: 'mean', ignore_index: 3, label_smoothing: 0.1 };
add('cross_entropy', '[4096, 100] index targets, mean', () => [f(409_600, 16, -4, 4), [4096, 100], ids(4096, 17, 100), f(100, 18, 0.5, 1.5), z(1), CE]);
add('cross_entropy', '[8, 10, 64, 64] spatial, none', () => [f(327_680, 16, -4, 4), [8, 10, 64, 64], ids(32_768, 17, 10), null, z(32_768), { ...CE, reduction: 'none' }]);
add('cross_entropy', '[4096, 100] probability targets, sum', () => [f(409_600, 16, -4, 4), [4096, 100], f(409_600, 19, 0, 0.02), null, z(1), { ...CE, reduction: 'sum' }]);
add('cross_entropy_backward', '[4096, 100] index targets, mean', () => [f(409_600, 16, -4, 4), [4096, 100], ids(4096, 17, 100), f(100, 18, 0.5, 1.5), Float32Array.of(0.7), z(409_600), CE]);
add('cross_entropy_backward', '[8, 10, 64, 64] spatial, none', () => [f(327_680, 16, -4, 4), [8, 10, 64, 64], ids(32_768, 17, 10), null, f(32_768, 20), z(327_680), { ...CE, reduction: 'none' }]);
add('cross_entropy_backward', '[4096, 100] probability targets, sum', () => [f(409_600, 16, -4, 4), [4096, 100], f(409_600, 19, 0, 0.02), null, Float32Array.of(1.3), z(409_600), { ...CE, reduction: 'sum' }]);
add('mse_loss', `[${E}] mean`, () => [f(E, 21), f(E, 22), z(1), 'mean']);
add('mse_loss', `[${E}] none`, () => [f(E, 21), f(E, 22), z(E), 'none']);
add('mse_loss_backward', `[${E}] mean`, () => [f(E, 21), f(E, 22), Float32Array.of(0.9), z(E), z(E), 'mean']);

// ---- normalization
const BN = [16, 64, 32, 32];
const BNn = numel(BN);
add('batch_norm', '[16, 64, 32, 32] training', () => [f(BNn, 23, -2, 3), BN, f(64, 24, 0.5, 1.5), f(64, 25), f(64, 26), f(64, 27, 0.5, 2), z(BNn), z(64), z(64), { training: true, momentum: 0.1, eps: 1e-5 }]);
add('batch_norm', '[4096, 256] training', () => [f(1_048_576, 23, -2, 3), [4096, 256], null, null, null, null, z(1_048_576), z(256), z(256), { training: true, momentum: 0.1, eps: 1e-5 }]);
add('batch_norm_backward', '[16, 64, 32, 32] training', () => [f(BNn, 28), f(BNn, 23, -2, 3), BN, f(64, 24, 0.5, 1.5), f(64, 29), f(64, 30, 0.5, 2), z(BNn), z(64), z(64), { training: true }]);
const LN = [2048, 256];
add('layer_norm', '[2048, 256] over [256]', () => [f(524_288, 31, -2, 2), LN, [256], f(256, 32, 0.5, 1.5), f(256, 33), z(524_288), z(2048), z(2048), 1e-5]);
add('layer_norm_backward', '[2048, 256] over [256]', () => [f(524_288, 34), f(524_288, 31, -2, 2), LN, [256], f(2048, 35), f(2048, 36, 0.5, 2), f(256, 32, 0.5, 1.5), z(524_288), z(256), z(256)]);

// ---- embedding (ids repeat, so the gradient adds several rows into one)
add('embedding', '[5000, 64] x 20000 ids', () => [f(320_000, 37), [5000, 64], ids(20_000, 38, 5000), z(1_280_000)]);
add('embedding_backward', '[5000, 64] x 20000 ids, padding 7', () => [f(1_280_000, 39), ids(20_000, 38, 5000), 5000, 64, 7, z(320_000)]);

// ---- optimizers (in place)
const OPT = 300_007;
add('adam_step', `[${OPT}] amsgrad, weight decay`, () => [f(OPT, 40), f(OPT, 41), f(OPT, 42, -0.1, 0.1), f(OPT, 43, 0, 0.01), f(OPT, 44, 0, 0.02), 5, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, amsgrad: true, decoupled_weight_decay: true, maximize: false }]);
add('rmsprop_step', `[${OPT}] centered, momentum`, () => [f(OPT, 40), f(OPT, 41), f(OPT, 43, 0, 0.01), f(OPT, 42, -0.1, 0.1), f(OPT, 45, -0.01, 0.01), { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0.01, momentum: 0.9, centered: true }]);
add('sgd_step', `[${OPT}] nesterov`, () => [f(OPT, 40), f(OPT, 41), f(OPT, 42, -0.1, 0.1), 3, { lr: 0.05, momentum: 0.9, dampening: 0, weight_decay: 0.01, nesterov: true, maximize: false }]);

// ---- random (Philox, counter-based) and dropout
add('rand_uniform', `[${E}]`, () => [z(E), -2, 3, 1234, 77]);
add('rand_normal', `[${E}]`, () => [z(E), 0.5, 2, 1234, 77]);
add('dropout', `[${E}] p 0.3`, () => [f(E, 46), z(E), new Uint8Array(E), 0.3, 99, 5]);
add('dropout_backward', `[${E}] p 0.3`, () => [f(E, 47), Uint8Array.from(f(E, 48), (v) => (v > -0.4 ? 1 : 0)), 0.3, z(E)]);

// ---- shape ops
const PS = [64, 128, 96];
add('permute', '[64, 128, 96] by [2, 0, 1]', () => [f(numel(PS), 49), PS, [2, 0, 1], z(numel(PS))]);
add('permute', '[64, 128, 96] by [0, 2, 1]', () => [f(numel(PS), 49), PS, [0, 2, 1], z(numel(PS))]);
add('slice', '[64, 128, 96] steps [1, 2, 3]', () => [f(numel(PS), 50), PS, [1, 3, 2], [63, 128, 95], [1, 2, 3], z(62 * 63 * 31)]);
add('slice_backward', '[64, 128, 96] steps [1, 2, 3]', () => [f(62 * 63 * 31, 51), [62, 63, 31], PS, [1, 3, 2], [63, 128, 95], [1, 2, 3], z(numel(PS))]);
add('concat', '3 x [200, 500] on axis 1', () => [[f(100_000, 52), f(100_000, 53), f(100_000, 54)], [[200, 500], [200, 500], [200, 500]], 1, z(300_000)]);
add('split', '[200, 1500] into [700, 300, 500] on axis 1', () => [f(300_000, 55), [200, 1500], 1, [700, 300, 500], [z(140_000), z(60_000), z(100_000)]]);
add('pad', '[16, 32, 32, 32] reflect [2, 2, 2, 2]', () => [f(524_288, 56), [16, 32, 32, 32], [2, 2, 2, 2], 'reflect', 0, z(16 * 32 * 36 * 36)]);
add('pad', '[16, 32, 32, 32] constant [1, 3, 0, 2]', () => [f(524_288, 56), [16, 32, 32, 32], [1, 3, 0, 2], 'constant', 0.5, z(16 * 32 * 36 * 34)]);
add('pad_backward', '[16, 32, 36, 36] reflect [2, 2, 2, 2]', () => [f(16 * 32 * 36 * 36, 57), [16, 32, 36, 36], [2, 2, 2, 2], 'reflect', z(524_288)]);
add('pad_backward', '[16, 32, 36, 36] circular [2, 2, 2, 2]', () => [f(16 * 32 * 36 * 36, 57), [16, 32, 36, 36], [2, 2, 2, 2], 'circular', z(524_288)]);

// ---- pooling (3x3 stride 2: overlapping windows, so the backward adds into shared inputs)
const MP = [16, 32, 32, 32];
const MPa = { kernel_size: 3, stride: 2, padding: 1, dilation: 1, ceil_mode: false };
add('maxpool2d', '[16, 32, 32, 32] k3 s2 p1', () => [f(numel(MP), 58), MP, z(16 * 32 * 16 * 16), new Int32Array(16 * 32 * 16 * 16), MPa]);
add('maxpool2d_backward', '[16, 32, 16, 16] -> [16, 32, 32, 32]', () => {
  // Indices of a real forward pass (each window's argmax within its plane).
  const x = f(numel(MP), 58);
  const idx = new Int32Array(16 * 32 * 16 * 16);
  for (let p = 0; p < 16 * 32; p++)
    for (let oh = 0; oh < 16; oh++)
      for (let ow = 0; ow < 16; ow++) {
        let best = -1;
        for (let kh = 0; kh < 3; kh++)
          for (let kw = 0; kw < 3; kw++) {
            const h = oh * 2 - 1 + kh;
            const w = ow * 2 - 1 + kw;
            if (h < 0 || h >= 32 || w < 0 || w >= 32) continue;
            if (best < 0 || x[p * 1024 + h * 32 + w]! > x[p * 1024 + best]!) best = h * 32 + w;
          }
        idx[p * 256 + oh * 16 + ow] = best;
      }
  return [f(16 * 32 * 256, 59), [16, 32, 16, 16], idx, z(numel(MP)), MP];
});

// Average pooling: 3x3 windows every 2 (overlapping, the last one clipped), and adaptive
// windows of uneven sizes (32 -> 15).
const AP = { kernel_size: 3, stride: 2, padding: 1 };
const MPo = [16, 32, 16, 16];
add('op:avg_pool2d', '[16, 32, 32, 32] k3 s2 p1', () => [[t(f(numel(MP), 59), MP)], [t(z(numel(MPo)), MPo)], AP]);
add('op:avg_pool2d_backward', '[16, 32, 16, 16] -> [16, 32, 32, 32]', () => [[t(f(numel(MPo), 60), MPo)], [t(z(numel(MP)), MP)], AP]);
add('op:adaptive_avg_pool2d', '[16, 32, 32, 32] -> 15x15', () => [[t(f(numel(MP), 59), MP)], [t(z(16 * 32 * 225), [16, 32, 15, 15])], { output_size: 15 }]);
add('op:adaptive_avg_pool2d_backward', '[16, 32, 15, 15] -> [16, 32, 32, 32]', () => [[t(f(16 * 32 * 225, 60), [16, 32, 15, 15])], [t(z(numel(MP)), MP)], { output_size: 15 }]);

// ---- the catalog's forms of batch_norm (running statistics as outputs), layer_norm, mse_loss and
// dropout (a float mask), and conv1d
add('op:batch_norm', '[16, 64, 32, 32] training', () => [[t(f(BNn, 23, -2, 3), BN), t(f(64, 24, 0.5, 1.5), [64]), t(f(64, 25), [64]), t(f(64, 26), [64]), t(f(64, 27, 0.5, 2), [64])], [t(z(BNn), BN), t(z(64), [64]), t(z(64), [64]), t(z(64), [64]), t(z(64), [64])], { training: true, momentum: 0.1, eps: 1e-5 }]);
add('op:batch_norm_backward', '[16, 64, 32, 32] training', () => [[t(f(BNn, 28), BN), t(f(BNn, 23, -2, 3), BN), t(f(64, 24, 0.5, 1.5), [64]), t(f(64, 29), [64]), t(f(64, 30, 0.5, 2), [64])], [t(z(BNn), BN), t(z(64), [64]), t(z(64), [64])], { training: true }]);
add('op:layer_norm', '[2048, 256] over [256]', () => [[t(f(524_288, 31, -2, 2), LN), t(f(256, 32, 0.5, 1.5), [256]), t(f(256, 33), [256])], [t(z(524_288), LN), t(z(2048), [2048, 1]), t(z(2048), [2048, 1])], { normalized_shape: [256], eps: 1e-5 }]);
add('op:layer_norm_backward', '[2048, 256] over [256]', () => [[t(f(524_288, 34), LN), t(f(524_288, 31, -2, 2), LN), t(f(2048, 35), [2048, 1]), t(f(2048, 36, 0.5, 2), [2048, 1]), t(f(256, 32, 0.5, 1.5), [256])], [t(z(524_288), LN), t(z(256), [256]), t(z(256), [256])], { normalized_shape: [256] }]);
add('op:mse_loss', `[${E}] mean`, () => [[t(f(E, 21), [E]), t(f(E, 22), [E])], [t(z(1), [])], { reduction: 'mean' }]);
add('op:mse_loss_backward', `[${E}] none`, () => [[t(f(E, 21), [E]), t(f(E, 22), [E]), t(f(E, 20), [E])], [t(z(E), [E]), t(z(E), [E])], { reduction: 'none' }]);
add('op:dropout', `[${E}] p 0.3`, () => [[t(f(E, 46), [E])], [t(z(E), [E]), t(z(E), [E])], { p: 0.3, training: true, seed: 99, offset: 5 }]);
add('op:conv1d', '[8, 32, 4000] k5 stride 2 reflect', () => [[t(f(8 * 32 * 4000, 71), [8, 32, 4000]), t(f(64 * 32 * 5, 72, -0.3, 0.3), [64, 32, 5]), t(f(64, 73), [64])], [t(z(8 * 64 * 2000), [8, 64, 2000])], { stride: 2, padding: 2, dilation: 1, groups: 1, padding_mode: 'reflect' }], true);

// ---- GEMM and matmul (every path of sgemm: tall, batched, broadcast, GEMV)
for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
  const [M, N, K] = [300, 257, 700];
  const lda = (ta ? M : K) + 3;
  const ldb = (tb ? K : N) + 5;
  const ldc = N + 2;
  add('gemm', `${M}x${N}x${K} ta ${ta} tb ${tb} (strided, beta 0.5)`, () => [
    ta, tb, M, N, K, 1.25, f((ta ? K : M) * lda, 60), lda, f((tb ? N : K) * ldb, 61), ldb, 0.5, f(M * ldc, 62), ldc,
  ], true);
}
add('gemm', '40x4000x900 (wide: N split)', () => [false, false, 40, 4000, 900, 1, f(36_000, 63), 900, f(3_600_000, 64), 4000, 0, z(160_000), 4000], true);
add('gemm', '3000x30x900 (tall: M split)', () => [false, true, 3000, 30, 900, 1, f(2_700_000, 63), 900, f(27_000, 64), 900, 0, z(90_000), 30], true);
add('gemm', '1x3000x700 (GEMV)', () => [false, false, 1, 3000, 700, 1, f(700, 65), 700, f(2_100_000, 66), 3000, 0, z(3000), 3000], true);
add('gemm', '1x3000x700 trans_b (GEMV)', () => [false, true, 1, 3000, 700, 1, f(700, 65), 700, f(2_100_000, 66), 700, 0, z(3000), 3000], true);
add('matmul', '[4, 100, 130] @ [130, 150] (one tall GEMM)', () => [f(52_000, 67), [4, 100, 130], f(19_500, 68), [130, 150], z(60_000)], true);
add('matmul', '[256, 20, 30] @ [256, 30, 25] (small batched)', () => [f(153_600, 67), [256, 20, 30], f(192_000, 68), [256, 30, 25], z(128_000)], true);
add('matmul', '[3, 1, 300, 200]^T @ [1, 2, 400, 200]^T (broadcast batches)', () => [f(180_000, 67), [3, 1, 200, 300], f(160_000, 68), [1, 2, 400, 200], z(3 * 2 * 300 * 400), true, true], true);
add('matmul', '[700] @ [700, 3000] (GEMV)', () => [f(700, 69), [700], f(2_100_000, 70), [700, 3000], z(3000)], true);

// ---- convolutions: im2col, 1x1 direct, Winograd (zero and non-zero padding modes), groups
interface Conv {
  label: string;
  x: number[];
  w: number[];
  attrs: Record<string, unknown>;
}
const CONVS: Conv[] = [
  { label: 'im2col 3x3 stride 2', x: [8, 16, 48, 48], w: [32, 16, 3, 3], attrs: { stride: 2, padding: 1, dilation: 1, groups: 1, padding_mode: 'zeros' } },
  { label: 'Winograd 3x3', x: [7, 16, 40, 40], w: [32, 16, 3, 3], attrs: { stride: 1, padding: 1, dilation: 1, groups: 1, padding_mode: 'zeros' } },
  { label: 'Winograd 3x3 reflect', x: [8, 16, 33, 31], w: [24, 16, 3, 3], attrs: { stride: 1, padding: 1, dilation: 1, groups: 1, padding_mode: 'reflect' } },
  { label: '1x1 direct', x: [8, 64, 24, 24], w: [48, 64, 1, 1], attrs: { stride: 1, padding: 0, dilation: 1, groups: 1, padding_mode: 'zeros' } },
  { label: 'grouped 5x5 dilation 2', x: [6, 16, 32, 32], w: [32, 4, 5, 5], attrs: { stride: 1, padding: 'same', dilation: 2, groups: 4, padding_mode: 'zeros' } },
  { label: 'single sample 3x3 circular', x: [1, 32, 64, 64], w: [32, 32, 3, 3], attrs: { stride: 1, padding: 1, dilation: 1, groups: 1, padding_mode: 'circular' } },
];
const convOut = (c: Conv): number[] => {
  const [N, , H, W] = c.x as [number, number, number, number];
  const [Co, , KH, KW] = c.w as [number, number, number, number];
  const a = c.attrs as { stride: number; padding: number | string; dilation: number };
  const p = a.padding === 'same' ? null : (a.padding as number);
  const oh = p === null ? H : Math.floor((H + 2 * p - a.dilation * (KH - 1) - 1) / a.stride) + 1;
  const ow = p === null ? W : Math.floor((W + 2 * p - a.dilation * (KW - 1) - 1) / a.stride) + 1;
  return [N, Co, oh, ow];
};
for (const c of CONVS) {
  const y = convOut(c);
  const [xn, wn, yn] = [numel(c.x), numel(c.w), numel(y)];
  add('conv2d', `${c.label} x ${JSON.stringify(c.x)}`, () => [f(xn, 71), c.x, f(wn, 72, -0.3, 0.3), c.w, f(c.w[0]!, 73), z(yn), c.attrs], true);
  add('conv2d_backward_input', `${c.label} x ${JSON.stringify(c.x)}`, () => [f(yn, 74), y, f(wn, 72, -0.3, 0.3), c.w, z(xn), c.x, c.attrs], true);
  add('conv2d_backward_weight', `${c.label} x ${JSON.stringify(c.x)}`, () => [f(yn, 74), y, f(xn, 71), c.x, z(wn), c.w, c.attrs], true);
}
add('conv2d_backward_bias', '[16, 64, 32, 32]', () => [f(BNn, 75), BN, z(64)]);

export const DET_CASES: readonly DetCase[] = cases;

/** Binding functions that compute nothing from tensors (shapes, settings, probes). */
export const NOT_KERNELS = new Set([
  'argreduce_shape', 'backendInfo', 'broadcast_shape', 'concat_shape', 'conv2d_shape', 'cross_entropy_shape',
  'getNumThreads', 'matmul_shape', 'maxpool2d_shape', 'mse_loss_shape', 'pad_shape', 'permute_shape',
  'rand_counters', 'reduce_shape', 'releaseBuffer', 'setGemmBackend', 'setNumThreads', 'slice_shape',
  'probe_fma_gflops', 'probe_triad_gbps', 'kernelHandle', 'kernelOps', 'kernelAttrs', 'cudaLibraryOps',
  // device memory (copies, not kernels; test/device/cuda-mock.test.ts)
  'deviceAlloc', 'deviceFree', 'deviceUpload', 'deviceDownload', 'deviceCopy', 'deviceBufferInfo',
  'deviceSynchronize', 'deviceCachedBytes', 'deviceEmptyCache',
]);

type Typed = Float32Array | Int32Array | Uint8Array;
const isTyped = (v: unknown): v is Typed => v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array;

/** Every typed array among the arguments (nested lists and tensor arguments included), in order. */
export function typedArgs(args: readonly unknown[]): Typed[] {
  const out: Typed[] = [];
  const walk = (v: unknown) => {
    if (isTyped(v)) out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && '_native' in v) walk((v as KT)._native);
  };
  args.forEach(walk);
  return out;
}

/** Runs the case once and returns the bytes of all its arrays after the call (outputs and in-place updates). */
export function runCase(nat: Record<string, unknown>, c: DetCase): Uint8Array[] {
  const args = c.make();
  if (c.fn.startsWith('op:')) runOp(c.fn.slice(3), ...(args as [KT[], KT[], object]));
  else (nat[c.fn] as (...a: unknown[]) => unknown)(...args);
  return typedArgs(args).map((t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength).slice());
}

/** '' when equal, else where the first 4-byte word differs and how many differ. */
export function diffBytes(want: readonly Uint8Array[], got: readonly Uint8Array[]): string {
  for (let a = 0; a < want.length; a++) {
    const w = want[a]!;
    const g = got[a]!;
    if (w.length !== g.length) return `argument array ${a}: length ${g.length} vs ${w.length}`;
    let first = -1;
    let count = 0;
    for (let i = 0; i < w.length; i++) {
      if (w[i] !== g[i]) {
        if (first < 0) first = i;
        count++;
      }
    }
    if (first >= 0) return `argument array ${a}: ${count} differing bytes, first at element ${Math.floor(first / 4)}`;
  }
  return '';
}
