// The op catalog: every op is declared once with defineOp() — name, inputs, attributes,
// shape/dtype inference, kernel and gradient (written in other catalog ops) — and every call
// goes through dispatch(), which validates, infers shapes, runs the kernel and records the tape.
import { type TapeNode, holdTensors } from '../autograd/node.js';
import { adoptNode } from '../tensor/scope.js';
import { isGradEnabled, no_grad } from '../autograd/mode.js';
import { ArgError, DeviceError, DtypeError, GraphError, RavdlError, ShapeError, fromNative } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import type { Device } from '../tensor/device.js';
import { type Shape, Tensor } from '../tensor/tensor.js';
import { type AttrSchema, parseAttrs } from './attrs.js';
import { type Work, segmented } from '../io/drive.js';
import { hasKernel, runKernel } from '../native/kernels.js';

export interface InputSpec {
  name: string;
  /** Accepted dtype(s); default 'float32'. */
  dtype?: DType | 'any';
  /** May be null (e.g. conv2d's bias). */
  optional?: boolean;
}

export interface OutMeta {
  shape: Shape;
  dtype: DType;
  /** false for outputs no gradient flows into (indices, masks, saved statistics). Default true for float32. */
  differentiable?: boolean;
}

export interface GradContext<A> {
  inputs: (Tensor | null)[];
  outputs: Tensor[];
  /** Gradient of the loss w.r.t. each output (null where none flowed). */
  grads: (Tensor | null)[];
  attrs: A;
}

export interface OpDef<A = Record<string, never>> {
  name: string;
  /** One line for docs and error messages. */
  doc: string;
  /** Fixed inputs; with `variadic`, the single spec applies to every input of a list. */
  inputs: InputSpec[];
  variadic?: boolean;
  attrs: AttrSchema<A>;
  /** Output shapes and dtypes from input shapes/dtypes and attrs only (runs before any kernel, also in graph mode). */
  infer(inputs: (Tensor | null)[], attrs: A): OutMeta[];
  /**
   * A kernel written in TypeScript (CPU only), writing every element of every output. Without
   * it (and without view) the op runs its native kernel, found by (op name, device) in the
   * kernel registry (lib/native/kernels.ts) with the parsed attrs.
   */
  kernel?(inputs: (Tensor | null)[], outputs: Tensor[], attrs: A): void;
  /** The attributes the native kernel gets, when they differ from the parsed attrs. */
  kernelAttrs?(attrs: A, inputs: (Tensor | null)[]): object;
  /** Instead of kernel: builds outputs without computing (views such as reshape share the input's data). */
  view?(inputs: (Tensor | null)[], metas: OutMeta[], attrs: A): Tensor[];
  /** Gradients w.r.t. the inputs, built only from catalog ops (null where none). Absent: not differentiable. */
  grad?(ctx: GradContext<A>): (Tensor | null)[];
  /** Set on backward-only ops: the forward op whose gradient check covers this op. */
  gradientOf?: string;
  /**
   * [output, input] pairs whose buffers may be shared: the kernel is correct when that output is
   * that input's tensor. The graph executor then updates in place an input nothing reads later.
   */
  inplace?: readonly (readonly [number, number])[];
}

const catalog = new Map<string, OpDef<any>>();

/** Declares an op in the catalog (name, doc, inputs, attrs, infer, kernel or view, grad); see the README's "Adding an op". */
export function defineOp<A = Record<string, never>>(def: OpDef<A>): OpDef<A> {
  if (catalog.has(def.name)) throw new Error(`defineOp: op '${def.name}' is declared twice`);
  if (def.kernel && def.view) throw new Error(`defineOp: op '${def.name}' has both a kernel and a view`);
  catalog.set(def.name, def);
  return def;
}

/** Every op of the catalog, by name. */
export function ops(): ReadonlyMap<string, OpDef<any>> {
  return catalog;
}

/** The catalog's op named `name` (an ArgError when there is none). */
export function getOp(name: string): OpDef<any> {
  const def = catalog.get(name);
  if (!def) throw new ArgError(`unknown op '${name}'`);
  return def;
}

