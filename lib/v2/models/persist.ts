// save(dir) / load(dir): model.json (architecture, loss, optimizer config), weights.safetensors
// (parameters and buffers by name) and optimizer.safetensors (optimizer state, step counts in
// its metadata), so a loaded model predicts identically and can resume training.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { NamedTensors } from '../layers/layer.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { optimizer_from_config } from '../optimizers/index.js';
import { load_safetensors, save_safetensors } from '../io/safetensors.js';

export const FORMAT = 'ravdl-model';
export const VERSION = 1;

export interface ModelJson {
  format: typeof FORMAT;
  version: number;
  /** 'NeuralNetwork' or the Functional subclass name. */
  model: string;
  loss: string | null;
  optimizer: { name: string; config: Record<string, unknown> } | null;
  /** Sequential: the layers in order. */
  layers?: Array<{ class: string; name: string; config: Record<string, unknown> }>;
  /** Sample shape the model was built for (to build lazily created layers before loading). */
  input_shape?: number[] | null;
  input_dtype?: string;
}

export function saveModel(dir: string, json: ModelJson, state: NamedTensors, optimizer: Optimizer | null): void {
  mkdirSync(dir, { recursive: true });
  const names = new Set<string>();
  for (const [k] of state) {
    if (names.has(k)) throw new ArgError(`save: two tensors are named '${k}' (give layers distinct names)`);
    names.add(k);
  }
  save_safetensors(join(dir, 'weights.safetensors'), Object.fromEntries(state), { format: FORMAT });
  if (optimizer) {
    const s = optimizer.state_dict();
    save_safetensors(join(dir, 'optimizer.safetensors'), s.tensors, { meta: JSON.stringify(s.meta) });
  }
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json, null, 2) + '\n');
}

export function readModelJson(dir: string): ModelJson {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new ArgError(`load: ${path} does not exist (a directory written by model.save(dir) holds model.json and weights.safetensors)`);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (e) {
    throw new ArgError(`load: ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (json?.format !== FORMAT) throw new ArgError(`load: ${path} is not a ravdl model (format '${String(json?.format)}')`);
  if (json.version > VERSION) throw new ArgError(`load: ${path} has format version ${json.version}; this ravdl reads up to ${VERSION}`);
  return json;
}

export function readWeights(dir: string): Map<string, Tensor> {
  return new Map(Object.entries(load_safetensors(join(dir, 'weights.safetensors')).tensors));
}

/** The optimizer saved in dir (its config and, when saved, its state), or null. */
export function readOptimizer(dir: string, json: ModelJson): Optimizer | null {
  if (!json.optimizer) return null;
  const opt = optimizer_from_config(json.optimizer);
  const path = join(dir, 'optimizer.safetensors');
  if (existsSync(path)) {
    const s = load_safetensors(path);
    let meta: Record<string, number> = {};
    try {
      meta = JSON.parse(s.metadata.meta ?? '{}') as Record<string, number>;
    } catch {
      throw new ArgError(`load: ${path} has malformed step counts in its metadata`);
    }
    opt.load_state_dict({ tensors: s.tensors, meta });
  }
  return opt;
}
