// Seeds written by hand for binding functions the test suite never calls (make-corpus.ts adds
// them when the recording has none). Keep each one a small, valid call.
import type { Seed } from './skeleton.js';

export const MANUAL_SEEDS: Seed[] = [
  // The benchmark probes: ~1 ms of FMA chains; a small triad (n floats, reps passes).
  { fn: 'probe_fma_gflops', args: [1, 1] },
  { fn: 'probe_fma_gflops', args: [1] },
  { fn: 'probe_triad_gbps', args: [4096, 2] },
  { fn: 'probe_triad_gbps', args: [100000, 1] },

  // Average pooling over caller-given windows (h0, h1, w0, w1, div): also recorded from the op tests.
  {fn: 'avgpool2d', args: [{ta: 'f32', n: 32, g: {lo: -1, hi: 1}}, [1, 2, 4, 4], {ta: 'i32', n: 2, v: [0, 1]}, {ta: 'i32', n: 2, v: [2, 4]}, {ta: 'i32', n: 2, v: [0, 2]}, {ta: 'i32', n: 2, v: [2, 4]}, {ta: 'i32', n: 4, v: [4, 6, 4, 4]}, {ta: 'f32', n: 8, o: 1}]},
  {fn: 'avgpool2d', args: [{ta: 'f32', n: 60, g: {lo: -1, hi: 1}}, [3, 5, 4], {ta: 'i32', n: 3, v: [0, 1, 3]}, {ta: 'i32', n: 3, v: [2, 4, 5]}, {ta: 'i32', n: 1, v: [0]}, {ta: 'i32', n: 1, v: [4]}, {ta: 'i32', n: 3, v: [8, 9, 8]}, {ta: 'f32', n: 9, o: 1}]},
  {fn: 'avgpool2d_backward', args: [{ta: 'f32', n: 8, g: {lo: -1, hi: 1}}, [1, 2, 2, 2], {ta: 'i32', n: 2, v: [0, 1]}, {ta: 'i32', n: 2, v: [2, 4]}, {ta: 'i32', n: 2, v: [0, 2]}, {ta: 'i32', n: 2, v: [2, 4]}, {ta: 'i32', n: 4, v: [4, 6, 4, 4]}, {ta: 'f32', n: 32, o: 1}, [1, 2, 4, 4]]},
  {fn: 'avgpool2d_backward', args: [{ta: 'f32', n: 9, g: {lo: -1, hi: 1}}, [3, 3, 1], {ta: 'i32', n: 3, v: [0, 1, 3]}, {ta: 'i32', n: 3, v: [2, 4, 5]}, {ta: 'i32', n: 1, v: [0]}, {ta: 'i32', n: 1, v: [4]}, {ta: 'i32', n: 3, v: [8, 9, 8]}, {ta: 'f32', n: 60, o: 1}, [3, 5, 4]]},
];
