// Seeded generators of bad input for the fuzz tests: a small PRNG, and JSON mangled in one place.

/** mulberry32: a small seeded generator (a failure names its seed, so it can be replayed). */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}
export type Rng = ReturnType<typeof rng>;

/** Values that break schemas: wrong types, extremes, empties, names that mean something to JavaScript, code. */
export const ODD = [null, -1, 0, 1e308, -0.5, '', 'x', 'ERR', '../../etc/passwd', 'constructor', '__proto__', [], {}, [null], { type: 'complete' }, true, 'a'.repeat(5000), { op: 'eval', code: 'process.exit(1)' }];

/** A copy of a JSON value with one randomly chosen place replaced by an odd value, deleted, or (in arrays) doubled. */
export function mangleJson(v: unknown, r: Rng): unknown {
  const copy = JSON.parse(JSON.stringify(v)) as unknown;
  const places: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (x: unknown, depth: number) => {
    if (depth > 8 || x === null || typeof x !== 'object') return;
    for (const k of Array.isArray(x) ? x.keys() : Object.keys(x)) {
      places.push({ parent: x as Record<string, unknown>, key: k });
      walk((x as Record<string, unknown>)[k as string], depth + 1);
    }
  };
  walk(copy, 0);
  if (!places.length) return r.pick(ODD);
  const { parent, key } = r.pick(places);
  const how = r.int(3);
  if (how === 0 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else if (how === 1 && Array.isArray(parent)) parent.push(parent[key as number]);
  else (parent as Record<string, unknown>)[key as string] = r.pick(ODD);
  return copy;
}
