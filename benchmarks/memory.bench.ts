// Memory of the main example's job: peak resident memory of the Fashion-MNIST CNN (train with
// Adam at batch 64, then predict the test set) in a fresh ravdl process (benchmarks/fashion-rss.ts)
// and in a fresh PyTorch process training the same model on the same images
// (benchmarks/peers/torch_fashion_rss.py), with the resident memory after each epoch in the notes
// (flat across epochs is the goal). Both children run with glibc's default malloc settings (not
// the suite's speed tunables, which keep freed memory and would inflate both figures).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSuite } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

interface RssRun {
  peakMB: number;
  epochRssMB: number[];
  accuracy: number;
  trainSeconds: number;
}

function child(cmd: string, args: string[], cwd: string): { run: RssRun | null; note: string | null } {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 1_800_000 });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.error || r.status !== 0 || !last.startsWith('{')) return { run: null, note: `${r.error?.message ?? r.stderr?.trim().split('\n').pop() ?? 'no output'}` };
  const doc = JSON.parse(last);
  if (doc.error) return { run: null, note: doc.error };
  return { run: doc as RssRun, note: null };
}

export const suite: BenchSuite = {
  name: 'memory',
  async run({ threads, quick }) {
    const epochs = quick ? 2 : 3;
    const limit = quick ? 2000 : 6000;
    const t = Math.max(...threads);
    const args = ['--epochs', String(epochs), '--limit', String(limit), '--threads', String(t)];
    const ours = child(process.execPath, ['--conditions=ravdl-source', '--import', 'tsx', join(here, 'fashion-rss.ts'), ...args], join(here, '..'));
    if (!ours.run) throw new Error(`memory: the ravdl run failed: ${ours.note}`);
    const torch = child('/usr/bin/python3', [join(here, 'peers', 'torch_fashion_rss.py'), ...args], join(here, 'peers'));
    const list = (r: RssRun) => r.epochRssMB.map((v) => v.toFixed(0)).join(', ');
    const notes = [
      `Fashion-MNIST example job, ${epochs} epochs on ${limit} training images then the 10,000 test images, fresh processes at ${t} threads`,
      `RSS after each epoch (MB): ravdl ${list(ours.run)}${torch.run ? `; PyTorch ${list(torch.run)}` : ''}`,
      `test accuracy: ravdl ${ours.run.accuracy.toFixed(3)}${torch.run ? `, PyTorch ${torch.run.accuracy.toFixed(3)}` : ''}`,
    ];
    if (torch.note) notes.push(`PyTorch peer unavailable: ${torch.note}`);
    const row: BenchRow = {
      suite: 'memory',
      workload: `Fashion-MNIST CNN b64 ${epochs}ep x ${limit} + predict, peak RSS ${t}T`,
      unit: 'MB',
      higherIsBetter: false,
      threads: t,
      ravdl: ours.run.peakMB,
      peers: { PyTorch: torch.run?.peakMB ?? null },
      target: { peer: 'PyTorch', min: 1 },
      notes,
    };
    return [row];
  },
};
