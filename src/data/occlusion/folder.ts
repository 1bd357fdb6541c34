/**
 * A user's folder of occluder images, decoded once with sharp. Accepted:
 *  - PNG/WebP with alpha: the alpha is the object's shape;
 *  - image + mask pair: `cup.jpg` with `cup.mask.png` or `cup_mask.png` (white = object);
 *  - an image with neither: used whole, as the paper's square crops of object photos are.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createCanvas, type Canvas } from '@napi-rs/canvas';
import sharp from 'sharp';
import { UserError } from '../../util/errors.js';

export interface FolderOccluder {
  name: string;
  /** Premultiplied by Skia on draw; kept at most BANK_SIDE on its longer side. */
  canvas: Canvas;
}

export interface OccluderBank {
  dir: string;
  items: FolderOccluder[];
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff', '.gif']);
// Occluders are drawn at most 128 px (the paper's largest S at 224); 256 leaves headroom for big inputs.
const BANK_SIDE = 256;

function maskStem(file: string): string | undefined {
  const stem = path.parse(file).name;
  if (stem.endsWith('.mask')) return stem.slice(0, -5);
  if (stem.endsWith('_mask')) return stem.slice(0, -5);
  return undefined;
}

export async function loadOccluderFolder(dir: string): Promise<OccluderBank> {
  let entries: string[];
  try {
    entries = (await fs.readdir(dir)).sort();
  } catch {
    throw new UserError(`occluder folder '${dir}' cannot be read`);
  }
  const images = entries.filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase()));
  const masks = new Map<string, string>();
  for (const f of images) {
    const stem = maskStem(f);
    if (stem !== undefined) masks.set(stem, f);
  }
  const items: FolderOccluder[] = [];
  for (const f of images) {
    if (maskStem(f) !== undefined) continue;
    const file = path.join(dir, f);
    const maskFile = masks.get(path.parse(f).name);
    try {
      items.push({ name: f, canvas: await decodeOccluder(file, maskFile ? path.join(dir, maskFile) : undefined) });
    } catch (err) {
      throw new UserError(`occluder '${file}' cannot be decoded: ${(err as Error).message}`);
    }
  }
  if (items.length === 0) throw new UserError(`occluder folder '${dir}' holds no images (png, jpg, webp, ...)`);
  return { dir, items };
}

async function decodeOccluder(file: string, maskFile: string | undefined): Promise<Canvas> {
  const meta = await sharp(file).metadata();
  const w0 = meta.width ?? 1;
  const h0 = meta.height ?? 1;
  const k = Math.min(1, BANK_SIDE / Math.max(w0, h0));
  const w = Math.max(1, Math.round(w0 * k));
  const h = Math.max(1, Math.round(h0 * k));
  const rgba = await sharp(file).resize(w, h, { fit: 'fill' }).ensureAlpha().raw().toBuffer();
  if (maskFile) {
    const mask = await sharp(maskFile).resize(w, h, { fit: 'fill' }).greyscale().raw().toBuffer();
    for (let i = 0; i < w * h; i++) rgba[4 * i + 3] = mask[i];
  }
  // Pad to a square so that an S x S draw keeps the object's aspect ratio.
  const side = Math.max(w, h);
  const canvas = createCanvas(side, side);
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  img.data.set(rgba);
  ctx.putImageData(img, Math.floor((side - w) / 2), Math.floor((side - h) / 2));
  return canvas;
}
