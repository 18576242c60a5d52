// What coordinator, providers and requesters share: routes, message shapes, limits, the error
// body, and how a blob is named and checked. Everything on the wire is JSON or a safetensors
// blob named by its SHA-256; nothing is code.
import { hash } from 'node:crypto';
import { SafetensorsFile } from '../io/safetensors.js';

export const API = '/v1';
export const PROVIDER_WS_PATH = `${API}/provider`;
export const SHA256_RE = /^[0-9a-f]{64}$/;
/** Graph ids are chosen by the requester (so an upload can be retried) and must look random. */
export const ID_RE = /^[A-Za-z0-9_-]{16,64}$/;
/** Persist names the client adds for the model's variables (their final values), hidden from the user. */
export const VARIABLE_PREFIX = 'ravdl:variable:';
/** Header carrying a blob's SHA-256 on downloads; offsets of resumable uploads. */
export const SHA_HEADER = 'x-ravdl-sha256';
export const OFFSET_HEADER = 'upload-offset';
export const LENGTH_HEADER = 'upload-length';

export const sha256 = (b: Uint8Array | string): string => hash('sha256', b, 'hex'); // one-shot: no Hash object per call

/** Typed error body of every non-2xx answer. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** A computed persisted value as the event stream announces it. */
export interface PersistedInfoWire {
  name: string;
  sha256: string;
  dtype: string;
  shape: number[];
  /** The blob itself in base64 when it is small (at most INLINE_EVENT_BYTES): the value needs no download. */
  data?: string;
}

/** Largest blob an event carries inline (a batch loss is about 100 bytes); larger ones are fetched in bundles. */
export const INLINE_EVENT_BYTES = 4096;

/** The bytes an announcement carries, when they hash to its SHA-256 (otherwise null: the value is downloaded). */
export function inlineBytes(p: PersistedInfoWire): Buffer | null {
  if (typeof p.data !== 'string' || p.data.length > Math.ceil(INLINE_EVENT_BYTES / 3) * 4) return null;
  const bytes = Buffer.from(p.data, 'base64');
  return sha256(bytes) === p.sha256 ? bytes : null;
}

/** What a provider measures about itself at start. */
export interface Capability {
  /** Measured FP32 GFLOP/s (an FMA loop on its threads). */
  gflops: number;
  /** Memory it offers for one subgraph's values, bytes. */
  memory_bytes: number;
  threads: number;
  /** Subgraphs it runs at once. */
  slots: number;
  platform: string;
  version: string;
  /** Where it computes: 'cpu' (when absent) or 'cuda:N'; then gflops is measured there. */
  device?: string;
  /** The device's name (a GPU's, from its driver). */
  device_name?: string;
}

// ---- WebSocket messages: JSON text frames, and binary frames (a JSON header and a bundle) ----
/**
 * Protocol 2 (a provider says `protocol: 2` in hello): assignments come as binary frames with
 * their small inputs inline, and a provider completes a lease with one binary frame carrying its
 * results, answered by `completed` once the result is durable. Protocol 1: JSON assignments,
 * inputs and results over HTTP. Protocol 3: as 2, but the answers to completions ride on the
 * provider's next assignment (`acks` in its header; an `acks` message when no assignment follows
 * within ACK_DELAY_MS), one socket write and one wake-up less per subgraph. The welcome names the
 * protocol in force; a provider asking for one the coordinator does not know is refused with
 * ERR_PROTOCOL.
 */
export const PROTOCOL = 3;
/** Most providers of different tokens a replicated run may ask to agree (execute's `replicas`). */
export const MAX_REPLICAS = 3;
/** Longest a committed completion's answer waits for an assignment to ride on (protocol 3), ms. */
export const ACK_DELAY_MS = 20;
/** Inline blobs in one assignment frame: each at most this many bytes, all together at most INLINE_TOTAL. */
export const INLINE_BLOB_BYTES = 64 * 1024;
export const INLINE_TOTAL_BYTES = 512 * 1024;
/** Largest WebSocket message a provider may send (a completion with its results inline included). */
export const MAX_PROVIDER_MESSAGE = 1 << 20;

export type ProviderMessage =
  | { type: 'hello'; provider_id: string; name: string; capability: Capability; leases: string[]; protocol?: number }
  | { type: 'heartbeat'; leases: string[] }
  | { type: 'failed'; lease: string; error: { code: string; message: string } };

