// save()/load(): the directory layout, all-or-nothing saves that never write through a link,
// every tensor of a weights or optimizer file checked (name, dtype, shape) against what it fills,
// model.json checked before any layer allocates, and version-1 directories still loading.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { Functional, NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, BatchNormalization1D, BatchNormalization2D, Conv2D, Dense, Dropout, Embedding, Flatten, LayerNormalization, MaxPooling2D, Reshape, Transpose } from '../../lib/v2/layers/index.js';
import { Adam, SGD } from '../../lib/v2/optimizers/index.js';
import { FileLimitError, encode_safetensors, save_safetensors } from '../../lib/v2/utils/index.js';
import { expectError } from '../helpers/fixtures.js';
import { fingerprint, inChild, readJson, safetensorsBytes, safetensorsEntries, toVersion1, trainedMlp } from './io-helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ravdl-persist-'));
  dirs.push(d);
  return d;
};
const MiB = 2 ** 20;
const dataFiles = (dir: string) => readdirSync(dir).filter((n) => n !== 'model.json').sort();
const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe('save: one model.json naming its data files', () => {
  it('content-named data files with their size and SHA-256; load gives the model back bit for bit', () => {
    const a = trainedMlp(1);
    const dir = tmp();
    a.save_sync(dir);
    const j = readJson(dir);
    expect(j.version).toBe(2);
    for (const kind of ['weights', 'optimizer']) {
      const f = j.files[kind];
      expect(f.name).toMatch(new RegExp(`^${kind}-[0-9a-f]{16}\\.safetensors$`));
      expect(f.name.slice(kind.length + 1, kind.length + 17)).toBe(f.sha256.slice(0, 16));
      expect(readFileSync(join(dir, f.name)).length).toBe(f.bytes);
    }
    expect(dataFiles(dir)).toEqual([j.files.optimizer.name, j.files.weights.name].sort()); // no temporaries left
    expect(fingerprint(NeuralNetwork.load_sync(dir))).toBe(fingerprint(a));
  });

  it('every built-in layer kind loads with the same output shapes and predictions (shapes inferred from an empty batch)', () => {
    R.manual_seed(4);
    const cnn = new NeuralNetwork(new Adam(), 'CrossEntropy');
    for (const l of [
      new Conv2D(1, 4, 3, { input_shape: [1, 8, 8], padding: 1 }), new BatchNormalization2D(4), new MaxPooling2D(2), new Reshape([-1, 8]),
      new LayerNormalization(), new Transpose(1, 2), new Flatten(), new Dense(6), new BatchNormalization1D(), new Dropout(0.2), new Activation('softmax'),
    ]) cnn.add(l);
    const X = R.randn([5, 1, 8, 8]);
    cnn.fit_sync(X, R.t(Int32Array.from([0, 1, 2, 3, 4])), { n_epochs: 1, verbose: false });
    const emb = new NeuralNetwork(new SGD({ momentum: 0.9 }), 'SquareLoss');
    for (const l of [new Embedding(10, 3, { input_shape: [4] }), new Flatten(), new Dense(2)]) emb.add(l);
    const ids = R.t(Int32Array.from({ length: 8 }, (_, i) => i), { dtype: 'int32' }).reshape([2, 4]);
    emb.fit_sync(ids, R.randn([2, 2]), { n_epochs: 1, verbose: false });
    for (const [m, x] of [[cnn, X], [emb, ids]] as const) {
      const dir = tmp();
      m.save_sync(dir);
      const back = NeuralNetwork.load_sync(dir);
      expect(back.summary('s', false)).toBe(m.summary('s', false));
      expect(Array.from(back.predict(x).data())).toEqual(Array.from(m.predict(x).data()));
      expect(fingerprint(back)).toBe(fingerprint(m));
    }
  });

  it('a second save switches to new files and removes the old ones', () => {
    const dir = tmp();
    const a = trainedMlp(1);
    a.save_sync(dir);
    const old = readJson(dir).files;
    const b = trainedMlp(2);
    b.save_sync(dir);
    const now = readJson(dir).files;
    expect(now.weights.name).not.toBe(old.weights.name);
    expect(dataFiles(dir)).toEqual([now.optimizer.name, now.weights.name].sort());
    expect(fingerprint(NeuralNetwork.load_sync(dir))).toBe(fingerprint(b));
    b.save_sync(dir); // the same content again: same names, still loadable
    expect(readJson(dir).files).toEqual(now);
    expect(fingerprint(NeuralNetwork.load_sync(dir))).toBe(fingerprint(b));
  });

  it('version-1 directories still load, and the next save replaces their files', () => {
    const a = trainedMlp(3);
    const dir = tmp();
    a.save_sync(dir);
    toVersion1(dir);
    expect(dataFiles(dir)).toEqual(['optimizer.safetensors', 'weights.safetensors']);
    const b = NeuralNetwork.load_sync(dir);
    expect(fingerprint(b)).toBe(fingerprint(a));
    b.save_sync(dir);
    expect(readJson(dir).version).toBe(2);
    expect(dataFiles(dir).some((n) => n === 'weights.safetensors' || n === 'optimizer.safetensors')).toBe(false);
    expect(fingerprint(NeuralNetwork.load_sync(dir))).toBe(fingerprint(a));
  });

  it('a model with a custom loss function saves; load asks for the function with a typed error', () => {
    const X = R.randn([8, 4]);
    const Y = R.randn([8, 2]);
    const loss = (t: R.Tensor, p: R.Tensor) => R.mean(R.abs(R.sub(t, p)));
    const m = new NeuralNetwork(new SGD({ lr: 0.1 }), loss);
    m.add(new Dense(2, { input_shape: [4] }));
    m.fit_sync(X, Y, { n_epochs: 2, batch_size: 4, verbose: false });
    const dir = tmp();
    m.save_sync(dir);
    expect(readJson(dir).loss).toBe('custom');
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, 'saved with a custom loss function', 'NeuralNetwork.load(dir, { loss })');
    const back = NeuralNetwork.load_sync(dir, { loss });
    expect(back.loss.fn).toBe(loss);
    expect(Array.from(back.predict(X).data())).toEqual(Array.from(m.predict(X).data()));
    expectError(() => NeuralNetwork.load_sync(dir, { loss: 'constructor' as 'SquareLoss' }), R.AttrError, "unknown loss 'constructor'");
  });
});

