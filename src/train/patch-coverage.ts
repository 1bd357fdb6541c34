/**
 * How much of each PG-unit's patch window an occluder covers. A patch is the P x P window of
 * the stride-8 trunk map the model crops (model/crop.ts), so in input pixels it is the square
 * of side 8P whose corner is 8 * (its map corner). Its coverage is the fraction of that square's
 * pixels the occluder mask covers; cells off the image count as uncovered (they are zeros on the
 * map, not face). Used by the gate diagnostics (train/evaluate.ts) and the gate-supervision loss.
 */
import * as tf from '@tensorflow/tfjs';
import { describeModel } from '../model/arch.js';
import { cropCorners, FEATURE_STRIDE } from '../model/crop.js';
import type { ModelOptions } from '../model/types.js';

export interface PatchGeometry {
  mapSide: number;
  patchSide: number;
}

export function patchGeometry(options: ModelOptions): PatchGeometry {
  const d = describeModel(options);
  return { mapSide: d.mapSide, patchSide: d.patchSide };
}

/**
 * masks: n images of S x S (1 = occluded), or undefined (nothing occluded); points: n * 24 * 2
 * region centres in input pixels. Returns n * 24 fractions in [0, 1].
 */
export function patchCoverage(masks: Uint8Array | undefined, n: number, S: number, points: Float32Array, g: PatchGeometry): Float32Array {
  const regions = points.length / (2 * n);
  const out = new Float32Array(n * regions);
  if (!masks) return out;
  const corners = cropCorners(points, g.mapSide, g.patchSide);
  const side = g.patchSide * FEATURE_STRIDE;
  const area = side * side;
  for (let i = 0; i < n; i++) {
    const mask = masks.subarray(i * S * S, (i + 1) * S * S);
    for (let r = 0; r < regions; r++) {
      const k = (i * regions + r) * 2;
      const y0 = corners[k] * FEATURE_STRIDE;
      const x0 = corners[k + 1] * FEATURE_STRIDE;
      let covered = 0;
      for (let y = Math.max(0, y0); y < Math.min(S, y0 + side); y++) {
        const row = y * S;
        for (let x = Math.max(0, x0); x < Math.min(S, x0 + side); x++) covered += mask[row + x];
      }
      out[i * regions + r] = covered / area;
    }
  }
  return out;
}

/**
 * Gate supervision (beyond the paper): weight * mean over patches of (alpha - visible)^2, where
 * visible = 1 - coverage. Clean images have visible = 1 everywhere, so the loss also keeps the
 * gates of unoccluded patches open.
 */
export function gateSupervisionLoss(alpha: tf.Tensor2D, coverage: Float32Array, weight: number): tf.Scalar {
  return tf.tidy(() => {
    const visible = tf.sub(1, tf.tensor2d(coverage, alpha.shape));
    return tf.mul(tf.mean(tf.square(tf.sub(alpha, visible))), weight) as tf.Scalar;
  });
}
