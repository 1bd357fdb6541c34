/** `acnn model summary` and `acnn model regions` logic (the CLI only parses flags and prints). */
import { UserError } from '../util/errors.js';
import { describeModel, type Description } from './arch.js';
import { regionPoints } from './regions.js';
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

export function regionsForRows(rows: { id: string; landmarks: Float32Array }[], inputSize: number): { id: string; points: number[] }[] {
  return rows.map((r) => ({ id: r.id, points: Array.from(regionPoints(r.landmarks, inputSize)) }));
}
