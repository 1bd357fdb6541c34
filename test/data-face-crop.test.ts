import assert from 'node:assert/strict';
import { cropRgb, cropSettings, cropToFace, faceCropBox, faceSquare } from '../src/data/face-crop.js';
import { points68 } from './fixtures/datasets/build.js';

describe('data: face crops', () => {
  it('defaults by format: full frames are cropped, faces are not; crop and cropMargin override', () => {
    for (const format of ['ckplus', 'oulu', 'sfew', 'fedro', 'manifest']) assert.equal(cropSettings({ name: 'd', format }).mode, 'face', format);
    for (const format of ['affectnet', 'fer2013', 'synthetic', 'mix']) assert.equal(cropSettings({ name: 'd', format }).mode, 'none', format);
    assert.equal(cropSettings({ name: 'd', format: 'rafdb' }).mode, 'none');
    assert.equal(cropSettings({ name: 'd', format: 'rafdb', aligned: false }).mode, 'face');
    assert.deepEqual(cropSettings({ name: 'd', format: 'fedro', crop: 'none', cropMargin: 0.3 }), { mode: 'none', margin: 0.3 });
    assert.deepEqual(cropSettings({ name: 'd', format: 'ckplus' }), { mode: 'face', margin: 0.15 });
  });

  it('the box is the landmarks square plus margin, moved inside the image where it fits, padded black where it does not', () => {
    const lm = Float32Array.from(points68(10, 20, 40 * (17 / 16)));
    assert.deepEqual(faceSquare(lm, 0.25), { x: 0, y: 10, side: 60 });
    assert.deepEqual(faceCropBox(lm, 200, 100, 0.25), { left: 0, top: 10, width: 60, height: 60 });
    const near = Float32Array.from(points68(2, 2, 40 * (17 / 16)));
    assert.deepEqual(faceCropBox(near, 200, 100, 0.25), { left: 0, top: 0, width: 60, height: 60 }, 'shifted inside');
    const big = faceCropBox(lm, 50, 50, 0.25);
    assert.equal(big.width, 60);
    const rgb = new Uint8Array(4 * 4 * 3).fill(9);
    const out = cropRgb(rgb, 4, 4, { left: -1, top: 2, width: 3, height: 3 });
    assert.deepEqual(Array.from(out.subarray(0, 9)), [0, 0, 0, 9, 9, 9, 9, 9, 9]);
    assert.deepEqual(Array.from(out.subarray(18)), new Array(9).fill(0), 'rows below the image are black');
  });

  it('moves the landmarks with the pixels', () => {
    const lm = Float32Array.from(points68(30, 20, 20));
    const W = 80;
    const H = 60;
    const rgb = new Uint8Array(W * H * 3);
    // Mark the pixel under landmark 31 (nose tip) and find it again after the crop.
    const [x, y] = [Math.round(lm[60]), Math.round(lm[61])];
    rgb.set([255, 255, 255], (y * W + x) * 3);
    const c = cropToFace({ id: 'a', width: W, height: H, rgb, landmarks: lm, label: 0 }, 0.15);
    const [cx, cy] = [Math.round(c.landmarks[60]), Math.round(c.landmarks[61])];
    assert.deepEqual(Array.from(c.rgb.subarray((cy * c.width + cx) * 3, (cy * c.width + cx) * 3 + 3)), [255, 255, 255]);
  });
});
