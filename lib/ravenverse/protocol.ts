// What coordinator, providers and requesters share: routes, message shapes, limits, the error
// body, and how a blob is named and checked. Everything on the wire is JSON or a safetensors
// blob named by its SHA-256; nothing is code.
import { createHash } from 'node:crypto';
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

export const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

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
}

// ---- WebSocket messages (JSON text frames) ----
export type ProviderMessage =
  | { type: 'hello'; provider_id: string; name: string; capability: Capability; leases: string[] }
  | { type: 'heartbeat'; leases: string[] }
  | { type: 'failed'; lease: string; error: { code: string; message: string } };

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
}

export type CoordinatorMessage =
  | { type: 'welcome'; provider_id: string; heartbeat_ms: number; lease_ms: number; resumed: string[] }
  | Assignment
  | { type: 'cancel'; lease: string; reason: string }
  | { type: 'error'; error: { code: string; message: string } };

/** The dtype and shape a blob holds, checked: exactly one tensor named "value", F32 or I32. */
export function blobMeta(bytes: Uint8Array): { dtype: 'float32' | 'int32'; shape: number[] } {
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
  const parts: Uint8Array[] = [];
  for (const b of blobs) {
    const head = Buffer.alloc(72);
    head.write(b.sha256, 0, 'latin1');
    head.writeBigUInt64LE(BigInt(b.bytes.length), 64);
    parts.push(head, b.bytes);
  }
  return Buffer.concat(parts);
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

/** Bytes a blob of this shape takes at most (data plus a generous header). */
export const blobBytesFor = (shape: readonly number[]): number => 4 * shape.reduce((a, b) => a * b, 1) + 4096;

/** Parses sizes such as 512M, 2G, 1048576. */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new Error(`not a size: ${JSON.stringify(s)} (use e.g. 512M, 2G)`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}
