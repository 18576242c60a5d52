// Reading a data file whole, gunzipping it when it starts with the gzip magic bytes. Both the
// file and what it inflates to are capped (default MAX_DATA_BYTES, options.max_bytes raises it).
import { constants as bufferConstants } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { ArgError } from '../../errors.js';
import { FileLimitError, type NodeBuffer, MAX_DATA_BYTES, checkLimit, readRegularFile } from '../../io/files.js';

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
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new FileLimitError(`${where}: ${path} inflates to more than the limit of ${limit} bytes (raise it with the max_bytes option)`, limit);
    }
    throw new ArgError(`${where}: ${path} looks gzip-compressed but does not decompress (${(e as Error).message})`, { cause: e });
  }
}