/** Header of a provider's binary completion frame; the results follow as a bundle (may be empty when uploaded over HTTP). */
export interface CompleteHeader {
  type: 'complete';
  lease: string;
  outputs: Record<string, string>;
}

export interface Assignment {
  type: 'assign';
  lease: string;
  graph_id: string;
  subgraph: number;
  /** The subgraph as a self-contained graph.json (lib/ravenverse/subgraph.ts). */
  graph: Record<string, unknown>;
  /** Blobs to download (its constants and inputs). */
  blobs: { sha256: string; size: number }[];
  /** Persisted names of the subgraph graph to upload as results. */
  outputs: string[];
  expires_in_ms: number;
  /** Protocol 3: answers to earlier completions of this provider, each committed. */
  acks?: Ack[];
}

/** The answer to a completion (protocol 2 and 3), sent once its outcome is durable in the database. */
export type Ack = { lease: string; status: 'accepted' | 'duplicate' | 'ignored' } | { lease: string; error: { code: string; message: string } };
export type Completed = { type: 'completed' } & Ack;

export type CoordinatorMessage =
  /** `protocol`: the one in force on this connection (absent from coordinators before protocol 3). */
  | { type: 'welcome'; provider_id: string; heartbeat_ms: number; lease_ms: number; resumed: string[]; protocol?: number }
  | Assignment
  | { type: 'cancel'; lease: string; reason: string }
  | Completed
  /** Protocol 3: answers that found no assignment to ride on. */
  | { type: 'acks'; acks: Ack[] }
  | { type: 'error'; error: { code: string; message: string } };

// The header encodeBlob writes (lib/graph/format.ts): one tensor "value", offsets from 0, padded with spaces.
const CANONICAL_HEADER = /^\{"value":\{"dtype":"(F32|I32)","shape":\[((?:0|[1-9][0-9]{0,14})(?:,(?:0|[1-9][0-9]{0,14}))*)?\],"data_offsets":\[0,(0|[1-9][0-9]{0,14})\]\}\} {0,7}$/;

