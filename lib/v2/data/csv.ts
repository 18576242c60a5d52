// Numeric CSV files as a float32 matrix: read_csv('iris.csv', { header: true }).
import { ArgError, AttrError, ShapeError } from '../../errors.js';
import { readMaybeGzip } from './file.js';

export interface CsvOptions {
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
const SPECIAL: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity };

function parseCell(cell: string): number | undefined {
  const s = cell.trim();
  if (NUMBER.test(s)) return Number(s);
  return SPECIAL[s.toLowerCase()];
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
  const lines = text.split(/\r?\n/);
  let columns: string[] | undefined;
  let cols = -1;
  let rows = 0;
  const values: number[] = [];
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.trim() === '') continue;
    const cells = line.split(delimiter);
    if (header && columns === undefined) {
      columns = cells.map(unquote);
      continue;
    }
    if (cols < 0) cols = cells.length;
    else if (cells.length !== cols) throw new ShapeError(`${where}: ${source} line ${li + 1} has ${cells.length} cells, expected ${cols} like the first data line`);
    for (let c = 0; c < cells.length; c++) {
      const v = parseCell(cells[c]!);
      if (v === undefined) throw new ArgError(`${where}: ${source} line ${li + 1}, column ${c + 1}: ${JSON.stringify(cells[c])} is not a number`);
      values.push(v);
    }
    rows++;
  }
  const table: CsvTable = { data: Float32Array.from(values), shape: [rows, cols >= 0 ? cols : (columns?.length ?? 0)] };
  if (columns !== undefined) table.columns = columns;
  return table;
}

/** Reads a numeric CSV file (gzip-compressed files are detected and decompressed). */
export function read_csv(path: string, options: CsvOptions = {}): CsvTable {
  return parse_csv(readMaybeGzip('read_csv', path).toString('utf8'), options, path);
}
