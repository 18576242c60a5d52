// The wire helpers: a blob's dtype and shape as the coordinator checks them (the fast path for
// headers as encodeBlob writes them gives what the general safetensors parser gives, and anything
// else still goes through that parser), and bundles with the lengths of their entries.
import { describe, expect, it } from 'vitest';
import { encodeBlob } from '../../lib/graph/format.js';
import { SafetensorsFile } from '../../lib/io/safetensors.js';
import { blobMeta, decodeBundle, decodeCheckedBlob, decodeFrame, encodeBundle, encodeFrame, inlineBytes, sha256 } from '../../lib/ravenverse/protocol.js';

/** A safetensors file with the given header text (padded to 8 bytes) and data bytes. */
function file(header: string, data: number): Uint8Array {
  const h = Buffer.from(header + ' '.repeat((8 - (header.length % 8)) % 8));
  const out = Buffer.alloc(8 + h.length + data);
  out.writeUInt32LE(h.length, 0);
  h.copy(out, 8);
  return out;
}

describe('blobMeta', () => {
  it('reads blobs as encodeBlob writes them like the general parser does', () => {
    const cases: [number[], Float32Array | Int32Array][] = [
      [[], new Float32Array([1.5])],
      [[0], new Float32Array(0)],
      [[3, 4], new Float32Array(12).fill(2)],
      [[2, 0, 5], new Int32Array(0)],
      [[1, 1, 1, 7], new Int32Array(7).fill(-3)],
    ];
    for (const [shape, data] of cases) {
      const { bytes } = encodeBlob(shape, data);
      const e = new SafetensorsFile(bytes).entries.get('value')!;
      expect(blobMeta(bytes)).toEqual({ dtype: e.dtype === 'F32' ? 'float32' : 'int32', shape: [...e.shape] });
      expect(blobMeta(bytes)).toEqual({ dtype: data instanceof Int32Array ? 'int32' : 'float32', shape });
    }
  });

  it('reads other valid headers with the general parser and refuses invalid ones', () => {
    // Valid, not as encodeBlob writes them: metadata, another key order.
    expect(blobMeta(file('{"__metadata__":{"a":"b"},"value":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8))).toEqual({ dtype: 'float32', shape: [2] });
    expect(blobMeta(file('{"value":{"shape":[2],"dtype":"I32","data_offsets":[0,8]}}', 8))).toEqual({ dtype: 'int32', shape: [2] });
    // Invalid: data shorter or longer than the shape needs, a dimension with a leading zero, another dtype or name, two tensors, truncated.
    expect(() => blobMeta(file('{"value":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}', 8))).toThrow();
    expect(() => blobMeta(file('{"value":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 12))).toThrow();
    expect(() => blobMeta(file('{"value":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}', 8))).toThrow();
    expect(() => blobMeta(file('{"value":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', 8))).toThrow(/F32 or I32/);
    expect(() => blobMeta(file('{"other":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4))).toThrow(/named 'value'/);
    expect(() => blobMeta(file('{"value":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8))).toThrow(/exactly one/);
    expect(() => blobMeta(encodeBlob([4], new Float32Array(4)).bytes.subarray(0, 20))).toThrow();
    // A dimension past 2^53 is refused even where the data length would match.
    expect(() => blobMeta(file('{"value":{"dtype":"F32","shape":[0,99999999999999999],"data_offsets":[0,0]}}', 0))).toThrow();
  });
});

describe('decodeCheckedBlob', () => {
  it('gives the data of a blob as encodeBlob writes it, and null (decodeBlob decides) for anything else', () => {
    const f = new Float32Array([1.5, -2, 3.25, 0, 7, 8]);
    const { bytes } = encodeBlob([2, 3], f);
    expect(decodeCheckedBlob(bytes, 'float32', [2, 3])).toEqual(f);
    // At an unaligned offset (as inside a bundle): a copy of its own.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const got = decodeCheckedBlob(shifted.subarray(1), 'float32', [2, 3])!;
    expect(got).toEqual(f);
    expect(got.buffer).not.toBe(shifted.buffer);
    const i = new Int32Array([5, -6]);
    expect(decodeCheckedBlob(encodeBlob([2], i).bytes, 'int32', [2])).toEqual(i);
    expect(decodeCheckedBlob(encodeBlob([], new Float32Array([4])).bytes, 'float32', [])).toEqual(new Float32Array([4]));
    // Another dtype or shape than the node declares, or a header encodeBlob does not write: null.
    expect(decodeCheckedBlob(bytes, 'int32', [2, 3])).toBeNull();
    expect(decodeCheckedBlob(bytes, 'float32', [3, 2])).toBeNull();
    expect(decodeCheckedBlob(bytes, 'float32', [6])).toBeNull();
    expect(decodeCheckedBlob(file('{"value":{"shape":[2],"dtype":"F32","data_offsets":[0,8]}}', 8), 'float32', [2])).toBeNull();
  });
});

describe('bundles and frames', () => {
  it('carry each entry with its hash and length, and the frame its header', () => {
    const blobs = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(9)].map((bytes) => ({ sha256: sha256(bytes), bytes }));
    expect(decodeBundle(encodeBundle(blobs)).map((e) => [e.sha256, Buffer.from(e.bytes).toString('hex')])).toEqual(blobs.map((b) => [b.sha256, Buffer.from(b.bytes).toString('hex')]));
    const f = decodeFrame(encodeFrame({ type: 'assign', acks: [{ lease: 'l', status: 'accepted' }] }, blobs.slice(1)));
    expect(f.header).toEqual({ type: 'assign', acks: [{ lease: 'l', status: 'accepted' }] });
    expect(f.blobs.map((e) => e.bytes.length)).toEqual([3, 70_000]);
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('inlineBytes', () => {
  it('gives an announcement\'s bytes only when they hash to its SHA-256 and are small', () => {
    const { bytes, sha256: sha } = encodeBlob([], new Float32Array([0.25]));
    const p = { name: 'loss', sha256: sha, dtype: 'float32', shape: [] as number[] };
    expect(inlineBytes({ ...p, data: Buffer.from(bytes).toString('base64') })).toEqual(Buffer.from(bytes));
    expect(inlineBytes(p)).toBeNull(); // none: downloaded
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 1]! ^= 1;
    expect(inlineBytes({ ...p, data: tampered.toString('base64') })).toBeNull();
    const big = encodeBlob([2000], new Float32Array(2000));
    expect(inlineBytes({ ...p, sha256: big.sha256, data: Buffer.from(big.bytes).toString('base64') })).toBeNull();
  });
});
