import { readFile } from 'node:fs/promises';
import { UserError } from '../../util/errors.js';
import { parseCsv } from '../csv.js';

/** 68 points a row: 136 numbers. */
const VALUES = 136;

/** One row of a landmarks CSV: its line, the id column when there is one, the 136 point fields. */
export interface LandmarkCsvRow {
  line: number;
  id?: string;
  values: string[];
}

/**
 * Rows of a landmarks CSV: 136 numbers (x1,y1,...,x68,y68), after an id column when a row has
 * 137 fields. The separator is the first line's: a comma, else a tab, a semicolon or spaces. A
 * first row without a number is a header. Both `acnn model regions` and the spec's
 * `landmarks: {source: file}` read their CSVs through here.
 */
export function landmarkCsvRows(text: string, file: string): LandmarkCsvRow[] {
  const first = text.split(/\r?\n/).find((l) => l.trim()) ?? '';
  const delimiter = [',', '\t', ';'].find((d) => first.includes(d)) ?? ' ';
  const rows: LandmarkCsvRow[] = [];
  for (const [i, r] of parseCsv(text, file, { delimiter }).entries()) {
    // Spaces separate by runs of any length.
    const cells = delimiter === ' ' ? r.fields.filter((c) => c !== '') : r.fields;
    const id = cells.length === VALUES + 1 ? cells[0] : undefined;
    const values = id === undefined ? cells : cells.slice(1);
    if (i === 0 && values.every((v) => Number.isNaN(Number(v)))) continue;
    rows.push({ line: r.line, id, values });
  }
  return rows;
}

/** The 136 numbers of a row, or what is wrong with them. */
export function landmarkValues(values: string[]): Float32Array | string {
  if (values.length !== VALUES) return `${values.length} values`;
  const bad = values.findIndex((v) => v.trim() === '' || !Number.isFinite(Number(v)));
  if (bad >= 0) return `'${values[bad]}' is not a number (column ${bad + 1})`;
  return Float32Array.from(values, Number);
}

export interface LandmarkRow {
  id: string;
  /** 1-based line (CSV) or item index (JSON) for messages. */
  where: string;
  landmarks: Float32Array;
}

function toRow(values: unknown, where: string, file: string): Float32Array {
  let flat: unknown[] = Array.isArray(values) ? values : [];
  if (flat.length === VALUES / 2 && flat.every((p) => Array.isArray(p) && p.length === 2)) flat = (flat as unknown[][]).flat();
  if (flat.length !== VALUES || !flat.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new UserError(`${file}: ${where}: expected ${VALUES} finite numbers (68 x,y points), got ${Array.isArray(values) ? `${flat.length} values` : typeof values}`);
  }
  return Float32Array.from(flat as number[]);
}

/**
 * `acnn model regions`: 68-point rows from a CSV (landmarkCsvRows; the id column optional) or a
 * JSON file (an array of arrays, of [x, y] pairs or of {id, landmarks}). Any bad row stops it.
 */
export async function readLandmarkFile(file: string): Promise<LandmarkRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const trimmed = text.trimStart();
  if (file.toLowerCase().endsWith('.json') || trimmed.startsWith('[') || trimmed.startsWith('{')) return jsonRows(text, file);
  const rows = landmarkCsvRows(text, file).map((r, i): LandmarkRow => {
    const where = `line ${r.line}`;
    const landmarks = landmarkValues(r.values);
    if (typeof landmarks === 'string') throw new UserError(`${file}: ${where}: expected ${VALUES} numbers (68 x,y points, optionally after an id column), got ${landmarks}`);
    return { id: r.id ?? String(i + 1), where, landmarks };
  });
  if (rows.length === 0) throw new UserError(`${file}: no landmark rows`);
  return rows;
}

function jsonRows(text: string, file: string): LandmarkRow[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(json) ? json : [json];
  return items.map((item, i) => {
    const where = `item ${i + 1}`;
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      const o = item as { id?: unknown; landmarks?: unknown };
      return { id: o.id !== undefined ? String(o.id) : String(i + 1), where, landmarks: toRow(o.landmarks, where, file) };
    }
    return { id: String(i + 1), where, landmarks: toRow(item, where, file) };
  });
}