describe('save never writes through a link', () => {
  it('replaces a model.json link itself; its target is untouched', () => {
    const dir = tmp();
    const victim = join(tmp(), 'victim.json');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, join(dir, 'model.json'));
    const a = trainedMlp(1);
    a.save_sync(dir);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(join(dir, 'model.json')).isFile()).toBe(true);
    expect(fingerprint(NeuralNetwork.load_sync(dir))).toBe(fingerprint(a));
  });

  it('replaces links planted under the data files\' names and removes old-layout links, targets untouched', () => {
    const a = trainedMlp(1);
    const probe = tmp();
    a.save_sync(probe);
    const names = readJson(probe).files;
    const dir = tmp();
    const victim = join(tmp(), 'victim.bin');
    writeFileSync(victim, 'precious');
    for (const n of [names.weights.name, names.optimizer.name, 'weights.safetensors', 'optimizer.safetensors']) symlinkSync(victim, join(dir, n));
    a.save_sync(dir);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(dataFiles(dir)).toEqual([names.optimizer.name, names.weights.name].sort());
    for (const n of dataFiles(dir)) expect(lstatSync(join(dir, n)).isFile()).toBe(true);
    expect(fingerprint(NeuralNetwork.load_sync(dir))).toBe(fingerprint(a));
  });

  it('save_safetensors replaces a link at its path; its target is untouched', () => {
    const dir = tmp();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, join(dir, 'x.safetensors'));
    save_safetensors(join(dir, 'x.safetensors'), { x: R.t([1, 2]) });
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(join(dir, 'x.safetensors')).isFile()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['victim', 'x.safetensors']);
  });

  it('temporaries of writers that died are removed by the next save; a live writer\'s are kept', () => {
    const dir = tmp();
    const dead = '.ravdl-999999999-0123456789abcdef01234567.tmp'; // beyond any pid_max
    const live = `.ravdl-${process.ppid}-0123456789abcdef01234567.tmp`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, dead), 'x');
    writeFileSync(join(dir, live), 'x');
    trainedMlp(1).save_sync(dir);
    expect(existsSync(join(dir, dead))).toBe(false);
    expect(existsSync(join(dir, live))).toBe(true);
  });

  it('refuses a model.json that is a directory, with a typed error, and leaves the old files', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'model.json'));
    expectError(() => trainedMlp(1).save_sync(dir), R.ArgError, 'cannot write', 'model.json');
    expect(readdirSync(dir).filter((n) => n.startsWith('.ravdl-'))).toEqual([]);
  });
});

