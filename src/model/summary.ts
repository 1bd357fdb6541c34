/** `acnn model summary` and `acnn model regions` logic (the CLI only parses flags and prints). */
import { readFile } from 'node:fs/promises';
import { UserError } from '../util/errors.js';
import { describeModel, type Description } from './arch.js';
import { NUM_LANDMARKS, regionPoints } from './regions.js';
import type { ModelOptions } from './types.js';

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatFlops(f: number): string {
  if (f >= 1e9) return `${(f / 1e9).toFixed(2)} GFLOPs`;
  if (f >= 1e6) return `${(f / 1e6).toFixed(2)} MFLOPs`;
  return `${fmt(f)} FLOPs`;
}

export function summaryText(d: Description): string {
  const rows = d.rows.map((r) => [r.name, r.type, `[${r.outShape.join(', ')}]`, fmt(r.params)]);
  const head = ['layer', 'type', 'output', 'params'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  const o = d.options;
  return [
    `${o.backbone} ${o.variant}, input ${o.inputSize}, width ${o.width}, ${o.numClasses} classes`,
    line(head),
    w.map((n) => '-'.repeat(n)).join('  '),
    ...rows.map(line),
    '',
    `trainable parameters: ${fmt(d.totalParams)}`,
    `forward FLOPs per image: ${formatFlops(d.totalFlops)} (${fmt(d.totalFlops)}; 2 x multiply-adds of conv and FC layers)`,
    `trunk map ${d.mapSide}x${d.mapSide}, patches ${d.patchSide}x${d.patchSide}`,
  ].join('\n');
}

export function summaryJson(d: Description): unknown {
  return {
    options: d.options,
    layers: d.rows,
    totalParams: d.totalParams,
    flops: d.totalFlops,
    mapSide: d.mapSide,
    patchSide: d.patchSide,
  };
}

export function describeForSummary(o: ModelOptions): Description {
  try {
    return describeModel(o);
  } catch (err) {
    if (err instanceof RangeError) throw new UserError(err.message);
    throw err;
  }
}

export interface LandmarkRow {
  id: string;
  /** 1-based line (CSV) or item index (JSON) for messages. */
  where: string;
  landmarks: Float32Array;
}

function toRow(values: unknown, where: string, file: string): Float32Array {
  let flat: unknown[] = Array.isArray(values) ? values : [];
  if (flat.length === NUM_LANDMARKS && flat.every((p) => Array.isArray(p) && p.length === 2)) flat = (flat as unknown[][]).flat();
  if (flat.length !== NUM_LANDMARKS * 2 || !flat.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new UserError(`${file}: ${where}: expected ${NUM_LANDMARKS * 2} finite numbers (68 x,y points), got ${Array.isArray(values) ? `${flat.length} values` : typeof values}`);
  }
  return Float32Array.from(flat as number[]);
}

/** Reads 68-point rows from CSV (136 numbers a row, optional leading id column, optional header) or JSON. */
export async function readLandmarkFile(file: string): Promise<LandmarkRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const trimmed = text.trimStart();
  if (file.toLowerCase().endsWith('.json') || trimmed.startsWith('[') || trimmed.startsWith('{')) {
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
  const rows: LandmarkRow[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const cells = line.split(/[,;\t ]+/).filter((c) => c !== '');
    const where = `line ${i + 1}`;
    let id = String(rows.length + 1);
    if (cells.length === NUM_LANDMARKS * 2 + 1) id = cells.shift() as string;
    const nums = cells.map(Number);
    if (rows.length === 0 && nums.every((n) => Number.isNaN(n))) return; // header
    if (cells.length !== NUM_LANDMARKS * 2 || nums.some((n) => !Number.isFinite(n))) {
      const bad = cells.findIndex((c) => !Number.isFinite(Number(c)));
      const why = cells.length !== NUM_LANDMARKS * 2 ? `${cells.length} values` : `'${cells[bad]}' is not a number (column ${bad + 1})`;
      throw new UserError(`${file}: ${where}: expected ${NUM_LANDMARKS * 2} numbers (68 x,y points, optionally after an id column), got ${why}`);
    }
    rows.push({ id, where, landmarks: Float32Array.from(nums) });
  });
  if (rows.length === 0) throw new UserError(`${file}: no landmark rows`);
  return rows;
}

export function regionsForRows(rows: LandmarkRow[], inputSize: number): { id: string; points: number[] }[] {
  return rows.map((r) => ({ id: r.id, points: Array.from(regionPoints(r.landmarks, inputSize)) }));
}
