// save(dir) / load(dir). A model directory holds
//   model.json                          architecture, loss, optimizer config, and `files`: the
//                                       data files of this version with their sizes and SHA-256
//   weights-<sha256 16>.safetensors     parameters and buffers by name
//   optimizer-<sha256 16>.safetensors   optimizer state (step counts in its metadata)
// A save writes the new data files beside the old ones (new names, exclusive create, fsync),
// then renames a new model.json over the old one (the switch), then removes the old files: a
// crash at any point leaves the old model or the new one, never a mix. Nothing is written
// through a link: new files are created exclusively, renames replace links themselves.
// Loading reads and checks model.json and the weights file's header before any layer is built;
// each layer then takes its parameters from the file (name, dtype and shape checked first), so a
// few edited numbers in model.json cannot make it allocate more than the file holds.
// Version 1 directories (weights.safetensors, optimizer.safetensors, no `files`) still load.
// Saving and loading are written once as work (lib/io/drive.ts): save_sync/load_sync run it with
// synchronous file calls, save/load with asynchronous ones and pauses while hashing, so a large
// model never holds the event loop for long.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgError, DtypeError, RavdlError, ShapeError } from '../../errors.js';
import { no_grad } from '../../autograd/mode.js';
import { sameShape } from '../../ops/shape-rules.js';
import { zeros } from '../../ops/creation.js';
import { tidy } from '../../tensor/scope.js';
import { type Tensor, numel, shapeStr } from '../../tensor/tensor.js';
import { CustomLayer } from '../layers/custom.js';
import type { Layer, NamedTensors, StateSource } from '../layers/layer.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { optimizer_from_config } from '../optimizers/index.js';
import { SafetensorsFile, encode_safetensors } from '../../io/safetensors.js';
import {
  MAX_MODEL_FILE_BYTES,
  MAX_MODEL_JSON_BYTES,
  checkLimit,
  checkPath,
  commitTemp,
  commitTempAsync,
  listDir,
  readRegularFile,
  readRegularFileAsync,
  removeStaleTemps,
  syncDir,
  syncDirAsync,
  writeTemp,
  writeTempAsync,
} from '../../io/files.js';
import { type Io, type Work, io, pause } from '../../io/drive.js';

export const FORMAT = 'ravdl-model';
export const VERSION = 2;
/** model.json's loss for a user function: it is code, so load() needs it again ({ loss }). */
export const CUSTOM_LOSS = 'custom';
/** Default limit on the elements of one sample at any layer of a loaded model (256 MiB of float32). */
export const MAX_SAMPLE_ELEMENTS = 2 ** 26;

export interface DataFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface ModelJson {
  format: typeof FORMAT;
  version: number;
  /** 'NeuralNetwork' or the Functional subclass name. */
  model: string;
  /** A loss name, CUSTOM_LOSS for a function, or null (Functional models have none). */
  loss: string | null;
  optimizer: { name: string; config: Record<string, unknown> } | null;
  /** Sequential: the layers in order. */
  layers?: Array<{ class: string; name: string; config: Record<string, unknown> }>;
  /** Sample shape the model was built for (to build lazily created layers before loading). */
  input_shape?: number[] | null;
  input_dtype?: string;
  /** Version 2: the data files this model.json belongs to. */
  files?: { weights: DataFile; optimizer: DataFile | null };
}

export interface LoadOptions {
  /** Largest weights or optimizer file accepted, in bytes (default 2 GiB). */
  max_bytes?: number;
  /** Largest sample (elements) the model may take or produce at any layer (default 2^26). */
  max_sample_elements?: number;
}

const DATA_FILE = /^(weights|optimizer)-[0-9a-f]{16}\.safetensors$/;
const LEGACY_FILES = ['weights.safetensors', 'optimizer.safetensors'];

// ---- file operations, each in a synchronous and an asynchronous form ----

const readIo = (where: string, path: string, max: number, options: { expectBytes?: number; option?: string | null } = {}): Io<Buffer> => ({
  sync: () => readRegularFile(where, path, max, options),
  async: () => readRegularFileAsync(where, path, max, options),
});

/** Writes bytes to a new file dir/name: a temporary file (exclusive, fsync'd) renamed into place. */
const writeIo = (where: string, dir: string, name: string, bytes: Uint8Array): Io<void> => ({
  sync: () => commitTemp(where, writeTemp(where, dir, bytes), join(dir, name)),
  async: async () => commitTempAsync(where, await writeTempAsync(where, dir, bytes), join(dir, name)),
});

const syncDirIo = (dir: string): Io<void> => ({ sync: () => syncDir(dir), async: () => syncDirAsync(dir) });

