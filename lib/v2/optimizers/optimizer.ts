// The Optimizer base class of ravdl/v2/optimizers: validation of params and grads, per-param
// state created lazily and keyed by the param's name, state_dict/load_state_dict. Subclasses
// only declare their state buffers and call their native fused kernel.
import type { Device } from '../../tensor/device.js';
import { ArgError, DtypeError, ShapeError, fromNative } from '../../errors.js';
import { zeros } from '../../ops/creation.js';
import { keep } from '../../tensor/scope.js';
import { Tensor, shapeStr } from '../../tensor/tensor.js';
import { describe, num, parseAttrs } from '../../ops/attrs.js';
import { sameShape } from '../../ops/shape-rules.js';
import { type OpDef, dispatchInPlace, withoutRecording } from '../../ops/define.js';
import { no_grad } from '../../autograd/mode.js';

/** Params with stable names, e.g. [['dense_1.W', W], ['dense_1.w0', w0]]. */
export type NamedParams = ReadonlyArray<readonly [string, Tensor]>;

export interface OptimizerStateDict {
  /** State buffers by `${stateName}/${paramName}`, e.g. 'exp_avg/dense_1.W'. */
  tensors: Record<string, Tensor>;
  /** Update counts by `step/${paramName}`. */
  meta: Record<string, number>;
}

interface ParamState {
  /** Updates applied so far (the kernel gets step + 1, 1-based). */
  step: number;
  /** One float32 buffer of the param's shape per state name of the optimizer. */
  bufs: Record<string, Tensor>;
}

/** One optimizer update as a catalog op call. */
export interface UpdateCall {
  op: OpDef<any>;
  inputs: (Tensor | null)[];
  attrs: unknown;
}

const STEP_PREFIX = 'step/';

export abstract class Optimizer {
  /** Class name used in messages and get_config(). */
  readonly name: string;
  private _lr: number;
  private readonly state = new Map<string, ParamState>();

  /** lr was validated by the subclass's option parsing. */
  protected constructor(name: string, lr: number) {
    this.name = name;
    this._lr = lr;
  }

  /** Learning rate; may be changed between steps (schedules). */
  get lr(): number {
    return this._lr;
  }
  set lr(v: number) {
    this._lr = parseAttrs(this.name, { lr: { check: nonNegative, default: 0 } }, { lr: v }).lr;
  }

  /** Names of the state buffers each param needs under the current hyper-parameters. */
  protected abstract stateNames(): readonly string[];

  /**
   * The catalog op of one update (lib/ops/optim.ts) with its inputs, in the op's order, and its
   * attributes; step is 1-based. Its outputs replace the param and the state buffers, in order.
   */
  protected abstract update(param: Tensor, grad: Tensor, bufs: Record<string, Tensor>, step: number): UpdateCall;

  /** Class name + hyper-parameters (JSON-serialisable), enough to rebuild the optimizer. */
  abstract get_config(): { name: string; config: Record<string, unknown> };

