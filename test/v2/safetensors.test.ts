import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { decode_safetensors, encode_safetensors, load_safetensors, save_safetensors } from '../../lib/v2/utils/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'ravdl-st-'));

/** A file built by hand: header JSON (unpadded), then raw data bytes. */
function file(header: object | string, data: Buffer | number[] = []): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.from(data as number[])]);
}

describe('safetensors layout', () => {
  it('matches the bytes the reference implementation writes', () => {
    // huggingface/safetensors bindings/python/tests: save({"test": zeros((2, 2), int32)})
    const expected = Buffer.concat([
      Buffer.from('@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ', 'latin1'),
      Buffer.alloc(16),
    ]);
    const out = encode_safetensors({ test: R.t([[0, 0], [0, 0]], { dtype: 'int32' }) });
    expect(out.equals(expected)).toBe(true);
  });

  it('pads the header with spaces to 8 bytes, metadata first, tensors in name order, little-endian data', () => {
    const out = encode_safetensors({ b: R.t([1.5, -2]), a: R.t([7], { dtype: 'int32' }) }, { format: 'pt' });
    const n = Number(out.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = out.subarray(8, 8 + n).toString('utf8');
    expect(text).toBe('{"__metadata__":{"format":"pt"},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'.padEnd(n, ' '));
    const data = out.subarray(8 + n);
    expect(data.length).toBe(12);
    expect(data.readInt32LE(0)).toBe(7);
    expect([data.readFloatLE(4), data.readFloatLE(8)]).toEqual([1.5, -2]);
  });
});

describe('save_safetensors / load_safetensors', () => {
  it('round-trips float32 and int32 tensors of any shape, and metadata', () => {
    const path = join(tmp, 'model.safetensors');
    const w = R.t(Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1), { shape: [2, 3, 4] });
    const tensors = { 'layer.0.weight': w, ids: R.t([3, -1, 2 ** 31 - 1], { dtype: 'int32' }), scalar: R.t(0.5), empty: R.t(new Float32Array(0), { shape: [0, 3] }), 'ünï': R.t([1]) };
    save_safetensors(path, tensors, { epoch: '3', note: 'ok' });
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
    const { tensors: back, metadata } = load_safetensors(path);
    expect(metadata).toEqual({ epoch: '3', note: 'ok' });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [k, v] of Object.entries(tensors)) {
      expect([k, back[k]!.shape, back[k]!.dtype]).toEqual([k, v.shape, v.dtype]);
      expect(back[k]!._data).toEqual(v._data);
    }
    expect(load_safetensors(path).metadata).toEqual({ epoch: '3', note: 'ok' });
    expect(decode_safetensors(readFileSync(path)).tensors.scalar!.item()).toBe(0.5);
  });

  it('converts F64, F16, BF16, I64, U8 and BOOL on load', () => {
    const d = Buffer.alloc(8 + 4 + 4 + 8 + 2 + 2);
    d.writeDoubleLE(0.1, 0);
    d.writeUInt16LE(0x3c00, 8); // f16 1.0
    d.writeUInt16LE(0xc000, 10); // f16 -2.0
    d.writeUInt16LE(0x3fc0, 12); // bf16 1.5
    d.writeUInt16LE(0x7f80, 14); // bf16 +inf
    d.writeBigInt64LE(-5n, 16);
    d[24] = 200;
    d[25] = 0;
    d[26] = 3;
    d[27] = 0;
    const { tensors } = decode_safetensors(file({
      f64: { dtype: 'F64', shape: [], data_offsets: [0, 8] },
      f16: { dtype: 'F16', shape: [2], data_offsets: [8, 12] },
      bf16: { dtype: 'BF16', shape: [2], data_offsets: [12, 16] },
      i64: { dtype: 'I64', shape: [1], data_offsets: [16, 24] },
      u8: { dtype: 'U8', shape: [2], data_offsets: [24, 26] },
      b: { dtype: 'BOOL', shape: [2], data_offsets: [26, 28] },
    }, d));
    expect(tensors.f64!.item()).toBe(Math.fround(0.1));
    expect(tensors.f16!.toArray()).toEqual([1, -2]);
    expect(tensors.bf16!.toArray()).toEqual([1.5, Infinity]);
    expect([tensors.i64!.dtype, tensors.i64!.toArray()]).toEqual(['int32', [-5]]);
    expect(tensors.u8!.toArray()).toEqual([200, 0]);
    expect(tensors.b!.toArray()).toEqual([1, 0]);
  });

  it('rejects bad arguments to save', () => {
    expect(() => encode_safetensors({ x: [1, 2] as unknown as R.Tensor })).toThrow(R.ArgError);
    expect(() => encode_safetensors({ __metadata__: R.t([1]) })).toThrow(/cannot be a tensor name/);
    expect(() => encode_safetensors({ x: R.t([1]) }, { n: 3 as unknown as string })).toThrow(/metadata\["n"\] must be a string/);
    expect(() => save_safetensors(join(tmp, 'no', 'such', 'dir.safetensors'), { x: R.t([1]) })).toThrow(/cannot write/);
    expect(() => load_safetensors(join(tmp, 'missing.safetensors'))).toThrow(/cannot read .* \(ENOENT\)/);
  });
});

