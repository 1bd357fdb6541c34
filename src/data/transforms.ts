import type { Rng } from '../util/rng.js';
import { resizeAndCrop, type CropBox, type RgbImage } from './images.js';

/**
 * Geometry convention: pixel (i, j) has its centre at (i, j), so a resize by factor s maps
 * x to (x + 0.5) * s - 0.5 (the centre-aligned mapping libvips uses), and a crop at
 * (left, top) subtracts (left, top). Landmarks follow the pixels through exactly this map.
 */
export interface TransformPlan {
  /** Size the image is resized to before the window is taken. */
  resizeW: number;
  resizeH: number;
  /** The window of side inputSize taken from the resized image. */
  window: CropBox;
}

/** The paper's train-time scale: resize to 232/224 of the input size, then crop. */
export function resizeSideFor(inputSize: number): number {
  return Math.round((232 / 224) * inputSize);
}

/**
 * Train: resize to round(232/224*S) and a random S-window (rng picks its corner).
 * Test: same resize, centre window. Square resize on purpose: the datasets' faces are
 * already cropped to (near) square boxes and the landmarks carry any aspect change.
 */
export function planTransform(inputSize: number, train: boolean, rng?: Rng): TransformPlan {
  const r = resizeSideFor(inputSize);
  const slack = r - inputSize;
  let left: number;
  let top: number;
  if (train) {
    if (!rng) throw new Error('planTransform: a train transform needs an rng');
    left = rng.int(0, slack);
    top = rng.int(0, slack);
  } else {
    left = Math.floor(slack / 2);
    top = Math.floor(slack / 2);
  }
  return { resizeW: r, resizeH: r, window: { left, top, width: inputSize, height: inputSize } };
}

/** Maps 68-point landmarks (x0,y0,x1,y1,...) from the source frame through a plan. */
export function transformLandmarks(points: Float32Array, srcW: number, srcH: number, plan: TransformPlan): Float32Array {
  const sx = plan.resizeW / srcW;
  const sy = plan.resizeH / srcH;
  const out = new Float32Array(points.length);
  for (let i = 0; i < points.length; i += 2) {
    out[i] = (points[i] + 0.5) * sx - 0.5 - plan.window.left;
    out[i + 1] = (points[i + 1] + 0.5) * sy - 0.5 - plan.window.top;
  }
  return out;
}

/** Landmarks after cropping a box out of the source image. */
export function cropLandmarks(points: Float32Array, box: CropBox): Float32Array {
  const out = new Float32Array(points.length);
  for (let i = 0; i < points.length; i += 2) {
    out[i] = points[i] - box.left;
    out[i + 1] = points[i + 1] - box.top;
  }
  return out;
}

export interface TransformedImage {
  rgb: Uint8Array;
  landmarks: Float32Array;
}

/** Applies a plan to pixels and landmarks together. */
export async function applyTransform(img: RgbImage, landmarks: Float32Array, plan: TransformPlan): Promise<TransformedImage> {
  const rgb = await resizeAndCrop(img, plan.resizeW, plan.resizeH, plan.window);
  return { rgb, landmarks: transformLandmarks(landmarks, img.width, img.height, plan) };
}
