/**
 * Occlusion synthesis (facts §2). Protocols:
 *  - `random-square`: the paper's training/testing occluders. Side S uniform in [96, 128] at
 *    224 px, scaled to the image, at a random position fully inside the image. The occluder is
 *    an object (the user's folder of object images, else a procedural one), not a flat square.
 *  - `ck-r8` / `ck-r16` / `ck-r24`: the CK+ Table III blocks, 8/16/24 px of a 48 px face crop,
 *    scaled to the face and placed on it.
 *  - `eyes` / `mouth`: CK+ Table III region occlusion, a block over landmarks 37-48 / 49-68
 *    with a margin.
 * The occluded copy keeps the clean landmarks (the paper does the same). Every result carries
 * its mask (1 = covered) and the only changed pixels are those under the mask.
 */
import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { UserError } from '../../util/errors.js';
import { deriveSeed, Rng } from '../../util/rng.js';
import type { OccludedImage } from '../types.js';
import { loadOccluderFolder, type OccluderBank } from './folder.js';
import { drawProcedural, PROCEDURAL_KINDS, type ProceduralKind } from './procedural.js';
import { drawFacePart, FACE_PART_SHARE } from './misleading.js';

export { loadOccluderFolder, type OccluderBank, type FolderOccluder } from './folder.js';
export { PROCEDURAL_KINDS, type ProceduralKind } from './procedural.js';

/** The spec's word for the misleading family (a folder of that name is written ./misleading). */
export const MISLEADING = 'misleading';

export const OCCLUSION_PROTOCOLS = ['none', 'random-square', 'ck-r8', 'ck-r16', 'ck-r24', 'eyes', 'mouth'] as const;
export type OcclusionProtocol = (typeof OCCLUSION_PROTOCOLS)[number];

/** How block protocols (ck-r*, eyes, mouth) fill their block. */
export type BlockFill = 'black' | 'gray' | 'noise' | 'object';

export interface OcclusionOptions {
  protocol: OcclusionProtocol;
  /**
   * What random-square occluders are: 'objects' (the user's folder, else procedural objects and
   * hands) or 'misleading' (beyond the paper: other faces' parts beside hands and objects).
   */
  family?: 'objects' | 'misleading';
  /** Object images from the user's folder (see prepareOcclusion); procedural ones otherwise. */
  bank?: OccluderBank;
  /** random-square side range at 224 px (default [96, 128], the paper). */
  sizeRange?: readonly [number, number];
  /** Fill of the CK+ block protocols (default 'black'). */
  blockFill?: BlockFill;
  /** Restrict procedural occluders to these kinds. */
  kinds?: readonly ProceduralKind[];
  /** Pixels whose drawn alpha is below this count as uncovered and are left untouched (default 32). */
  alphaThreshold?: number;
}

export interface OcclusionResult extends OccludedImage {
  /** The occluder's square (or block) in image pixels. */
  box: { x: number; y: number; w: number; h: number };
  /** What was drawn: a procedural kind, `folder:<file>`, or a block fill. */
  kind: string;
}

