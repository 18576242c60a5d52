// The safetensors format (huggingface/safetensors), written from its spec:
//   8 bytes: N, the header length, unsigned little-endian 64-bit
//   N bytes: UTF-8 JSON {"__metadata__": {str: str}, name: {dtype, shape, data_offsets: [begin, end]}, ...},
//            padded with spaces to a multiple of 8
//   the rest: the tensors' little-endian bytes; offsets are relative to its start, and the
//            tensors must cover it exactly (no holes, no overlap).
// Saving writes F32 and I32; loading also converts F64/F16/BF16 to float32 and I64/U32/I16/U16/I8/U8/BOOL to int32.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { ArgError, DtypeError, ShapeError } from '../../errors.js';
import { type DType } from '../../tensor/dtype.js';
import { Tensor, numel } from '../../tensor/tensor.js';

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
const DTYPES: Record<string, { size: number; out: DType; read: Reader }> = {
  F32: { size: 4, out: 'float32', read: (v, o) => v.getFloat32(o, true) },
  I32: { size: 4, out: 'int32', read: (v, o) => v.getInt32(o, true) },
  F64: { size: 8, out: 'float32', read: (v, o) => v.getFloat64(o, true) },
  F16: { size: 2, out: 'float32', read: (v, o) => f16(v.getUint16(o, true)) },
  BF16: { size: 2, out: 'float32', read: (v, o) => bf16(v.getUint16(o, true)) },
  I64: { size: 8, out: 'int32', read: (v, o) => Number(v.getBigInt64(o, true)) },
  U32: { size: 4, out: 'int32', read: (v, o) => v.getUint32(o, true) },
  I16: { size: 2, out: 'int32', read: (v, o) => v.getInt16(o, true) },
  U16: { size: 2, out: 'int32', read: (v, o) => v.getUint16(o, true) },
  I8: { size: 1, out: 'int32', read: (v, o) => v.getInt8(o) },
  U8: { size: 1, out: 'int32', read: (v, o) => v.getUint8(o) },
  BOOL: { size: 1, out: 'int32', read: (v, o) => (v.getUint8(o) ? 1 : 0) },
};

/** The file bytes for these tensors (tensors in name order, header padded to 8 bytes). */
export function encode_safetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Buffer {
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
    const bytes = tt._data.byteLength; // throws DisposedError for a disposed tensor
    header[name] = { dtype: tt.dtype === 'int32' ? 'I32' : 'F32', shape: tt.shape, data_offsets: [offset, offset + bytes] };
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
    const d = tensors[name]!._data;
    if (LE) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    else if (d instanceof Int32Array) for (let i = 0; i < d.length; i++) view.setInt32(pos + 4 * i, d[i]!, true);
    else for (let i = 0; i < d.length; i++) view.setFloat32(pos + 4 * i, d[i]!, true);
    pos += d.byteLength;
  }
  return out;
}

/** Saves tensors (float32 → F32, int32 → I32) and string metadata; writes a temporary file and renames it into place. */
export function save_safetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  const bytes = encode_safetensors(tensors, metadata);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new ArgError(`save_safetensors: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}

function isShape(s: unknown): s is number[] {
  return Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** Decodes safetensors bytes; `source` names the input in error messages. Malformed input throws a typed error. */
export function decode_safetensors(buf: Uint8Array, source = '<buffer>'): SafetensorsContent {
  const where = `load_safetensors: ${source}`;
  if (buf.length < 8) throw new ArgError(`${where}: ${buf.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
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
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null) continue;
      if (typeof info !== 'object' || Array.isArray(info)) throw new ArgError(`${where}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new ArgError(`${where}: __metadata__[${JSON.stringify(k)}] is not a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const ti = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof ti !== 'object' || ti === null) throw new ArgError(`${where}: tensor ${JSON.stringify(name)}: entry is not an object`);
    if (typeof ti.dtype !== 'string') throw new DtypeError(`${where}: tensor ${JSON.stringify(name)}: dtype is missing`);
    if (!DTYPES[ti.dtype]) throw new DtypeError(`${where}: tensor ${JSON.stringify(name)}: dtype ${JSON.stringify(ti.dtype)} is unknown or unsupported (supported: ${Object.keys(DTYPES).join(', ')})`);
    if (!isShape(ti.shape)) throw new ShapeError(`${where}: tensor ${JSON.stringify(name)}: shape ${JSON.stringify(ti.shape)} is not a list of non-negative integers`);
    const off = ti.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1]) {
      throw new ArgError(`${where}: tensor ${JSON.stringify(name)}: data_offsets ${JSON.stringify(off)} must be [begin, end] with 0 <= begin <= end`);
    }
    if (off[1] > dataLen) throw new ArgError(`${where}: tensor ${JSON.stringify(name)}: data_offsets [${off[0]}, ${off[1]}] run past the ${dataLen} data bytes (truncated file?)`);
    const want = numel(ti.shape) * DTYPES[ti.dtype]!.size;
    if (off[1] - off[0] !== want) throw new ShapeError(`${where}: tensor ${JSON.stringify(name)}: shape [${ti.shape.join(', ')}] of ${ti.dtype} needs ${want} bytes, data_offsets [${off[0]}, ${off[1]}] give ${off[1] - off[0]}`);
    entries.push({ name, dtype: ti.dtype, shape: ti.shape, begin: off[0], end: off[1] });
  }
  // Like the reference implementation: the tensors must tile the data section exactly.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin !== pos) throw new ArgError(`${where}: tensor ${JSON.stringify(e.name)} starts at byte ${e.begin}, expected ${pos} (${e.begin < pos ? 'overlap' : 'hole'} in the data)`);
    pos = e.end;
  }
  if (pos !== dataLen) throw new ArgError(`${where}: the tensors cover ${pos} data bytes but the file has ${dataLen}`);
  const tensors = Object.fromEntries(entries.map((e) => [e.name, decodeTensor(where, buf, view, dataStart, e)]));
  return { tensors, metadata };
}

function decodeTensor(where: string, buf: Uint8Array, view: DataView, start: number, e: { name: string; dtype: string; shape: number[]; begin: number; end: number }): Tensor {
  const dt = DTYPES[e.dtype]!;
  const count = (e.end - e.begin) / dt.size;
  const at = start + e.begin;
  if (LE && (e.dtype === 'F32' || e.dtype === 'I32')) {
    // Copy into a fresh buffer: the file's bytes may sit at an unaligned offset.
    const bytes = new Uint8Array(count * 4);
    bytes.set(buf.subarray(at, at + count * 4));
    return Tensor._fromData(e.shape, e.dtype === 'F32' ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer));
  }
  const out = dt.out === 'int32' ? new Int32Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const v = dt.read(view, at + i * dt.size);
    if (dt.out === 'int32' && (v < -(2 ** 31) || v >= 2 ** 31)) throw new DtypeError(`${where}: tensor ${JSON.stringify(e.name)}: ${e.dtype} value ${v} at index ${i} does not fit in int32`);
    out[i] = v;
  }
  return Tensor._fromData(e.shape, out);
}

/** Loads every tensor of a safetensors file, and its string metadata. */
export function load_safetensors(path: string): SafetensorsContent {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new ArgError(`load_safetensors: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  return decode_safetensors(buf, path);
}
