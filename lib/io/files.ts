// Reading and writing files safely:
// - reads accept only a path string naming a regular file (no fd numbers, FIFOs, devices or
//   directories) and read at most its size as fstat gives it, after checking that against a limit;
// - writes go to a new file under an unpredictable name, opened exclusively without following
//   links, fsync'd, then renamed into place (a rename replaces a link itself, never its target).
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, readdirSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgError } from '../errors.js';

/** Default size limit of a model file (weights, optimizer state) and of load_safetensors: 2 GiB. */
export const MAX_MODEL_FILE_BYTES = 2 ** 31;
/** Size limit of model.json: 16 MiB. */
export const MAX_MODEL_JSON_BYTES = 2 ** 24;
/** Default limit of a data file (read_csv, read_idx, the datasets), after gunzip: 64 MiB. */
export const MAX_DATA_BYTES = 2 ** 26;

/** A file larger than a size limit (or inflating past it); `limit` is the limit in bytes. */
export class FileLimitError extends ArgError {
  constructor(
    message: string,
    readonly limit: number,
  ) {
    super(message);
  }
}

/** Checks a path argument: a non-empty string (a number would be taken as a file descriptor). */
export function checkPath(where: string, path: unknown, what = 'path'): string {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) {
    throw new ArgError(`${where}: ${what} must be a non-empty string naming a file, got ${typeof path === 'string' ? JSON.stringify(path) : typeof path === 'number' ? `the number ${path} (file descriptors are not accepted)` : typeof path}`);
  }
  return path;
}

/** Checks a max_bytes option (default `fallback`). */
export function checkLimit(where: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new ArgError(`${where}: max_bytes must be a positive integer, got ${String(v)}`);
  return v;
}

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/**
 * Node's Buffer where the program has Node's types, else Uint8Array: so ravdl's .d.ts files
 * compile without them (a Buffer is a Uint8Array).
 */
export type NodeBuffer = typeof globalThis extends { Buffer: { alloc(size: number): infer B } } ? B : Uint8Array;

/**
 * The bytes of a regular file, at most maxBytes (else a FileLimitError naming the option that
 * raises it). With `expectBytes`, the file must have exactly that size.
 */
export function readRegularFile(where: string, path: unknown, maxBytes: number, options: { expectBytes?: number; option?: string | null } = {}): NodeBuffer {
  const p = checkPath(where, path);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (fstat rejects it next).
    fd = openSync(p, READ_FLAGS);
  } catch (e) {
    throw new ArgError(`${where}: cannot read ${p} (${errCode(e)})`, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    checkReadable(where, p, st, maxBytes, options);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got !== st.size) throw new ArgError(`${where}: ${p} shrank while being read (${got} of ${st.size} bytes)`);
    return buf;
  } catch (e) {
    if (e instanceof ArgError) throw e;
    throw new ArgError(`${where}: cannot read ${p} (${errCode(e)})`, { cause: e });
  } finally {
    closeSync(fd);
  }
}

const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

function checkReadable(where: string, p: string, st: Stats, maxBytes: number, options: { expectBytes?: number; option?: string | null }): void {
  if (!st.isFile()) throw new ArgError(`${where}: ${p} is ${kind(st)}; only regular files are read`);
  if (options.expectBytes !== undefined && st.size !== options.expectBytes) {
    throw new ArgError(`${where}: ${p} has ${st.size} bytes, model.json says ${options.expectBytes} (the file was changed or belongs to another save)`);
  }
  if (st.size > maxBytes) {
    const raise = options.option === null ? 'a fixed limit' : `raise it with the ${options.option ?? 'max_bytes'} option`;
    throw new FileLimitError(`${where}: ${p} is ${st.size} bytes, over the limit of ${maxBytes} (${raise})`, maxBytes);
  }
}