export interface ImageLike {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** The spec-level occlusion entry, as far as this module reads it. */
export interface OcclusionSpec {
  protocol?: string;
  /** Folder of occluder images (PNG with alpha, or image + `<name>.mask.png` / `<name>_mask.png`). */
  occluders?: string;
  sizeRange?: [number, number];
  blockFill?: string;
  kinds?: string[];
}

/** Validates a spec entry and loads the occluder folder once, ready for many occlude() calls. */
export async function prepareOcclusion(spec: OcclusionSpec): Promise<OcclusionOptions> {
  const protocol = (spec.protocol ?? 'random-square') as OcclusionProtocol;
  if (!OCCLUSION_PROTOCOLS.includes(protocol)) {
    throw new UserError(`unknown occlusion protocol '${spec.protocol}' (expected one of ${OCCLUSION_PROTOCOLS.join(', ')})`);
  }
  if (spec.sizeRange && !(spec.sizeRange.length === 2 && spec.sizeRange[0] > 0 && spec.sizeRange[0] <= spec.sizeRange[1])) {
    throw new UserError(`occlusion sizeRange must be [min, max] with 0 < min <= max, got ${JSON.stringify(spec.sizeRange)}`);
  }
  const fills: BlockFill[] = ['black', 'gray', 'noise', 'object'];
  if (spec.blockFill !== undefined && !fills.includes(spec.blockFill as BlockFill)) {
    throw new UserError(`occlusion blockFill must be one of ${fills.join(', ')}, got '${spec.blockFill}'`);
  }
  const kinds = spec.kinds?.map((k) => {
    if (!(PROCEDURAL_KINDS as readonly string[]).includes(k)) throw new UserError(`unknown occluder kind '${k}' (expected ${PROCEDURAL_KINDS.join(', ')})`);
    return k as ProceduralKind;
  });
  const misleading = spec.occluders === MISLEADING;
  return {
    protocol,
    family: misleading ? 'misleading' : 'objects',
    bank: spec.occluders && !misleading ? await loadOccluderFolder(spec.occluders) : undefined,
    sizeRange: spec.sizeRange,
    blockFill: spec.blockFill as BlockFill | undefined,
    kinds,
  };
}

/**
 * The random stream for one sample's occlusion. A pure function of (seed, sample id), so a
 * test set's occluded copies are the same for every variant, run and process.
 */
export function occlusionRng(seed: number, sampleId: string): Rng {
  return new Rng(deriveSeed(seed, 'occlusion', sampleId));
}

/** Side of the random-square occluder for an image of this size (the paper's S, scaled from 224). */
export function squareSideRange(imageSize: number, sizeRange: readonly [number, number] = [96, 128]): [number, number] {
  const lo = Math.max(1, Math.round((sizeRange[0] * imageSize) / 224));
  const hi = Math.max(lo, Math.min(imageSize, Math.round((sizeRange[1] * imageSize) / 224)));
  return [lo, hi];
}

/**
 * Block side of ck-r8/16/24: 8/16/24 px of a 48x48 face crop (WLS-RF's protocol, the paper's
 * Table III), scaled to the face's side in image pixels (the image side when no face is known).
 */
export function ckBlockSide(protocol: 'ck-r8' | 'ck-r16' | 'ck-r24', faceSide: number, imageSize = faceSide): number {
  const side = protocol === 'ck-r8' ? 8 : protocol === 'ck-r16' ? 16 : 24;
  return Math.max(1, Math.min(imageSize, Math.round((side * faceSide) / 48)));
}

/** A face square in image pixels (x, y of its top-left corner, side). */
export interface FaceSquare {
  x: number;
  y: number;
  side: number;
}

/** Start of a block of side s along one axis: uniform over the face's extent inside the image. */
function blockStart(rng: Rng, s: number, extent: number, faceStart?: number, faceSide?: number): number {
  if (faceStart === undefined || faceSide === undefined) return rng.int(0, extent - s);
  const lo = Math.max(0, Math.round(faceStart));
  const hi = Math.min(extent - s, Math.round(faceStart + faceSide) - s);
  return hi >= lo ? rng.int(lo, hi) : rng.int(0, extent - s);
}

/** Landmark-driven block for the eyes (37-48) or the mouth (49-68), with a margin, clipped to the image. */
export function regionBox(region: 'eyes' | 'mouth', landmarks: Float32Array, width: number, height: number): { x: number; y: number; w: number; h: number } {
  const [a, b] = region === 'eyes' ? [36, 48] : [48, 68];
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = a; i < b; i++) {
    minX = Math.min(minX, landmarks[2 * i]);
    maxX = Math.max(maxX, landmarks[2 * i]);
    minY = Math.min(minY, landmarks[2 * i + 1]);
    maxY = Math.max(maxY, landmarks[2 * i + 1]);
  }
  // Margins relative to the eye distance, so the block scales with the face, not the image.
  const eye = (k: number): [number, number] => {
    let x = 0;
    let y = 0;
    for (let i = k; i < k + 6; i++) {
      x += landmarks[2 * i] / 6;
      y += landmarks[2 * i + 1] / 6;
    }
    return [x, y];
  };
  const [lx, ly] = eye(36);
  const [rx, ry] = eye(42);
  const iod = Math.max(1, Math.hypot(rx - lx, ry - ly));
  const mx = region === 'eyes' ? 0.3 * iod : 0.15 * iod;
  const my = region === 'eyes' ? 0.2 * iod : 0.15 * iod;
  const x0 = Math.max(0, Math.floor(minX - mx));
  const y0 = Math.max(0, Math.floor(minY - my));
  const x1 = Math.min(width, Math.ceil(maxX + mx) + 1);
  const y1 = Math.min(height, Math.ceil(maxY + my) + 1);
  return { x: x0, y: y0, w: Math.max(0, x1 - x0), h: Math.max(0, y1 - y0) };
}

