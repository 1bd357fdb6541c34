/**
 * Patch crop: the exact P x P windows of the stride-8 trunk map around the 24 region centres
 * (facts file §1). Corner = round(c/8 - P/2) per axis (round(x/8 - 3) at 224), cells outside the
 * map are zero, and the gradient is the patch gradient scattered back into its window (not the
 * released CUDA kernel's row bug). No gather and no cropAndResize, whose gradients the
 * WebAssembly backend lacks (acnn registers UnsortedSegmentSum there, so gather trains).
 *
 * Three implementations with identical results (execution.ts picks one per backend):
 * - 'ops': zero-pad the map, one slice per window, concat. Autodiff through slice (grad = pad)
 *   and concat; works on every backend without a sync.
 * - 'host': tf.customGrad; forward copies the windows on the host, backward scatter-adds the
 *   patch gradient on the host. One download and one upload per direction.
 * - 'gather': the map viewed as [B*H*W + 1, C] rows (the last row zero), one gather of a
 *   host-computed row index per patch cell. Gradient: one UnsortedSegmentSum. No sync.
 */
import * as tf from '@tensorflow/tfjs';
import { roundHalfAway } from './regions.js';
import type { CropImpl } from './execution.js';

export type { CropImpl };
export const FEATURE_STRIDE = 8;

/**
 * Window corners (row, col) for points [B*R*2] (x, y in input pixels), clamped to [-P, M] so that
 * a window entirely off the map stays entirely off it (all zeros) while fitting the padded map.
 */
export function cropCorners(points: Float32Array | number[], mapSide: number, patchSide: number): Int32Array {
  const n = points.length / 2;
  const out = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const x = points[2 * i];
    const y = points[2 * i + 1];
    const r = roundHalfAway(y / FEATURE_STRIDE - patchSide / 2);
    const c = roundHalfAway(x / FEATURE_STRIDE - patchSide / 2);
    out[2 * i] = Math.min(mapSide, Math.max(-patchSide, r));
    out[2 * i + 1] = Math.min(mapSide, Math.max(-patchSide, c));
  }
  return out;
}

/**
 * map: [B, M, M, C]; corners from cropCorners for [B, R] points (b-major).
 * Returns [R*B, P, P, C], region-major (all images' patch 0, then patch 1, ...), the layout the
 * grouped PG-units take.
 */
export function cropPatches(map: tf.Tensor4D, corners: Int32Array, regions: number, patchSide: number, impl: CropImpl = 'ops'): tf.Tensor4D {
  switch (impl) {
    case 'host':
      return cropHost(map, corners, regions, patchSide);
    case 'gather':
      return cropGather(map, corners, regions, patchSide);
    case 'ops':
      return cropOps(map, corners, regions, patchSide);
  }
}

/** Row of the [B*H*W + 1, C] view for every patch cell; cells off the map read the zero row. */
export function gatherRows(B: number, H: number, W: number, R: number, P: number, corners: Int32Array): Int32Array {
  const zero = B * H * W;
  const rows = new Int32Array(R * B * P * P);
  let k = 0;
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < B; b++) {
      const r0 = corners[(b * R + r) * 2];
      const c0 = corners[(b * R + r) * 2 + 1];
      for (let i = 0; i < P; i++) {
        const y = r0 + i;
        for (let j = 0; j < P; j++) {
          const x = c0 + j;
          rows[k++] = y >= 0 && y < H && x >= 0 && x < W ? (b * H + y) * W + x : zero;
        }
      }
    }
  }
  return rows;
}

function cropGather(map: tf.Tensor4D, corners: Int32Array, R: number, P: number): tf.Tensor4D {
  const [B, H, W, C] = map.shape;
  return tf.tidy(() => {
    const rows = tf.concat([tf.reshape(map, [B * H * W, C]), tf.zeros([1, C])], 0);
    const idx = tf.tensor1d(gatherRows(B, H, W, R, P, corners), 'int32');
    return tf.reshape(tf.gather(rows, idx), [R * B, P, P, C]);
  });
}

function cropOps(map: tf.Tensor4D, corners: Int32Array, R: number, P: number): tf.Tensor4D {
  const [B, , , C] = map.shape;
  return tf.tidy(() => {
    const padded = tf.pad(map, [[0, 0], [P, P], [P, P], [0, 0]]);
    const parts: tf.Tensor4D[] = [];
    for (let r = 0; r < R; r++) {
      for (let b = 0; b < B; b++) {
        const k = (b * R + r) * 2;
        parts.push(tf.slice(padded, [b, corners[k] + P, corners[k + 1] + P, 0], [1, P, P, C]));
      }
    }
    return tf.concat(parts, 0);
  });
}

function cropHost(map: tf.Tensor4D, corners: Int32Array, R: number, P: number): tf.Tensor4D {
  const [B, H, W, C] = map.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const m = args[0] as tf.Tensor;
    const src = m.dataSync() as Float32Array;
    const out = new Float32Array(R * B * P * P * C);
    copyWindows(B, H, W, C, R, P, corners, (o, s, len) => out.set(src.subarray(s, s + len), o));
    const value = tf.tensor4d(out, [R * B, P, P, C]);
    const gradFunc = (dy: tf.Tensor4D) => {
      const g = dy.dataSync() as Float32Array;
      const dm = new Float32Array(B * H * W * C);
      copyWindows(B, H, W, C, R, P, corners, (o, s, len) => {
        for (let j = 0; j < len; j++) dm[s + j] += g[o + j];
      });
      return tf.tensor4d(dm, [B, H, W, C]);
    };
    return { value, gradFunc };
  });
  return f(map) as tf.Tensor4D;
}

/** Calls fn(patchOffset, mapOffset, length) for each in-map run of channels along a window row. */
function copyWindows(
  B: number,
  H: number,
  W: number,
  C: number,
  R: number,
  P: number,
  corners: Int32Array,
  fn: (patchOffset: number, mapOffset: number, len: number) => void,
): void {
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < B; b++) {
      const k = (b * R + r) * 2;
      const r0 = corners[k];
      const c0 = corners[k + 1];
      const cs = Math.max(0, c0);
      const ce = Math.min(W, c0 + P);
      if (ce <= cs) continue;
      const base = (r * B + b) * P * P * C;
      for (let i = 0; i < P; i++) {
        const y = r0 + i;
        if (y < 0 || y >= H) continue;
        fn(base + (i * P + (cs - c0)) * C, ((b * H + y) * W + cs) * C, (ce - cs) * C);
      }
    }
  }
}
