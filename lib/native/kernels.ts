// Native kernels by (op, device): the one place TypeScript reaches a catalog op's kernel. The
// registry (native/include/ravdl/registry.h) holds every backend's kernels under the catalog's
// op and attribute names; runKernel() resolves (op, device) to a handle once, describes the call
// in one reusable Float64Array (shapes, then the attributes in the order the op declares them)
// and calls the binding's generic entry (bindings/kernel.cpp).
import { ArgError, AttrError } from '../errors.js';
import type { Data } from '../tensor/dtype.js';
import type { DeviceBuffer } from './groups/device.js';
import { native } from './load.js';

/** An attribute value as the catalog parses it (a choice is a string). */
export type KernelAttrValue = number | boolean | string | null | undefined | readonly number[];

/** A tensor as the kernel entry sees it: its data and shape. */
export interface KernelTensor {
  /** The values: a typed array on the CPU, a device buffer on a CUDA device. */
  readonly _native: Data | DeviceBuffer;
  readonly shape: readonly number[];
}

interface KernelRef {
  handle: number;
  /** The op's declared attributes and, for string ones, their choices (null for numbers). */
  names: string[];
  choices: (string[] | null)[];
}

const refs = new Map<string, Map<string, KernelRef>>();
const opsByDevice = new Map<string, ReadonlySet<string>>();
// One meta buffer for every call (calls are synchronous); grown when a call needs more.
let meta = new Float64Array(256);

/** The binding's device string: 'cpu' or 'cuda:N'. */
const nativeDevice = (device: string) => (device === 'cuda' ? 'cuda:0' : device);
/** The binding's number for a device (reading a number costs less than a string): -1 CPU, N cuda:N. */
const deviceNumber = (device: string) => (device === 'cpu' ? -1 : Number(nativeDevice(device).slice(5)));

/** Names of the ops with a kernel on `device` ('cpu', 'cuda', 'cuda:N'), sorted. */
export function kernelOps(device: string): string[] {
  return native().kernelOps(nativeDevice(device));
}

/** Whether op has a kernel registered on `device` (the registry's answer). */
export function hasKernel(op: string, device: string): boolean {
  const kind = device.startsWith('cuda') ? 'cuda' : device;
  let set = opsByDevice.get(kind);
  if (!set) {
    set = new Set(kernelOps(kind));
    opsByDevice.set(kind, set);
  }
  return set.has(op);
}

/** The attributes op's kernels read, in order, with the values of string (choice) attributes. */
export function kernelAttrs(op: string): [name: string, choices: string[]][] {
  return native().kernelAttrs(op);
}

function ref(op: string, device: string): KernelRef {
  let byDevice = refs.get(op);
  if (!byDevice) refs.set(op, (byDevice = new Map()));
  let r = byDevice.get(device);
  if (!r) {
    const decls = kernelAttrs(op);
    r = { handle: native().kernelHandle(op, nativeDevice(device)), names: decls.map((d) => d[0]), choices: decls.map((d) => (d[1].length ? d[1] : null)) };
    byDevice.set(device, r);
  }
  return r;
}

function room(n: number): void {
  if (n > meta.length) {
    const grown = new Float64Array(Math.max(n, 2 * meta.length));
    grown.set(meta);
    meta = grown;
  }
}

/** Writes the tensors' shapes from position k of meta; returns the next position. */
function putShapes(k: number, ts: readonly (KernelTensor | null)[]): number {
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (!t) {
      room(k + 1);
      meta[k++] = -1;
      continue;
    }
    const s = t.shape;
    room(k + 1 + s.length);
    meta[k++] = s.length;
    for (let d = 0; d < s.length; d++) meta[k++] = s[d]!;
  }
  return k;
}

/** Writes the declared attributes from position k of meta; returns the next position. */
function putAttrs(op: string, k: number, r: KernelRef, attrs: object): number {
  const names = r.names;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const v = (attrs as Record<string, KernelAttrValue>)[name];
    room(k + 2);
    if (v === null || v === undefined) meta[k++] = 0;
    else if (typeof v === 'number') {
      meta[k++] = 1;
      meta[k++] = v;
    } else if (typeof v === 'boolean') {
      meta[k++] = 1;
      meta[k++] = v ? 1 : 0;
    } else if (typeof v === 'string' && r.choices[i]) {
      const choices = r.choices[i]!;
      const c = choices.indexOf(v);
      if (c < 0) throw new AttrError(`${op}: attribute '${name}' must be one of ${choices.map((x) => `'${x}'`).join(', ')}, got '${v}'`);
      meta[k++] = 1;
      meta[k++] = -1 - c;
    } else if (!Array.isArray(v)) {
      throw new ArgError(`${op}: attribute '${name}' must be a number or a list of numbers, got ${typeof v === 'string' ? `'${v}'` : typeof v}`);
    } else {
      room(k + 1 + v.length);
      meta[k++] = v.length;
      for (let j = 0; j < v.length; j++) meta[k++] = v[j]!;
    }
  }
  return k;
}

/**
 * Runs op's kernel on `device`: the outputs (allocated with the op's output shapes) are written.
 * attrs: the op's parsed catalog attributes (those its kernel does not read are ignored).
 * No kernel there: a DeviceError naming the op and the device, from the registry.
 */
export function runKernel(op: string, device: string, inputs: readonly (KernelTensor | null)[], outputs: readonly KernelTensor[], attrs: object): void {
  const r = ref(op, device);
  room(3);
  meta[1] = inputs.length;
  meta[2] = outputs.length;
  let k = putShapes(3, inputs);
  k = putShapes(k, outputs);
  if (r.names.length) k = putAttrs(op, k, r, attrs);
  meta[0] = k;
  const N = native();
  const d = deviceNumber(device);
  // The common arities directly: spreading an array costs more than a small kernel.
  const nIn = inputs.length;
  if (nIn === 1 && outputs.length === 1) N.runKernel(r.handle, d, meta, inputs[0]?._native ?? null, outputs[0]!._native);
  else if (nIn === 2 && outputs.length === 1) N.runKernel(r.handle, d, meta, inputs[0]?._native ?? null, inputs[1]?._native ?? null, outputs[0]!._native);
  else {
    const data: (Data | DeviceBuffer | null)[] = [];
    for (let i = 0; i < nIn; i++) data.push(inputs[i]?._native ?? null);
    for (const o of outputs) data.push(o._native);
    N.runKernel(r.handle, d, meta, ...data);
  }
}
