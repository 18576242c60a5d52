// Node attributes as JSON. Attributes are numbers, booleans, strings, null and arrays of them;
// JSON has no NaN, infinities or -0, so those numbers are written as {"$f": "NaN" | "Infinity" |
// "-Infinity" | "-0"}. Nothing else is accepted (a graph file is data, never code).
import { GraphError } from '../errors.js';

const SPECIAL = new Map<string, number>([['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0]]);
const MAX_DEPTH = 8;

function specialName(v: number): string | null {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return null;
}

/** A JSON-safe copy of an attribute value; throws for anything that is not plain data. */
export function encodeAttr(v: unknown, where: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new GraphError(`${where}: attribute nested deeper than ${MAX_DEPTH}`);
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    const s = specialName(v);
    return s === null ? v : { $f: s };
  }
  if (Array.isArray(v)) return v.map((x) => encodeAttr(x, where, depth + 1));
  throw new GraphError(`${where}: attribute value ${Object.prototype.toString.call(v)} cannot be stored in a graph`);
}

/** The attribute value a JSON value stands for; throws GraphError for anything else. */
export function decodeAttr(v: unknown, where: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new GraphError(`${where}: attribute nested deeper than ${MAX_DEPTH}`);
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map((x) => decodeAttr(x, where, depth + 1));
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    const f = (v as Record<string, unknown>).$f;
    if (keys.length === 1 && keys[0] === '$f' && typeof f === 'string' && SPECIAL.has(f)) return SPECIAL.get(f);
  }
  throw new GraphError(`${where}: attribute value ${JSON.stringify(v)?.slice(0, 80)} is not plain data`);
}

export function encodeAttrs(attrs: unknown, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (attrs === null || typeof attrs !== 'object') return out;
  for (const [k, v] of Object.entries(attrs)) out[k] = encodeAttr(v, `${where}: attribute '${k}'`);
  return out;
}

export function decodeAttrs(attrs: unknown, where: string): Record<string, unknown> {
  if (attrs === undefined) return {};
  if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) throw new GraphError(`${where}: attrs must be an object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) {
    // defineProperty: a key spelled __proto__ stays a plain key (and the schema check rejects it).
    Object.defineProperty(out, k, { value: decodeAttr(v, `${where}: attribute '${k}'`), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
