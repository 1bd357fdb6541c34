/**
 * Face crops for datasets whose images are full frames (CK+, Oulu-CASIA, MMI, SFEW, FED-RO,
 * RAF-DB originals): a square box around the 68 landmarks, widened by a margin on each side,
 * cut out before the resize, so that every dataset reaches the model as a face of about the
 * same scale (as the aligned RAF-DB faces and the AffectNet face boxes already are). The
 * landmarks move with the pixels.
 */
import { DataError } from './images.js';
import type { CropBox } from './images.js';
import { cropLandmarks } from './transforms.js';
import type { DatasetAdapter, DatasetOptions, DecodedSample, SampleRef } from './types.js';

export type CropMode = 'face' | 'none';

/** Margin on each side, as a fraction of the landmarks' box side: the crop is 1.3 x the box. */
export const DEFAULT_CROP_MARGIN = 0.15;

/** Formats whose released images are full frames (a face somewhere in a larger picture). */
const FULL_FRAME_FORMATS = new Set(['ckplus', 'oulu', 'sfew', 'fedro', 'manifest']);

export interface CropSettings {
  mode: CropMode;
  margin: number;
}

/**
 * The dataset's `crop` / `cropMargin`, with the default of its format: face for full frames
 * (and the synthetic lab family, drawn as full frames like the lab datasets it stands for),
 * none where the images are faces already (rafdb aligned, affectnet's face boxes, fer2013,
 * synthetic wild faces, and a training mix, whose parts crop themselves).
 */
export function cropSettings(options: DatasetOptions): CropSettings {
  const margin = typeof options.cropMargin === 'number' ? options.cropMargin : DEFAULT_CROP_MARGIN;
  if (options.crop === 'face' || options.crop === 'none') return { mode: options.crop, margin };
  const rafOriginal = options.format === 'rafdb' && (options.aligned === false || options.images === 'original');
  const labFrames = options.format === 'synthetic' && options.style === 'lab';
  return { mode: FULL_FRAME_FORMATS.has(options.format) || rafOriginal || labFrames ? 'face' : 'none', margin };
}

/** The square around the landmarks' bounding box, widened by `margin` per side (float, unclamped). */
export function faceSquare(landmarks: Float32Array, margin: number): { x: number; y: number; side: number } {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i + 1 < landmarks.length; i += 2) {
    minX = Math.min(minX, landmarks[i]);
    maxX = Math.max(maxX, landmarks[i]);
    minY = Math.min(minY, landmarks[i + 1]);
    maxY = Math.max(maxY, landmarks[i + 1]);
  }
  const side = Math.max(maxX - minX, maxY - minY) * (1 + 2 * margin);
  return { x: (minX + maxX) / 2 - side / 2, y: (minY + maxY) / 2 - side / 2, side };
}

/**
 * The crop box on whole pixels: the face square, moved inside the image where it fits (so no
 * padding is needed), centred on the face where it is larger than the image (padded with black).
 */
export function faceCropBox(landmarks: Float32Array, width: number, height: number, margin: number): CropBox {
  const sq = faceSquare(landmarks, margin);
  const side = Math.max(2, Math.round(sq.side));
  const place = (start: number, extent: number) => {
    const s = Math.round(start);
    return side <= extent ? Math.min(Math.max(0, s), extent - side) : s;
  };
  return { left: place(sq.x, width), top: place(sq.y, height), width: side, height: side };
}

/** Copies a box out of an RGB image; pixels outside the image are black. */
export function cropRgb(rgb: Uint8Array, width: number, height: number, box: CropBox): Uint8Array {
  const out = new Uint8Array(box.width * box.height * 3);
  const x0 = Math.max(0, box.left);
  const x1 = Math.min(width, box.left + box.width);
  if (x1 <= x0) return out;
  for (let y = 0; y < box.height; y++) {
    const sy = box.top + y;
    if (sy < 0 || sy >= height) continue;
    out.set(rgb.subarray((sy * width + x0) * 3, (sy * width + x1) * 3), (y * box.width + (x0 - box.left)) * 3);
  }
  return out;
}

/** The sample cut to its face box, landmarks in the crop's frame. */
export function cropToFace(sample: DecodedSample, margin: number): DecodedSample {
  const box = faceCropBox(sample.landmarks, sample.width, sample.height, margin);
  if (!(box.width > 0) || !Number.isFinite(box.left) || !Number.isFinite(box.top)) {
    throw new DataError(sample.id, 'landmarks give no face box to crop', 'bad-landmarks');
  }
  return {
    ...sample,
    width: box.width,
    height: box.height,
    rgb: cropRgb(sample.rgb, sample.width, sample.height, box),
    landmarks: cropLandmarks(sample.landmarks, box),
  };
}

/** Decodes a sample and applies the dataset's face crop: what the loader and previews see. */
export async function loadSample(adapter: DatasetAdapter, ref: SampleRef, options: DatasetOptions): Promise<DecodedSample> {
  const decoded = await adapter.load(ref, options);
  const { mode, margin } = cropSettings(options);
  return mode === 'face' ? cropToFace(decoded, margin) : decoded;
}
