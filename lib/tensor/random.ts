// The global random generator: a Philox counter stream (seed, offset). Each random op takes
// the next range of counters, so a run is reproducible from R.manual_seed(n) and a random op
// recorded in a graph replays bit-identically from its (seed, offset) attributes.
import { native } from '../native/load.js';
import { AttrError } from '../errors.js';

const DEFAULT_SEED = 67280421310721 % 2 ** 32; // fixed like torch's default, so runs are reproducible by default
let seed = DEFAULT_SEED;
let offset = 0;

/** Seeds the generator used by rand, randn, uniform, dropout and layer initialisation. */
export function manual_seed(n: number): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new AttrError(`manual_seed: seed must be a non-negative integer, got ${String(n)}`);
  seed = n % 2 ** 32;
  offset = 0;
}

export function initial_seed(): number {
  return seed;
}

/** Reserves the counters for n random values; returns where they start. */
export function nextStream(n: number): { seed: number; offset: number } {
  const at = { seed, offset };
  offset += native().rand_counters(n);
  return at;
}

export function getRngState(): { seed: number; offset: number } {
  return { seed, offset };
}

export function setRngState(state: { seed: number; offset: number }): void {
  seed = state.seed;
  offset = state.offset;
}
