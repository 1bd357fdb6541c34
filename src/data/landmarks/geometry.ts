/** Small measurements on 68-point iBUG landmarks (x0, y0, x1, y1, ...; 0-based point indices). */

/** Bounding box of the points in the half-open index ranges [a, b). */
export function landmarkBounds(landmarks: Float32Array, ranges: readonly (readonly [number, number])[]): { minX: number; minY: number; maxX: number; maxY: number } {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [a, b] of ranges) {
    for (let i = a; i < b; i++) {
      minX = Math.min(minX, landmarks[2 * i]);
      maxX = Math.max(maxX, landmarks[2 * i]);
      minY = Math.min(minY, landmarks[2 * i + 1]);
      maxY = Math.max(maxY, landmarks[2 * i + 1]);
    }
  }
  return { minX, minY, maxX, maxY };
}

/** Distance between the two eye centres (points 37-42 and 43-48), at least 1: the face's scale. */
export function interOcular(landmarks: Float32Array): number {
  const centre = (k: number): [number, number] => {
    let x = 0;
    let y = 0;
    for (let i = k; i < k + 6; i++) {
      x += landmarks[2 * i] / 6;
      y += landmarks[2 * i + 1] / 6;
    }
    return [x, y];
  };
  const [lx, ly] = centre(36);
  const [rx, ry] = centre(42);
  return Math.max(1, Math.hypot(rx - lx, ry - ly));
}
