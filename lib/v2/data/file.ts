// Reading a data file whole, gunzipping it when it starts with the gzip magic bytes.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ArgError } from '../../errors.js';

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

export function readMaybeGzip(where: string, path: string): Buffer {
  if (typeof path !== 'string' || path === '') throw new ArgError(`${where}: path must be a non-empty string, got ${JSON.stringify(path)}`);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ArgError(`${where}: cannot read ${path} (${code})`, { cause: e });
  }
  if (!isGzip(buf)) return buf;
  try {
    return gunzipSync(buf);
  } catch (e) {
    throw new ArgError(`${where}: ${path} looks gzip-compressed but does not decompress (${(e as Error).message})`, { cause: e });
  }
}
