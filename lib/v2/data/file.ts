// Reading a data file whole, gunzipping it when it starts with the gzip magic bytes. Both the
// file and what it inflates to are capped (default MAX_DATA_BYTES, options.max_bytes raises it).
import { constants as bufferConstants } from 'node:buffer';
import { gunzip, gunzipSync } from 'node:zlib';
import { ArgError } from '../../errors.js';
import { FileLimitError, MAX_DATA_BYTES, checkLimit, readRegularFile, readRegularFileAsync } from '../../io/files.js';

export interface ReadLimitOptions {
  /** Most bytes read from the file and, for a gzip file, inflated from it (default 64 MiB). */
  max_bytes?: number;
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

export function readMaybeGzip(where: string, path: string, options: ReadLimitOptions = {}): Buffer {
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

/** readMaybeGzip without blocking the event loop: reading and inflating run on libuv's thread pool. */
export async function readMaybeGzipAsync(where: string, path: string, options: ReadLimitOptions = {}): Promise<Buffer> {
  const limit = checkLimit(where, options?.max_bytes, MAX_DATA_BYTES);
  const buf = await readRegularFileAsync(where, path, limit);
  if (!isGzip(buf)) return buf;
  return new Promise((resolve, reject) =>
    gunzip(buf, { maxOutputLength: Math.min(limit, bufferConstants.MAX_LENGTH) }, (e, out) => (e ? reject(gunzipError(where, path, limit, e)) : resolve(out))),
  );
}

function gunzipError(where: string, path: string, limit: number, e: unknown): Error {
  if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
    return new FileLimitError(`${where}: ${path} inflates to more than the limit of ${limit} bytes (raise it with the max_bytes option)`, limit);
  }
  return new ArgError(`${where}: ${path} looks gzip-compressed but does not decompress (${(e as Error).message})`, { cause: e });
}
