/**
 * The `misleading` occluder family (beyond the paper): occluders whose pixels carry facial
 * evidence. Real occluders (a hand, a cup, another person's face) produce strong features that a
 * patch network cannot tell from the face's own; the paper's Fig. 10 shows gates lowering exactly
 * those. Shape-only occluders do not test that: under them a patch's features simply go quiet.
 *
 * Half of the occluders are parts of another synthetic face with another expression (both eyes
 * with their brows, one eye with its brow, the brows, or the mouth), cut out along a soft
 * ellipse, scaled to this face and pasted over it: on the same part (a smiling mouth over a sad
 * one) or on another part of the face. The other half are the procedural hands and objects.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { renderFace, sampleFaceSpec } from '../synthetic/render.js';
import { NUM_CLASSES } from '../types.js';
import type { Rng } from '../../util/rng.js';

/** Parts by 0-based iBUG-68 landmark ranges. */
export const FACE_PARTS = {
  eyes: [
    [17, 27],
    [36, 48],
  ],
  'right-eye': [
    [17, 22],
    [36, 42],
  ],
  'left-eye': [
    [22, 27],
    [42, 48],
  ],
  brows: [[17, 27]],
  mouth: [[48, 68]],
} as const;
export type FacePart = keyof typeof FACE_PARTS;
const PART_NAMES = Object.keys(FACE_PARTS) as FacePart[];

/** Probability that a misleading occluder is a face part rather than a hand or an object. */
export const FACE_PART_SHARE = 0.5;
/** Probability that a face part lands on its own place on the target face (else on another part's place). */
const SAME_PLACE = 0.6;

interface Box {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

/** An ellipse around a part's landmarks, with a margin relative to the inter-ocular distance. */
function partEllipse(landmarks: Float32Array, part: FacePart): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [a, b] of FACE_PARTS[part]) {
    for (let i = a; i < b; i++) {
      minX = Math.min(minX, landmarks[2 * i]);
      maxX = Math.max(maxX, landmarks[2 * i]);
      minY = Math.min(minY, landmarks[2 * i + 1]);
      maxY = Math.max(maxY, landmarks[2 * i + 1]);
    }
  }
  const m = 0.22 * interOcular(landmarks);
  return { cx: (minX + maxX) / 2, cy: (minY + maxY) / 2, rx: (maxX - minX) / 2 + m, ry: (maxY - minY) / 2 + m };
}

function interOcular(l: Float32Array): number {
  const centre = (k: number) => {
    let x = 0;
    let y = 0;
    for (let i = k; i < k + 6; i++) {
      x += l[2 * i] / 6;
      y += l[2 * i + 1] / 6;
    }
    return [x, y];
  };
  const [lx, ly] = centre(36);
  const [rx, ry] = centre(42);
  return Math.max(1, Math.hypot(rx - lx, ry - ly));
}

/** Another expression than `label` (any, when the label is unknown). */
function otherLabel(rng: Rng, label: number | undefined): number {
  if (label === undefined || label < 0) return rng.int(0, NUM_CLASSES - 1);
  const k = rng.int(0, NUM_CLASSES - 2);
  return k >= label ? k + 1 : k;
}

/**
 * Draws a face part of another face onto `ctx` (a transparent layer of the image's size).
 * Returns the part's name and the ellipse's bounding box in image pixels.
 */
export function drawFacePart(
  ctx: SKRSContext2D,
  size: number,
  landmarks: Float32Array,
  rng: Rng,
  label?: number,
): { kind: string; box: { x: number; y: number; w: number; h: number } } {
  const donorLabel = otherLabel(rng, label);
  const donor = renderFace(sampleFaceSpec(rng.int(0, 2 ** 30), 'occluder', rng.int(0, 2 ** 30), donorLabel, { intensity: [0.7, 1.0], noise: [1, 4] }), size);
  const part = rng.pick(PART_NAMES);
  const from = partEllipse(donor.landmarks, part);
  const place = rng.next() < SAME_PLACE ? part : rng.pick(PART_NAMES.filter((p) => p !== part));
  const to = partEllipse(landmarks, place);
  const scale = (interOcular(landmarks) / interOcular(donor.landmarks)) * rng.uniform(1.0, 1.3);

  const src = createCanvas(size, size);
  const sctx = src.getContext('2d');
  const img = sctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    img.data[4 * i] = donor.rgb[3 * i];
    img.data[4 * i + 1] = donor.rgb[3 * i + 1];
    img.data[4 * i + 2] = donor.rgb[3 * i + 2];
    img.data[4 * i + 3] = 255;
  }
  sctx.putImageData(img, 0, 0);

  const rx = from.rx * scale;
  const ry = from.ry * scale;
  ctx.save();
  ctx.beginPath();
  ctx.ellipse(to.cx, to.cy, rx, ry, 0, 0, 2 * Math.PI);
  ctx.clip();
  // Donor part centre -> target place, scaled to this face.
  ctx.translate(to.cx, to.cy);
  ctx.scale(scale, scale);
  ctx.translate(-from.cx, -from.cy);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(src, 0, 0);
  ctx.restore();
  const x = Math.max(0, Math.floor(to.cx - rx));
  const y = Math.max(0, Math.floor(to.cy - ry));
  return {
    kind: `face-part:${part}@${place}:${donorLabel}`,
    box: { x, y, w: Math.min(size, Math.ceil(to.cx + rx)) - x, h: Math.min(size, Math.ceil(to.cy + ry)) - y },
  };
}