interface Layer {
  canvas: Canvas;
  ctx: SKRSContext2D;
}
// One transparent layer per image size, reused: making Skia surfaces is the slow part.
const layers = new Map<string, Layer>();
function layer(width: number, height: number): Layer {
  const key = `${width}x${height}`;
  let l = layers.get(key);
  if (!l) {
    const canvas = createCanvas(width, height);
    l = { canvas, ctx: canvas.getContext('2d') };
    layers.set(key, l);
  }
  l.ctx.setTransform(1, 0, 0, 1, 0, 0);
  l.ctx.globalAlpha = 1;
  l.ctx.globalCompositeOperation = 'source-over';
  l.ctx.clearRect(0, 0, width, height);
  return l;
}

/** Alpha-composites the layer onto a copy of the image; mask = pixels with alpha >= threshold. */
function composite(image: ImageLike, rgba: Uint8ClampedArray, threshold: number): OccludedImage {
  const n = image.width * image.height;
  const rgb = image.rgb.slice();
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3];
    if (a < threshold) continue;
    mask[i] = 1;
    const j = 3 * i;
    const k = 4 * i;
    if (a === 255) {
      rgb[j] = rgba[k];
      rgb[j + 1] = rgba[k + 1];
      rgb[j + 2] = rgba[k + 2];
    } else {
      const t = a / 255;
      rgb[j] = Math.round(rgba[k] * t + rgb[j] * (1 - t));
      rgb[j + 1] = Math.round(rgba[k + 1] * t + rgb[j + 1] * (1 - t));
      rgb[j + 2] = Math.round(rgba[k + 2] * t + rgb[j + 2] * (1 - t));
    }
  }
  return { rgb, mask };
}

function drawObject(ctx: SKRSContext2D, x: number, y: number, s: number, rng: Rng, options: OcclusionOptions): string {
  const bank = options.bank;
  if (bank && bank.items.length > 0) {
    const item = rng.pick(bank.items);
    ctx.save();
    ctx.imageSmoothingEnabled = true;
    if (rng.next() < 0.5) {
      ctx.translate(x + s, y);
      ctx.scale(-1, 1);
      ctx.drawImage(item.canvas, 0, 0, s, s);
    } else {
      ctx.drawImage(item.canvas, x, y, s, s);
    }
    ctx.restore();
    return `folder:${item.name}`;
  }
  const kind = options.kinds && options.kinds.length > 0 ? rng.pick(options.kinds) : undefined;
  return drawProcedural(ctx, x, y, s, rng, kind);
}

function fillBlock(ctx: SKRSContext2D, box: { x: number; y: number; w: number; h: number }, fill: BlockFill, rng: Rng, options: OcclusionOptions): string {
  if (fill === 'object') {
    // Objects are drawn square; stretch them over a non-square block.
    const s = Math.max(box.w, box.h);
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.x, box.y, box.w, box.h);
    ctx.clip();
    ctx.translate(box.x, box.y);
    ctx.scale(box.w / s, box.h / s);
    const kind = drawObject(ctx, 0, 0, s, rng, options);
    ctx.restore();
    return kind;
  }
  if (fill === 'noise') {
    const img = ctx.createImageData(Math.max(1, box.w), Math.max(1, box.h));
    for (let i = 0; i < img.data.length; i += 4) {
      img.data[i] = rng.int(0, 255);
      img.data[i + 1] = rng.int(0, 255);
      img.data[i + 2] = rng.int(0, 255);
      img.data[i + 3] = 255;
    }
    ctx.putImageData(img, box.x, box.y);
    return 'block:noise';
  }
  ctx.fillStyle = fill === 'black' ? 'rgb(0,0,0)' : 'rgb(128,128,128)';
  ctx.fillRect(box.x, box.y, box.w, box.h);
  return `block:${fill}`;
}

