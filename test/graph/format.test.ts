// The graph file format: a round trip runs the same, a constant used by every batch is stored
// once, and a loaded graph is validated before anything runs: each kind of damage is a
// GraphError naming the node. Also a fuzzer of the loader over random mutations of a real graph.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { encodeBlob } from '../../lib/graph/format.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense, Dropout } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';

const root = mkdtempSync(join(tmpdir(), 'ravdl-format-'));
const saved = join(root, 'saved');
afterAll(() => {
  R.flush();
  rmSync(root, { recursive: true, force: true });
});

type Json = Record<string, any>;
const read = (dir: string): Json => JSON.parse(readFileSync(join(dir, 'graph.json'), 'utf8'));
let copies = 0;
/** A copy of the saved graph (its blobs copied) with graph.json written by edit. */
function damaged(edit: (g: Json) => void, g: Json = read(saved)): string {
  const dir = join(root, `copy${copies++}`);
  edit(g);
  cpSync(join(saved, 'blobs'), join(dir, 'blobs'), { recursive: true });
  writeFileSync(join(dir, 'graph.json'), JSON.stringify(g));
  return dir;
}
const firstOp = (g: Json, op: string) => (g.nodes as Json[]).findIndex((n) => n.op === op);

const X = () => R.t(Array.from({ length: 40 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 5) / 5]));
const Y = () => R.t(Array.from({ length: 40 }, (_, i) => i % 3), { dtype: 'int32' });
let fetchEager: Map<string, Float32Array>;

beforeAll(async () => {
  const build = () => {
    R.manual_seed(11);
    const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
    m.add(new Dense(8, { input_shape: [3] }));
    m.add(new Activation('relu'));
    m.add(new Dropout(0.2));
    m.add(new Dense(3));
    m.add(new Activation('softmax'));
    return m;
  };
  R.flush();
  new R.Graph({ name: 'fmt', algorithm: 'mlp', approach: 'distributed' });
  const m = build();
  m.fit_sync(X(), Y(), { n_epochs: 3, batch_size: 8, verbose: false });
  m.predict(X()).persist_op('prediction');
  R.activate();
  R.Graph.current()!.save(saved);
  await R.execute();
  fetchEager = new Map(['prediction', 'training_loss_epoch_3_batch_5'].map((k) => [k, R.fetch_persisting_op(k)._data.slice() as Float32Array]));
  R.flush();
});

describe('graph files', () => {
  it('a loaded graph runs to the same values', async () => {
    R.Graph.load(saved);
    await R.execute();
    for (const [k, v] of fetchEager) expect(R.fetch_persisting_op(k)._data).toEqual(v);
    R.flush();
  });

  it('the dataset and each epoch order are stored once, however many batches read them', () => {
    const g = read(saved);
    const consts = (g.nodes as Json[]).filter((n) => n.op === 'const');
    const blobs = readdirSync(join(saved, 'blobs'));
    expect(new Set(consts.map((n) => n.blob)).size).toBe(blobs.length);
    // 4 layer tensors + Adam's state zeros (deduplicated by content) + X + y + 3 epoch orders.
    const xBlobs = consts.filter((n) => JSON.stringify(n.shape) === '[40,3]'); // fit's X and predict's X
    expect(new Set(xBlobs.map((n) => n.blob)).size).toBe(1);
    expect((g.nodes as Json[]).filter((n) => n.op === 'gather').length).toBeGreaterThanOrEqual(3 * 5 * 2);
    expect(blobs.length).toBeLessThan(20);
  });

  it('graph.json is data: plain values, non-finite numbers spelled out', () => {
    const text = readFileSync(join(saved, 'graph.json'), 'utf8');
    const g = JSON.parse(text);
    expect(g.format).toBe('ravdl-graph');
    expect(g.version).toBe(1);
    expect(g.approach).toBe('distributed');
    expect(g.persist.map((p: Json) => p.name)).toContain('training_loss_epoch_1_batch_1');
  });
});

