// The Tensor: a shape, a dtype and a C-contiguous typed array (shared with views), plus the
// autograd fields. Math methods (a.add(b), ...) are installed by lib/ops/methods.ts and
// delegate to the op catalog.
import { ArgError, DeviceError, DisposedError, GradError, GraphError, ShapeError } from '../errors.js';
import { type TapeNode, holdTensors } from '../autograd/node.js';
import { isGradEnabled } from '../autograd/mode.js';
import { type Device, type DeviceLike, resolveDevice } from './device.js';
import { type DType, type Data, dtypeOf } from './dtype.js';
import { adoptNode, enterScope } from './scope.js';
import { type Work, segmented } from '../io/drive.js';
import { type GcCell, SYMBOLIC, Storage, allocStorage, copyInto, copyStorage, hostCopy, onDeviceError, releaseStorage, track, untrack, watchGc } from './storage.js';
import type { DeviceBuffer } from '../native/groups/device.js';

/** Where a tensor's value lives in a graph (lib/graph): output `output` of node `node` of `graph`. */
export interface GraphValue {
  readonly graph: object;
  readonly node: number;
  readonly output: number;
}

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
  /**
   * Where the value lives: 'cpu' or 'cuda:N' (device memory). An op runs on its inputs' device
   * (inputs on two devices are a DeviceError naming the op and both); an op without a kernel
   * there is a DeviceError naming it: nothing computes silently on another device. Reading the
   * values (data(), item(), toArray(), printing) copies them to the host.
   */
  get device(): Device {
    return this._device;
  }
  /** @internal set only where a tensor is made or moved. */
  _device: Device = 'cpu';
  /** Whether backward() computes a gradient for this tensor. */
  requires_grad = false;
  /** The accumulated gradient (leaf tensors that require grad, after backward()). */
  grad: Tensor | null = null;
  /** The tape node that produced this tensor (null for leaves and constants). */
  grad_fn: TapeNode | null = null;
  /** @internal */ _storage: Storage | null;
  /** @internal bytes this tensor accounts for in R.memory() (0 for views). */
  private readonly _bytes: number;
  /** @internal set when the FinalizationRegistry watches this tensor (it is outside every tidy scope). */
  private _gcCell: GcCell | null = null;
  /** @internal live tape nodes that hold this tensor (as input or output) for a later backward(). */
  _tapeRefs = 0;
  /**
   * @internal disposed by its owner while the tape still holds it: unusable except by backward(),
   * and released when the last tape node holding it is freed.
   */
  _pending = false;

  /**
   * @internal the graph value this tensor stands for while a graph is being defined: a symbolic
   * tensor's own, or the constant a concrete tensor became when an op recorded it.
   */
  _gv: GraphValue | null = null;

  /** @internal use R.t() or a factory. */
  constructor(shape: Shape, storage: Storage, ownsStorage: boolean, dtype?: DType) {
    const n = numel(shape);
    if (storage !== SYMBOLIC && n !== storage.length) {
      throw new ShapeError(`Tensor: shape ${shapeStr(shape)} holds ${n} elements but the data has ${storage.length}`);
    }
    this.shape = shape;
    this.size = n;
    this.dtype = dtype ?? (storage.buf === null ? dtypeOf(storage.data) : storage.dtype);
    this._storage = storage;
    this._device = storage.device;
    this._bytes = ownsStorage ? storage.byteLength : 0;
    track(this._bytes);
    if (!enterScope(this)) this._leaveScopes();
  }

  /** @internal */
  _leaveScopes(): void {
    if (this._gcCell !== null || this._storage === null) return;
    this._gcCell = watchGc(this, this._bytes);
  }

  /** @internal a tensor over a fresh (or recycled) buffer on `device`; contents arbitrary unless zero. */
  static _alloc(shape: Shape, dtype: DType, zero = false, device: Device = 'cpu'): Tensor {
    return new Tensor(shape, allocStorage(device, dtype, numel(shape), zero), true);
  }

  /** @internal a value of a graph being defined: a shape and dtype, no data. */
  static _symbolic(shape: Shape, dtype: DType): Tensor {
    return new Tensor(shape, SYMBOLIC, false, dtype);
  }

  /**
   * @internal a tensor over data someone else keeps (a graph constant): never recycled or
   * released, and not counted by R.memory() (its owner is).
   */
  static _fromPinned(shape: Shape, data: Data): Tensor {
    const s = new Storage(data);
    s.pinned = true;
    return new Tensor(shape, s, false);
  }

  /** @internal a tensor owning the given array (no copy). */
  static _fromData(shape: Shape, data: Data): Tensor {
    return new Tensor(shape, new Storage(data), true);
  }

  /** @internal the live typed array (no copy): host kernels read and write it. A DeviceError on a device. */
  get _data(): Data {
    const s = this._storage;
    if (s === SYMBOLIC) throw new GraphError(symbolicMessage(this));
    if (s === null || (this._pending && !tapeReading)) this._checkUsable();
    if (s!.buf !== null) throw onDeviceError(`Tensor ${shapeStr(this.shape)} ${this.dtype}`, this._device);
    return s!.data;
  }

  /** @internal what a native kernel is handed: the live typed array, or the device buffer. */
  get _native(): Data | DeviceBuffer {
    const s = this._storage;
    if (s === SYMBOLIC) throw new GraphError(symbolicMessage(this));
    if (s === null || (this._pending && !tapeReading)) this._checkUsable();
    return s!.buf ?? s!.data;
  }

  /** @internal the values in host memory: the live array on the CPU, a copy from a device (which waits for it). */
  _host(): Data {
    const s = this._storage;
    if (s !== null && s !== SYMBOLIC && s.buf !== null && !(this._pending && !tapeReading)) return hostCopy(s);
    return this._data;
  }

  /** @internal throws DisposedError unless the tensor may be an op's input (symbolic ones may). */
  _checkUsable(): void {
    if (this._storage === null || (this._pending && !tapeReading)) {
      throw new DisposedError(`Tensor ${shapeStr(this.shape)} ${this.dtype} was disposed (explicitly or by the tidy() scope that created it)`);
    }
  }

  /** Whether this tensor is a value of a graph being defined (it has a shape and dtype but no data yet). */
  get isSymbolic(): boolean {
    return this._storage === SYMBOLIC;
  }

  /** @internal a tensor of another shape over the same data (no copy); a symbolic tensor only aliases itself. */
  _view(shape: Shape): Tensor {
    const s = this._storage;
    if (s === null) return void this._data as never;
    if (s === SYMBOLIC) {
      if (numel(shape) !== this.size || shape.length !== this.shape.length || shape.some((d, i) => d !== this.shape[i])) {
        throw new GraphError(`internal: a view of shape ${shapeStr(shape)} of a symbolic ${shapeStr(this.shape)} tensor must be recorded as an op`);
      }
      const v = Tensor._symbolic(shape, this.dtype);
      v._gv = this._gv;
      return v;
    }
    s.refs++;
    return new Tensor(shape, s, false);
  }

  /**
   * This tensor on `device` ('cpu', 'cuda', 'cuda:N'): itself when it is there already, else a
   * copy there. A DeviceError names an unknown device or says why a CUDA device cannot be used.
   * The copy is recorded on the autograd tape: its gradient flows back to this device.
   */
  to(device: DeviceLike): Tensor {
    const dev = resolveDevice('to()', device);
    if (dev === this.device) return this;
    this._checkUsable();
    if (this._storage === SYMBOLIC) return void this._data as never;
    const out = new Tensor(this.shape, copyStorage(this._storage!, dev), true, this.dtype);
    if (this.requires_grad && isGradEnabled()) {
      const node: TapeNode = { op: TO_DEVICE, inputs: [this], outputs: [out], attrs: { device: this.device }, freed: false };
      out.requires_grad = true;
      out.grad_fn = node;
      holdTensors(node);
      adoptNode(node);
    }
    return out;
  }

  /** @internal overwrites the values with `values` from host memory (as many, converted to this dtype). */
  _setValues(values: ArrayLike<number>): void {
    if (values.length !== this.size) throw new ShapeError(`set values: ${values.length} values for ${shapeStr(this.shape)}`);
    if (this.device === 'cpu') return void this._data.set(values);
    this._checkUsable();
    const host = this.dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
    copyInto(this._storage!, new Storage(host));
  }

  /** @internal this value on `dev` in place of this tensor: itself when it is there, else a copy there (this one is disposed). */
  _relocate(dev: Device): Tensor {
    if (dev === this.device) return this;
    const out = this.to(dev);
    this.dispose();
    return out;
  }

  /** @internal a copy on the same device (not on the tape). */
  _clone(): Tensor {
    this._checkUsable();
    if (this._storage === SYMBOLIC) return void this._data as never;
    return new Tensor(this.shape, copyStorage(this._storage!, this.device), true, this.dtype);
  }

  /**
   * @internal moves this tensor to `dev` in place (model.to(): layers keep their parameter
   * objects); dev was resolved by the caller. Its gradient moves with it.
   */
  _moveTo(dev: Device): void {
    if (dev === this.device) return;
    this._checkUsable();
    const old = this._storage!;
    if (old === SYMBOLIC) return void this._data as never;
    this._storage = copyStorage(old, dev);
    this._device = dev;
    releaseStorage(old);
    this.grad?._moveTo(dev);
  }

  /**
   * @internal an in-place update of this tensor's value by src (same shape and dtype): a copy, or
   * while a graph is being defined, this tensor now stands for src's value (see setAssignHook).
   */
  _assign(src: Tensor): void {
    if (src.dtype !== this.dtype || src.size !== this.size) {
      throw new ShapeError(`assign: ${shapeStr(src.shape)} ${src.dtype} into ${shapeStr(this.shape)} ${this.dtype}`);
    }
    if (assignHook?.(this, src)) return;
    if (src.device !== this.device) throw new DeviceError(`assign: the value is on ${src.device}, the tensor on ${this.device}`);
    this._copyFrom(src);
  }

  /** @internal overwrites this tensor's values with src's (same dtype and size; any devices: a copy across). */
  _copyFrom(src: Tensor): void {
    this._checkUsable();
    src._checkUsable();
    if (src.dtype !== this.dtype || src.size !== this.size) {
      throw new ShapeError(`copy: ${shapeStr(src.shape)} ${src.dtype} into ${shapeStr(this.shape)} ${this.dtype}`);
    }
    if (this._storage === SYMBOLIC || src._storage === SYMBOLIC) return void (this._storage === SYMBOLIC ? this : src)._data;
    copyInto(this._storage!, src._storage!);
  }

  /** @internal becomes symbolic, standing for value gv (a variable rebound in a graph); returns the storage it had. */
  _rebind(gv: GraphValue): Storage | null {
    const prev = this._storage;
    if (prev !== null && prev !== SYMBOLIC) prev.pinned = true; // the graph may hold it as a constant
    this._storage = SYMBOLIC;
    this._gv = gv;
    return prev === SYMBOLIC ? null : prev;
  }

  /** @internal takes data again (a variable after its graph ran, or when the graph is dropped). */
  _restore(storage: Storage): void {
    this._storage = storage;
    this._gv = null;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this._storage === null || this._pending;
  }

  /** A copy of the data as a typed array. */
  data(): Data {
    return this.device === 'cpu' ? this._data.slice() : this._host();
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item(): the tensor has shape ${shapeStr(this.shape)} (${this.size} elements); item() needs exactly one`);
    return this._host()[0]!;
  }

  /**
   * The data as nested JS arrays (a number for a 0-d tensor). With the tensor's rank as argument
   * the result is typed by it (toArray(2): number[][]), checked at run time (a ShapeError when
   * the tensor has another rank).
   */
  toArray(): NestedArray;
  toArray(rank: 0): number;
  toArray(rank: 1): number[];
  toArray(rank: 2): number[][];
  toArray(rank: 3): number[][][];
  toArray(rank: 4): number[][][][];
  toArray(rank?: number): NestedArray;
  toArray(rank?: number): NestedArray {
    if (rank !== undefined && rank !== this.shape.length) {
      throw new ShapeError(`toArray(${String(rank)}): the tensor has rank ${this.shape.length} (shape ${shapeStr(this.shape)})`);
    }
    return this.nested();
  }

  /**
   * What JSON.stringify writes: { shape, dtype, values } with the values as toArray() gives
   * them (JSON has no NaN or infinities: JSON.stringify writes null for those); a value of a
   * graph being defined: { shape, dtype, graph } (a description, no values); a disposed
   * tensor: { shape, dtype, disposed: true }.
   */
  toJSON(): TensorJSON {
    const head = { shape: [...this.shape], dtype: this.dtype };
    if (this._storage === null || this._pending) return { ...head, disposed: true };
    if (this._storage === SYMBOLIC) return { ...head, graph: describeHook?.(this) ?? 'a value of a graph' };
    return { ...head, values: this.toArray() };
  }

  private nested(): NestedArray {
    const data = this._host();
    const shape = this.shape;
    if (shape.length === 0) return data[0]!;
    // Nested arrays beyond one per value: only an empty axis after large ones makes many (e.g. [2^27, 0]).
    let arrays = 0;
    for (let d = 0, rows = 1; d < shape.length; d++) {
      arrays += rows;
      rows *= shape[d]!;
    }
    if (arrays > this.size + MAX_EMPTY_ARRAYS) {
      throw new ArgError(`toArray(): shape ${shapeStr(shape)} would build ${arrays} nested arrays around ${this.size} values (at most ${MAX_EMPTY_ARRAYS} more arrays than values)`);
    }
    let pos = 0;
    const build = (d: number): NestedArray[] | number[] => {
      const n = shape[d]!;
      if (d === shape.length - 1) {
        const row = Array.from(data.subarray(pos, pos + n));
        pos += n;
        return row;
      }
      const out: NestedArray[] = [];
      for (let i = 0; i < n; i++) out.push(build(d + 1));
      return out;
    };
    return build(0);
  }

  /**
   * Releases the data now (a view keeps it alive until it is disposed too). Idempotent. A tensor
   * that a recorded op still needs for backward() is released when backward() (or the tidy()
   * scope that sees the graph can no longer be reached) frees that op, so disposing never cuts
   * a gradient.
   */
  dispose(): void {
    if (this._storage === null || this._pending) return;
    if (this._tapeRefs > 0) {
      this._pending = true;
      this._leaveScopes(); // if the graph is dropped without backward(), the collector un-counts it
      return;
    }
    this._release();
  }

  /** @internal frees the data (the tape no longer needs it). */
  _release(): void {
    const s = this._storage;
    if (s === null) return;
    this._storage = null;
    this._pending = false;
    this.grad_fn = null;
    untrack(this._bytes, s, this._gcCell);
  }

  /** @internal a live tape node stopped holding this tensor. */
  _untape(): void {
    if (--this._tapeRefs === 0 && this._pending) this._release();
  }

  /** Sets requires_grad in place (only on leaves and float32 tensors) and returns this. */
  requires_grad_(flag = true): this {
    if (flag && this.dtype !== 'float32') throw new GradError(`requires_grad_: only float32 tensors can require gradients (this one is ${this.dtype})`);
    if (!flag && this.grad_fn) throw new GradError('requires_grad_(false): the tensor is the result of an op; use detach() instead');
    this.requires_grad = flag;
    return this;
  }

  /** A tensor sharing this data, cut from the tape (no gradient flows back through it). */
  detach(): Tensor {
    return this._view(this.shape);
  }

  toString(): string {
    if (this._storage === null) return `Tensor(disposed, shape=${shapeStr(this.shape)}, dtype=${this.dtype})`;
    if (this._storage === SYMBOLIC) return `Tensor(${describeHook?.(this) ?? 'symbolic'}, shape=${shapeStr(this.shape)}, dtype=${this.dtype})`;
    const data = this._host();
    const fmt = (v: number) => (this.dtype === 'int32' ? String(v) : formatFloat(v));
    // Count the slots printed, not the values: a [2^27, 0] tensor has no values but 2^27 rows.
    const summarize = numel(this.shape.map((d) => Math.max(d, 1))) > 1000;
    const render = (d: number, offset: number, indent: string): string => {
      if (this.shape.length === 0) return fmt(data[0]!);
      const n = this.shape[d]!;
      const stride = numel(this.shape.slice(d + 1));
      const idx = summarize && n > 6 ? [0, 1, 2, -1, n - 3, n - 2, n - 1] : Array.from({ length: n }, (_, i) => i);
      const parts = idx.map((i) => (i < 0 ? '...' : d === this.shape.length - 1 ? fmt(data[offset + i]!) : render(d + 1, offset + i * stride, indent + ' ')));
      const sep = d === this.shape.length - 1 ? ', ' : ',\n' + indent + ' ';
      return '[' + parts.join(sep) + ']';
    };
    const extras = [`shape=${shapeStr(this.shape)}`];
    if (this.dtype !== 'float32') extras.push(`dtype=${this.dtype}`);
    if (this.device !== 'cpu') extras.push(`device='${this.device}'`);
    if (this.grad_fn) extras.push(`grad_fn=${this.grad_fn.op.name}`);
    else if (this.requires_grad) extras.push('requires_grad=true');
    return `tensor(${render(0, 0, '       ')}, ${extras.join(', ')})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

export type NestedArray = number | NestedArray[];

/** Tensor.toJSON()'s result. */
export type TensorJSON =
  | { shape: number[]; dtype: DType; values: NestedArray }
  | { shape: number[]; dtype: DType; graph: string }
  | { shape: number[]; dtype: DType; disposed: true };

const MAX_EMPTY_ARRAYS = 1 << 20;

// The tape's view of to(): not a catalog op (a graph has one device), only its gradient, the
// incoming gradient copied back to the source's device.
const TO_DEVICE = {
  name: 'to',
  grad: ({ grads: [g], attrs }: { grads: (Tensor | null)[]; attrs: { device: Device } }) => [g ? g.to(attrs.device) : null],
} as unknown as TapeNode['op'];

// Set by lib/graph: how a symbolic tensor describes itself, and in-place updates while recording.
let describeHook: ((t: Tensor) => string) | null = null;
let assignHook: ((target: Tensor, src: Tensor) => boolean) | null = null;

/** @internal installed by the graph recorder. */
export function setGraphHooks(describe: (t: Tensor) => string, assign: (target: Tensor, src: Tensor) => boolean): void {
  describeHook = describe;
  assignHook = assign;
}

function symbolicMessage(t: Tensor): string {
  return `Tensor ${shapeStr(t.shape)} ${t.dtype} is ${describeHook?.(t) ?? 'a value of a graph'}: it has no data until the graph runs; ` +
    'persist it with t.persist_op({ name }) and read it with R.fetch_persisting_op({ op_name: name }) after R.execute()';
}

// True while backward() runs: it may read tensors disposed by their owner but still held by the tape.
let tapeReading = false;

/** @internal runs fn with read access to tensors held only by the tape (for backward()). */
export function withTapeAccess<T>(fn: () => T): T {
  const prev = tapeReading;
  tapeReading = true;
  try {
    return fn();
  } finally {
    tapeReading = prev;
  }
}

/** @internal withTapeAccess() for work that pauses (backward in steps). */
export function tapeAccessWork<T>(work: Work<T>): Work<T> {
  return segmented(() => {
    const prev = tapeReading;
    tapeReading = true;
    return () => {
      tapeReading = prev;
    };
  }, work);
}

function formatFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return v.toFixed(1);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e7)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}
