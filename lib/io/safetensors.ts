// The safetensors format (huggingface/safetensors), written from its spec:
//   8 bytes: N, the header length, unsigned little-endian 64-bit
//   N bytes: UTF-8 JSON {"__metadata__": {str: str}, name: {dtype, shape, data_offsets: [begin, end]}, ...},
//            padded with spaces to a multiple of 8
//   the rest: the tensors' little-endian bytes; offsets are relative to its start, and the
//            tensors must cover it exactly (no holes, no overlap).
// Saving writes F32 and I32; loading also converts F64/F16/BF16 to float32 and I64/U32/I16/U16/I8/U8/BOOL to int32.
import { endianness } from 'node:os';
import { basename, dirname } from 'node:path';
import { ArgError, DtypeError, ShapeError } from '../errors.js';
import { type DType } from '../tensor/dtype.js';
import { Tensor, numel } from '../tensor/tensor.js';
import { MAX_MODEL_FILE_BYTES, type NodeBuffer, checkLimit, checkPath, readRegularFile, writeFileAtomic } from './files.js';

export interface SafetensorsContent {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100_000_000; // the reference implementation's limit
const LE = endianness() === 'LE';

function f16(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const scratch = new DataView(new ArrayBuffer(4));
function bf16(h: number): number {
  scratch.setUint32(0, h << 16, false);
  return scratch.getFloat32(0, false);
}

type Reader = (v: DataView, o: number) => number;
const DTYPES = new Map<string, { size: number; out: DType; read: Reader }>([
  ['F32', { size: 4, out: 'float32', read: (v, o) => v.getFloat32(o, true) }],
  ['I32', { size: 4, out: 'int32', read: (v, o) => v.getInt32(o, true) }],
  ['F64', { size: 8, out: 'float32', read: (v, o) => v.getFloat64(o, true) }],
  ['F16', { size: 2, out: 'float32', read: (v, o) => f16(v.getUint16(o, true)) }],
  ['BF16', { size: 2, out: 'float32', read: (v, o) => bf16(v.getUint16(o, true)) }],
  ['I64', { size: 8, out: 'int32', read: (v, o) => Number(v.getBigInt64(o, true)) }],
  ['U32', { size: 4, out: 'int32', read: (v, o) => v.getUint32(o, true) }],
  ['I16', { size: 2, out: 'int32', read: (v, o) => v.getInt16(o, true) }],
  ['U16', { size: 2, out: 'int32', read: (v, o) => v.getUint16(o, true) }],
  ['I8', { size: 1, out: 'int32', read: (v, o) => v.getInt8(o) }],
  ['U8', { size: 1, out: 'int32', read: (v, o) => v.getUint8(o) }],
  ['BOOL', { size: 1, out: 'int32', read: (v, o) => (v.getUint8(o) ? 1 : 0) }],
]);

/** The file bytes for these tensors (tensors in name order, header padded to 8 bytes). */
export function encode_safetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): NodeBuffer {
  const where = 'save_safetensors';
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors)) throw new ArgError(`${where}: tensors must be an object { name: Tensor }`);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new ArgError(`${where}: metadata must be an object of strings`);
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new ArgError(`${where}: metadata[${JSON.stringify(k)}] must be a string, got ${typeof v}`);
    header.__metadata__ = { ...metadata };
  }
  const names = Object.keys(tensors).sort();
  let offset = 0;
  for (const name of names) {
    const tt = tensors[name];
    if (name === '' || name === '__metadata__') throw new ArgError(`${where}: ${JSON.stringify(name)} cannot be a tensor name`);
    if (!(tt instanceof Tensor)) throw new ArgError(`${where}: tensors[${JSON.stringify(name)}] is not a Tensor`);
    tt._checkUsable(); // DisposedError for a disposed tensor
    const bytes = tt.size * 4;
    const entry = { dtype: tt.dtype === 'int32' ? 'I32' : 'F32', shape: tt.shape, data_offsets: [offset, offset + bytes] };
    Object.defineProperty(header, name, { value: entry, enumerable: true }); // also for a name like '__proto__'
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let pos = 8 + head.length;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const name of names) {
    const d = tensors[name]!._host(); // a copy from a device
    if (LE) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    else if (d instanceof Int32Array) for (let i = 0; i < d.length; i++) view.setInt32(pos + 4 * i, d[i]!, true);
    else for (let i = 0; i < d.length; i++) view.setFloat32(pos + 4 * i, d[i]!, true);
    pos += d.byteLength;
  }
  return out;
}

/**
 * Saves tensors (float32 → F32, int32 → I32) and string metadata: written to a new file under an
 * unpredictable name, fsync'd and renamed over path (a link at path is replaced, not followed).
 */
export function save_safetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  const p = checkPath('save_safetensors', path);
  writeFileAtomic('save_safetensors', dirname(p), basename(p), encode_safetensors(tensors, metadata));
}

function isShape(s: unknown): s is number[] {
  return Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** A tensor's entry in a safetensors header: dtype, shape and its byte range in the data section. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * A parsed safetensors file: the header is validated (known dtypes, sizes that match the shapes,
 * tensors tiling the data exactly) before anything is decoded, so a caller can check every
 * entry's name, dtype and shape against what it expects first; tensor(name) then decodes one.
 */
export class SafetensorsFile {
  readonly metadata: Record<string, string> = {};
  /** Entries by name, in header order. */
  readonly entries = new Map<string, SafetensorsEntry>();
  private readonly view: DataView;
  private readonly dataStart: number;
  private readonly where: string;

