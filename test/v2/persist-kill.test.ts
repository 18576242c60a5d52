// A save killed at any point leaves the old model or the new one, never a mix: a child process
// saving two models into one directory in turn is killed (SIGKILL) at random points.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { fingerprint, readJson, trainedMlp } from './io-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ravdl-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Starts the saver and resolves once it has loaded both models (rejects after 30 s). */
function startSaver(dirA: string, dirB: string, target: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'persist-saver.ts'), dirA, dirB, target], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the saver did not start in 30 s')), 30_000);
    child.stdout.on('data', (d) => String(d).includes('ready') && (clearTimeout(timer), resolve()));
    child.on('exit', (code) => (clearTimeout(timer), reject(new Error(`the saver exited (${code}): ${err}`))));
  });
  return { child, ready, exited };
}

describe('killed saves', () => {
  it('50 SIGKILLs at random points: the directory always loads as exactly the old or the new model', async () => {
    const a = trainedMlp(1, 3, 40_000); // ~0.5 MB of weights and 1 MB of Adam state: a save takes several ms
    const b = trainedMlp(2, 5, 40_000);
    const [dirA, dirB, target] = ['a', 'b', 'target'].map((d) => join(root, d)) as [string, string, string];
    a.save_sync(dirA);
    b.save_sync(dirB);
    a.save_sync(target);
    const fps = new Map([[fingerprint(NeuralNetwork.load_sync(dirA)), 'A'], [fingerprint(NeuralNetwork.load_sync(dirB)), 'B']]);
    expect(fps.size).toBe(2);
    let t = performance.now();
    for (let i = 0; i < 4; i++) (i % 2 ? a : b).save_sync(target);
    const perSave = (performance.now() - t) / 4;
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const seen = { A: 0, B: 0, leftovers: 0 };
    t = performance.now();
    for (let i = 0; i < 50; i++) {
      const { child, ready, exited } = startSaver(dirA, dirB, target);
      await ready;
      await new Promise((r) => setTimeout(r, rnd() * 8 * perSave)); // within the first few saves
      child.kill('SIGKILL');
      await exited;
      if (readdirSync(target).some((n) => n.endsWith('.tmp'))) seen.leftovers++; // killed while writing a file
      const which = fps.get(fingerprint(NeuralNetwork.load_sync(target)));
      expect(which, `kill ${i}: the directory loads as a model that is neither A nor B`).toBeDefined();
      seen[which as 'A' | 'B']++;
    }
    console.log(`killed saves: ${seen.A} loaded as A, ${seen.B} as B, ${seen.leftovers} kills left a temporary file; one save ${perSave.toFixed(1)} ms, 50 kills in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    expect(seen.A).toBeGreaterThan(0);
    expect(seen.B).toBeGreaterThan(0);
    // The next save removes the dead savers' temporaries and every file the new model.json does not name.
    a.save_sync(target);
    const files = readJson(target).files;
    expect(readdirSync(target).sort()).toEqual([files.optimizer.name, 'model.json', files.weights.name].sort());
  }, 300_000);
});