export type DispatchListener = (op: OpDef<any>, inputs: (Tensor | null)[], outputs: Tensor[], attrs: unknown) => void;
const listeners: DispatchListener[] = [];

/** Calls listener after every op dispatch (for tracing and tests); returns the unsubscribe function. */
export function onDispatch(listener: DispatchListener): () => void {
  listeners.push(listener);
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  };
}

/**
 * Checks the inputs; returns the device they are all on ('cpu' for an op without inputs). Inputs
 * on two devices are a DeviceError naming the op and both devices. A 0-d CPU constant (a number
 * operand) beside inputs on a device is copied there in `inputs`.
 */
function checkInputs(def: OpDef<any>, inputs: (Tensor | null)[], validating = false): Device {
  let device: Device = 'cpu';
  let first = -1;
  let scalars = 0;
  if (!def.variadic && inputs.length !== def.inputs.length) {
    throw new ArgError(`${def.name}: expected ${def.inputs.length} inputs (${def.inputs.map((s) => s.name).join(', ')}), got ${inputs.length}`);
  }
  for (let i = 0; i < inputs.length; i++) {
    const spec = def.variadic ? def.inputs[0]! : def.inputs[i]!;
    const x = inputs[i];
    if (x == null) {
      if (spec.optional) continue;
      throw new ArgError(`${def.name}: input '${spec.name}' is required, got ${x}`);
    }
    if (!(x instanceof Tensor)) throw new ArgError(`${def.name}: input '${spec.name}' must be a Tensor, got ${Object.prototype.toString.call(x)}`);
    x._checkUsable(); // DisposedError for a disposed tensor
    if (x.isSymbolic && recorder === null && !validating) throw new GraphError(`${def.name}: input '${spec.name}' is ${x.toString()}; no op can be added to that graph now (it was activated or dropped)`);
    const want = spec.dtype ?? 'float32';
    if (want !== 'any' && x.dtype !== want) {
      throw new DtypeError(`${def.name}: input '${spec.name}' must be ${want}, got ${x.dtype}${want === 'float32' ? " (convert with .astype('float32'))" : ''}`);
    }
    if (x.device === 'cpu' && x.size === 1 && x.shape.length === 0 && !x.requires_grad) {
      scalars++; // a 0-d CPU constant joins inputs on any device (as in PyTorch): placed below
      continue;
    }
    if (first < 0) {
      first = i;
      device = x.device;
    } else if (x.device !== device) {
      const name = (k: number) => (def.variadic ? `${def.inputs[0]!.name}[${k}]` : def.inputs[k]!.name);
      throw new DeviceError(`${def.name}: inputs on different devices: '${name(first)}' on ${device}, '${name(i)}' on ${x.device} (move them with .to(device))`);
    }
  }
  if (scalars > 0 && device !== 'cpu') {
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      if (x && x.device === 'cpu' && x.shape.length === 0 && !x.requires_grad) inputs[i] = x.to(device);
    }
  }
  return device;
}

/**
 * Whether op `def` can compute on `device`: a view works anywhere (it copies nothing), a
 * TypeScript kernel on the CPU only, a native kernel where the kernel registry has one.
 */
export function runsOn(def: OpDef<any>, device: string): boolean {
  if (def.view) return true;
  return device === 'cpu' || hasKernel(def.name, device);
}

// Computing on the CPU instead would be a silent fallback, so it is an error naming the op.
function checkRuns(def: OpDef<any>, device: string): void {
  if (device === 'cpu' || def.view) return;
  if (!runsOn(def, device)) throw new DeviceError(`${def.name}: no kernel for device '${device}' (move its inputs with .to('cpu'))`);
}

/** Runs op `def`'s kernel on `device`: its TypeScript kernel, or its native one by (name, device). */
function runOpKernel<A>(def: OpDef<A>, device: string, inputs: (Tensor | null)[], outputs: Tensor[], attrs: A): void {
  if (def.kernel && device === 'cpu') def.kernel(inputs, outputs, attrs);
  else runKernel(def.name, device, inputs, outputs, def.kernelAttrs ? def.kernelAttrs(attrs, inputs) : (attrs as object));
}

