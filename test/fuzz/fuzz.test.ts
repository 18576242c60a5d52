// The binding fuzzer (see driver.ts / run.ts): mutated valid calls from the test suite, in two
// child processes. Fails on a crash, an overwritten canary, a modified input, an error without
// an engine code or the function's name, and on any function (except report.ts EXEMPT) with
// fewer than MIN_OK calls that passed validation and ran the kernel. Replay: FUZZ_SEED=<n>.
import { describe, expect, it } from 'vitest';
import { build, checkBuffers, GUARD_BYTES } from './build.js';
import { fuzz } from './driver.js';
import { problems, table } from './report.js';
import { Rng, type Sk } from './skeleton.js';

describe('binding fuzzer', () => {
  it('its checks see a write past a view, a write before it and a modified input', () => {
    const plan: Sk[] = [{ ta: 'f32', n: 8, g: { lo: 0, hi: 1 } }, { ta: 'f32', n: 8, o: 1 }];
    const clean = build(plan, new Rng(1), { exact: false });
    expect(checkBuffers(clean)).toEqual([]);
    const past = build(plan, new Rng(1), { exact: false });
    const out = past.bufs[1]!.view as Float32Array;
    new Float32Array(out.buffer, out.byteOffset, out.length + 1)[out.length] = 1;
    expect(checkBuffers(past).join()).toMatch(/canary after buffer #1/);
    const before = build(plan, new Rng(1), { exact: false });
    new Uint8Array(before.bufs[1]!.view.buffer, GUARD_BYTES - 1, 1)[0]! ^= 0xff;
    expect(checkBuffers(before).join()).toMatch(/canary before buffer #1/);
    const input = build(plan, new Rng(1), { exact: false });
    (input.bufs[0]!.view as Float32Array)[3]! += 1;
    expect(checkBuffers(input).join()).toMatch(/input #0 .* modified/);
  });

  it('mutated seeds reach every kernel: no crash, canary, modified input or untyped error', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 1);
    const { report, failures } = await fuzz({ seed, shards: 2, calls: 120, big: 3, timeoutMs: 150_000 });
    if (report) console.log(table(report));
    expect(failures).toEqual([]);
    expect(report && problems(report)).toEqual([]);
  }, 170_000);
});
