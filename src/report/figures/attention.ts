/**
 * Fig. 10 style attention maps: the first test faces, clean and occluded side by side, one row
 * per gated condition (its first finished run). Each pixel is tinted by the gate weight α of the
 * patch windows that cover it (their mean; fixed 0-1 scale, so rows and figures compare), windows
 * the occluder covers at least half of are outlined, and the prediction and the global weight
 * (gACNN) are written on each face.
 */
import { createCanvas, loadImage, type SKRSContext2D } from '@napi-rs/canvas';
import type { Condition } from '../conditions.js';
import { readSampleImage, readSamples, type AttentionSample, type ReportRun } from '../source.js';
import { FONT, TEXT, encodePng, figureCanvas, fitText, wrapText } from './canvas.js';

/** At most this many faces x test sets per row. */
const MAX_COLUMNS = 8;
export const ATTENTION_TILE = 150;
const CAPTION_H = 34;
const FOOTER_H = 24;
const HEADER_H = 60;
const LABEL_W = 160;
const GAP = 8;
const LEGEND_H = 64;
const COVERED = 0.5;

export interface AttentionRow {
  label: string;
  run: ReportRun;
  /** Per test set, the samples shown (same count for every set). */
  tests: { test: string; samples: AttentionSample[] }[];
}

/** Tiles per row, and the canvas size of a figure with `rows` rows of `columns` tiles. */
export function attentionSize(rows: number, columns: number): { width: number; height: number } {
  return {
    width: LABEL_W + columns * (ATTENTION_TILE + GAP) + GAP,
    height: HEADER_H + rows * (CAPTION_H + ATTENTION_TILE + FOOTER_H + GAP) + LEGEND_H,
  };
}

/** The gated conditions' first finished runs with their saved samples; empty when none has alphas. */
export async function attentionRows(conditions: Condition[]): Promise<AttentionRow[]> {
  const rows: AttentionRow[] = [];
  for (const c of conditions) {
    const run = c.done[0];
    if (!run) continue;
    const tests: AttentionRow['tests'] = [];
    for (const test of Object.keys(run.eval!.tests)) {
      const samples = await readSamples(run, test);
      if (samples?.length && samples[0].alpha) tests.push({ test, samples });
    }
    if (!tests.length) continue;
    const perTest = Math.max(1, Math.floor(MAX_COLUMNS / tests.length));
    const count = Math.min(perTest, ...tests.map((t) => t.samples.length));
    rows.push({ label: c.label, run, tests: tests.map((t) => ({ test: t.test, samples: t.samples.slice(0, count) })) });
  }
  return rows;
}

/** Face i of every test set, then face i + 1: clean and occluded copies of a face sit together. */
function columnsOf(row: AttentionRow): { test: string; sample: AttentionSample }[] {
  const out: { test: string; sample: AttentionSample }[] = [];
  const n = row.tests[0].samples.length;
  for (let i = 0; i < n; i++) for (const t of row.tests) out.push({ test: t.test, sample: t.samples[i] });
  return out;
}

export async function attentionFigure(rows: AttentionRow[], classes: string[]): Promise<Buffer> {
  const columns = Math.max(...rows.map((r) => columnsOf(r).length));
  const { width, height } = attentionSize(rows.length, columns);
  const { canvas, ctx } = figureCanvas(width, height, 'Gate weights α on test faces (Fig. 10 style): red = high weight, blue = low; outlined: window ≥ 50% occluded');
  const first = columnsOf(rows[0]);
  first.forEach((c, j) => {
    const x = LABEL_W + GAP + j * (ATTENTION_TILE + GAP);
    ctx.fillStyle = TEXT;
    ctx.font = `12px ${FONT}`;
    ctx.textAlign = 'center';
    ctx.fillText(fitText(ctx, `face ${Math.floor(j / rows[0].tests.length) + 1} · ${c.test}`, ATTENTION_TILE), x + ATTENTION_TILE / 2, 46);
  });
  for (const [i, row] of rows.entries()) {
    const y = HEADER_H + i * (CAPTION_H + ATTENTION_TILE + FOOTER_H + GAP);
    ctx.fillStyle = TEXT;
    ctx.font = `bold 12px ${FONT}`;
    ctx.textAlign = 'left';
    const lines = wrapText(ctx, row.label, LABEL_W - 12, 5);
    const top = y + CAPTION_H + ATTENTION_TILE / 2 - (lines.length * 16) / 2;
    lines.forEach((l, k) => ctx.fillText(l, 6, top + k * 16));
    ctx.font = `11px ${FONT}`;
    ctx.fillText(fitText(ctx, `run ${row.run.id}`, LABEL_W - 12), 6, top + lines.length * 16 + 4);
    for (const [j, c] of columnsOf(row).entries()) {
      await drawTile(ctx, row.run, c.sample, classes, LABEL_W + GAP + j * (ATTENTION_TILE + GAP), y);
    }
  }
  drawLegend(ctx, width, height - LEGEND_H);
  return encodePng(canvas);
}