  constructor(
    private readonly buf: Uint8Array,
    readonly source = '<buffer>',
  ) {
    const where = (this.where = `load_safetensors: ${source}`);
    if (buf.length < 8) throw new ArgError(`${where}: ${buf.length} bytes is too short for the 8-byte header length`);
    const view = (this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength));
    const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
    if (n > MAX_HEADER) throw new ArgError(`${where}: header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
    if (8 + n > buf.length) throw new ArgError(`${where}: truncated: the header needs ${n} bytes, only ${buf.length - 8} follow the length`);
    let header: unknown;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n));
      if (!text.startsWith('{')) throw new Error('the header does not start with "{"');
      header = JSON.parse(text);
    } catch (e) {
      throw new ArgError(`${where}: invalid header (${(e as Error).message})`, { cause: e });
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ArgError(`${where}: the header is not a JSON object`);
    this.dataStart = 8 + n;
    const dataLen = buf.length - this.dataStart;
    for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (info === null) continue;
        if (typeof info !== 'object' || Array.isArray(info)) throw new ArgError(`${where}: __metadata__ must be an object of strings`);
        for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
          if (typeof v !== 'string') throw new ArgError(`${where}: __metadata__[${JSON.stringify(k)}] is not a string`);
          Object.defineProperty(this.metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
        }
        continue;
      }
      const ti = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const what = `${where}: tensor ${JSON.stringify(name)}`;
      if (typeof ti !== 'object' || ti === null) throw new ArgError(`${what}: entry is not an object`);
      if (typeof ti.dtype !== 'string') throw new DtypeError(`${what}: dtype is missing`);
      const dt = DTYPES.get(ti.dtype);
      if (!dt) throw new DtypeError(`${what}: dtype ${JSON.stringify(ti.dtype)} is unknown or unsupported (supported: ${[...DTYPES.keys()].join(', ')})`);
      if (!isShape(ti.shape)) throw new ShapeError(`${what}: shape ${JSON.stringify(ti.shape)} is not a list of non-negative integers`);
      const off = ti.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1]) {
        throw new ArgError(`${what}: data_offsets ${JSON.stringify(off)} must be [begin, end] with 0 <= begin <= end`);
      }
      if (off[1] > dataLen) throw new ArgError(`${what}: data_offsets [${off[0]}, ${off[1]}] run past the ${dataLen} data bytes (truncated file?)`);
      // Any product past the data size (even one past 2^53, where doubles round) cannot match it.
      const want = numel(ti.shape) * dt.size;
      if (off[1] - off[0] !== want) throw new ShapeError(`${what}: shape [${ti.shape.join(', ')}] of ${ti.dtype} needs ${want} bytes, data_offsets [${off[0]}, ${off[1]}] give ${off[1] - off[0]}`);
      this.entries.set(name, { dtype: ti.dtype, shape: ti.shape, begin: off[0], end: off[1] });
    }
    // Like the reference implementation: the tensors must tile the data section exactly.
    const sorted = [...this.entries].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
    let pos = 0;
    for (const [name, e] of sorted) {
      if (e.begin !== pos) throw new ArgError(`${where}: tensor ${JSON.stringify(name)} starts at byte ${e.begin}, expected ${pos} (${e.begin < pos ? 'overlap' : 'hole'} in the data)`);
      pos = e.end;
    }
    if (pos !== dataLen) throw new ArgError(`${where}: the tensors cover ${pos} data bytes but the file has ${dataLen}`);
  }

  /** Decodes one tensor (F32 and I32 as they are; other dtypes converted to float32 or int32). */
  tensor(name: string): Tensor {
    const e = this.entries.get(name);
    if (!e) throw new ArgError(`${this.where}: no tensor ${JSON.stringify(name)}`);
    const dt = DTYPES.get(e.dtype)!;
    const count = (e.end - e.begin) / dt.size;
    const at = this.dataStart + e.begin;
    if (LE && (e.dtype === 'F32' || e.dtype === 'I32')) {
      // Copy into a fresh buffer: the file's bytes may sit at an unaligned offset.
      const bytes = new Uint8Array(count * 4);
      bytes.set(this.buf.subarray(at, at + count * 4));
      return Tensor._fromData(e.shape, e.dtype === 'F32' ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer));
    }
    const out = dt.out === 'int32' ? new Int32Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const v = dt.read(this.view, at + i * dt.size);
      if (dt.out === 'int32' && (v < -(2 ** 31) || v >= 2 ** 31)) throw new DtypeError(`${this.where}: tensor ${JSON.stringify(name)}: ${e.dtype} value ${v} at index ${i} does not fit in int32`);
      out[i] = v;
    }
    return Tensor._fromData(e.shape, out);
  }
}

/** Decodes safetensors bytes; `source` names the input in error messages. Malformed input throws a typed error. */
export function decode_safetensors(buf: Uint8Array, source = '<buffer>'): SafetensorsContent {
  const file = new SafetensorsFile(buf, source);
  const tensors: Record<string, Tensor> = {};
  // defineProperty: a tensor may be named like an Object property ('__proto__').
  for (const name of file.entries.keys()) Object.defineProperty(tensors, name, { value: file.tensor(name), enumerable: true, writable: true, configurable: true });
  return { tensors, metadata: file.metadata };
}

export interface LoadSafetensorsOptions {
  /** Largest file accepted, in bytes (default MAX_MODEL_FILE_BYTES, 2 GiB). */
  max_bytes?: number;
}

/** Loads every tensor of a safetensors file, and its string metadata. */
export function load_safetensors(path: string, options: LoadSafetensorsOptions = {}): SafetensorsContent {
  const buf = readRegularFile('load_safetensors', path, checkLimit('load_safetensors', options.max_bytes, MAX_MODEL_FILE_BYTES));
  return decode_safetensors(buf, path);
}