describe('load checks every tensor against what it fills', () => {
  /** A version-1 directory of trainedMlp(1) whose weights (or optimizer) file entries were edited. */
  function edited(kind: 'weights' | 'optimizer', edit: (e: ReturnType<typeof safetensorsEntries>['entries']) => void): string {
    const dir = tmp();
    trainedMlp(1).save_sync(dir);
    toVersion1(dir, {
      [kind]: (b: Buffer) => {
        const { entries, metadata } = safetensorsEntries(b);
        edit(entries);
        return safetensorsBytes(entries, metadata);
      },
    });
    return dir;
  }

  it('weights stored as I32, BOOL or F16 are refused (no silent conversion into float32 weights)', () => {
    for (const [dtype, data] of [['I32', new Uint8Array(12)], ['BOOL', new Uint8Array(3)], ['F16', new Uint8Array(6)]] as const) {
      const dir = edited('weights', (e) => void (e['dense_2.w0'] = { dtype, shape: [3], data }));
      expectError(() => NeuralNetwork.load_sync(dir), R.DtypeError, `Dense 'dense_2'`, `'dense_2.w0' is stored as ${dtype}`, 'expected F32');
    }
  });

  it('extra tensors are refused by name; missing ones and wrong shapes name the layer', () => {
    let dir = edited('weights', (e) => void (e['ghost.W'] = { dtype: 'F32', shape: [1], data: f32([1]) }));
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, "holds tensors no layer of the model has: 'ghost.W'");
    dir = edited('weights', (e) => void delete e['dense_2.W']);
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, "Dense 'dense_2'", "has no tensor 'dense_2.W'");
    dir = edited('weights', (e) => void (e['dense_2.w0'] = { dtype: 'F32', shape: [1, 3], data: f32([1, 2, 3]) }));
    expectError(() => NeuralNetwork.load_sync(dir), R.ShapeError, "Dense 'dense_2'", "'dense_2.w0' has shape [1, 3]", 'makes it [3]');
  });

  it('optimizer state: unknown params, other dtypes and wrong shapes are refused', () => {
    let dir = edited('optimizer', (e) => {
      e['exp_avg/ghost.W'] = { dtype: 'F32', shape: [2], data: f32([0, 0]) };
      e['exp_avg_sq/ghost.W'] = { dtype: 'F32', shape: [2], data: f32([0, 0]) };
    });
    // The step count makes ghost.W a param of the state: patch it in the metadata.
    const p = join(dir, 'optimizer.safetensors');
    const { entries, metadata } = safetensorsEntries(readFileSync(p));
    writeFileSync(p, safetensorsBytes(entries, { meta: JSON.stringify({ ...JSON.parse(metadata!.meta!), 'step/ghost.W': 1 }) }));
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, "the state is for param 'ghost.W', which the model does not have");
    dir = edited('optimizer', (e) => void (e['exp_avg/dense_1.w0'] = { dtype: 'I32', shape: [16], data: new Uint8Array(64) }));
    expectError(() => NeuralNetwork.load_sync(dir), R.DtypeError, "optimizer state 'exp_avg/dense_1.w0' is stored as I32");
    dir = edited('optimizer', (e) => {
      e['exp_avg/dense_1.w0'] = { dtype: 'F32', shape: [2], data: f32([0, 0]) };
      e['exp_avg_sq/dense_1.w0'] = { dtype: 'F32', shape: [2], data: f32([0, 0]) };
    });
    expectError(() => NeuralNetwork.load_sync(dir), R.ShapeError, "state 'exp_avg/dense_1.w0' has shape [2] but the param has shape [16]");
  });

  it('version 2: a data file that does not match model.json (size, SHA-256, name) is refused', () => {
    const dir = tmp();
    trainedMlp(1).save_sync(dir);
    const j = readJson(dir);
    const w = join(dir, j.files.weights.name);
    const bytes = readFileSync(w);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(w, bytes);
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, 'does not match the SHA-256 in model.json');
    writeFileSync(w, Buffer.concat([bytes, Buffer.alloc(1)]));
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, `has ${bytes.length + 1} bytes, model.json says ${bytes.length}`);
    for (const name of ['../weights-0000000000000000.safetensors', '/etc/passwd', 'weights.safetensors']) {
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...j, files: { ...j.files, weights: { ...j.files.weights, name } } }));
      expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, 'files.weights must be');
    }
  });

  it('Functional: loading into a built model checks everything before it replaces anything', () => {
    class Two extends Functional {
      a = new Dense(5, { input_shape: [4] });
      b = new Dense(2);
      constructor() {
        super();
        this.initialize_params(new Adam());
      }
      _forward_pass_call(x: R.Tensor) {
        return this.b._forward_pass(this.a._forward_pass(x));
      }
    }
    R.manual_seed(1);
    const saved = new Two();
    saved.predict(R.randn([3, 4]));
    const dir = tmp();
    saved.save_sync(dir);
    const wide = new (class extends Two {
      override b = new Dense(3);
    })();
    wide.layer_name = () => 'Two';
    wide.predict(R.randn([1, 4]));
    const before = wide.get_weights();
    expectError(() => wide.load_sync(dir), R.ShapeError, "Dense 'b'", "'b.W' has shape [2, 5]");
    expect(wide.get_weights()).toEqual(before); // 'a' was not replaced either
    R.manual_seed(9);
    const fresh = new Two().load_sync(dir);
    expect(fresh.get_weights()).toEqual(saved.get_weights());
  });
});

