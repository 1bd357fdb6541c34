/**
 * Drawing for report figures: Chart.js renders charts into @napi-rs/canvas (the canvas the
 * project already draws with), panels are laid out in a grid on one canvas, and the result is
 * encoded as PNG. Nothing here reads a clock or a random source, animations are off and the
 * pixel ratio is fixed, so the same input gives the same bytes.
 */
import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';

Chart.register(...registerables);
Chart.defaults.font.family = 'sans-serif';
Chart.defaults.color = '#333333';

export const FONT = 'sans-serif';
export const BACKGROUND = '#ffffff';
export const TEXT = '#222222';

/** Tableau 10: distinguishable, colour-blind friendlier than the defaults; one colour per condition. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export const colourOf = (i: number): string => PALETTE[i % PALETTE.length];

const whiteBackground: Plugin = {
  id: 'acnnBackground',
  beforeDraw: (chart) => {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** One Chart.js chart drawn on its own canvas of exactly width x height pixels. */
export function chartCanvas(config: ChartConfiguration, width: number, height: number): Canvas {
  const canvas = createCanvas(width, height);
  const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2D, {
    ...config,
    options: { ...config.options, animation: false, responsive: false, maintainAspectRatio: false, devicePixelRatio: 1 },
    plugins: [...(config.plugins ?? []), whiteBackground],
  } as ChartConfiguration);
  chart.draw();
  // destroy() clears its canvas, so the drawing is kept on a copy.
  const copy = createCanvas(width, height);
  copy.getContext('2d').drawImage(canvas, 0, 0);
  chart.destroy();
  return copy;
}

export interface GridLayout {
  columns: number;
  cellWidth: number;
  cellHeight: number;
  /** Height of the title band above the grid (0 without a title). */
  titleHeight: number;
  /** Height of a band below the grid (legends, colour bars). */
  footerHeight: number;
  gap: number;
}

/** Canvas size of a grid of `n` panels. */
export function gridSize(n: number, l: GridLayout): { width: number; height: number } {
  const cols = Math.max(1, Math.min(n, l.columns));
  const rows = Math.max(1, Math.ceil(n / cols));
  return { width: cols * l.cellWidth + (cols + 1) * l.gap, height: l.titleHeight + rows * l.cellHeight + (rows + 1) * l.gap + l.footerHeight };
}

/** Where panel `i` of a grid goes. */
export function gridCell(i: number, n: number, l: GridLayout): { x: number; y: number } {
  const cols = Math.max(1, Math.min(n, l.columns));
  return { x: l.gap + (i % cols) * (l.cellWidth + l.gap), y: l.titleHeight + l.gap + Math.floor(i / cols) * (l.cellHeight + l.gap) };
}

/** A white canvas with a title band, ready for a grid of panels. */
export function figureCanvas(width: number, height: number, title?: string): { canvas: Canvas; ctx: SKRSContext2D } {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, width, height);
  if (title) {
    ctx.fillStyle = TEXT;
    ctx.font = `bold 16px ${FONT}`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.fillText(title, 12, 18, width - 24);
  }
  return { canvas, ctx };
}

/** Lays panels (same size) out in a grid under a title; returns the PNG bytes. */
export async function gridFigure(panels: Canvas[], layout: GridLayout, title: string, footer?: (ctx: SKRSContext2D, y: number, width: number) => void): Promise<Buffer> {
  const { width, height } = gridSize(panels.length, layout);
  const { canvas, ctx } = figureCanvas(width, height, title);
  panels.forEach((p, i) => {
    const { x, y } = gridCell(i, panels.length, layout);
    ctx.drawImage(p, x, y);
  });
  footer?.(ctx, height - layout.footerHeight, width);
  return encodePng(canvas);
}

export function encodePng(canvas: Canvas): Promise<Buffer> {
  return canvas.encode('png');
}

/** Text that fits `maxWidth`, cut with an ellipsis. */
export function fitText(ctx: SKRSContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > maxWidth) t = t.slice(0, -1);
  return `${t}…`;
}

/** Words of `text` in lines no wider than `maxWidth` (a word wider than that is cut), at most `maxLines`. */
export function wrapText(ctx: SKRSContext2D, text: string, maxWidth: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  // A word too wide for a line breaks after its '=' (key=value labels).
  const words = text
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((w) => (ctx.measureText(w).width > maxWidth ? w.split(/(?<==)/) : [w]));
  for (const word of words) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width <= maxWidth || !line) line = next;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  const kept = lines.slice(0, maxLines).map((l) => fitText(ctx, l, maxWidth));
  if (lines.length > maxLines) kept[maxLines - 1] = fitText(ctx, `${kept[maxLines - 1]} …`, maxWidth);
  return kept;
}