describe('malformed files', () => {
  const one = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Buffer, RegExp, new (...a: never[]) => Error][] = [
    ['too short', Buffer.from([1, 2, 3]), /too short/, R.ArgError],
    ['header past the end', file(one).subarray(0, 20), /truncated: the header needs/, R.ArgError],
    ['huge header length', Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 0x7b]), /exceeds/, R.ArgError],
    ['truncated data', file(one, [0, 0, 0, 0]), /run past the 4 data bytes/, R.ArgError],
    ['trailing bytes', file(one, new Array(12).fill(0)), /cover 8 data bytes but the file has 12/, R.ArgError],
    ['unknown dtype', file({ x: { dtype: 'Q7', shape: [1], data_offsets: [0, 1] } }, [0]), /dtype "Q7" is unknown or unsupported/, R.DtypeError],
    ['size mismatch', file({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0)), /needs 12 bytes/, R.ShapeError],
    ['reversed offsets', file({ x: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, new Array(8).fill(0)), /must be \[begin, end\]/, R.ArgError],
    ['bad shape', file({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), /shape \[-1\] is not a list/, R.ShapeError],
    ['hole', file({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Array(8).fill(0)), /starts at byte 4, expected 0 \(hole/, R.ArgError],
    ['overlap', file({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Array(8).fill(0)), /overlap/, R.ArgError],
    ['not JSON', file('{"x": '), /invalid header/, R.ArgError],
    ['not an object', file('[1, 2]'), /invalid header \(the header does not start/, R.ArgError],
    ['not UTF-8', file(Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1')).fill(0xff, 9, 10), /invalid header/, R.ArgError],
    ['bad metadata', file({ __metadata__: { a: 1 } }), /__metadata__\["a"\] is not a string/, R.ArgError],
    ['entry not an object', file({ x: 3 }), /entry is not an object/, R.ArgError],
    ['I64 out of int32 range', file({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, [0, 0, 0, 0, 1, 0, 0, 0]), /does not fit in int32/, R.DtypeError],
  ];
  for (const [name, bytes, msg, Err] of cases) {
    it(`rejects ${name}`, () => {
      expect(() => decode_safetensors(bytes, 'f.st')).toThrow(Err);
      expect(() => decode_safetensors(bytes, 'f.st')).toThrow(msg);
    });
  }

  it('never throws anything but a typed error on truncated or corrupted files', () => {
    const good = encode_safetensors({ a: R.t([[1, 2], [3, 4]]), b: R.t([5], { dtype: 'int32' }) }, { k: 'v' });
    let seed = 1;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const inputs: Buffer[] = [];
    for (let n = 0; n < good.length; n++) inputs.push(good.subarray(0, n));
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(good);
      b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      inputs.push(b);
    }
    let rejected = 0;
    for (const b of inputs) {
      try {
        decode_safetensors(b);
      } catch (e) {
        expect(e).toBeInstanceOf(R.RavdlError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThanOrEqual(good.length); // every truncation is rejected
  });
});
