// Native kernels by (op, device): the one place TypeScript reaches a catalog op's kernel. The
// registry (native/include/ravdl/registry.h) holds every backend's kernels under the catalog's
// op and attribute names; runKernel() resolves (op, device) to a handle once, encodes the
// attributes in the order the op declares them, and calls the binding's generic entry.
import { AttrError } from '../errors.js';
import type { Data } from '../tensor/dtype.js';
import { native } from './load.js';

/** An attribute value as the catalog parses it (a choice is a string). */
export type KernelAttrValue = number | boolean | string | null | undefined | readonly number[];

interface KernelRef {
  handle: number;
  encode: (attrs: object) => number[];
}

const NO_ATTRS: number[] = [];
const refs = new Map<string, KernelRef>();
const opsByDevice = new Map<string, ReadonlySet<string>>();

/** The binding's device string: 'cpu' or 'cuda:N'. */
const nativeDevice = (device: string) => (device === 'cuda' ? 'cuda:0' : device);

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

function encoder(op: string): (attrs: object) => number[] {
  const decls = kernelAttrs(op);
  if (decls.length === 0) return () => NO_ATTRS;
  return (attrs) => {
    const out: number[] = [];
    for (const [name, choices] of decls) {
      const v = (attrs as Record<string, KernelAttrValue>)[name];
      if (v === null || v === undefined) out.push(0);
      else if (typeof v === 'number') out.push(1, v);
      else if (typeof v === 'boolean') out.push(1, v ? 1 : 0);
      else if (typeof v === 'string') {
        const i = choices.indexOf(v);
        if (i < 0) throw new AttrError(`${op}: attribute '${name}' must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got '${v}'`);
        out.push(1, -1 - i);
      } else {
        out.push(v.length);
        for (let k = 0; k < v.length; k++) out.push(v[k]!);
      }
    }
    return out;
  };
}

function ref(op: string, device: string): KernelRef {
  const key = `${op}@${device}`;
  let r = refs.get(key);
  if (!r) {
    r = { handle: native().kernelHandle(op, nativeDevice(device)), encode: encoder(op) };
    refs.set(key, r);
  }
  return r;
}

/** A tensor as the kernel entry sees it: its data and shape. */
export interface KernelTensor {
  readonly _data: Data;
  readonly shape: readonly number[];
}

/**
 * Runs op's kernel on `device`: the outputs (allocated with the op's output shapes) are written.
 * attrs: the op's parsed catalog attributes (those its kernel does not read are ignored).
 * No kernel there: a DeviceError naming the op and the device, from the registry.
 */
export function runKernel(op: string, device: string, inputs: readonly (KernelTensor | null)[], outputs: readonly KernelTensor[], attrs: object): void {
  const r = ref(op, device);
  const ins = new Array(inputs.length * 2);
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i];
    ins[2 * i] = t ? t._data : null;
    ins[2 * i + 1] = t ? t.shape : null;
  }
  const outs = new Array(outputs.length * 2);
  for (let i = 0; i < outputs.length; i++) {
    outs[2 * i] = outputs[i]!._data;
    outs[2 * i + 1] = outputs[i]!.shape;
  }
  native().runKernel(r.handle, nativeDevice(device), ins, outs, r.encode(attrs));
}
