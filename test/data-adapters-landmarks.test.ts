import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend.js';
import type { DatasetOptions } from '../src/data/types.js';
import { getAdapter, prepareSplit } from '../src/data/registry.js';
import { createFaceApiDetector, fitMeanShape, resolveLandmarks, type LandmarkDetector } from '../src/data/landmarks/index.js';
import { parseSyntheticOptions, renderSynthetic } from '../src/data/synthetic/index.js';
import * as fx from './fixtures/datasets/build.js';

const require = createRequire(import.meta.url);
const demoPhoto = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

function mean(pts: Float32Array, from: number, to: number, axis: 0 | 1): number {
  let s = 0;
  for (let i = from; i < to; i++) s += pts[2 * i + axis];
  return s / (to - from);
}

/** Coarse anatomy: brows above eyes above nose tip above mouth above chin; subject's right eye on image left. */
function plausibleFace(p: Float32Array, w: number, h: number): void {
  for (let i = 0; i < 136; i += 2) {
    assert.ok(p[i] > -0.1 * w && p[i] < 1.1 * w && p[i + 1] > -0.1 * h && p[i + 1] < 1.1 * h, `point ${i / 2} outside the frame`);
  }
  const brows = mean(p, 17, 27, 1), eyes = mean(p, 36, 48, 1), nose = p[30 * 2 + 1], mouth = mean(p, 48, 68, 1), chin = p[8 * 2 + 1];
  assert.ok(brows < eyes && eyes < nose && nose < mouth && mouth < chin, `vertical order ${[brows, eyes, nose, mouth, chin]}`);
  assert.ok(mean(p, 36, 42, 0) < mean(p, 42, 48, 0), 'eye order');
}

describe('data landmarks: detection, cache, no-face policy', function () {
  this.timeout(60000);
  let dir: string;
  let detector: LandmarkDetector;
  let options: DatasetOptions;

  before(async () => {
    dir = await fx.tempDir('acnn-landmarks-');
    detector = await createFaceApiDetector();
    // A manifest dataset without points: a real face (cropped from face-api's demo photo),
    // a synthetic face, and a blank image with no face at all.
    const root = path.join(dir, 'ds');
    await fs.mkdir(path.join(root, 'img'), { recursive: true });
    await sharp(demoPhoto).extract({ left: 1380, top: 100, width: 330, height: 330 }).resize(160, 160).jpeg().toFile(path.join(root, 'img', 'real.jpg'));
    const syn = renderSynthetic(parseSyntheticOptions({ name: 's', format: 'synthetic', train: 1, test: 4, seed: 1 }), 'test', 1);
    await sharp(Buffer.from(syn.rgb), { raw: { width: syn.width, height: syn.height, channels: 3 } }).png().toFile(path.join(root, 'img', 'synthetic.png'));
    await sharp({ create: { width: 120, height: 100, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toFile(path.join(root, 'img', 'blank.png'));
    await fs.writeFile(path.join(root, 'all.csv'), 'img/real.jpg,happy\nimg/synthetic.png,sad\nimg/blank.png,neutral\n');
    options = { name: 'lm', format: 'manifest', root, file: 'all.csv', cacheDir: path.join(dir, 'cache'), landmarks: { noFace: 'meanShape' } };
  });
  after(async () => {
    detector?.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('the mean shape fits the image frame', () => {
    const p = fitMeanShape(200, 100);
    plausibleFace(p, 200, 100);
    const xs = Array.from(p).filter((_, i) => i % 2 === 0);
    const ys = Array.from(p).filter((_, i) => i % 2 === 1);
    assert.ok(Math.abs(Math.min(...xs) - (0.1 * 200 - 0.5)) < 1e-3 && Math.abs(Math.max(...xs) - (0.9 * 200 - 0.5)) < 1e-3);
    assert.ok(Math.abs(Math.min(...ys) - (0.22 * 100 - 0.5)) < 1e-3 && Math.abs(Math.max(...ys) - (0.95 * 100 - 0.5)) < 1e-3);
  });

  it('face-api finds the real face (68 plausible points), reports the blank image, caches the result', async () => {
    const adapter = getAdapter('manifest');
    const { samples } = await adapter.list(options, 'all');
    const r = await resolveLandmarks(adapter, options, samples, { detector });
    const byId = Object.fromEntries(r.samples.map((s) => [s.id, s]));
    plausibleFace(byId['img/real.jpg'].landmarks!, 160, 160);
    assert.equal(r.stats.noFace, 1, JSON.stringify(r.stats));
    assert.equal(r.stats.meanShape, 1);
    assert.deepEqual(r.problems.map((p) => [p.kind, path.basename(p.file)]), [['no-face', 'blank.png']]);
    // meanShape: the blank image keeps its place with the mean face fitted to its frame
    assert.deepEqual(Array.from(byId['img/blank.png'].landmarks!), Array.from(fitMeanShape(120, 100)));
    assert.equal(r.stats.detected, r.samples.length - 1);

    // Second pass: everything comes from the cache, the detector is not touched.
    const never: LandmarkDetector = { detect: () => Promise.reject(new Error('detector used despite the cache')), dispose: () => undefined };
    const again = await resolveLandmarks(adapter, options, samples, { detector: never });
    assert.equal(again.stats.fromCache, r.stats.detected);
    assert.equal(again.stats.detected, 0);
    assert.deepEqual(Array.from(again.samples[0].landmarks!), Array.from(byId['img/real.jpg'].landmarks!).map((v) => Math.round(v * 100) / 100).map(Math.fround));
  });

  it('noFace: skip drops the sample and says so', async () => {
    const skip = { ...options, landmarks: { noFace: 'skip' } };
    const prepared = await prepareSplit(skip, 'all', { detect: false });
    assert.ok(!prepared.samples.some((s) => s.id === 'img/blank.png'));
    assert.equal(prepared.landmarks.noFace, 1);
    assert.match(prepared.problems.find((p) => p.kind === 'no-face')!.message, /skipped/);
  });

  it('landmarks: {source: file} reads a CSV of points', async () => {
    const pts = fitMeanShape(160, 160);
    await fs.writeFile(path.join(options.root as string, 'points.csv'), `img/real.jpg,${Array.from(pts).join(',')}\n`);
    const opts = { ...options, landmarks: { source: 'file', file: 'points.csv' } };
    const prepared = await prepareSplit(opts, 'all');
    assert.equal(prepared.samples.length, 1);
    assert.deepEqual(Array.from(prepared.samples[0].landmarks!), Array.from(pts));
    assert.equal(prepared.problems.filter((p) => p.kind === 'bad-landmarks').length, 2);
  });

  it('the detector borrows the wasm backend from the engine and gives the previous one back', async () => {
    const outer = tf.getBackend();
    await initBackend('cpu');
    try {
      const d = await createFaceApiDetector();
      assert.equal(tf.getBackend(), 'wasm');
      d.dispose();
      await tf.ready();
      assert.equal(tf.getBackend(), 'cpu');
    } finally {
      await tf.setBackend(outer);
    }
  });

  it('the demo photo is there (face-api package layout)', () => {
    assert.ok(existsSync(demoPhoto));
  });
});