/**
 * Occludes one image. `landmarks` (68 points) are used by the eyes/mouth protocols; `rng`
 * decides size, position and occluder (use occlusionRng(seed, id) at test time); `face`, when
 * given, sizes and places the CK+ blocks (ck-r*) on the face instead of the whole image.
 */
export function occlude(image: ImageLike, landmarks: Float32Array, options: OcclusionOptions, rng: Rng, face?: FaceSquare, label?: number): OcclusionResult {
  const { width, height } = image;
  const threshold = options.alphaThreshold ?? 32;
  if (options.protocol === 'none') {
    return { rgb: image.rgb.slice(), mask: new Uint8Array(width * height), box: { x: 0, y: 0, w: 0, h: 0 }, kind: 'none' };
  }
  const { ctx } = layer(width, height);
  let box: { x: number; y: number; w: number; h: number };
  let kind: string;
  const side = Math.min(width, height);
  if (options.protocol === 'random-square') {
    const [lo, hi] = squareSideRange(side, options.sizeRange);
    const s = rng.int(lo, hi);
    box = { x: rng.int(0, width - s), y: rng.int(0, height - s), w: s, h: s };
    if (options.family === 'misleading' && landmarks.length >= 136 && width === height && rng.next() < FACE_PART_SHARE) {
      // Another face's part at this face's scale: its own box, not the square.
      ({ kind, box } = drawFacePart(ctx, width, landmarks, rng, label));
    } else if (options.family === 'misleading') {
      kind = drawProcedural(ctx, box.x, box.y, s, rng, rng.next() < 0.5 ? 'hand' : rng.pick(PROCEDURAL_KINDS.filter((k) => k !== 'hand')));
    } else {
      kind = drawObject(ctx, box.x, box.y, s, rng, options);
    }
  } else if (options.protocol === 'ck-r8' || options.protocol === 'ck-r16' || options.protocol === 'ck-r24') {
    // Sized on the face crop and placed on the face, as the CK+ protocol defines its blocks.
    const s = ckBlockSide(options.protocol, face?.side ?? side, side);
    box = { x: blockStart(rng, s, width, face?.x, face?.side), y: blockStart(rng, s, height, face?.y, face?.side), w: s, h: s };
    kind = fillBlock(ctx, box, options.blockFill ?? 'black', rng, options);
  } else if (options.protocol === 'eyes' || options.protocol === 'mouth') {
    if (landmarks.length < 136) throw new Error(`occlusion '${options.protocol}' needs 68 landmarks, got ${landmarks.length / 2}`);
    box = regionBox(options.protocol, landmarks, width, height);
    kind = fillBlock(ctx, box, options.blockFill ?? 'black', rng, options);
  } else {
    throw new UserError(`unknown occlusion protocol '${String(options.protocol)}'`);
  }
  const rgba = ctx.getImageData(0, 0, width, height).data;
  return { ...composite(image, rgba, threshold), box, kind };
}

/**
 * Which points fall on occluded pixels: point k is covered when the pixel nearest
 * (x, y) is masked. Points outside the image count as not covered.
 */
export function coveredPoints(mask: Uint8Array, width: number, points: Float32Array): boolean[] {
  const height = Math.floor(mask.length / width);
  const out: boolean[] = [];
  for (let k = 0; k + 1 < points.length; k += 2) {
    const x = Math.round(points[k]);
    const y = Math.round(points[k + 1]);
    out.push(x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x] === 1);
  }
  return out;
}

/** Fraction of masked pixels, for reports. */
export function maskCoverage(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return mask.length ? n / mask.length : 0;
}