async function drawTile(ctx: SKRSContext2D, run: ReportRun, s: AttentionSample, classes: string[], x: number, y: number): Promise<void> {
  const T = ATTENTION_TILE;
  const name = (k: number) => classes[k] ?? `class ${k}`;
  ctx.textAlign = 'left';
  ctx.font = `11px ${FONT}`;
  ctx.fillStyle = TEXT;
  ctx.fillText(fitText(ctx, `true: ${name(s.label)}`, T), x, y + 10);
  ctx.fillStyle = s.pred === s.label ? '#1a7f37' : '#c0392b';
  ctx.font = `bold 11px ${FONT}`;
  ctx.fillText(fitText(ctx, `pred: ${name(s.pred)} (${s.pred === s.label ? 'right' : 'wrong'})`, T), x, y + 25);
  const image = await loadImage(await readSampleImage(run, s));
  const size = image.width;
  const scale = T / size;
  const top = y + CAPTION_H;
  ctx.save();
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(image, x, top, T, T);
  ctx.drawImage(alphaOverlay(s, size), x, top, T, T);
  ctx.restore();
  outlineCovered(ctx, s, x, top, scale);
  ctx.strokeStyle = '#999999';
  ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, top + 0.5, T - 1, T - 1);
  ctx.fillStyle = TEXT;
  ctx.font = `11px ${FONT}`;
  const alphas = s.alpha ?? [];
  const meanAlpha = alphas.reduce((a, b) => a + b, 0) / Math.max(1, alphas.length);
  const global = s.alphaGlobal !== undefined ? `, global α ${s.alphaGlobal.toFixed(2)}` : '';
  ctx.fillText(fitText(ctx, `mean α ${meanAlpha.toFixed(2)}${global}`, T), x, top + T + 14);
}

/** The window squares in input pixels: the saved crop corners, or (older run directories) centred on the points. */
function windows(s: AttentionSample): { x: number; y: number; side: number }[] {
  return Array.from({ length: s.points.length / 2 }, (_, r) => ({
    x: s.corners ? s.corners[2 * r] : Math.round(s.points[2 * r] - s.window / 2),
    y: s.corners ? s.corners[2 * r + 1] : Math.round(s.points[2 * r + 1] - s.window / 2),
    side: s.window,
  }));
}

/** Per input pixel, the mean α of the windows covering it, coloured; pixels outside every window stay clear. */
function alphaOverlay(s: AttentionSample, size: number) {
  const sum = new Float32Array(size * size);
  const count = new Uint8Array(size * size);
  windows(s).forEach((w, r) => {
    for (let y = Math.max(0, w.y); y < Math.min(size, w.y + w.side); y++) {
      for (let x = Math.max(0, w.x); x < Math.min(size, w.x + w.side); x++) {
        sum[y * size + x] += s.alpha![r];
        count[y * size + x]++;
      }
    }
  });
  const overlay = createCanvas(size, size);
  const octx = overlay.getContext('2d');
  const img = octx.createImageData(size, size);
  for (let p = 0; p < size * size; p++) {
    if (!count[p]) continue;
    const [r, g, b] = jet(sum[p] / count[p]);
    img.data.set([r, g, b, 140], 4 * p);
  }
  octx.putImageData(img, 0, 0);
  return overlay;
}

function outlineCovered(ctx: SKRSContext2D, s: AttentionSample, x0: number, y0: number, scale: number): void {
  if (!s.coverage) return;
  ctx.save();
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = 1.5;
  ctx.setLineDash([4, 3]);
  windows(s).forEach((w, r) => {
    if (s.coverage![r] >= COVERED) ctx.strokeRect(x0 + w.x * scale, y0 + w.y * scale, w.side * scale, w.side * scale);
  });
  ctx.restore();
}

/** The jet colour map (the paper's "deep red denotes high attention"), t in [0, 1]. */
export function jet(t: number): [number, number, number] {
  const v = Math.max(0, Math.min(1, t));
  const ch = (c: number) => Math.round(255 * Math.max(0, Math.min(1, 1.5 - Math.abs(4 * v - c))));
  return [ch(3), ch(2), ch(1)];
}

function drawLegend(ctx: SKRSContext2D, width: number, y: number): void {
  const barW = Math.min(360, width - 260);
  const x = 16;
  for (let i = 0; i < barW; i++) {
    const [r, g, b] = jet(i / (barW - 1));
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x + i, y + 10, 1, 14);
  }
  ctx.strokeStyle = '#666666';
  ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, y + 10.5, barW, 14);
  ctx.fillStyle = TEXT;
  ctx.font = `11px ${FONT}`;
  ctx.textAlign = 'center';
  for (const t of [0, 0.25, 0.5, 0.75, 1]) ctx.fillText(t.toFixed(2), x + t * (barW - 1), y + 36);
  ctx.textAlign = 'left';
  ctx.fillText('gate weight α of the PG-unit (mean over the windows covering a pixel; fixed scale)', x, y + 54);
  ctx.setLineDash([4, 3]);
  ctx.strokeStyle = '#333333';
  ctx.lineWidth = 1.5;
  ctx.strokeRect(x + barW + 24, y + 8, 18, 18);
  ctx.setLineDash([]);
  ctx.fillText(fitText(ctx, 'window ≥ 50% covered by the occluder', width - barW - 80), x + barW + 48, y + 21);
}
