// What the fuzzer calls: every function of the binding, with runKernel split per op
// ('runKernel:<op>', one per CPU kernel of the registry), so each kernel has its own seeds,
// rounds and minimum of calls that reach it.
type Fn = (...args: unknown[]) => unknown;

/** Every fuzz target of `binding`, sorted. */
export function fuzzTargets(binding: Record<string, unknown>): string[] {
  const fns = Object.keys(binding).filter((k) => typeof binding[k] === 'function' && k !== 'runKernel');
  const ops = ((binding.kernelOps as Fn)('cpu') as string[]).map((op) => `runKernel:${op}`);
  return [...fns, ...ops].sort();
}

/** The function target `fn` calls. */
export function targetFn(binding: Record<string, unknown>, fn: string): Fn {
  return binding[fn.startsWith('runKernel:') ? 'runKernel' : fn] as Fn;
}
