/**
 * A frontal mean 68-point iBUG shape, normalised so its points span the unit box. Estimated
 * with @vladmandic/face-api's 68-point model on the 22 faces of its bundled demo photos
 * (each aligned by eye centres and inter-ocular distance), then made left-right symmetric.
 */
export const MEAN_SHAPE_68: readonly number[] = [
  0.0, 0.1847, 0.0059, 0.3249, 0.0331, 0.4554, 0.0633, 0.5714, 0.1145, 0.6971, 0.1845, 0.8005,
  0.2611, 0.8744, 0.3569, 0.9547, 0.5, 1.0, 0.6431, 0.9547, 0.7389, 0.8744, 0.8155, 0.8005,
  0.8855, 0.6971, 0.9367, 0.5714, 0.9668, 0.4554, 0.9941, 0.3249, 1.0, 0.1847, 0.1068, 0.0568,
  0.1666, 0.0079, 0.2409, 0.0, 0.3133, 0.0154, 0.3755, 0.0414, 0.6245, 0.0414, 0.6867, 0.0154,
  0.7591, 0.0, 0.8335, 0.0079, 0.8932, 0.0568, 0.5, 0.2174, 0.5, 0.3213, 0.5, 0.4139,
  0.5, 0.5, 0.4187, 0.5405, 0.454, 0.5562, 0.5, 0.5701, 0.546, 0.5562, 0.5813, 0.5405,
  0.2044, 0.1834, 0.2478, 0.163, 0.3125, 0.1628, 0.3709, 0.1998, 0.3188, 0.2197, 0.2511, 0.2181,
  0.6291, 0.1998, 0.6875, 0.1628, 0.7522, 0.163, 0.7956, 0.1834, 0.7489, 0.2181, 0.6812, 0.2197,
  0.3194, 0.6896, 0.3824, 0.6711, 0.4607, 0.6521, 0.5, 0.6603, 0.5393, 0.6521, 0.6176, 0.6711,
  0.6806, 0.6896, 0.6178, 0.7651, 0.5576, 0.8026, 0.5, 0.8124, 0.4424, 0.8026, 0.3822, 0.7651,
  0.3331, 0.6922, 0.445, 0.6945, 0.5, 0.6974, 0.5551, 0.6945, 0.6669, 0.6922, 0.5532, 0.7371,
  0.5, 0.7452, 0.4469, 0.7371,
];

/** Where the mean shape's bounding box goes, as fractions of the image frame. */
export interface MeanShapeBox {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * Face crops as the datasets ship them (RAF-DB aligned, SFEW aligned, FER2013) show the
 * face from just above the brows to the chin and nearly ear to ear; this box places the
 * points there.
 */
export const DEFAULT_MEAN_SHAPE_BOX: MeanShapeBox = { left: 0.1, top: 0.22, right: 0.9, bottom: 0.95 };

/** The mean shape fitted to a width x height image frame (pixel-centre coordinates). */
export function fitMeanShape(width: number, height: number, box: MeanShapeBox = DEFAULT_MEAN_SHAPE_BOX): Float32Array {
  const out = new Float32Array(136);
  const x0 = box.left * width - 0.5;
  const y0 = box.top * height - 0.5;
  const sx = (box.right - box.left) * width;
  const sy = (box.bottom - box.top) * height;
  for (let i = 0; i < 68; i++) {
    out[2 * i] = x0 + MEAN_SHAPE_68[2 * i] * sx;
    out[2 * i + 1] = y0 + MEAN_SHAPE_68[2 * i + 1] * sy;
  }
  return out;
}
