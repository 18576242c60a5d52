import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const worker = join(dirname(fileURLToPath(import.meta.url)), 'bad-input-worker.ts');

describe('bad input never crashes the process', () => {
  for (const seed of [1, 2, 3]) {
    it(`survives random bad calls to every native function (seed ${seed})`, () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', worker], {
        env: { ...process.env, FUZZ_SEED: String(seed), FUZZ_CALLS: '2000' },
        encoding: 'utf8',
        timeout: 300_000,
      });
      const detail = `signal=${r.signal} status=${r.status}\n${r.stderr}`;
      expect(r.signal, detail).toBeNull();
      expect(r.status, detail).toBe(0);
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(summary.functions).toBeGreaterThan(3);
    });
  }
});
