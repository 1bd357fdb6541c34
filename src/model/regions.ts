/**
 * The 68 -> 24 region-centre rule of the released ACNN nets (facts file §1).
 *
 * Indices below are the 1-based iBUG-68 (dlib) numbers, exactly as the facts file writes them.
 * Offsets (2, 10, 16) are defined for a 256-pixel face frame. The released code applies them in
 * that frame and then scales every point by 224/256; our landmarks already live in the input
 * frame (data contract), so the equivalent is to scale the offsets by inputSize / 256 and apply
 * them directly: shift = offset * inputSize / 256 (at 224: 1.75, 8.75, 14). Like the released
 * code, the resulting points are rounded to whole pixels (half away from zero, as C's round()).
 */

/** The 16 landmarks kept as they are (1-based), in output order. */
export const KEPT_LANDMARKS = [19, 22, 23, 26, 39, 37, 44, 46, 28, 30, 49, 51, 53, 55, 59, 57] as const;
/** Upward shift (256-frame pixels) for the four eyebrow points, by 1-based landmark index. */
export const EYEBROW_SHIFT: Readonly<Record<number, number>> = { 19: 2, 22: 10, 23: 10, 26: 2 };
/** The 6 midpoints (1-based landmark pairs), in output order. */
export const MIDPOINT_PAIRS = [
  [20, 38],
  [25, 45],
  [41, 42],
  [47, 48],
  [18, 59],
  [27, 57],
] as const;
/** Offset of the two mouth-corner points, 256-frame pixels. */
export const MOUTH_CORNER_OFFSET = 16;
/** Frame the offsets were written for. */
export const OFFSET_FRAME = 256;
export const NUM_REGIONS = 24;
export const NUM_LANDMARKS = 68;

export interface RegionOptions {
  /** Round the points to whole pixels (released-code behaviour). Default true. */
  round?: boolean;
}

/** Round half away from zero (C's round), unlike Math.round which rounds -2.5 to -2. */
export function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/**
 * landmarks: n * 68 * 2 floats (x0, y0, x1, y1, ...; 0-based pixel units of a square
 * `inputSize` frame). Returns n * 24 * 2 floats, the region centres in the same frame.
 */
export function regionPoints(landmarks: Float32Array, inputSize: number, opts: RegionOptions = {}): Float32Array {
  if (landmarks.length % (NUM_LANDMARKS * 2) !== 0) {
    throw new RangeError(`regionPoints: expected a multiple of ${NUM_LANDMARKS * 2} numbers, got ${landmarks.length}`);
  }
  if (!(inputSize > 0)) throw new RangeError(`regionPoints: inputSize must be positive, got ${inputSize}`);
  const round = opts.round ?? true;
  const scale = inputSize / OFFSET_FRAME;
  const n = landmarks.length / (NUM_LANDMARKS * 2);
  const out = new Float32Array(n * NUM_REGIONS * 2);
  for (let s = 0; s < n; s++) {
    const base = s * NUM_LANDMARKS * 2;
    const x = (i: number) => landmarks[base + (i - 1) * 2];
    const y = (i: number) => landmarks[base + (i - 1) * 2 + 1];
    const o = s * NUM_REGIONS * 2;
    let r = 0;
    const put = (px: number, py: number) => {
      out[o + r * 2] = round ? roundHalfAway(px) : px;
      out[o + r * 2 + 1] = round ? roundHalfAway(py) : py;
      r++;
    };
    for (const i of KEPT_LANDMARKS) put(x(i), y(i) - (EYEBROW_SHIFT[i] ?? 0) * scale);
    for (const [a, b] of MIDPOINT_PAIRS) put((x(a) + x(b)) / 2, (y(a) + y(b)) / 2);
    const d = MOUTH_CORNER_OFFSET * scale;
    put(x(49) - d, y(49) - d);
    put(x(55) + d, y(55) - d);
  }
  return out;
}
