/**
 * Fig. 8 style confusion matrices: one figure per test set, one panel per condition (its seeds'
 * counts pooled), rows = true class normalised to 100%, each cell with its percentage and count.
 */
import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { Condition } from '../conditions.js';
import { classNames } from '../source.js';
import { FONT, TEXT, fitText, gridFigure, type GridLayout } from './canvas.js';

export const CONFUSION_PANEL = { width: 440, height: 480 };
export const CONFUSION_LAYOUT: GridLayout = { columns: 3, cellWidth: CONFUSION_PANEL.width, cellHeight: CONFUSION_PANEL.height, titleHeight: 36, footerHeight: 0, gap: 10 };

const M = { left: 78, right: 12, top: 92, bottom: 28 };

export interface ConfusionPanel {
  label: string;
  classes: string[];
  /** Counts, rows = truth, columns = prediction, summed over the condition's runs. */
  counts: number[][];
  runs: number;
}

/** The pooled confusion of each condition with a finished run on `test`. */
export function confusionPanels(conditions: Condition[], test: string): ConfusionPanel[] {
  const out: ConfusionPanel[] = [];
  for (const c of conditions) {
    const results = c.done.map((r) => r.eval!.tests[test]).filter((t) => t !== undefined);
    if (!results.length) continue;
    const k = results[0].confusion.length;
    const counts = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => results.reduce((a, t) => a + (t.confusion[i]?.[j] ?? 0), 0)));
    out.push({ label: c.label, classes: classNames(results[0]), counts, runs: results.length });
  }
  return out;
}

export function confusionFigure(panels: ConfusionPanel[], test: string): Promise<Buffer> {
  const title = `Confusion on "${test}": rows = true class (each row sums to 100%), columns = prediction; cell: % of the row and count`;
  return gridFigure(panels.map(drawPanel), CONFUSION_LAYOUT, title);
}

/** White to dark blue. */
function shade(v: number): string {
  const t = Math.max(0, Math.min(1, v));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${mix(255, 8)},${mix(255, 48)},${mix(255, 107)})`;
}

function drawPanel(p: ConfusionPanel): Canvas {
  const { width: W, height: H } = CONFUSION_PANEL;
  const canvas = createCanvas(W, H);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);
  const k = p.counts.length;
  const side = Math.floor(Math.min(W - M.left - M.right, H - M.top - M.bottom) / k);
  const total = p.counts.flat().reduce((a, b) => a + b, 0);
  const correct = p.counts.reduce((a, row, i) => a + (row[i] ?? 0), 0);
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.font = `bold 14px ${FONT}`;
  ctx.fillText(fitText(ctx, p.label, W - 16), 8, 14);
  ctx.font = `12px ${FONT}`;
  const acc = total ? ((100 * correct) / total).toFixed(1) : '–';
  ctx.fillText(`accuracy ${acc}% of ${total} faces${p.runs > 1 ? `, pooled over ${p.runs} runs` : ''}`, 8, 34);
  axisLabels(ctx, p.classes, k, side);
  for (let i = 0; i < k; i++) {
    const rowTotal = p.counts[i].reduce((a, b) => a + b, 0);
    for (let j = 0; j < k; j++) drawCell(ctx, M.left + j * side, M.top + i * side, side, p.counts[i][j], rowTotal);
  }
  // The diagonal (right answers) outlined, so it reads at a glance even where it is pale.
  ctx.strokeStyle = '#08306b';
  ctx.lineWidth = 1.5;
  for (let i = 0; i < k; i++) ctx.strokeRect(M.left + i * side + 1, M.top + i * side + 1, side - 2, side - 2);
  ctx.strokeStyle = '#888888';
  ctx.lineWidth = 1;
  ctx.strokeRect(M.left + 0.5, M.top + 0.5, k * side, k * side);
  return canvas;
}

function drawCell(ctx: SKRSContext2D, x: number, y: number, side: number, count: number, rowTotal: number): void {
  const frac = rowTotal ? count / rowTotal : 0;
  ctx.fillStyle = rowTotal ? shade(frac) : '#eeeeee';
  ctx.fillRect(x, y, side, side);
  ctx.fillStyle = frac > 0.5 ? '#ffffff' : TEXT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  if (!rowTotal) {
    ctx.font = `11px ${FONT}`;
    ctx.fillText('–', x + side / 2, y + side / 2);
    return;
  }
  ctx.font = `bold 12px ${FONT}`;
  ctx.fillText(`${Math.round(100 * frac)}%`, x + side / 2, y + side / 2 - 7);
  ctx.font = `10px ${FONT}`;
  ctx.fillText(String(count), x + side / 2, y + side / 2 + 8);
}

function axisLabels(ctx: SKRSContext2D, classes: string[], k: number, side: number): void {
  ctx.fillStyle = TEXT;
  ctx.font = `11px ${FONT}`;
  ctx.textBaseline = 'middle';
  for (let i = 0; i < k; i++) {
    const name = classes[i] ?? `class ${i}`;
    ctx.textAlign = 'right';
    ctx.fillText(fitText(ctx, name, M.left - 8), M.left - 5, M.top + i * side + side / 2);
    // Column names turned 45 degrees so long names fit above narrow columns.
    ctx.save();
    ctx.translate(M.left + j(i, side), M.top - 6);
    ctx.rotate(-Math.PI / 4);
    ctx.textAlign = 'left';
    ctx.fillText(name, 0, 0);
    ctx.restore();
  }
  ctx.textAlign = 'center';
  ctx.font = `italic 11px ${FONT}`;
  ctx.fillText('predicted', M.left + (k * side) / 2, M.top + k * side + 16);
  ctx.save();
  ctx.translate(12, M.top + (k * side) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('true', 0, 0);
  ctx.restore();
}

const j = (i: number, side: number) => i * side + side / 2;