/** readRegularFile without blocking the event loop (the reads run on libuv's thread pool). */
export async function readRegularFileAsync(where: string, path: unknown, maxBytes: number, options: { expectBytes?: number; option?: string | null } = {}): Promise<NodeBuffer> {
  const p = checkPath(where, path);
  let fh;
  try {
    fh = await open(p, READ_FLAGS);
  } catch (e) {
    throw new ArgError(`${where}: cannot read ${p} (${errCode(e)})`, { cause: e });
  }
  try {
    const st = await fh.stat();
    checkReadable(where, p, st, maxBytes, options);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await fh.read(buf, got, st.size - got, null);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got !== st.size) throw new ArgError(`${where}: ${p} shrank while being read (${got} of ${st.size} bytes)`);
    return buf;
  } catch (e) {
    if (e instanceof ArgError) throw e;
    throw new ArgError(`${where}: cannot read ${p} (${errCode(e)})`, { cause: e });
  } finally {
    await fh.close();
  }
}

// Temporary files: .ravdl-<pid>-<random>.tmp, so a later save can tell a dead writer's leftovers.
const TEMP = /^\.ravdl-(\d+)-[0-9a-f]{24}\.tmp$/;

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
const tempName = (dir: string) => join(dir, `.ravdl-${process.pid}-${randomBytes(12).toString('hex')}.tmp`);

/** Writes bytes to a new temporary file in dir (exclusive create, no link followed), fsync'd; returns its path. */
export function writeTemp(where: string, dir: string, bytes: Uint8Array): string {
  const tmp = tempName(dir);
  let fd: number;
  try {
    fd = openSync(tmp, WRITE_FLAGS, 0o666);
  } catch (e) {
    throw new ArgError(`${where}: cannot write a new file in ${dir} (${errCode(e)})`, { cause: e });
  }
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw new ArgError(`${where}: cannot write ${tmp} (${errCode(e)})`, { cause: e });
  }
  closeSync(fd);
  return tmp;
}

/** writeTemp without blocking the event loop. */
export async function writeTempAsync(where: string, dir: string, bytes: Uint8Array): Promise<string> {
  const tmp = tempName(dir);
  let fh;
  try {
    fh = await open(tmp, WRITE_FLAGS, 0o666);
  } catch (e) {
    throw new ArgError(`${where}: cannot write a new file in ${dir} (${errCode(e)})`, { cause: e });
  }
  try {
    let done = 0;
    while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done)).bytesWritten;
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw new ArgError(`${where}: cannot write ${tmp} (${errCode(e)})`, { cause: e });
  }
  await fh.close();
  return tmp;
}

/** commitTemp without blocking the event loop. */
export async function commitTempAsync(where: string, tmp: string, dest: string): Promise<void> {
  try {
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new ArgError(`${where}: cannot write ${dest} (${errCode(e)})`, { cause: e });
  }
}

/** syncDir without blocking the event loop. */
export async function syncDirAsync(dir: string): Promise<void> {
  try {
    const fh = await open(dir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // As syncDir: best effort.
  }
}

/** Renames a temporary file over `dest` (replacing a link at dest, never writing through it). */
export function commitTemp(where: string, tmp: string, dest: string): void {
  try {
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new ArgError(`${where}: cannot write ${dest} (${errCode(e)})`, { cause: e });
  }
}

/** Writes bytes to path atomically: a crash leaves the old file or the new one, never a part. */
export function writeFileAtomic(where: string, dir: string, name: string, bytes: Uint8Array): void {
  commitTemp(where, writeTemp(where, dir, bytes), join(dir, name));
  syncDir(dir);
}

/** Makes the renames in dir durable (best effort: some file systems refuse fsync on a directory). */
export function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Durability across power loss only; a killed process already sees the rename.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Removes temporary files in dir left by writers that are no longer running. */
export function removeStaleTemps(dir: string): void {
  for (const name of listDir(dir)) {
    const m = TEMP.exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    try {
      rmSync(join(dir, name), { force: true });
    } catch {
      // Not a file we wrote (a directory of that name): leave it.
    }
  }
}

/** The names in dir, or none when it cannot be listed (cleaning up is best effort). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
