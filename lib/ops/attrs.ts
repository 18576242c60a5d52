// Attribute schemas: each op declares its attributes once (type check + default), and
// parseAttrs validates user options against it, rejecting unknown names.
import { AttrError } from '../errors.js';

/** Validates one attribute value; returns the normalized value or throws via `bad`. */
export type AttrCheck<T> = (value: unknown, bad: (expected: string) => never) => T;

export interface AttrSpec<T> {
  check: AttrCheck<T>;
  /** Default when absent; `required` when the attribute must be given. */
  default: T | typeof required;
}

export const required: unique symbol = Symbol('required');

export type AttrSchema<A> = { [K in keyof A]-?: AttrSpec<A[K]> };

export function parseAttrs<A>(op: string, schema: AttrSchema<A>, given: object | undefined | null): A {
  const out = {} as A;
  if (given != null && typeof given !== 'object') throw new AttrError(`${op}: options must be an object, got ${describe(given)}`);
  const g = (given ?? {}) as Record<string, unknown>;
  // Own properties only: an option named 'constructor' or '__proto__' is unknown, not Object's.
  for (const k of Object.keys(g)) {
    if (!Object.hasOwn(schema, k) && g[k] !== undefined) {
      throw new AttrError(`${op}: unknown option '${k}' (valid options: ${Object.keys(schema).join(', ') || 'none'})`);
    }
  }
  for (const k of Object.keys(schema) as (keyof A & string)[]) {
    const spec = schema[k];
    const v = Object.hasOwn(g, k) ? g[k] : undefined;
    if (v === undefined) {
      if (spec.default === required) throw new AttrError(`${op}: option '${k}' is required`);
      (out as Record<string, unknown>)[k] = spec.default;
    } else {
      (out as Record<string, unknown>)[k] = spec.check(v, (expected) => {
        throw new AttrError(`${op}: option '${k}' must be ${expected}, got ${describe(v)}`);
      });
    }
  }
  return out;
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v !== null && typeof v === 'object' && 'shape' in v && 'dtype' in v && Array.isArray(v.shape)) return `a ${String(v.dtype)} Tensor of shape [${v.shape.join(', ')}]`;
  if (typeof v === 'number' || typeof v === 'boolean' || v == null) return String(v);
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  return Object.prototype.toString.call(v);
}

// ---- checks ----
export const num =
  (opts: { min?: number; max?: number; gt?: number; lt?: number; finite?: boolean } = {}): AttrCheck<number> =>
  (v, bad) => {
    const what = `a ${opts.finite ? 'finite ' : ''}number${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.gt !== undefined ? ` > ${opts.gt}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}${opts.lt !== undefined ? ` < ${opts.lt}` : ''}`;
    if (typeof v !== 'number' || Number.isNaN(v) || (opts.finite && !Number.isFinite(v))) return bad(what);
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max) || (opts.gt !== undefined && !(v > opts.gt)) || (opts.lt !== undefined && !(v < opts.lt))) bad(what);
    return v;
  };

export const int =
  (opts: { min?: number; max?: number } = {}): AttrCheck<number> =>
  (v, bad) => {
    const what = `an integer${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}`;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return bad(what);
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) bad(what);
    return v;
  };

export const bool: AttrCheck<boolean> = (v, bad) => (typeof v === 'boolean' ? v : bad('true or false'));

export const oneOf =
  <T extends string>(...values: T[]): AttrCheck<T> =>
  (v, bad) =>
    values.includes(v as T) ? (v as T) : bad(`one of ${values.map((x) => `'${x}'`).join(', ')}`);

export const abortSignal: AttrCheck<AbortSignal> = (v, bad) =>
  v !== null && typeof v === 'object' && typeof (v as AbortSignal).aborted === 'boolean' && typeof (v as AbortSignal).addEventListener === 'function' ? (v as AbortSignal) : bad('an AbortSignal');

export const nullable =
  <T>(inner: AttrCheck<T>): AttrCheck<T | null> =>
  (v, bad) =>
    v === null ? null : inner(v, bad);

/** A list of integers (e.g. a shape or permutation), each checked by `each`. */
export const intList =
  (opts: { min?: number } = {}): AttrCheck<number[]> =>
  (v, bad) => {
    const what = `a list of integers${opts.min !== undefined ? ` >= ${opts.min}` : ''}`;
    if (!Array.isArray(v)) bad(what);
    for (const x of v as unknown[]) if (typeof x !== 'number' || !Number.isSafeInteger(x) || (opts.min !== undefined && x < opts.min)) bad(what);
    return (v as number[]).slice();
  };

/** An int or an [h, w] pair of ints. */
export const intPair =
  (opts: { min?: number } = {}): AttrCheck<number | [number, number]> =>
  (v, bad) => {
    const ok = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && (opts.min === undefined || x >= opts.min);
    const what = `an integer or a pair of integers${opts.min !== undefined ? ` >= ${opts.min}` : ''}`;
    if (ok(v)) return v as number;
    if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
    return bad(what);
  };

/** Reduction axes: null (all), one int, or a list of ints. */
export const axes: AttrCheck<number | number[] | null> = (v, bad) => {
  if (v === null) return null;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) return v.slice();
  return bad('null, an integer axis or a list of integer axes');
};

export const any: AttrCheck<unknown> = (v) => v;