  /**
   * Updates every param in place from its .grad (params whose grad is null are skipped).
   * Everything is validated before any param changes. The write goes straight into the param's
   * buffer through the native kernel, so it is never recorded on the autograd tape.
   */
  step(params: NamedParams): void {
    const todo: [string, Tensor, Tensor][] = [];
    for (const [name, p] of this.checkParams('step', params)) {
      const g = p.grad;
      if (g === null) continue;
      const where = `${this.name}.step: param '${name}'`;
      if (p.dtype !== 'float32') throw new DtypeError(`${where} is ${p.dtype}; optimizers update float32 params only`);
      if (!(g instanceof Tensor)) throw new ArgError(`${where}: .grad must be a Tensor or null, got ${describe(g)}`);
      if (g.dtype !== 'float32') throw new DtypeError(`${where}: its grad is ${g.dtype}, expected float32`);
      if (!sameShape(g.shape, p.shape)) throw new ShapeError(`${where}: its grad has shape ${shapeStr(g.shape)} but the param has shape ${shapeStr(p.shape)}`);
      // The kernel needs distinct buffers (_checkUsable rejects disposed tensors).
      p._checkUsable();
      g._checkUsable();
      if (!p.isSymbolic && !g.isSymbolic && g._storage === p._storage) throw new ArgError(`${where}: its grad shares the param's data`);
      const st = this.state.get(name);
      if (st) {
        for (const [k, b] of Object.entries(st.bufs)) {
          if (!sameShape(b.shape, p.shape)) throw new ShapeError(`${where} has shape ${shapeStr(p.shape)} but its state '${k}/${name}' has shape ${shapeStr(b.shape)}`);
        }
      }
      todo.push([name, p, g]);
    }
    for (const [name, p, g] of todo) {
      let st = this.state.get(name);
      if (!st) {
        st = { step: 0, bufs: {} };
        // Zeros as data, not graph nodes: the state is a constant the recorded updates rebind.
        for (const k of this.stateNames()) st.bufs[k] = keep(withoutRecording(() => zeros(p.shape, { device: p.device })));
        this.state.set(name, st);
      }
      const { op, inputs, attrs } = this.update(p, g, st.bufs, st.step + 1);
      // In place (the op's outputs are written over the param and its state); while a graph is
      // being defined, a recorded node whose outputs the param and state now stand for.
      const targets = [p, ...inputs.slice(2).filter((t): t is Tensor => t !== null)];
      try {
        dispatchInPlace(op, inputs, attrs, targets);
      } catch (err) {
        throw fromNative(err);
      }
      st.step++;
    }
  }

  /** @internal moves every state buffer to dev, in place (model.to()). */
  _moveTo(dev: Device): void {
    for (const st of this.state.values()) for (const b of Object.values(st.bufs)) b._moveTo(dev);
  }

  /** Sets every param's .grad to null, disposing the old grad tensors. */
  zero_grad(params: NamedParams): void {
    for (const [, p] of this.checkParams('zero_grad', params)) {
      if (p.grad) p.grad.dispose();
      p.grad = null;
    }
  }

