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
  // Device memory: no CUDA device where the fuzzer runs, and a device buffer (an external) cannot be
  // recorded; these calls (non-buffers where a buffer belongs) must all fail cleanly.
  { fn: 'deviceAlloc', args: [0, 0, 8] },
  { fn: 'deviceFree', args: [{ ta: 'f32', n: 8, o: 1 }] },
  { fn: 'deviceUpload', args: [{ ta: 'f32', n: 8, o: 1 }, { ta: 'f32', n: 8, o: 1 }] },
  { fn: 'deviceDownload', args: [{ ta: 'f32', n: 8, o: 1 }, { ta: 'f32', n: 8, o: 1 }] },
  { fn: 'deviceCopy', args: [{ ta: 'f32', n: 8, o: 1 }, { ta: 'f32', n: 8, o: 1 }] },
  { fn: 'deviceBufferInfo', args: [{ ta: 'f32', n: 8, o: 1 }] },
  { fn: 'deviceSynchronize', args: [0] },
  { fn: 'deviceCachedBytes', args: [0] },
  { fn: 'deviceEmptyCache', args: [0] },
];
