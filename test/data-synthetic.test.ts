import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  cachePaths, encodePng, loadSynthetic, measureRenderSpeed, parseSyntheticOptions, renderSynthetic,
  syntheticAdapter, syntheticLabel, syntheticLandmarks, type SyntheticOptions,
} from '../src/data/synthetic/index.js';
import { renderContactSheet } from '../src/data/preview.js';
import { CLASSES, NUM_CLASSES } from '../src/data/types.js';
import { UserError } from '../src/util/errors.js';

const opts = (extra: Record<string, unknown> = {}): SyntheticOptions =>
  parseSyntheticOptions({ name: 'synthetic', format: 'synthetic', ...extra });

/** 1-based landmark n as [x, y]. */
function lm(p: Float32Array, n: number): [number, number] {
  return [p[2 * (n - 1)], p[2 * (n - 1) + 1]];
}
function mean(p: Float32Array, from: number, to: number): [number, number] {
  let x = 0;
  let y = 0;
  for (let n = from; n <= to; n++) {
    x += lm(p, n)[0];
    y += lm(p, n)[1];
  }
  return [x / (to - from + 1), y / (to - from + 1)];
}

describe('synthetic dataset', () => {
  it('renders the same PNG bytes for the same seed, different ones for another seed', async () => {
    const o = opts({ seed: 5, size: 96 });
    const a = await encodePng(renderSynthetic(o, 'train', 3));
    const b = await encodePng(renderSynthetic(opts({ seed: 5, size: 96 }), 'train', 3));
    assert.ok(a.equals(b));
    const c = await encodePng(renderSynthetic(opts({ seed: 6, size: 96 }), 'train', 3));
    assert.ok(!a.equals(c));
    const d = await encodePng(renderSynthetic(o, 'train', 4));
    assert.ok(!a.equals(d));
  });

  it('lists ids synthetic:<seed>:<split>:<index> with balanced labels', async () => {
    const options = { name: 'synthetic', format: 'synthetic', train: 700, test: 30, seed: 2, size: 64 };
    assert.deepEqual(syntheticAdapter.splits(options), ['train', 'test']);
    const train = await syntheticAdapter.list(options, 'train');
    assert.equal(train.samples.length, 700);
    assert.equal(train.samples[12].id, 'synthetic:2:train:12');
    const counts = new Array(NUM_CLASSES).fill(0);
    for (const s of train.samples) counts[s.label]++;
    assert.deepEqual(counts, new Array(NUM_CLASSES).fill(100));
    const test = await syntheticAdapter.list(options, 'test');
    const tc = new Array(NUM_CLASSES).fill(0);
    for (const s of test.samples) tc[s.label]++;
    assert.ok(Math.max(...tc) - Math.min(...tc) <= 1, `test counts ${tc}`);
    // Labels do not depend on the split size, and train and test differ.
    assert.equal(syntheticLabel(2, 'train', 5), train.samples[5].label);
    assert.notDeepEqual(test.samples.map((s) => s.label), train.samples.slice(0, 30).map((s) => s.label));
  });

  it('loads images whose landmarks match the listing and the label', async () => {
    const options = { name: 'synthetic', format: 'synthetic', train: 14, test: 0, seed: 9, size: 80 };
    const { samples } = await syntheticAdapter.list(options, 'train');
    for (const ref of samples.slice(0, 7)) {
      const s = await syntheticAdapter.load(ref, options);
      assert.equal(s.width, 80);
      assert.equal(s.height, 80);
      assert.equal(s.rgb.length, 80 * 80 * 3);
      assert.equal(s.label, ref.label);
      assert.deepEqual(Array.from(s.landmarks), Array.from(ref.landmarks!));
    }
  });

  for (const size of [48, 64, 128, 224]) {
    it(`keeps the 68 landmarks inside a ${size}px image in anatomical order`, () => {
      const o = opts({ seed: 11, size });
      for (let i = 0; i < 70; i++) {
        const p = syntheticLandmarks(o, 'train', i);
        assert.equal(p.length, 136);
        for (let k = 0; k < 136; k++) assert.ok(p[k] >= 0 && p[k] <= size - 1, `sample ${i} coordinate ${k} = ${p[k]}`);
        const eyeL = mean(p, 37, 42);
        const eyeR = mean(p, 43, 48);
        const mouth = mean(p, 49, 68);
        const browL = mean(p, 18, 22);
        const browR = mean(p, 23, 27);
        // Rotations are small (< 15 degrees), so image-axis comparisons hold.
        assert.ok(eyeL[0] < eyeR[0], 'dlib: 37-42 is the image-left eye');
        assert.ok(browL[0] < browR[0]);
        assert.ok(lm(p, 1)[0] < lm(p, 17)[0]);
        assert.ok(lm(p, 49)[0] < lm(p, 55)[0]);
        assert.ok(lm(p, 37)[0] < lm(p, 40)[0] && lm(p, 43)[0] < lm(p, 46)[0], 'eye corners in dlib order');
        assert.ok(browL[1] < eyeL[1] && browR[1] < eyeR[1], 'brows above eyes');
        assert.ok(eyeL[1] < lm(p, 34)[1] && lm(p, 34)[1] < mouth[1], 'eyes above nose above mouth');
        assert.ok(mouth[1] < lm(p, 9)[1], 'chin below mouth');
        assert.ok(lm(p, 28)[1] < lm(p, 31)[1], 'nose bridge top to bottom');
        assert.ok(lm(p, 63)[1] <= lm(p, 67)[1] + 1e-3, 'inner lips do not cross');
      }
    });
  }

  it('draws the expressions as designed (per-class landmark statistics)', () => {
    const o = opts({ seed: 4, size: 128 });
    const stats = CLASSES.map(() => ({ n: 0, open: 0, corner: 0, brow: 0, nose: 0, eye: 0, mouthW: 0 }));
    for (let i = 0; i < 700; i++) {
      const p = syntheticLandmarks(o, 'train', i);
      const label = syntheticLabel(4, 'train', i);
      const eyeL = mean(p, 37, 42);
      const eyeR = mean(p, 43, 48);
      const iod = Math.hypot(eyeR[0] - eyeL[0], eyeR[1] - eyeL[1]);
      const eyeY = (eyeL[1] + eyeR[1]) / 2;
      const s = stats[label];
      s.n++;
      s.open += (lm(p, 67)[1] - lm(p, 63)[1]) / iod;
      // Positive when the corners sit above the lip centre line.
      s.corner += ((lm(p, 52)[1] + lm(p, 58)[1]) / 2 - (lm(p, 49)[1] + lm(p, 55)[1]) / 2) / iod;
      s.brow += (eyeY - (mean(p, 18, 22)[1] + mean(p, 23, 27)[1]) / 2) / iod;
      s.nose += (lm(p, 34)[1] - eyeY) / iod;
      s.eye += ((lm(p, 42)[1] - lm(p, 38)[1]) + (lm(p, 48)[1] - lm(p, 44)[1])) / 2 / iod;
      s.mouthW += (lm(p, 55)[0] - lm(p, 49)[0]) / iod;
    }
    const m = (c: string, k: 'open' | 'corner' | 'brow' | 'nose' | 'eye' | 'mouthW'): number => {
      const s = stats[CLASSES.indexOf(c as (typeof CLASSES)[number])];
      return s[k] / s.n;
    };
    assert.ok(m('surprise', 'open') > m('neutral', 'open') + 0.1, 'surprise opens the mouth');
    assert.ok(m('surprise', 'open') > m('fear', 'open'), 'fear opens less than surprise');
    assert.ok(m('fear', 'mouthW') > m('surprise', 'mouthW'), 'fear stretches, surprise drops');
    assert.ok(m('happy', 'corner') > m('neutral', 'corner') + 0.03, 'happy lifts the lip corners');
    assert.ok(m('sad', 'corner') < m('neutral', 'corner') - 0.03, 'sad lowers them');
    assert.ok(m('surprise', 'brow') > m('neutral', 'brow') + 0.05, 'surprise raises the brows');
    assert.ok(m('anger', 'brow') < m('neutral', 'brow') - 0.03, 'anger lowers the brows');
    assert.ok(m('disgust', 'brow') < m('neutral', 'brow'), 'disgust lowers them too');
    assert.ok(m('disgust', 'nose') < m('neutral', 'nose') - 0.02, 'disgust wrinkles the nose up');
    assert.ok(m('surprise', 'eye') > m('neutral', 'eye') && m('fear', 'eye') > m('neutral', 'eye'), 'wide eyes');
    assert.ok(m('anger', 'eye') < m('neutral', 'eye') && m('happy', 'eye') < m('neutral', 'eye'), 'narrowed eyes');
    // Each non-neutral class departs from neutral in at least two regions.
    const d = (c: string): number[] => [
      Math.abs(m(c, 'brow') - m('neutral', 'brow')) > 0.02 ? 1 : 0,
      Math.abs(m(c, 'eye') - m('neutral', 'eye')) > 0.02 ? 1 : 0,
      Math.abs(m(c, 'nose') - m('neutral', 'nose')) > 0.015 ? 1 : 0,
      Math.abs(m(c, 'open') - m('neutral', 'open')) > 0.03 || Math.abs(m(c, 'corner') - m('neutral', 'corner')) > 0.02 || Math.abs(m(c, 'mouthW') - m('neutral', 'mouthW')) > 0.05 ? 1 : 0,
    ];
    for (const c of CLASSES.slice(1)) assert.ok(d(c).reduce((a, b) => a + b) >= 2, `${c}: regions ${d(c)}`);
  });

  it('caches on disk atomically and reads the cache back identically', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acnn-synth-'));
    try {
      const o = opts({ seed: 21, size: 64, cacheDir: dir, memoryCache: 0 });
      const first = await loadSynthetic(o, 'synthetic:21:test:2');
      const paths = cachePaths(o, 21, 'test', 2)!;
      assert.ok(paths.png.startsWith(path.join(dir, '21')));
      const meta = JSON.parse(await fs.readFile(paths.json, 'utf8'));
      assert.equal(meta.label, first.label);
      const again = await loadSynthetic(o, 'synthetic:21:test:2');
      assert.deepEqual(again.rgb, first.rgb);
      assert.deepEqual(again.landmarks, first.landmarks);
      assert.deepEqual((await fs.readdir(path.dirname(paths.png))).filter((f) => f.endsWith('.tmp')), []);
      // A corrupt cache file is a miss, not an error.
      await fs.writeFile(paths.png, 'not a png');
      const healed = await loadSynthetic(o, 'synthetic:21:test:2');
      assert.deepEqual(healed.rgb, first.rgb);
      const decoded = await sharp(await fs.readFile(paths.png)).raw().toBuffer();
      assert.deepEqual(new Uint8Array(decoded), first.rgb);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('returns copies from the memory cache', async () => {
    const o = opts({ seed: 22, size: 48 });
    const a = await loadSynthetic(o, 'synthetic:22:train:0');
    a.rgb.fill(0);
    const b = await loadSynthetic(o, 'synthetic:22:train:0');
    assert.ok(b.rgb.some((v) => v !== 0));
  });

  it('rejects bad options and splits as user errors', async () => {
    assert.throws(() => opts({ size: 'big' }), UserError);
    assert.throws(() => opts({ train: -1 }), UserError);
    assert.throws(() => opts({ intensity: [1, 0.5] }), UserError);
    await assert.rejects(syntheticAdapter.list({ name: 's', format: 'synthetic' }, 'holdout'), UserError);
  });

  it('renders fast enough for training (reports images/s)', () => {
    const r64 = measureRenderSpeed(64, 100);
    const r128 = measureRenderSpeed(128, 100);
    console.log(`      synthetic render: ${r64.toFixed(0)} img/s at 64 px, ${r128.toFixed(0)} img/s at 128 px`);
    assert.ok(r128 > 20, `${r128} img/s`);
  });

  it('draws a contact sheet PNG', async () => {
    const o = opts({ seed: 1, size: 64 });
    const items = [0, 1, 2].map((i) => {
      const s = renderSynthetic(o, 'train', i);
      const mask = new Uint8Array(64 * 64);
      mask.fill(1, 64 * 10, 64 * 20);
      return { ...s, mask, points24: new Float32Array(48).fill(30), patchSide: 16, label: CLASSES[s.label] };
    });
    const png = await renderContactSheet(items, { columns: 2, cell: 96, title: 'test' });
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.ok((meta.width ?? 0) >= 2 * 96 && (meta.height ?? 0) >= 2 * 96);
  });
});
