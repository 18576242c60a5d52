// Seeds written by hand for binding functions the test suite never calls (make-corpus.ts adds
// them when the recording has none). Keep each one a small, valid call.
import type { Seed } from './skeleton.js';

export const MANUAL_SEEDS: Seed[] = [
  // The benchmark probes: ~1 ms of FMA chains; a small triad (n floats, reps passes).
  { fn: 'probe_fma_gflops', args: [1, 1] },
  { fn: 'probe_fma_gflops', args: [1] },
  { fn: 'probe_triad_gbps', args: [4096, 2] },
  { fn: 'probe_triad_gbps', args: [100000, 1] },
  // releaseBuffer is fuzzed with a fixed list of arrays (run.ts releaseControl); a seed keeps the corpus complete.
  { fn: 'releaseBuffer', args: [{ ta: 'f32', n: 8, o: 1 }] },
];
