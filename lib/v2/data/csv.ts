// Numeric CSV files as a float32 matrix: read_csv('iris.csv', { header: true }).
import { ArgError, AttrError, ShapeError } from '../../errors.js';
import { type ReadLimitOptions, readMaybeGzip } from './file.js';

export interface CsvOptions extends ReadLimitOptions {
  /** Treat the first non-empty line as column names (default false). */
  header?: boolean;
  /** One character (default ','). */
  delimiter?: string;
}

export interface CsvTable {
  /** The header cells, when options.header is set. */
  columns?: string[];
  /** Row-major values, rows × cols. */
  data: Float32Array;
  shape: [number, number];
}

// Decimal numbers plus nan/inf spellings that numpy and pandas write.
const NUMBER = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;
const SPECIAL = new Map<string, number>([
  ['nan', NaN],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['-inf', -Infinity],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-infinity', -Infinity],
]);

function parseCell(cell: string): number | undefined {
  const s = cell.trim();
  if (NUMBER.test(s)) return Number(s);
  return SPECIAL.get(s.toLowerCase());
}

function unquote(s: string): string {
  const v = s.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/""/g, '"') : v;
}

/** Parses CSV text; `source` names the input in error messages. */
export function parse_csv(text: string, options: CsvOptions = {}, source = '<text>'): CsvTable {
  const where = 'read_csv';
  const { header = false, delimiter = ',' } = options;
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '\n' || delimiter === '\r') {
    throw new AttrError(`${where}: delimiter must be one character other than a newline, got ${JSON.stringify(delimiter)}`);
  }
  let columns: string[] | undefined;
  let cols = -1;
  let rows = 0;
  // Values go straight into a growing Float32Array: memory stays a small multiple of the text.
  let values = new Float32Array(1024);
  let count = 0;
  for (let start = 0, li = 0; start <= text.length; li++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end > start && text[end - 1] === '\r' ? end - 1 : end);
    start = end + 1;
    if (line.trim() === '') continue;
    const cells = line.split(delimiter);
    if (header && columns === undefined) {
      columns = cells.map(unquote);
      continue;
    }
    if (cols < 0) cols = cells.length;
    else if (cells.length !== cols) throw new ShapeError(`${where}: ${source} line ${li + 1} has ${cells.length} cells, expected ${cols} like the first data line`);
    if (count + cols > values.length) {
      const grown = new Float32Array(Math.max(values.length * 2, count + cols));
      grown.set(values);
      values = grown;
    }
    for (let c = 0; c < cells.length; c++) {
      const v = parseCell(cells[c]!);
      if (v === undefined) throw new ArgError(`${where}: ${source} line ${li + 1}, column ${c + 1}: ${JSON.stringify(cells[c])} is not a number`);
      values[count++] = v;
    }
    rows++;
  }
  const table: CsvTable = { data: values.slice(0, count), shape: [rows, cols >= 0 ? cols : (columns?.length ?? 0)] };
  if (columns !== undefined) table.columns = columns;
  return table;
}

/**
 * Reads a numeric CSV file (gzip-compressed files are detected and decompressed). The file, and
 * what it inflates to, may hold at most options.max_bytes (default 64 MiB).
 */
export function read_csv(path: string, options: CsvOptions = {}): CsvTable {
  return parse_csv(readMaybeGzip('read_csv', path, options).toString('utf8'), options, path);
}