function wrap(def: OpDef<any>, err: unknown): unknown {
  const e = fromNative(err);
  if (e instanceof RavdlError && !e.message.startsWith(def.name) && !e.message.includes(`${def.name}:`) && !e.message.includes(`${def.name}(`)) {
    e.message = `${def.name}: ${e.message}`;
  }
  return e;
}

/**
 * The outputs op `def` would make from these (possibly symbolic) inputs and parsed attrs: the
 * checks and shape inference of a call, without running or recording it (graph validation).
 */
export function inferCall<A>(def: OpDef<A>, inputs: (Tensor | null)[], attrs: A): OutMeta[] {
  checkInputs(def, inputs, true);
  try {
    return def.infer(inputs, attrs);
  } catch (err) {
    throw wrap(def, err);
  }
}

/** Runs op `def` on tensors with already-parsed attrs; returns all its outputs. */
export function dispatch<A>(def: OpDef<A>, inputs: (Tensor | null)[], attrs: A): Tensor[] {
  const device = checkInputs(def, inputs);
  checkRuns(def, device);
  let metas: OutMeta[];
  try {
    metas = def.infer(inputs, attrs);
  } catch (err) {
    throw wrap(def, err);
  }
  let outputs: Tensor[];
  if (recorder !== null) {
    // Graph mode: a node instead of a computation; concrete inputs become constants.
    outputs = metas.map((m) => Tensor._symbolic(m.shape, m.dtype));
    recorder.record(def, inputs, outputs, attrs, metas);
  } else if (def.view) {
    outputs = def.view(inputs, metas, attrs);
  } else {
    outputs = new Array(metas.length);
    for (let i = 0; i < metas.length; i++) outputs[i] = Tensor._alloc(metas[i]!.shape, metas[i]!.dtype, false, device);
    try {
      runOpKernel(def, device, inputs, outputs, attrs);
    } catch (err) {
      for (const o of outputs) o.dispose();
      throw wrap(def, err);
    }
  }
  if (def.grad && isGradEnabled()) {
    let needs = false;
    for (let i = 0; i < inputs.length; i++) if (inputs[i]?.requires_grad) needs = true;
    if (needs) {
      let node: TapeNode | null = null;
      for (let i = 0; i < outputs.length; i++) {
        const o = outputs[i]!;
        if (metas[i]!.differentiable !== false && o.dtype === 'float32') {
          node ??= { op: def, inputs, outputs, attrs, freed: false };
          o.requires_grad = true;
          o.grad_fn = node;
        }
      }
      if (node) {
        holdTensors(node);
        adoptNode(node);
      }
    }
  }
  if (listeners.length) for (const l of listeners.slice()) l(def, inputs, outputs, attrs);
  return outputs;
}

/**
 * Runs op `def` writing its outputs into `targets` (an in-place update, e.g. an optimizer step:
 * the kernel must allow an output to alias an input); a null target discards that output. Not
 * recorded on the autograd tape. While a graph is being defined the op is recorded like any
 * other and each target then stands for its new value.
 */
export function dispatchInPlace<A>(def: OpDef<A>, inputs: (Tensor | null)[], attrs: A, targets: (Tensor | null)[]): void {
  if (recorder !== null) {
    const outs = no_grad(() => dispatch(def, inputs, attrs));
    targets.forEach((t, i) => t?._assign(outs[i]!));
    return;
  }
  const outputs = dispatchInto(def, inputs, attrs, targets);
  outputs.forEach((o, i) => targets[i] == null && o.dispose());
}

/**
 * Runs op `def` (no tape, no recording) with the given tensors as its outputs where not null
 * (they must match the inferred shapes; the kernel must allow an output to alias an input) and
 * fresh ones elsewhere; returns all the outputs. The graph executor's in-place path.
 */
