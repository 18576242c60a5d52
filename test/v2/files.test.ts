// Files and names from outside: only regular files are read, sizes are checked before anything
// is allocated, gzip inflation is capped, and names are looked up in own-property tables only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { EarlyStopping, NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, layerFromConfig } from '../../lib/v2/layers/index.js';
import { SGD, optimizer_from_config } from '../../lib/v2/optimizers/index.js';
import { FileLimitError, decode_safetensors, encode_safetensors, load_safetensors, parse_csv, parse_idx, read_csv, read_idx } from '../../lib/v2/utils/index.js';
import { expectError } from '../helpers/fixtures.js';
import { inChild } from './io-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'ravdl-files-'));
const MiB = 2 ** 20;

describe('names from files and users are looked up in own-property tables', () => {
  const objectNames = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

  it('read_csv: a cell spelled like an Object property is not a number (not NaN)', () => {
    for (const name of objectNames) expectError(() => parse_csv(`1,2\n3,${name}\n`), R.ArgError, `line 2, column 2: "${name}" is not a number`);
    expect(Array.from(parse_csv('nan,-Inf\n').data)).toEqual([NaN, -Infinity]); // the real spellings still parse
  });

  it('Activation, losses, optimizers and layer classes reject Object property names with the valid list', () => {
    for (const name of objectNames) {
      expectError(() => new Activation(name as never), R.AttrError, `unknown activation '${name}'`, 'valid: relu');
      expectError(() => new NeuralNetwork(new SGD(), name as 'SquareLoss'), R.AttrError, `unknown loss '${name}'`, 'SquareLoss, CrossEntropy');
      expectError(() => optimizer_from_config({ name, config: {} }), R.ArgError, `unknown optimizer '${name}'`, 'Adam');
      expectError(() => layerFromConfig(name, {}), R.ArgError, `unknown layer class '${name}'`, 'Dense');
    }
  });

  it('option names like Object properties are unknown options, not ignored', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      expectError(() => R.leaky_relu(R.t([1, 2]), { [name]: 1 } as never), R.AttrError, `unknown option '${name}'`);
      expectError(() => new SGD({ [name]: 1 } as never), R.AttrError, `unknown option '${name}'`, 'lr');
    }
    // JSON.parse makes '__proto__' an own property, as a model.json would.
    expectError(() => new SGD(JSON.parse('{"__proto__": {"lr": 5}}')), R.AttrError, "unknown option '__proto__'");
    // Only own properties count: an inherited lr is not an option given.
    expect(new SGD(Object.create({ lr: 5 })).lr).toBe(1e-2);
  });

  it('safetensors: a dtype named like an Object property is unknown', () => {
    const head = Buffer.from(JSON.stringify({ x: { dtype: 'constructor', shape: [1], data_offsets: [0, 4] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    expectError(() => decode_safetensors(Buffer.concat([len, head, Buffer.alloc(4)])), R.DtypeError, 'dtype "constructor" is unknown', 'F32');
  });

  it('safetensors: a tensor named __proto__ round-trips as an own property', () => {
    const tensors = Object.fromEntries([['__proto__', R.t([1, 2])]]);
    const back = decode_safetensors(encode_safetensors(tensors)).tensors;
    expect(Object.keys(back)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Array.from(Object.getOwnPropertyDescriptor(back, '__proto__')!.value.data())).toEqual([1, 2]);
  });

  it('EarlyStopping: a monitored name like an Object property is not in the logs', () => {
    const es = new EarlyStopping({ monitor: 'constructor' as 'loss' });
    es.on_train_begin();
    expectError(() => es.on_epoch_end(1, { loss: 1 }, {} as never), R.AttrError, "monitored value 'constructor' is not in the epoch logs");
  });
});

describe('only regular files are read, within a size limit', () => {
  it('rejects a number (a file descriptor to fs), an empty path and non-strings', () => {
    for (const p of [0, 3, '', null, Buffer.from('x.csv')]) {
      expectError(() => read_csv(p as string), R.ArgError, 'must be a non-empty string');
      expectError(() => read_idx(p as string), R.ArgError, 'must be a non-empty string');
      expectError(() => load_safetensors(p as string), R.ArgError, 'must be a non-empty string');
    }
    expectError(() => NeuralNetwork.load_sync(7 as unknown as string), R.ArgError, 'the number 7 (file descriptors are not accepted)');
  });

  it('rejects directories and character devices', () => {
    expectError(() => read_csv(tmp), R.ArgError, 'is a directory; only regular files are read');
    expectError(() => read_idx('/dev/null'), R.ArgError, 'is a character device');
  });

  it('a FIFO or /dev/zero is rejected at once, without hanging or reading (child process with a timeout)', () => {
    const fifo = join(tmp, 'fifo.csv');
    execFileSync('mkfifo', [fifo]);
    for (const [call, path, kind] of [['read_csv', fifo, 'a FIFO'], ['read_idx', '/dev/zero', 'a character device'], ['load_safetensors', '/dev/zero', 'a character device']] as const) {
      const r = inChild(call, path);
      expect(r.error?.code).toBe('ERR_ARG');
      expect(r.error?.message).toContain(`is ${kind}; only regular files are read`);
    }
  }, 120_000);

  it('checks the size against max_bytes before reading (FileLimitError naming the option)', () => {
    const p = join(tmp, 'big.csv');
    writeFileSync(p, '1,2\n'.repeat(1000));
    expectError(() => read_csv(p, { max_bytes: 100 }), FileLimitError, '4000 bytes, over the limit of 100', 'max_bytes');
    expect(read_csv(p, { max_bytes: 4000 }).shape).toEqual([1000, 2]);
    expectError(() => read_csv(p, { max_bytes: 0 }), R.ArgError, 'max_bytes must be a positive integer');
    expectError(() => load_safetensors(p, { max_bytes: 10 }), FileLimitError, 'over the limit of 10');
  });

  it('a gzip file may not inflate past max_bytes (default 64 MiB): a 512 MiB bomb is refused in bounded memory', () => {
    // Concatenated gzip members are one valid gzip stream: 32 × 16 MiB of zeros in about 500 KB.
    const member = gzipSync(Buffer.alloc(16 * MiB));
    const bomb = join(tmp, 'bomb.csv.gz');
    writeFileSync(bomb, Buffer.concat(new Array(32).fill(member)));
    for (const call of ['read_csv', 'read_idx']) {
      const r = inChild(call, bomb);
      expect(r.error?.name).toBe('FileLimitError');
      expect(r.error?.message).toContain(`inflates to more than the limit of ${64 * MiB} bytes (raise it with the max_bytes option)`);
      expect(r.maxRSS).toBeLessThan(400 * MiB); // inflating it all would take 512 MiB
    }
    const small = join(tmp, 'small.csv.gz');
    writeFileSync(small, gzipSync('1,2\n'.repeat(100)));
    expectError(() => read_csv(small, { max_bytes: 300 }), FileLimitError, 'inflates to more than the limit of 300');
    expect(read_csv(small, { max_bytes: 400 }).shape).toEqual([100, 2]);
  }, 120_000);
});

describe('declared sizes are checked against the data before allocating', () => {
  function idx(type: number, shape: number[], body: Buffer): Buffer {
    const head = Buffer.alloc(4 + 4 * shape.length);
    head[2] = type;
    head[3] = shape.length;
    shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
    return Buffer.concat([head, body]);
  }

  it('IDX: huge dims (products past 2^53, or 4e9^3) never match a small file', () => {
    expectError(() => parse_idx(idx(0x08, [4e9, 4e9, 4e9], Buffer.alloc(8))), R.ShapeError, 'has 8 data bytes but shape [4000000000, 4000000000, 4000000000]');
    expectError(() => parse_idx(idx(0x0e, [2 ** 31, 2 ** 31, 2 ** 31], Buffer.alloc(8))), R.ShapeError, 'has 8 data bytes');
    expect(parse_idx(idx(0x0d, [4e9, 0], Buffer.alloc(0))).shape).toEqual([4e9, 0]); // empty: nothing to allocate
  });

  it('safetensors: shapes whose products pass 2^53 never match the data', () => {
    const head = Buffer.from(JSON.stringify({ x: { dtype: 'F32', shape: [2 ** 40, 2 ** 40, 2 ** 40], data_offsets: [0, 8] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    expectError(() => decode_safetensors(Buffer.concat([len, head, Buffer.alloc(8)])), R.ShapeError, 'needs');
  });
});