  /** Copies of the state buffers (on their devices) and the per-param step counts. */
  state_dict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    const meta: Record<string, number> = {};
    for (const [name, st] of this.state) {
      meta[STEP_PREFIX + name] = st.step;
      for (const [k, b] of Object.entries(st.bufs)) tensors[`${k}/${name}`] = b._clone();
    }
    return { tensors, meta };
  }

  /**
   * Replaces the whole state with copies of s (s stays the caller's). Every param in s.meta must
   * have exactly the buffers this optimizer's hyper-parameters need, all of one shape. With
   * `params` (a model's parameters), every param of the state must be one of them, of its shape.
   * Nothing changes unless all of s is valid.
   */
  load_state_dict(s: OptimizerStateDict, params?: NamedParams): void {
    const where = `${this.name}.load_state_dict`;
    if (s === null || typeof s !== 'object' || !isRecord(s.tensors) || !isRecord(s.meta)) {
      throw new ArgError(`${where}: expected { tensors, meta } objects, got ${describe(s)}`);
    }
    const names = this.stateNames();
    // Maps throughout: keys come from a file and may be named like Object properties.
    const loaded = new Map<string, { step: number; src: Map<string, Tensor> }>();
    for (const [key, v] of Object.entries(s.meta)) {
      if (!key.startsWith(STEP_PREFIX)) throw new ArgError(`${where}: unknown meta key '${key}' (expected 'step/<param name>')`);
      if (!Number.isSafeInteger(v) || v < 0) throw new ArgError(`${where}: meta '${key}' must be a non-negative integer, got ${describe(v)}`);
      loaded.set(key.slice(STEP_PREFIX.length), { step: v, src: new Map() });
    }
    for (const [key, t] of Object.entries(s.tensors)) {
      const cut = key.indexOf('/');
      const k = key.slice(0, cut);
      const entry = cut > 0 ? loaded.get(key.slice(cut + 1)) : undefined;
      if (!names.includes(k)) throw new ArgError(`${where}: unknown state '${key}'; ${this.name} with these options keeps ${names.length ? names.map((n) => `'${n}/<param>'`).join(', ') : 'no buffers'}`);
      if (!entry) throw new ArgError(`${where}: state '${key}' has no step count 'step/${key.slice(cut + 1)}' in meta`);
      if (!(t instanceof Tensor)) throw new ArgError(`${where}: state '${key}' must be a Tensor, got ${describe(t)}`);
      if (t.dtype !== 'float32') throw new DtypeError(`${where}: state '${key}' is ${t.dtype}, expected float32`);
      entry.src.set(k, t);
    }
    const checked = params ? this.checkParams('load_state_dict', params) : null;
    const shapes = checked ? new Map(checked.map(([n, p]) => [n, p.shape])) : null;
    const devices = checked ? new Map(checked.map(([n, p]) => [n, p.device])) : null;
    for (const [param, { src }] of loaded) {
      const missing = names.filter((k) => !src.has(k));
      if (missing.length) throw new ArgError(`${where}: param '${param}' lacks state ${missing.map((k) => `'${k}/${param}'`).join(', ')}`);
      const first = src.get(names[0]!);
      for (const k of names) {
        if (!sameShape(src.get(k)!.shape, first!.shape)) throw new ShapeError(`${where}: state '${k}/${param}' has shape ${shapeStr(src.get(k)!.shape)} but '${names[0]}/${param}' has ${shapeStr(first!.shape)}`);
      }
      if (shapes) {
        const want = shapes.get(param);
        if (!want) throw new ArgError(`${where}: the state is for param '${param}', which the model does not have (its params: ${[...shapes.keys()].slice(0, 20).join(', ')}${shapes.size > 20 ? ', ...' : ''})`);
        if (first && !sameShape(first.shape, want)) throw new ShapeError(`${where}: state '${names[0]}/${param}' has shape ${shapeStr(first.shape)} but the param has shape ${shapeStr(want)}`);
      }
    }
    const next = new Map<string, ParamState>();
    for (const [param, { step, src }] of loaded) {
      const bufs: Record<string, Tensor> = {};
      // On the param's device when the params are given (as torch does), else where the source is.
      const dev = devices?.get(param);
      for (const k of names) {
        const t = src.get(k)!;
        bufs[k] = keep(dev && dev !== t.device ? no_grad(() => t.to(dev)) : t._clone());
      }
      next.set(param, { step, bufs });
    }
    this.clearState();
    for (const [k, v] of next) this.state.set(k, v);
  }

  /** Releases every state buffer (the next step starts from fresh zeros). */
  protected clearState(): void {
    for (const st of this.state.values()) for (const b of Object.values(st.bufs)) b.dispose();
    this.state.clear();
  }

  /** Checks that params is an array of distinct [name, Tensor] pairs. */
  private checkParams(method: string, params: NamedParams): NamedParams {
    const where = `${this.name}.${method}`;
    if (!Array.isArray(params)) throw new ArgError(`${where}: params must be an array of [name, Tensor] pairs, got ${describe(params)}`);
    const names = new Set<string>();
    const tensors = new Set<Tensor>();
    params.forEach((e, i) => {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !(e[1] instanceof Tensor)) {
        throw new ArgError(`${where}: params[${i}] must be a [name, Tensor] pair, got ${describe(e)}`);
      }
      // A repeat would be updated twice per step.
      if (names.has(e[0])) throw new ArgError(`${where}: param name '${e[0]}' appears twice`);
      if (tensors.has(e[1])) throw new ArgError(`${where}: param '${e[0]}' is the same tensor as an earlier param`);
      names.add(e[0]);
      tensors.add(e[1]);
    });
    return params;
  }
}

/** A learning rate or other non-negative hyper-parameter. */
export const nonNegative = num({ min: 0, finite: true });

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