describe('loading validates everything before anything runs', () => {
  const expectBad = (edit: (g: Json) => void, message: RegExp) => {
    const dir = damaged(edit);
    let err: unknown;
    try {
      R.Graph.load(dir);
    } catch (e) {
      err = e;
    }
    expect(err, String(message)).toBeInstanceOf(R.GraphError);
    expect((err as Error).message).toMatch(message);
    expect(R.Graph.current()?.status ?? 'none').not.toBe('activated');
  };

  it('unknown op, also one named like an Object property', () => {
    expectBad((g) => (g.nodes[firstOp(g, 'matmul')].op = 'eval'), /node \d+: unknown op "eval"/);
    expectBad((g) => (g.nodes[firstOp(g, 'matmul')].op = '__proto__'), /unknown op "__proto__"/);
    expectBad((g) => (g.nodes[firstOp(g, 'matmul')].op = 'constructor'), /unknown op "constructor"/);
  });
  it('wrong arity', () => {
    expectBad((g) => g.nodes[firstOp(g, 'matmul')].inputs.pop(), /node \d+ \('matmul'\): 1 inputs, the op takes 2/);
  });
  it('attributes outside the schema', () => {
    expectBad((g) => (g.nodes[firstOp(g, 'dropout')].attrs.p = 7), /node \d+ \('dropout'\): .*'p'/);
    expectBad((g) => (g.nodes[firstOp(g, 'dropout')].attrs.code = 'x'), /node \d+ \('dropout'\): .*unknown option 'code'/);
    expectBad((g) => (g.nodes[firstOp(g, 'dropout')].attrs.p = { toString: 1 }), /node \d+ \('dropout'\)/);
  });
  it('recorded shapes and dtypes that re-inference does not reproduce', () => {
    expectBad((g) => (g.nodes[firstOp(g, 'matmul')].outputs[0].shape[1] += 1), /node \d+ \('matmul'\): output 0 is recorded as/);
    expectBad((g) => (g.nodes[firstOp(g, 'matmul')].outputs[0].dtype = 'int32'), /node \d+ \('matmul'\): output 0/);
  });
  it('inputs that do not come from an earlier node (cycles, dangling ids)', () => {
    expectBad((g) => {
      const i = firstOp(g, 'matmul');
      g.nodes[i].inputs[0] = [i, 0];
    }, /refers to node \d+, which does not come before it/);
    expectBad((g) => (g.nodes[firstOp(g, 'matmul')].inputs[0] = [0, 5]), /refers to output 5 of node 0/);
    expectBad((g) => (g.nodes[firstOp(g, 'matmul')].inputs[0] = [-1, 0]), /must be \[node, output\]/);
  });
  it('duplicate or dangling persisted names', () => {
    expectBad((g) => g.persist.push({ ...g.persist[0] }), /persisted twice/);
    expectBad((g) => (g.persist[0].node = g.nodes.length + 3), /refers to a value that does not exist/);
  });
  it('constants whose blob is missing, replaced, or of another dtype or shape', () => {
    const c = (g: Json) => (g.nodes as Json[]).find((n) => n.op === 'const' && n.shape.length === 2)!;
    expectBad((g) => (c(g).blob = 'f'.repeat(64)), /node \d+ \(const\).*cannot read/);
    expectBad((g) => (c(g).blob = 'not-a-hash'), /SHA-256/);
    expectBad((g) => (c(g).shape = [c(g).shape[1], c(g).shape[0]]), /./);
    const dir = damaged(() => {});
    const g = read(dir);
    const node = c(g);
    const file = join(dir, 'blobs', `${node.blob}.safetensors`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(file, bytes);
    expect(() => R.Graph.load(dir)).toThrow(/has SHA-256 .* \(corrupt or replaced\)/);
  });
  it('limits on nodes, value sizes and bytes', () => {
    const dir = damaged(() => {});
    expect(() => R.Graph.load(dir, { max_nodes: 10 })).toThrow(/over the limit of 10 \(max_nodes\)/);
    expect(() => R.Graph.load(dir, { max_value_bytes: 64 })).toThrow(/max_value_bytes/);
    expect(() => R.Graph.load(dir, { max_blob_bytes: 100 })).toThrow(/over the limit/);
    expectBad((g) => (g.nodes[firstOp(g, 'matmul')].outputs[0].shape = [2 ** 30, 2 ** 30]), /max_value_bytes/);
  });
  it('not a graph at all', () => {
    expectBad((g) => (g.format = 'pickle'), /format is "pickle"/);
    expectBad((g) => (g.version = 99), /version 99/);
    expectBad((g) => (g.approach = 'central'), /approach/);
    expectBad((g) => (g.nodes = {}), /nodes must be an array/);
  });
});

describe('fuzzing the loader', () => {
  it('random mutations of a real graph load as a GraphError or as a graph that runs', async () => {
    const base = read(saved);
    let state = 0x2545f491;
    const rnd = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const values = [0, 1, -1, 2, 3, 0.5, 1e9, -1e9, NaN, null, '', 'x', [], {}, [0, 0], [1], true, 'float32', 'int32', 2 ** 31, { $f: 'NaN' }];
    /** Every [container, key] of a JSON value, to mutate one at random. */
    const slots = (v: any, out: [any, string | number][] = [], depth = 0): [any, string | number][] => {
      if (depth > 6 || v === null || typeof v !== 'object') return out;
      for (const k of Array.isArray(v) ? [...v.keys()] : Object.keys(v)) {
        out.push([v, k]);
        slots(v[k], out, depth + 1);
      }
      return out;
    };
    let loaded = 0;
    let ran = 0;
    const started = Date.now();
    for (let trial = 0; trial < 150 && Date.now() - started < 30_000; trial++) {
      const g = structuredClone(base);
      // Mutate one node's fields mostly (where the validator works hardest), sometimes anywhere.
      const target = rnd() < 0.8 ? g.nodes[Math.floor(rnd() * g.nodes.length)] : g;
      for (let m = 0; m < 1 + Math.floor(rnd() * 3); m++) {
        const all = slots(target);
        if (!all.length) break;
        const [obj, k] = pick(all);
        const r = rnd();
        if (r < 0.5) obj[k] = structuredClone(pick(values));
        else if (r < 0.7 && typeof obj[k] === 'number') obj[k] = obj[k] + pick([1, -1, 7]);
        else if (r < 0.8) delete obj[k];
        else if (r < 0.9 && Array.isArray(obj)) obj.splice(Number(k), 0, structuredClone(obj[Number(k)]));
        else obj[k] = structuredClone(pick(all)[0]);
      }
      const dir = damaged(() => {}, g);
      R.flush();
      let graph: R.Graph;
      try {
        graph = R.Graph.load(dir, { max_value_bytes: 2 ** 24 });
      } catch (e) {
        expect(e, `trial ${trial}: ${(e as Error).message}`).toBeInstanceOf(R.GraphError);
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      loaded++;
      try {
        await R.execute();
        ran++;
      } catch (e) {
        expect(e, `trial ${trial}: ${(e as Error).message}`).toBeInstanceOf(R.GraphError);
      }
      expect(graph.status).not.toBe('running');
      rmSync(dir, { recursive: true, force: true });
    }
    R.flush();
    // Most mutations are caught by the validator; those it accepts (a changed learning rate, a
    // persisted name, ...) ran above without any other kind of error.
    console.log(`loader fuzz: ${loaded} of 150 mutated graphs loaded, ${ran} ran to the end`);
    expect(loaded).toBeGreaterThan(0);
  }, 60_000);
});

describe("the README's example graph.json", () => {
  it('is a valid graph once its blobs exist', async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const block = /### The graph format[\s\S]*?```json\n([\s\S]*?)```/.exec(readme);
    expect(block, 'README has a graph.json example under "The graph format"').not.toBeNull();
    const doc = JSON.parse(block![1]!);
    const dir = join(root, 'readme-example');
    mkdirSync(join(dir, 'blobs'), { recursive: true });
    for (const n of doc.nodes) {
      if (n.op !== 'const') continue;
      const { bytes, sha256 } = encodeBlob(n.shape, new Float32Array(n.shape.reduce((a: number, b: number) => a * b, 1)).fill(1));
      writeFileSync(join(dir, 'blobs', `${sha256}.safetensors`), bytes);
      n.blob = sha256;
    }
    writeFileSync(join(dir, 'graph.json'), JSON.stringify(doc));
    R.flush();
    R.Graph.load(dir);
    await R.execute();
    expect(R.fetch_persisting_op(doc.persist[0].name).shape).toEqual(doc.nodes[doc.persist[0].node].outputs[0].shape);
    R.flush();
  });
});
