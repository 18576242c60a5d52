// Reads the PyTorch golden fixtures written by test/fixtures/gen/generate.py.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { DeviceError } from '../../lib/errors.js';

export interface FixtureTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export interface FixtureCase {
  name: string;
  op: string;
  attrs: Record<string, any>;
  inputs: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
}

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

function decodeValue(v: number | string): number {
  if (typeof v === 'number') return v;
  return v === 'nan' ? NaN : v === 'inf' ? Infinity : -Infinity;
}

function decode(t: { shape: number[]; dtype: string; data: (number | string)[] }): FixtureTensor {
  const data =
    t.dtype === 'int32' ? Int32Array.from(t.data as number[]) : Float32Array.from(t.data, decodeValue);
  return { shape: t.shape, dtype: t.dtype as FixtureTensor['dtype'], data };
}

/** All cases of test/fixtures/<group>.json, optionally only those of one op. */
export function loadFixtures(group: string, op?: string): FixtureCase[] {
  const doc = JSON.parse(readFileSync(join(fixtureDir, `${group}.json`), 'utf8'));
  const cases: FixtureCase[] = doc.cases.map((c: any) => ({
    name: c.name,
    op: c.op,
    attrs: c.attrs ?? {},
    inputs: Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, decode(v as any)])),
    outputs: Object.fromEntries(Object.entries(c.outputs).map(([k, v]) => [k, decode(v as any)])),
  }));
  return op ? cases.filter((c) => c.op === op) : cases;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise (NaN matches NaN),
 * reporting the first offending index and the worst error.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, label = '' }: { atol?: number; rtol?: number; label?: string } = {},
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue;
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(err <= 0) && (worstAt < 0 || err > worst || Number.isNaN(err))) {
      worst = err;
      worstAt = i;
    }
  }
  if (worstAt >= 0) {
    expect.fail(
      `${label}: element ${worstAt} is ${actual[worstAt]}, expected ${expected[worstAt]} (atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Asserts that fn throws an Error whose `.code` is `code` and whose message matches `pattern`. */
export function expectCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  let thrown: any;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(Error);
  expect(thrown.code, `code of: ${thrown?.message}`).toBe(code);
  if (pattern) expect(thrown.message).toMatch(pattern);
}

/** Runs fn, expects a DeviceError (ERR_DEVICE) and returns it (for its message). */
export function deviceError(fn: () => unknown): DeviceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DeviceError);
    expect((e as DeviceError).code).toBe('ERR_DEVICE');
    return e as DeviceError;
  }
  throw new Error('expected a DeviceError');
}

/** Runs fn, expects an error of class E whose message contains every part. */
export function expectError(fn: () => unknown, E: new (...args: never[]) => Error, ...parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'an error was thrown').toBeInstanceOf(E);
  for (const p of parts) expect((err as Error).message).toContain(p);
}