const mkdirIo = (where: string, dir: string): Io<void> => {
  const fail = (e: unknown) => new ArgError(`${where}: cannot create the directory ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  return {
    sync: () => {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw fail(e);
      }
    },
    async: () => mkdir(dir, { recursive: true }).then(() => undefined, (e) => Promise.reject(fail(e))),
  };
};

/** Removes a file, best effort (a directory of that name, or no permission: not part of the model). */
const removeIo = (path: string): Io<void> => ({
  sync: () => {
    try {
      rmSync(path, { force: true });
    } catch {
      // see above
    }
  },
  async: () => rm(path, { force: true }).catch(() => undefined),
});

const HASH_CHUNK = 2 ** 23;

/** SHA-256 of bytes, in 8 MiB chunks with a pause after each (a 2 GiB file never stalls the async form). */
function* sha256(bytes: Uint8Array): Work<string> {
  const h = createHash('sha256');
  for (let off = 0; off < bytes.length; off += HASH_CHUNK) {
    if (off > 0) yield* pause();
    h.update(bytes.subarray(off, off + HASH_CHUNK));
  }
  return h.digest('hex');
}

// ---- save ----

/**
 * save's work. The model's state is encoded at once, when the work starts (the async save of a
 * model that goes on training writes the weights it had when save was called).
 */
export function* saveWork(where: string, dir: string, json: ModelJson, state: NamedTensors, optimizer: Optimizer | null): Work<void> {
  checkPath(where, dir, 'dir');
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of state) {
    if (Object.hasOwn(tensors, k)) throw new ArgError(`${where}: two tensors are named '${k}' (give layers distinct names)`);
    Object.defineProperty(tensors, k, { value: t, enumerable: true });
  }
  const weights = encode_safetensors(tensors, { format: FORMAT });
  let opt: Buffer | null = null;
  if (optimizer) {
    const s = optimizer.state_dict();
    opt = encode_safetensors(s.tensors, { meta: JSON.stringify(s.meta) });
    for (const t of Object.values(s.tensors)) t.dispose();
  }
  yield* io(mkdirIo(where, dir));
  removeStaleTemps(dir);
  const files = { weights: yield* writeDataFile(where, dir, 'weights', weights), optimizer: opt ? yield* writeDataFile(where, dir, 'optimizer', opt) : null };
  yield* io(syncDirIo(dir));
  // The switch: until this rename, model.json names the old files, which are still there.
  yield* io(writeIo(where, dir, 'model.json', Buffer.from(JSON.stringify({ ...json, version: VERSION, files }, null, 2) + '\n')));
  yield* io(syncDirIo(dir));
  yield* removeOldFiles(dir, files);
}

/** Writes a data file named after its content (a file of that name already holds the same bytes). */
function* writeDataFile(where: string, dir: string, kind: 'weights' | 'optimizer', bytes: Buffer): Work<DataFile> {
  const hash = yield* sha256(bytes);
  const name = `${kind}-${hash.slice(0, 16)}.safetensors`;
  yield* io(writeIo(where, dir, name, bytes));
  return { name, bytes: bytes.length, sha256: hash };
}

/** Removes the data files the new model.json does not name (best effort: the model is already switched). */
function* removeOldFiles(dir: string, files: { weights: DataFile; optimizer: DataFile | null }): Work<void> {
  const keep = new Set<unknown>([files.weights.name, files.optimizer?.name]);
  // Two processes saving into one directory are not supported (the last switch wins), but the
  // files another saver switched to since ours are kept: only a race within this loop is lost.
  for (const name of namedByCurrent(dir)) keep.add(name);
  for (const name of listDir(dir)) {
    if ((DATA_FILE.test(name) || LEGACY_FILES.includes(name)) && !keep.has(name)) yield* io(removeIo(join(dir, name)));
  }
}

function namedByCurrent(dir: string): unknown[] {
  try {
    const j = JSON.parse(readRegularFile('save', join(dir, 'model.json'), MAX_MODEL_JSON_BYTES, { option: null }).toString('utf8'));
    return [j?.files?.weights?.name, j?.files?.optimizer?.name];
  } catch {
    return [];
  }
}

// ---- load ----

/** A model directory opened for loading: model.json checked, the weights file read and its header checked. */
export interface SavedModel {
  dir: string;
  json: ModelJson;
  weights: FileState;
  /** The saved optimizer (config and state, the state checked against params), or null. */
  readOptimizer(params: NamedTensors): Work<Optimizer | null>;
  /** Throws a ShapeError naming owner when a sample of this shape is over the limit. */
  checkSample(owner: string, shape: readonly number[]): void;
}

/** load's work up to building the layers: model.json checked, the weights file read and its header checked. */
export function* openModel(where: string, dir: string, options: LoadOptions = {}): Work<SavedModel> {
  checkPath(where, dir, 'dir');
  if (options === null || typeof options !== 'object') throw new ArgError(`${where}: options must be an object, got ${String(options)}`);
  const maxBytes = checkLimit(where, options.max_bytes, MAX_MODEL_FILE_BYTES);
  const maxSample = options.max_sample_elements ?? MAX_SAMPLE_ELEMENTS;
  if (!Number.isSafeInteger(maxSample) || maxSample <= 0) throw new ArgError(`${where}: max_sample_elements must be a positive integer, got ${String(options.max_sample_elements)}`);
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new ArgError(`${where}: ${path} does not exist (a directory written by model.save(dir) holds model.json and its weights)`);
  const text = (yield* io(readIo(where, path, MAX_MODEL_JSON_BYTES, { option: null }))).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ArgError(`${where}: ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const json = checkModelJson(`${where}: ${path}`, raw);
  const checkSample = (owner: string, shape: readonly number[]) => {
    const n = numel(shape);
    if (n > maxSample) throw new ShapeError(`${where}: ${owner}: samples of shape ${shapeStr(shape)} have ${n} elements, over the limit of ${maxSample} (raise it with the max_sample_elements option)`);
  };
  if (json.input_shape) checkSample('input', json.input_shape);
  const read = function* (kind: 'weights' | 'optimizer'): Work<SafetensorsFile | null> {
    const f = json.files?.[kind];
    if (json.files && !f) return null;
    const file = join(dir, f ? f.name : `${kind}.safetensors`);
    if (!f && kind === 'optimizer' && !existsSync(file)) return null;
    const buf = yield* io(readIo(where, file, maxBytes, { expectBytes: f?.bytes }));
    if (f && (yield* sha256(buf)) !== f.sha256) throw new ArgError(`${where}: ${file} does not match the SHA-256 in model.json (the file was changed or belongs to another save)`);
    return new SafetensorsFile(buf, file);
  };
  const weights = new FileState(where, (yield* read('weights'))!);
  return {
    dir,
    json,
    weights,
    checkSample,
    *readOptimizer(params) {
      if (!json.optimizer) return null;
      const opt = optimizer_from_config(json.optimizer);
      const file = yield* read('optimizer');
      if (file) loadOptimizerState(where, opt, file, params);
      return opt;
    },
  };
}

/** Params and buffers come from the weights file: each checked by name, dtype and shape before it is decoded. */
export class FileState implements StateSource {
  private readonly used = new Set<string>();

  constructor(
    private readonly where: string,
    readonly file: SafetensorsFile,
  ) {}

  take(owner: string, name: string, shape: readonly number[]): Tensor {
    const e = this.file.entries.get(name);
    const src = this.file.source;
    if (!e) throw new ArgError(`${this.where}: ${owner}: ${src} has no tensor '${name}'`);
    if (this.used.has(name)) throw new ArgError(`${this.where}: ${owner}: tensor '${name}' of ${src} is claimed twice (layer names must be distinct)`);
    if (e.dtype !== 'F32') throw new DtypeError(`${this.where}: ${owner}: '${name}' is stored as ${e.dtype} in ${src}, expected F32 (float32)`);
    if (!sameShape(e.shape, shape)) throw new ShapeError(`${this.where}: ${owner}: '${name}' has shape ${shapeStr(e.shape)} in ${src}, but the layer's config makes it ${shapeStr(shape)}`);
    this.used.add(name);
    return this.file.tensor(name);
  }

  /** Throws unless every tensor of the file was taken by a layer. */
  checkAllUsed(): void {
    const extra = [...this.file.entries.keys()].filter((n) => !this.used.has(n));
    if (extra.length) {
      throw new ArgError(`${this.where}: ${this.file.source} holds tensors no layer of the model has: ${extra.slice(0, 10).map((n) => `'${n}'`).join(', ')}${extra.length > 10 ? ` and ${extra.length - 10} more` : ''}`);
    }
  }
}

function loadOptimizerState(where: string, opt: Optimizer, file: SafetensorsFile, params: NamedTensors): void {
  const tensors: Record<string, Tensor> = {};
  for (const [name, e] of file.entries) {
    if (e.dtype !== 'F32') throw new DtypeError(`${where}: optimizer state '${name}' is stored as ${e.dtype} in ${file.source}, expected F32 (float32)`);
  }
  let meta: unknown;
  try {
    meta = JSON.parse(file.metadata.meta ?? '{}');
  } catch {
    throw new ArgError(`${where}: ${file.source} has malformed step counts in its metadata`);
  }
  for (const name of file.entries.keys()) Object.defineProperty(tensors, name, { value: file.tensor(name), enumerable: true });
  try {
    opt.load_state_dict({ tensors, meta: meta as Record<string, number> }, params);
  } catch (e) {
    if (e instanceof RavdlError) e.message = `${where}: ${file.source}: ${e.message}`;
    throw e;
  }
}

/** The output sample shape of a built layer, found without allocating: a batch of 0 samples. */
export function sampleOutput(layer: Layer, input: readonly number[]): number[] {
  let out: readonly number[] | null = null;
  try {
    out = tidy(() => no_grad(() => layer._forward_pass(zeros([0, ...input], { dtype: layer.input_dtype() }), false).shape));
  } catch (e) {
    if (!(e instanceof RavdlError)) throw e;
  }
  // One real sample (of a size checked against the limit) for a layer that cannot infer from an
  // empty batch (a Reshape with -1) or that moves the batch axis.
  return out?.[0] === 0 ? out.slice(1) : layer.output_shape(input);
}

/** [the layer holding it, name, tensor] for every parameter and buffer under layer. */
export function ownedState(layer: Layer): Array<[string, string, Tensor]> {
  layer.state_tensors(); // names the sublayers of a CustomLayer
  const walk = (l: Layer): Array<[string, string, Tensor]> =>
    l instanceof CustomLayer ? l.sublayers().flatMap(([, s]) => walk(s)) : l.state_tensors().map(([n, t]): [string, string, Tensor] => [l.describe(), n, t]);
  return walk(layer);
}

/** The trainable parameters among named state tensors (what optimizer state may refer to). */
export function paramsOf(state: NamedTensors): NamedTensors {
  return state.filter(([, t]) => t.requires_grad);
}

// ---- model.json checks: every field from the file is checked before it is used ----

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isSampleShape = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d > 0);

