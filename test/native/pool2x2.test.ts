// The 2x2 / stride-2 max-pool fast path (SIMD selects) follows the general rule exactly: first
// strict maximum wins, a NaN replaces the running maximum; ties, NaNs, odd sizes, ceil_mode.
import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native } from '../../lib/native/load.js';

function reference(x: Float32Array, H: number, W: number, OH: number, OW: number) {
  const y = new Float32Array(OH * OW);
  const idx = new Int32Array(OH * OW);
  for (let oh = 0; oh < OH; oh++)
    for (let ow = 0; ow < OW; ow++) {
      let best = -Infinity;
      let at = -1;
      for (let ih = 2 * oh; ih < Math.min(2 * oh + 2, H); ih++)
        for (let iw = 2 * ow; iw < Math.min(2 * ow + 2, W); iw++) {
          const v = x[ih * W + iw]!;
          if (at < 0 || v > best || Number.isNaN(v)) [best, at] = [v, ih * W + iw];
        }
      y[oh * OW + ow] = best;
      idx[oh * OW + ow] = at;
    }
  return { y, idx };
}

describe('maxpool2d 2x2 stride 2', () => {
  for (const [H, W, ceil] of [[8, 8, false], [7, 13, false], [7, 13, true], [26, 26, false], [2, 18, false]] as const) {
    it(`${H}x${W} ceil_mode=${ceil}: values and indices match the rule, with ties and NaNs`, () => {
      let s = H * 31 + W;
      const x = Float32Array.from({ length: 3 * H * W }, () => {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const r = s % 10;
        return r === 0 ? NaN : r < 4 ? 0 : Math.floor((s >>> 8) % 5); // many ties, some NaNs
      });
      const OH = ceil ? Math.ceil(H / 2) : Math.floor(H / 2);
      const OW = ceil ? Math.ceil(W / 2) : Math.floor(W / 2);
      const y = new Float32Array(3 * OH * OW);
      const idx = new Int32Array(3 * OH * OW);
      kernels().maxpool2d(x, [3, H, W], y, idx, { kernel_size: 2, ceil_mode: ceil });
      for (let p = 0; p < 3; p++) {
        const want = reference(x.subarray(p * H * W, (p + 1) * H * W), H, W, OH, OW);
        expect(Array.from(y.subarray(p * OH * OW, (p + 1) * OH * OW))).toEqual(Array.from(want.y));
        expect(Array.from(idx.subarray(p * OH * OW, (p + 1) * OH * OW))).toEqual(Array.from(want.idx));
      }
    });
  }
});
