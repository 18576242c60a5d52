// A small seeded generator for data shuffling (splitmix32). An explicit seed gives the same
// permutation everywhere; without one the seed is drawn from the global stream (like
// torch.randperm), so R.manual_seed(n) makes unseeded shuffles reproducible too.
import { AttrError } from '../../errors.js';
import { nextStream } from '../../tensor/random.js';

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Validates a seed; without one, derives it from R.manual_seed's seed so runs stay reproducible. */
export function resolveSeed(where: string, seed: number | undefined): number {
  if (seed === undefined) {
    const { seed: g, offset } = nextStream(1);
    return (Math.imul(g ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(offset | 0, 0x9e3779b9) + Math.floor(offset / 2 ** 32)) >>> 0;
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new AttrError(`${where}: seed must be a non-negative integer, got ${String(seed)}`);
  }
  // Fold the high bits in so seeds above 2^32 still differ.
  return (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, seed: number): Uint32Array {
  const next = splitmix32(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    // Rejection keeps the draw unbiased for any i.
    const bound = i + 1;
    const limit = 2 ** 32 - (2 ** 32 % bound);
    let r = next();
    while (r >= limit) r = next();
    const j = r % bound;
    const tmp = p[i]!;
    p[i] = p[j]!;
    p[j] = tmp;
  }
  return p;
}

