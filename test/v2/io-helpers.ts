// Helpers for the file and save/load tests: a call in a child process, model fingerprints,
// hand-made safetensors files, and a directory rewritten in the version-1 layout.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';

export interface ChildResult {
  error: { name: string; code?: string; message: string } | null;
  maxRSS: number;
}

/** Runs one call of files-child.ts in a child process (killed after 60 s): its error and peak RSS. */
export function inChild(call: string, path: string, options?: object): ChildResult {
  const child = join(import.meta.dirname, 'files-child.ts');
  const args = ['--import', 'tsx', child, call, path, ...(options ? [JSON.stringify(options)] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000, input: '' });
  expect(r.error, 'the child ended in time').toBeUndefined();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

const bytesOf = (t: R.Tensor) => new Uint8Array(t._data.buffer, t._data.byteOffset, t._data.byteLength);

/** SHA-256 over every weight, the optimizer's config, state tensors and step counts: equal iff bit for bit equal. */
export function fingerprint(m: NeuralNetwork): string {
  const h = createHash('sha256');
  for (const [k, t] of m.state_tensors()) h.update(`${k}:${t.shape}:`).update(bytesOf(t));
  const opt = m.optimizer!;
  h.update(JSON.stringify(opt.get_config()));
  const s = opt.state_dict();
  for (const k of Object.keys(s.tensors).sort()) h.update(`${k}:`).update(bytesOf(s.tensors[k]!));
  h.update(JSON.stringify(Object.entries(s.meta).sort()));
  return h.digest('hex');
}

/** A small classifier trained for `steps` batches (so its optimizer has state). */
export function trainedMlp(seed: number, steps = 3, width = 16): NeuralNetwork {
  R.manual_seed(seed);
  const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  m.add(new Dense(width, { input_shape: [4] }));
  m.add(new Activation('relu'));
  m.add(new Dense(3));
  const X = R.randn([12, 4]);
  const y = R.t(Int32Array.from({ length: 12 }, (_, i) => i % 3));
  for (let i = 0; i < steps; i++) m.train_on_batch(X, y);
  return m;
}

/** safetensors bytes from raw entries (any dtype string), tensors laid out in the given order. */
export function safetensorsBytes(entries: Record<string, { dtype: string; shape: number[]; data: Uint8Array }>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const [name, e] of Object.entries(entries)) {
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.data.length] };
    off += e.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...Object.values(entries).map((e) => Buffer.from(e.data))]);
}

/** Raw entries of a safetensors file (for editing and writing back with safetensorsBytes). */
export function safetensorsEntries(buf: Buffer): { entries: Record<string, { dtype: string; shape: number[]; data: Uint8Array }>; metadata?: Record<string, string> } {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const entries: Record<string, { dtype: string; shape: number[]; data: Uint8Array }> = {};
  let metadata: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(header) as [string, any][]) {
    if (k === '__metadata__') metadata = v;
    else entries[k] = { dtype: v.dtype, shape: v.shape, data: buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]) };
  }
  return { entries, metadata };
}

export function readJson(dir: string): any {
  return JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
}

/** Rewrites a saved directory in the version-1 layout, optionally with other data file bytes. */
export function toVersion1(dir: string, edit: { weights?: (b: Buffer) => Buffer; optimizer?: (b: Buffer) => Buffer } = {}): void {
  const j = readJson(dir);
  const w = readFileSync(join(dir, j.files.weights.name));
  writeFileSync(join(dir, 'weights.safetensors'), edit.weights ? edit.weights(w) : w);
  rmSync(join(dir, j.files.weights.name));
  if (j.files.optimizer) {
    const o = readFileSync(join(dir, j.files.optimizer.name));
    writeFileSync(join(dir, 'optimizer.safetensors'), edit.optimizer ? edit.optimizer(o) : o);
    rmSync(join(dir, j.files.optimizer.name));
  }
  delete j.files;
  j.version = 1;
  writeFileSync(join(dir, 'model.json'), JSON.stringify(j));
}
