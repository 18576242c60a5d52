// The IDX format of MNIST and Fashion-MNIST: bytes 0-1 zero, byte 2 the element type, byte 3
// the number of dimensions, then one big-endian uint32 per dimension, then big-endian data.
import { ArgError, DtypeError, ShapeError } from '../../errors.js';
import { type ReadLimitOptions, readMaybeGzip } from './file.js';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  data: IdxData;
  shape: number[];
}

type Ctor = new (n: number) => IdxData;
const TYPES = new Map<number, { name: string; size: number; ctor: Ctor; get: (v: DataView, o: number) => number }>([
  [0x08, { name: 'ubyte', size: 1, ctor: Uint8Array, get: (v, o) => v.getUint8(o) }],
  [0x09, { name: 'sbyte', size: 1, ctor: Int8Array, get: (v, o) => v.getInt8(o) }],
  [0x0b, { name: 'short', size: 2, ctor: Int16Array, get: (v, o) => v.getInt16(o, false) }],
  [0x0c, { name: 'int', size: 4, ctor: Int32Array, get: (v, o) => v.getInt32(o, false) }],
  [0x0d, { name: 'float', size: 4, ctor: Float32Array, get: (v, o) => v.getFloat32(o, false) }],
  [0x0e, { name: 'double', size: 8, ctor: Float64Array, get: (v, o) => v.getFloat64(o, false) }],
]);

/**
 * Decodes IDX bytes (already decompressed); `source` names the input in error messages. With
 * `{ copy: false }`, byte data is returned as a view of buf instead of a copy.
 */
export function parse_idx(buf: Uint8Array, source = '<buffer>', options: { copy?: boolean } = {}): IdxArray {
  const where = 'read_idx';
  if (buf.length < 4) throw new ShapeError(`${where}: ${source} is ${buf.length} bytes, too short for the 4-byte IDX magic number`);
  if (buf[0] !== 0 || buf[1] !== 0) throw new ArgError(`${where}: ${source} is not an IDX file (magic number starts 0x${hex(buf[0]!)} 0x${hex(buf[1]!)}, expected 0x00 0x00)`);
  const type = TYPES.get(buf[2]!);
  if (!type) throw new DtypeError(`${where}: ${source} has unknown IDX element type 0x${hex(buf[2]!)} (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)`);
  const nd = buf[3]!;
  const head = 4 + 4 * nd;
  if (buf.length < head) throw new ShapeError(`${where}: ${source} is truncated: ${nd} dimensions need a ${head}-byte header, the file has ${buf.length} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  let n = 1;
  for (let d = 0; d < nd; d++) {
    shape.push(view.getUint32(4 + 4 * d, false));
    n *= shape[d]!;
  }
  // The data is checked against the declared size before anything is allocated; a product past
  // 2^53 (where doubles round) is far beyond any file, so it cannot match either.
  const bytes = n * type.size;
  if (buf.length - head !== bytes) {
    throw new ShapeError(`${where}: ${source} has ${buf.length - head} data bytes but shape [${shape.join(', ')}] of ${type.name} needs ${bytes}${buf.length - head < bytes ? ' (truncated)' : ''}`);
  }
  let data: IdxData;
  if (type.size === 1) {
    const bytes = type.ctor === Uint8Array ? buf.subarray(head) : new Int8Array(buf.buffer, buf.byteOffset + head, n);
    if (options.copy === false) return { data: bytes, shape };
    data = new type.ctor(n);
    (data as Uint8Array).set(bytes);
  } else {
    data = new type.ctor(n);
    for (let i = 0; i < n; i++) data[i] = type.get(view, head + i * type.size);
  }
  return { data, shape };
}

/**
 * Reads an IDX file (gzip-compressed files are detected and decompressed). The file, and what it
 * inflates to, may hold at most options.max_bytes (default 64 MiB).
 */
export function read_idx(path: string, options: ReadLimitOptions = {}): IdxArray {
  return parse_idx(readMaybeGzip('read_idx', path, options), path);
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}
