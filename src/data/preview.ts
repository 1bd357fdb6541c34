/**
 * Contact sheets: samples in a grid with their label, the 68 landmarks, the 24 patch windows
 * and the occluder outline, so a user can check at a glance that landmarks and patches sit
 * on brows, eyes, nose, mouth and cheeks.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';

export interface PreviewItem {
  rgb: Uint8Array;
  width: number;
  height: number;
  /** 68 points, x0,y0,..., image pixels. */
  landmarks: Float32Array;
  /** 24 region centres, image pixels. */
  points24?: Float32Array;
  /** Patch window side in image pixels (the feature-map patch side x 8). */
  patchSide?: number;
  /** width * height, 1 = occluded. */
  mask?: Uint8Array;
  label: string;
}

export interface ContactSheetOptions {
  /** Columns of the grid (default: about square). */
  columns?: number;
  /** Side of each drawn image in sheet pixels (default 192). */
  cell?: number;
  /** Draw the 68 landmarks (default true). */
  landmarks?: boolean;
  /** Draw the patch windows (default true, when points24 are given). */
  patches?: boolean;
  title?: string;
}

// Landmark groups get their own colours so a swapped or misplaced group stands out.
const GROUPS: [number, number, string][] = [
  [0, 17, '#00e5ff'],
  [17, 27, '#ffea00'],
  [27, 36, '#ff9100'],
  [36, 48, '#00e676'],
  [48, 68, '#ff1744'],
];

const LABEL_H = 20;
const PAD = 4;

export async function renderContactSheet(items: PreviewItem[], opts: ContactSheetOptions = {}): Promise<Buffer> {
  const cell = opts.cell ?? 192;
  const n = Math.max(1, items.length);
  const cols = Math.max(1, Math.min(n, opts.columns ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const titleH = opts.title ? 24 : 0;
  const W = cols * (cell + PAD) + PAD;
  const H = titleH + rows * (cell + LABEL_H + PAD) + PAD;
  const canvas = createCanvas(W, H);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#202020';
  ctx.fillRect(0, 0, W, H);
  if (opts.title) {
    ctx.fillStyle = '#ffffff';
    ctx.font = '14px sans-serif';
    ctx.fillText(opts.title, PAD, 17);
  }
  items.forEach((item, i) => {
    const x0 = PAD + (i % cols) * (cell + PAD);
    const y0 = titleH + PAD + Math.floor(i / cols) * (cell + LABEL_H + PAD);
    drawItem(ctx, item, x0, y0, cell, opts);
  });
  return canvas.encode('png');
}

function drawItem(ctx: SKRSContext2D, item: PreviewItem, x0: number, y0: number, cell: number, opts: ContactSheetOptions): void {
  const { width: w, height: h } = item;
  const scale = cell / Math.max(w, h);
  const img = createCanvas(w, h);
  const ictx = img.getContext('2d');
  const data = ictx.createImageData(w, h);
  for (let i = 0, j = 0; j < w * h * 3; i += 4, j += 3) {
    data.data[i] = item.rgb[j];
    data.data[i + 1] = item.rgb[j + 1];
    data.data[i + 2] = item.rgb[j + 2];
    data.data[i + 3] = 255;
  }
  ictx.putImageData(data, 0, 0);
  ctx.save();
  ctx.imageSmoothingEnabled = scale < 1;
  ctx.drawImage(img, x0, y0, w * scale, h * scale);
  ctx.restore();
  // Image pixel (i, j) is centred at (i, j) in landmark coordinates, at (i+0.5, j+0.5) on screen.
  const sx = (x: number): number => x0 + (x + 0.5) * scale;
  const sy = (y: number): number => y0 + (y + 0.5) * scale;

  if (item.mask) drawMaskOutline(ctx, item.mask, w, h, x0, y0, scale);

  if (item.points24 && opts.patches !== false) {
    const side = (item.patchSide ?? 0) * scale;
    ctx.lineWidth = 1;
    for (let k = 0; k < item.points24.length / 2; k++) {
      const px = sx(item.points24[2 * k]);
      const py = sy(item.points24[2 * k + 1]);
      if (side > 0) {
        ctx.strokeStyle = 'rgba(255,255,255,0.55)';
        ctx.strokeRect(px - side / 2, py - side / 2, side, side);
      }
      ctx.fillStyle = '#ffffff';
      ctx.beginPath();
      ctx.arc(px, py, 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  if (opts.landmarks !== false) {
    const r = Math.max(1, Math.min(2, cell / 120));
    for (const [a, b, color] of GROUPS) {
      ctx.fillStyle = color;
      for (let k = a; k < b && 2 * k + 1 < item.landmarks.length; k++) {
        ctx.beginPath();
        ctx.arc(sx(item.landmarks[2 * k]), sy(item.landmarks[2 * k + 1]), r, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }

  ctx.fillStyle = '#f0f0f0';
  ctx.font = '13px sans-serif';
  ctx.fillText(item.label, x0 + 2, y0 + cell + 15, cell - 4);
}

/** Tints the occluded pixels and traces their boundary, pixel by pixel, in magenta. */
function drawMaskOutline(ctx: SKRSContext2D, mask: Uint8Array, w: number, h: number, x0: number, y0: number, scale: number): void {
  ctx.fillStyle = 'rgba(255,0,255,0.18)';
  for (let y = 0; y < h; y++) {
    let run = -1;
    for (let x = 0; x <= w; x++) {
      const on = x < w && mask[y * w + x] === 1;
      if (on && run < 0) run = x;
      if (!on && run >= 0) {
        ctx.fillRect(x0 + run * scale, y0 + y * scale, (x - run) * scale, scale);
        run = -1;
      }
    }
  }
  ctx.strokeStyle = '#ff00ff';
  ctx.lineWidth = Math.max(1, scale * 0.3);
  ctx.beginPath();
  const at = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x] === 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!at(x, y)) continue;
      const X = x0 + x * scale;
      const Y = y0 + y * scale;
      if (!at(x, y - 1)) {
        ctx.moveTo(X, Y);
        ctx.lineTo(X + scale, Y);
      }
      if (!at(x, y + 1)) {
        ctx.moveTo(X, Y + scale);
        ctx.lineTo(X + scale, Y + scale);
      }
      if (!at(x - 1, y)) {
        ctx.moveTo(X, Y);
        ctx.lineTo(X, Y + scale);
      }
      if (!at(x + 1, y)) {
        ctx.moveTo(X + scale, Y);
        ctx.lineTo(X + scale, Y + scale);
      }
    }
  }
  ctx.stroke();
}