describe('model.json is checked before it is used', () => {
  function saved(): { dir: string; j: any; write: (j: any) => void } {
    const dir = tmp();
    trainedMlp(1).save_sync(dir);
    return { dir, j: readJson(dir), write: (j) => writeFileSync(join(dir, 'model.json'), JSON.stringify(j)) };
  }

  it('names like Object properties (loss, activation, layer class, optimizer, option) are typed errors listing the valid names', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const { dir, j, write } = saved();
      const clone = () => JSON.parse(JSON.stringify(j));
      let k = clone();
      k.loss = name;
      write(k);
      expectError(() => NeuralNetwork.load_sync(dir), R.AttrError, `unknown loss '${name}'`, 'SquareLoss, CrossEntropy');
      k = clone();
      k.layers[1].config.name = name;
      write(k);
      expectError(() => NeuralNetwork.load_sync(dir), R.AttrError, `unknown activation '${name}'`, 'relu');
      k = clone();
      k.layers[1].class = name;
      write(k);
      expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, `unknown layer class '${name}'`, 'Dense');
      k = clone();
      k.optimizer.name = name;
      write(k);
      expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, `unknown optimizer '${name}'`, 'Adam');
      write(JSON.parse(JSON.stringify(j).replace('"amsgrad":false', `"amsgrad":false,"${name}":1`)));
      expectError(() => NeuralNetwork.load_sync(dir), R.AttrError, `unknown option '${name}'`);
    }
  });

  it('malformed fields are typed errors naming the field', () => {
    const cases: [string, (j: any) => void, string][] = [
      ['not an object', (j) => void (j.format = 'other'), 'is not a ravdl model'],
      ['version', (j) => void (j.version = '2'), 'version must be a positive integer'],
      ['newer version', (j) => void (j.version = 99), 'this ravdl reads up to 2'],
      ['layers', (j) => void (j.layers = {}), 'layers must be a list'],
      ['layer config', (j) => void (j.layers[0].config = null), 'layers[0] must be { class, name, config }'],
      ['layer name', (j) => void (j.layers[2].name = j.layers[0].name), "two layers are named 'dense_1'"],
      ['optimizer', (j) => void (j.optimizer = 'Adam'), 'optimizer must be { name, config } or null'],
      ['loss', (j) => void (j.loss = 3), 'loss must be a name or null'],
      ['files', (j) => void delete j.files, 'files must name the data files'],
      ['a config a factory cannot use', (j) => void (j.layers[0] = { class: 'Transpose', name: 't', config: {} }), 'cannot rebuild a Transpose layer'],
    ];
    for (const [, edit, msg] of cases) {
      const { dir, j, write } = saved();
      edit(j);
      write(j);
      expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, msg);
    }
    const { dir, write } = saved();
    writeFileSync(join(dir, 'model.json'), '{"format": ');
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, 'is not valid JSON');
    write({ format: 'ravdl-model' });
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, 'version must be');
  });

  it('sizes from model.json are checked against the weights file and the documented limits before any layer allocates', () => {
    const { dir, j, write } = saved();
    const edit = (f: (k: any) => void) => {
      const k = JSON.parse(JSON.stringify(j));
      f(k);
      write(k);
    };
    edit((k) => (k.layers[0].config.n_units = 1e9));
    expectError(() => NeuralNetwork.load_sync(dir), R.ShapeError, "Dense 'dense_1'", "'dense_1.W' has shape [16, 4]", 'makes it [1000000000, 4]');
    edit((k) => (k.layers[0].config.input_shape = [1e8]));
    expectError(() => NeuralNetwork.load_sync(dir), R.ShapeError, 'samples of shape [100000000]', 'over the limit of 67108864', 'max_sample_elements');
    edit((k) => (k.layers[0].config.input_shape = [-4]));
    expectError(() => NeuralNetwork.load_sync(dir), R.ShapeError, 'input_shape must be positive integers');
    writeFileSync(join(dir, 'model.json'), JSON.stringify(j) + ' '.repeat(16 * MiB));
    expectError(() => NeuralNetwork.load_sync(dir), FileLimitError, `over the limit of ${16 * MiB} (a fixed limit)`);
    write(j);
    expectError(() => NeuralNetwork.load_sync(dir, { max_bytes: 100 }), FileLimitError, 'over the limit of 100', 'max_bytes');
    expect(NeuralNetwork.load_sync(dir, { max_sample_elements: 16 }).layers).toHaveLength(3); // the widest layer has 16 outputs
    expectError(() => NeuralNetwork.load_sync(dir, { max_sample_elements: 15 }), R.ShapeError, "Dense 'dense_1' output", 'over the limit of 15');
  });

  it('a layer that amplifies its input past the sample limit is refused at load (Embedding over a huge id sequence)', () => {
    R.manual_seed(1);
    const m = new NeuralNetwork(new Adam(), 'CrossEntropy');
    m.add(new Embedding(5, 64, { input_shape: [3] }));
    m.add(new Flatten());
    m.add(new Dense(2));
    const dir = tmp();
    m.save_sync(dir);
    const j = readJson(dir);
    j.layers[0].config.input_shape = [2e6]; // 2e6 ids under the limit, 1.28e8 embedded values over it
    writeFileSync(join(dir, 'model.json'), JSON.stringify(j));
    expectError(() => NeuralNetwork.load_sync(dir), R.ShapeError, "Embedding 'embedding_1' output", 'samples of shape [2000000, 64]', 'over the limit');
  });

  it('edited numbers in model.json cannot make load allocate: typed error and bounded peak RSS in a child process', () => {
    const m = new NeuralNetwork(new Adam(), 'CrossEntropy');
    m.add(new Dense(16, { input_shape: [64] }));
    m.add(new Dense(3));
    const dir = tmp();
    m.save_sync(dir);
    const j = readJson(dir);
    j.layers[0].config.n_units = 5e6; // before: built 5e6 × 64 floats (1.2 GiB) and initialised them
    j.layers[1].config.n_units = 5e6;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(j));
    const r = inChild('load_model', dir);
    expect(r.error?.code).toBe('ERR_SHAPE');
    expect(r.error?.message).toContain("Dense 'dense_1'");
    expect(r.maxRSS).toBeLessThan(300 * MiB);
  }, 120_000);

  it('the weights and model.json must be regular files', () => {
    const { dir, j } = saved();
    rmSync(join(dir, j.files.weights.name));
    symlinkSync('/dev/zero', join(dir, j.files.weights.name));
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, 'is a character device');
    rmSync(join(dir, 'model.json'));
    mkdirSync(join(dir, 'model.json'));
    expectError(() => NeuralNetwork.load_sync(dir), R.ArgError, 'is a directory');
    expect(readlinkSync(join(dir, j.files.weights.name))).toBe('/dev/zero');
  });
});

describe('encode_safetensors keeps a tensor named __proto__', () => {
  it('as an own entry of the header', () => {
    const bytes = encode_safetensors(Object.fromEntries([['__proto__', R.t([1])]]));
    const n = Number(bytes.readBigUInt64LE(0));
    expect(Object.keys(JSON.parse(bytes.subarray(8, 8 + n).toString()))).toEqual(['__proto__']);
  });
});