/** A blob's dtype and shape when its header is exactly what encodeBlob writes and its data fills the rest; else null. */
function canonicalMeta(bytes: Uint8Array): { dtype: 'float32' | 'int32'; shape: number[] } | null {
  if (bytes.length < 8) return null;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = b.readUInt32LE(0);
  if (b.readUInt32LE(4) !== 0 || n > 512 || 8 + n > b.length) return null;
  const m = CANONICAL_HEADER.exec(b.toString('latin1', 8, 8 + n));
  if (!m) return null;
  const shape = m[2] === undefined ? [] : m[2].split(',').map(Number);
  const end = Number(m[3]);
  if (end !== b.length - 8 - n || end !== 4 * shape.reduce((a, d) => a * d, 1)) return null;
  return { dtype: m[1] === 'F32' ? 'float32' : 'int32', shape };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The data of a blob already checked against its SHA-256, when it is written as encodeBlob writes
 * it and holds `dtype` and `shape`; otherwise null (the caller then uses decodeBlob, which says
 * what is wrong). A copy: the blob's bytes may sit at an unaligned offset.
 */
export function decodeCheckedBlob(bytes: Uint8Array, dtype: string, shape: readonly number[]): Float32Array | Int32Array | null {
  const meta = LITTLE_ENDIAN ? canonicalMeta(bytes) : null;
  if (!meta || meta.dtype !== dtype || meta.shape.length !== shape.length || meta.shape.some((d, i) => d !== shape[i])) return null;
  const n = meta.shape.reduce((a, d) => a * d, 1);
  const out = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  new Uint8Array(out.buffer).set(bytes.subarray(bytes.length - 4 * n));
  return out;
}

/** The dtype and shape a blob holds, checked: exactly one tensor named "value", F32 or I32. */
export function blobMeta(bytes: Uint8Array): { dtype: 'float32' | 'int32'; shape: number[] } {
  // Results and constants as ravdl writes them are read without the general parser (once per result on the coordinator).
  const fast = canonicalMeta(bytes);
  if (fast) return fast;
  const file = new SafetensorsFile(bytes, 'blob');
  const e = file.entries.get('value');
  if (!e || file.entries.size !== 1) throw new Error(`a blob must hold exactly one tensor named 'value' (it holds ${[...file.entries.keys()].slice(0, 4).join(', ') || 'none'})`);
  if (e.dtype !== 'F32' && e.dtype !== 'I32') throw new Error(`a blob's tensor must be F32 or I32, not ${e.dtype}`);
  return { dtype: e.dtype === 'F32' ? 'float32' : 'int32', shape: [...e.shape] };
}

/**
 * Several blobs in one body (a provider's inputs or results): for each, its SHA-256 as 64 hex
 * characters, its length as a little-endian u64, then its bytes.
 */
export function encodeBundle(blobs: readonly { sha256: string; bytes: Uint8Array }[]): Buffer {
  return writeFrame(null, blobs);
}

/** One allocation for a frame's header (when given) and its bundle, written in place. */
function writeFrame(header: string | null, blobs: readonly { sha256: string; bytes: Uint8Array }[]): Buffer {
  const headBytes = header === null ? 0 : 4 + Buffer.byteLength(header);
  let size = headBytes;
  for (const b of blobs) size += 72 + b.bytes.length;
  const out = Buffer.allocUnsafe(size);
  if (header !== null) {
    out.writeUInt32LE(headBytes - 4, 0);
    out.write(header, 4, 'utf8');
  }
  let at = headBytes;
  for (const b of blobs) {
    if (!SHA256_RE.test(b.sha256)) throw new Error(`a bundle entry needs a SHA-256 in hex, not ${JSON.stringify(b.sha256.slice(0, 80))}`);
    out.write(b.sha256, at, 'latin1');
    out.writeUInt32LE(b.bytes.length % 2 ** 32, at + 64); // a u64 as two u32 (no BigInt per entry)
    out.writeUInt32LE(Math.floor(b.bytes.length / 2 ** 32), at + 68);
    out.set(b.bytes, at + 72);
    at += 72 + b.bytes.length;
  }
  return out;
}

/** A WebSocket message's bytes as one Buffer (ws hands over a Buffer, an ArrayBuffer or fragments); no copy when it is one Buffer. */
export function messageBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** The entries of a bundle (views into `buf`, not checked against their hashes: the caller does). */
export function decodeBundle(buf: Uint8Array, maxEntries = 100_000): { sha256: string; bytes: Uint8Array }[] {
  const out: { sha256: string; bytes: Uint8Array }[] = [];
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at < b.length) {
    if (out.length >= maxEntries) throw new Error(`a bundle holds more than ${maxEntries} blobs`);
    if (at + 72 > b.length) throw new Error(`a bundle is truncated at byte ${at} (an entry header needs 72 bytes)`);
    const sha = b.toString('latin1', at, at + 64);
    if (!SHA256_RE.test(sha)) throw new Error(`a bundle entry at byte ${at} does not start with a SHA-256 in hex`);
    const len = b.readBigUInt64LE(at + 64);
    if (len > BigInt(b.length - at - 72)) throw new Error(`a bundle entry at byte ${at} claims ${len} bytes, only ${b.length - at - 72} follow`);
    out.push({ sha256: sha, bytes: b.subarray(at + 72, at + 72 + Number(len)) });
    at += 72 + Number(len);
  }
  return out;
}

/** A binary WebSocket frame: a u32 (little-endian) header length, the header as JSON, then a bundle of blobs. */
export function encodeFrame(header: object, blobs: readonly { sha256: string; bytes: Uint8Array }[] = []): Buffer {
  return writeFrame(JSON.stringify(header), blobs);
}

/** The header (parsed JSON, unchecked) and the blobs (views, not checked against their hashes) of a binary frame. */
export function decodeFrame(buf: Uint8Array, maxEntries = 100_000): { header: unknown; blobs: { sha256: string; bytes: Uint8Array }[] } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 4) throw new Error('a binary frame is shorter than its 4-byte header length');
  const n = b.readUInt32LE(0);
  if (n > b.length - 4) throw new Error(`a binary frame claims a ${n}-byte header, only ${b.length - 4} bytes follow`);
  const header = JSON.parse(b.toString('utf8', 4, 4 + n)) as unknown;
  return { header, blobs: decodeBundle(b.subarray(4 + n), maxEntries) };
}

/** Bytes a blob of this shape takes at most (data plus a generous header). */
export const blobBytesFor = (shape: readonly number[]): number => 4 * shape.reduce((a, b) => a * b, 1) + 4096;

/** Parses sizes such as 512M, 2G, 1048576. */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new Error(`not a size: ${JSON.stringify(s)} (use e.g. 512M, 2G)`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}