export function dispatchInto<A>(def: OpDef<A>, inputs: (Tensor | null)[], attrs: A, given: (Tensor | null)[]): Tensor[] {
  const device = checkInputs(def, inputs);
  checkRuns(def, device);
  let metas: OutMeta[];
  try {
    metas = def.infer(inputs, attrs);
  } catch (err) {
    throw wrap(def, err);
  }
  if (def.view || given.length !== metas.length) throw new ArgError(`${def.name}: an in-place call needs a kernel and one target per output (${metas.length})`);
  const fresh: Tensor[] = [];
  const outputs = metas.map((m, i) => {
    const t = given[i];
    if (t == null) {
      const tmp = Tensor._alloc(m.shape, m.dtype, false, device);
      fresh.push(tmp);
      return tmp;
    }
    t._checkUsable();
    if (t.device !== device) throw new DeviceError(`${def.name}: in-place output ${i} is on ${t.device}, the inputs on ${device}`);
    if (t.dtype !== m.dtype || t.shape.length !== m.shape.length || t.shape.some((d, k) => d !== m.shape[k])) {
      throw new ShapeError(`${def.name}: in-place output ${i} is ${t.dtype} ${JSON.stringify(t.shape)}, the op makes ${m.dtype} ${JSON.stringify(m.shape)}`);
    }
    return t;
  });
  try {
    runOpKernel(def, device, inputs, outputs, attrs);
  } catch (err) {
    for (const t of fresh) t.dispose();
    throw wrap(def, err);
  }
  if (listeners.length) for (const l of listeners.slice()) l(def, inputs, outputs, attrs);
  return outputs;
}

/**
 * Runs op `def` whose inputs are known to fit: a graph's node, validated against the catalog
 * when the graph was loaded or built (no input checks, no shape inference: the outputs are
 * `metas`). `given` outputs (where not null) are written in place, as in dispatchInto. No tape.
 */
export function dispatchKnown<A>(def: OpDef<A>, inputs: (Tensor | null)[], attrs: A, metas: readonly OutMeta[], given: (Tensor | null)[] | null): Tensor[] {
  let outputs: Tensor[];
  if (def.view) outputs = def.view(inputs, metas as OutMeta[], attrs);
  else {
    const device = inputDevice(inputs);
    outputs = metas.map((m, i) => given?.[i] ?? Tensor._alloc(m.shape, m.dtype, false, device));
    try {
      runOpKernel(def, device, inputs, outputs, attrs);
    } catch (err) {
      outputs.forEach((o, i) => given?.[i] == null && o.dispose());
      throw wrap(def, err);
    }
  }
  if (listeners.length) for (const l of listeners.slice()) l(def, inputs, outputs, attrs);
  return outputs;
}

/** The device of the first given input ('cpu' for none): a validated node's inputs share one. */
function inputDevice(inputs: (Tensor | null)[]): Device {
  for (const x of inputs) if (x) return x.device;
  return 'cpu';
}

/** Records ops as graph nodes instead of running them (lib/graph), while a graph is being defined. */
export interface GraphRecorder {
  /** metas: the inferred outputs (the recorder keeps them; they must not change). */
  record(def: OpDef<any>, inputs: (Tensor | null)[], outputs: Tensor[], attrs: unknown, metas: readonly OutMeta[]): void;
}
let recorder: GraphRecorder | null = null;

/** @internal the graph module sets the recorder while a graph is being defined (null otherwise). */
export function setGraphRecorder(r: GraphRecorder | null): void {
  recorder = r;
}

/** Whether ops are being recorded into a graph now (rather than computed). */
export function isRecording(): boolean {
  return recorder !== null;
}

/** Runs fn computing ops for real even while a graph is being defined (the local executor). */
export function withoutRecording<T>(fn: () => T): T {
  const prev = recorder;
  recorder = null;
  try {
    return fn();
  } finally {
    recorder = prev;
  }
}

/** withoutRecording() for work that pauses: a graph begun during a pause does not capture its ops. */
export function withoutRecordingWork<T>(work: Work<T>): Work<T> {
  return segmented(() => {
    const prev = recorder;
    recorder = null;
    return () => {
      recorder = prev;
    };
  }, work);
}

/** Runs the op named `name` with raw options (validated against its schema). */
export function callOp(name: string, inputs: (Tensor | null)[], options: object | undefined): Tensor[] {
  const def = getOp(name);
  return dispatch(def, inputs, parseAttrs(def.name, def.attrs, options));
}
