// Reading a data file whole, gunzipping it when it starts with the gzip magic bytes. Both the
// file and what it inflates to are capped (default MAX_DATA_BYTES, options.max_bytes raises it).
import { constants as bufferConstants } from 'node:buffer';
import { createGunzip, gunzipSync } from 'node:zlib';
import { ArgError } from '../../errors.js';
import { FileLimitError, type NodeBuffer, MAX_DATA_BYTES, checkLimit, readRegularFile, readRegularFileAsync } from '../../io/files.js';

export interface ReadLimitOptions {
  /** Most bytes read from the file and, for a gzip file, inflated from it (default 64 MiB). */
  max_bytes?: number;
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

export function readMaybeGzip(where: string, path: string, options: ReadLimitOptions = {}): NodeBuffer {
  const limit = checkLimit(where, options?.max_bytes, MAX_DATA_BYTES);
  const buf = readRegularFile(where, path, limit);
  if (!isGzip(buf)) return buf;
  try {
    // zlib stops inflating once the output passes maxOutputLength.
    return gunzipSync(buf, { maxOutputLength: Math.min(limit, bufferConstants.MAX_LENGTH) });
  } catch (e) {
    throw gunzipError(where, path, limit, e);
  }
}

/**
 * readMaybeGzip without blocking the event loop: reading and inflating run on libuv's thread
 * pool, and each inflated chunk is copied into one buffer as it arrives (sized from the gzip
 * trailer), so no step joins tens of megabytes at once.
 */
export async function readMaybeGzipAsync(where: string, path: string, options: ReadLimitOptions = {}): Promise<NodeBuffer> {
  const limit = checkLimit(where, options?.max_bytes, MAX_DATA_BYTES);
  const buf = await readRegularFileAsync(where, path, limit);
  if (!isGzip(buf)) return buf;
  const cap = Math.min(limit, bufferConstants.MAX_LENGTH);
  // ISIZE, the last 4 bytes: the inflated size mod 2^32 (a hint only: the buffer grows if it lies).
  let out = Buffer.allocUnsafe(Math.min(cap, buf.length >= 18 ? buf.readUInt32LE(buf.length - 4) : 0));
  let n = 0;
  return new Promise((resolve, reject) => {
    const z = createGunzip({ chunkSize: 2 ** 16 });
    z.on('data', (chunk: Buffer) => {
      if (n + chunk.length > cap) {
        z.destroy();
        return reject(gunzipError(where, path, limit, Object.assign(new Error('too large'), { code: 'ERR_BUFFER_TOO_LARGE' })));
      }
      if (n + chunk.length > out.length) {
        const grown = Buffer.allocUnsafe(Math.min(cap, Math.max(2 * out.length, n + chunk.length)));
        out.copy(grown, 0, 0, n);
        out = grown;
      }
      chunk.copy(out, n);
      n += chunk.length;
    });
    z.on('end', () => resolve(out.subarray(0, n)));
    z.on('error', (e) => reject(gunzipError(where, path, limit, e)));
    z.end(buf);
  });
}

function gunzipError(where: string, path: string, limit: number, e: unknown): Error {
  if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
    return new FileLimitError(`${where}: ${path} inflates to more than the limit of ${limit} bytes (raise it with the max_bytes option)`, limit);
  }
  return new ArgError(`${where}: ${path} looks gzip-compressed but does not decompress (${(e as Error).message})`, { cause: e });
}
