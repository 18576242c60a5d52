// One code path for a synchronous and an asynchronous API (fit and fit_sync, save and
// save_sync, ...): the work is written once as a generator that yields an Io wherever it needs a
// file read, a hash, a callback's result or a chance for the event loop to run. runSync performs
// each Io at once; runAsync awaits it, so other work of the process runs in between.
//   function* job(): Work<number> { const buf = yield* io(readFileIo(path)); yield* pause(); return buf.length; }
//   runSync(job());   await runAsync(job());
import { setImmediate as nextMacrotask } from 'node:timers/promises';

export interface Io<T = unknown> {
  sync(): T;
  async(): Promise<T>;
}

export type Work<T> = Generator<Io, T, unknown>;

/** Performs one Io and returns its result (typed): `const v = yield* io(x)`. */
export function* io<T>(x: Io<T>): Work<T> {
  return (yield x) as T;
}

const PAUSE: Io<void> = { sync: () => undefined, async: () => nextMacrotask() };

/** Lets the event loop run (timers, I/O, other requests) before going on; nothing in runSync. */
export function* pause(): Work<void> {
  yield PAUSE;
}

/**
 * A pause that lets the event loop run only once `ms` have passed since its last one: between
 * small steps (a pause costs about 20 µs) the loop still gets a turn every `ms` or so, or after
 * every step longer than that.
 */
export function timeSlice(ms: number): () => Work<void> {
  let last = performance.now();
  return function* () {
    if (performance.now() - last < ms) return;
    yield PAUSE;
    last = performance.now();
  };
}

function drive<T>(g: Work<T>, perform: (x: Io) => unknown): T {
  let r = g.next();
  while (!r.done) {
    let v: unknown;
    try {
      v = perform(r.value);
    } catch (e) {
      r = g.throw(e); // the generator's finally blocks run; it may also catch
      continue;
    }
    r = g.next(v);
  }
  return r.value;
}

export function runSync<T>(g: Work<T>): T {
  return drive(g, (x) => x.sync());
}

/**
 * Runs the work, awaiting each Io. Until the first Io the work runs synchronously, in the caller's
 * turn of the event loop (graph recording relies on this: it yields nothing).
 */
export async function runAsync<T>(g: Work<T>): Promise<T> {
  let r = g.next();
  while (!r.done) {
    let v: unknown;
    try {
      v = await r.value.async();
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(v);
  }
  return r.value;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';

/**
 * Calls a user function (a callback) that may return a Promise: awaited by runAsync; in runSync a
 * Promise is an error (`syncError` says which async form to use), since nothing could wait for it.
 */
export function call<T>(fn: () => T | Promise<T>, syncError: () => Error): Io<T> {
  return {
    sync: () => {
      const v = fn();
      if (isThenable(v)) {
        Promise.resolve(v).catch(() => {}); // its own failure is reported by the error below, not as an unhandled rejection
        throw syncError();
      }
      return v as T;
    },
    async: async () => await fn(),
  };
}

/**
 * Runs work with a context around each synchronous segment of it: enter() sets the context up
 * and returns what undoes it, which runs before each Io goes out and when the work ends. Code
 * that runs while the work waits (other callbacks of the event loop) never sees the context.
 */
export function* segmented<T>(enter: () => () => void, work: Work<T>): Work<T> {
  let exit: (() => void) | null = enter();
  try {
    let r = work.next();
    while (!r.done) {
      exit();
      exit = null;
      let value: unknown;
      let failed = false;
      let error: unknown;
      try {
        value = yield r.value;
      } catch (e) {
        failed = true;
        error = e;
      }
      exit = enter();
      r = failed ? work.throw(error) : work.next(value);
    }
    return r.value;
  } finally {
    exit?.();
  }
}

/** A pause that never yields: the work's synchronous form. */
export function* noPause(): Work<void> {}