function checkModelJson(at: string, j: unknown): ModelJson {
  const bad = (msg: string): never => {
    throw new ArgError(`${at}: ${msg}`);
  };
  if (!isObject(j) || j.format !== FORMAT) return bad(`is not a ravdl model (format ${JSON.stringify(isObject(j) ? j.format : undefined)})`);
  if (!Number.isSafeInteger(j.version) || (j.version as number) < 1) bad(`version must be a positive integer, got ${JSON.stringify(j.version)}`);
  if ((j.version as number) > VERSION) bad(`has format version ${j.version}; this ravdl reads up to ${VERSION}`);
  if (typeof j.model !== 'string') bad(`model must be a string, got ${JSON.stringify(j.model)}`);
  if (j.loss !== null && j.loss !== undefined && typeof j.loss !== 'string') bad(`loss must be a name or null, got ${JSON.stringify(j.loss)}`);
  if (j.optimizer !== null && j.optimizer !== undefined) {
    const o = j.optimizer;
    if (!isObject(o) || typeof o.name !== 'string' || (o.config !== undefined && !isObject(o.config))) bad(`optimizer must be { name, config } or null, got ${JSON.stringify(o).slice(0, 200)}`);
  }
  if (j.layers !== undefined) {
    if (!Array.isArray(j.layers)) bad('layers must be a list');
    const names = new Set<string>();
    (j.layers as unknown[]).forEach((l, i) => {
      const e = isObject(l) ? l : {};
      if (typeof e.class !== 'string' || typeof e.name !== 'string' || e.name === '' || !isObject(e.config)) {
        bad(`layers[${i}] must be { class, name, config } with a non-empty name and an object config, got ${JSON.stringify(l).slice(0, 200)}`);
      }
      if (names.has(e.name as string)) bad(`two layers are named '${e.name}'`);
      names.add(e.name as string);
    });
  }
  if (j.input_shape !== undefined && j.input_shape !== null && !isSampleShape(j.input_shape)) bad(`input_shape must be a list of positive integers, got ${JSON.stringify(j.input_shape)}`);
  if (j.input_dtype !== undefined && j.input_dtype !== 'float32' && j.input_dtype !== 'int32') bad(`input_dtype must be 'float32' or 'int32', got ${JSON.stringify(j.input_dtype)}`);
  if ((j.version as number) >= 2) {
    const f = j.files;
    if (!isObject(f)) return bad('files must name the data files ({ weights, optimizer })');
    checkDataFile(bad, 'weights', f.weights);
    if (f.optimizer !== null) checkDataFile(bad, 'optimizer', f.optimizer);
  } else if (j.files !== undefined) bad('files is not part of version 1');
  return j as unknown as ModelJson;
}

function checkDataFile(bad: (msg: string) => never, kind: string, f: unknown): void {
  const ok =
    isObject(f) &&
    typeof f.name === 'string' &&
    typeof f.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(f.sha256) &&
    f.name === `${kind}-${f.sha256.slice(0, 16)}.safetensors` && // a plain name in the directory, never a path
    Number.isSafeInteger(f.bytes) &&
    (f.bytes as number) >= 0;
  if (!ok) bad(`files.${kind} must be { name: '${kind}-<first 16 hex digits of sha256>.safetensors', bytes, sha256 }, got ${JSON.stringify(f).slice(0, 200)}`);
}
