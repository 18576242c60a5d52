// Small inputs never make the engine allocate gigabytes: no-work calls allocate nothing and
// conv2d's scratch is capped (detail::kConvWorkspaceBytes, 64 MiB). Each scenario of
// workspace-child.ts reached 2.1-4.2 GB of peak RSS before; together they now stay far below.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('bounded memory from small inputs', () => {
  it('empty pads, empty conv batches, a big-kernel conv, an empty batch norm, empty tiles and repeats peak far below 1 GB', () => {
    const child = join(import.meta.dirname, 'workspace-child.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', child], { encoding: 'utf8', timeout: 180_000 });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    const { maxRssMB } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { maxRssMB: number };
    // Node, tsx and the addon take ~80-100 MB; the conv's scratch is at most 64 MiB.
    expect(maxRssMB).toBeLessThan(512);
  }, 200_000);
});
