/**
 * The gates study's pieces (issue 10): misleading occluders, patch coverage, the gate and
 * feature-norm diagnostics, and the options beyond the paper (gate supervision, patch dropout,
 * zero-initialised class layer).
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend.js';
import { buildModel } from '../src/model/build.js';
import { regionPoints } from '../src/model/regions.js';
import { occlude, prepareOcclusion } from '../src/data/occlusion/index.js';
import { parseSyntheticOptions, renderSynthetic } from '../src/data/synthetic/index.js';
import { Rng } from '../src/util/rng.js';
import { gateSupervisionLoss, patchCoverage, patchGeometry } from '../src/train/patch-coverage.js';
import { PatchCollector, ranks, spearman } from '../src/train/patch-diagnostics.js';
import type { ModelOptions } from '../src/model/types.js';

const synth = (size: number, index: number) => renderSynthetic(parseSyntheticOptions({ name: 's', format: 'synthetic', seed: 5, size }), 'test', index);

describe('misleading occluders (beyond the paper)', () => {
  it('paste other faces\' parts with another expression, or draw hands and objects; every changed pixel is masked', async () => {
    const opts = await prepareOcclusion({ protocol: 'random-square', occluders: 'misleading' });
    assert.equal(opts.family, 'misleading');
    const kinds: string[] = [];
    for (let i = 0; i < 40; i++) {
      const img = synth(64, i);
      const out = occlude({ rgb: img.rgb, width: 64, height: 64 }, img.landmarks, opts, new Rng(1000 + i), undefined, img.label);
      kinds.push(out.kind);
      let masked = 0;
      for (let p = 0; p < 64 * 64; p++) {
        const changed = img.rgb[3 * p] !== out.rgb[3 * p] || img.rgb[3 * p + 1] !== out.rgb[3 * p + 1] || img.rgb[3 * p + 2] !== out.rgb[3 * p + 2];
        if (changed) assert.equal(out.mask[p], 1, `${out.kind}: pixel ${p} changed but not masked`);
        masked += out.mask[p];
      }
      assert.ok(masked > 0, `${out.kind}: empty mask`);
      const m = /^face-part:([a-z-]+)@([a-z-]+):(\d)$/.exec(out.kind);
      if (m) assert.notEqual(Number(m[3]), img.label, `${out.kind}: the pasted part must come from another expression than ${img.label}`);
    }
    const parts = kinds.filter((k) => k.startsWith('face-part:')).length;
    const hands = kinds.filter((k) => k === 'hand').length;
    // Half face parts, a quarter hands, a quarter other objects (binomial spread over 40 draws).
    assert.ok(parts >= 10 && parts <= 30, `face parts ${parts}/40: ${kinds.join(' ')}`);
    assert.ok(hands >= 3, `hands ${hands}/40`);
  });

  it('are a pure function of the random stream', async () => {
    const opts = await prepareOcclusion({ protocol: 'random-square', occluders: 'misleading' });
    const img = synth(48, 3);
    const a = occlude({ rgb: img.rgb, width: 48, height: 48 }, img.landmarks, opts, new Rng(7), undefined, img.label);
    const b = occlude({ rgb: img.rgb, width: 48, height: 48 }, img.landmarks, opts, new Rng(7), undefined, img.label);
    assert.equal(a.kind, b.kind);
    assert.deepEqual(Buffer.from(a.rgb), Buffer.from(b.rgb));
  });

  it('a folder named misleading is still a folder when written ./misleading', async () => {
    await assert.rejects(prepareOcclusion({ protocol: 'random-square', occluders: './misleading' }), /misleading/);
  });
});

describe('patch coverage and diagnostics', () => {
  it('coverage is the masked fraction of each patch window (window = 8 x patch side, cells off the image uncovered)', () => {
    const S = 64;
    const g = patchGeometry({ backbone: 'vgg16', variant: 'pacnn', inputSize: S, width: 0.125, numClasses: 7, dropout: 0 });
    assert.deepEqual(g, { mapSide: 8, patchSide: 2 });
    // One image, mask = the left half of the image.
    const mask = new Uint8Array(S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S / 2; x++) mask[y * S + x] = 1;
    // Window of a point at (x, y): corner round(c/8 - 1) * 8, side 16.
    const pts = new Float32Array(48);
    const put = (r: number, x: number, y: number) => ((pts[2 * r] = x), (pts[2 * r + 1] = y));
    put(0, 16, 32); // window x 8..23: all masked
    put(1, 48, 32); // window x 40..55: none
    put(2, 32, 32); // window x 24..39: half
    put(3, 4, 4); // corner (-1, -1) -> x -8..7, y -8..7: 8x8 of 256 on the image, masked
    const cov = patchCoverage(mask, 1, S, pts, g);
    assert.equal(cov[0], 1);
    assert.equal(cov[1], 0);
    assert.equal(cov[2], 0.5);
    assert.equal(cov[3], 64 / 256);
    assert.deepEqual(Array.from(patchCoverage(undefined, 1, S, pts, g)), new Array(24).fill(0));
  });

  it('ranks and Spearman correlation', () => {
    assert.deepEqual(Array.from(ranks([3, 1, 2, 2])), [4, 1, 2.5, 2.5]);
    assert.ok(Math.abs(spearman([1, 2, 3, 4], [10, 20, 30, 40]) - 1) < 1e-12);
    assert.ok(Math.abs(spearman([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-12);
    assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  });

  it('a gate that tracks visibility scores AUC 1; a feature norm that ignores it scores 0.5', () => {
    const c = new PatchCollector();
    const coverage = [0, 0.2, 0.6, 1, 0, 0.9];
    const alpha = coverage.map((f) => 1 - f);
    const norms = [1, 2, 1, 2, 1.5, 1.5];
    c.add(norms, coverage, true, alpha, [0.4]);
    const d = c.result()!;
    assert.ok(Math.abs(d.meanAlpha! - alpha.reduce((a, b) => a + b) / 6) < 1e-12);
    assert.equal(d.meanAlphaGlobal, 0.4);
    const o = d.occlusion!;
    assert.equal(o.patches, 6);
    assert.equal(o.covered, 3);
    assert.equal(o.alpha!.auc, 1);
    assert.ok(Math.abs(o.alpha!.spearman - 1) < 1e-12);
    assert.equal(o.norm.auc, 0.5);
    assert.deepEqual(o.alpha!.histogram.covered.reduce((a, b) => a + b), 3);
    // Without masks there is nothing to separate: only the means.
    const clean = new PatchCollector();
    clean.add(norms, new Array(6).fill(0), false, alpha);
    assert.equal(clean.result()!.occlusion, undefined);
  });
});

describe('model options beyond the paper (WebAssembly backend)', function () {
  this.timeout(120_000);
  const base: ModelOptions = { backbone: 'vgg16', variant: 'pacnn', inputSize: 32, width: 0.125, numClasses: 7, dropout: 0 };
  let wasm = true;
  before(async function () {
    try {
      await initBackend('wasm');
    } catch (err) {
      wasm = false;
      console.log(`      (skipped: the WebAssembly backend did not start: ${(err as Error).message})`);
      this.skip();
    }
  });
  const inputs = (B: number) => {
    const images = tf.randomUniform([B, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const lm = new Float32Array(B * 136);
    for (let b = 0; b < B; b++) lm.set(synth(32, b).landmarks, b * 136);
    const points = tf.tensor3d(regionPoints(lm, 32), [B, 24, 2]);
    return { images, points };
  };

  it('classifierInit zeros starts from the uniform prediction; glorot does not', () => {
    assert.ok(wasm);
    const { images, points } = inputs(2);
    for (const variant of ['base', 'pacnn', 'gacnn'] as const) {
      const zero = buildModel({ ...base, variant, classifierInit: 'zeros' }, 1);
      const rand = buildModel({ ...base, variant }, 1);
      const z = zero.forward(images, points, false);
      const r = rand.forward(images, points, false);
      assert.equal(tf.max(tf.abs(z.logits)).dataSync()[0], 0, variant);
      assert.ok(tf.max(tf.abs(r.logits)).dataSync()[0] > 0, variant);
      zero.dispose();
      rand.dispose();
    }
  });

  it('gate supervision is weight x mean (alpha - visible fraction)^2 and its gradient moves alpha towards what is visible', () => {
    const alpha = tf.tensor2d([0.9, 0.5, 0.2, 0.5], [2, 2]);
    const coverage = Float32Array.from([1, 0, 0, 0.5]);
    const loss = gateSupervisionLoss(alpha, coverage, 2).dataSync()[0];
    const expected = (2 * (0.9 ** 2 + 0.5 ** 2 + 0.8 ** 2 + 0 ** 2)) / 4;
    assert.ok(Math.abs(loss - expected) < 1e-6, `${loss} vs ${expected}`);
    const g = tf.grad((a: tf.Tensor) => gateSupervisionLoss(a as tf.Tensor2D, coverage, 2))(alpha).dataSync();
    // Covered patch with an open gate: pushed down; uncovered patches with closed gates: pushed up.
    assert.ok(g[0] > 0 && g[1] < 0 && g[2] < 0 && Math.abs(g[3]) < 1e-7, Array.from(g).join(' '));
  });

  it('patch norms are reported before the gate; patch dropout drops whole patches in training only', () => {
    const { images, points } = inputs(2);
    const m = buildModel({ ...base, variant: 'pcnn', patchDropout: 0.5 }, 1);
    const plain = buildModel({ ...base, variant: 'pcnn' }, 1);
    const evalOut = m.forward(images, points, false);
    assert.deepEqual(evalOut.patchNorms!.shape, [2, 24]);
    // Same seed, same weights: in eval mode patch dropout changes nothing.
    assert.deepEqual(Array.from(evalOut.logits.dataSync()), Array.from(plain.forward(images, points, false).logits.dataSync()));
    const a = m.forward(images, points, true, undefined, 11).logits.dataSync();
    const b = m.forward(images, points, true, undefined, 11).logits.dataSync();
    const c = m.forward(images, points, true, undefined, 12).logits.dataSync();
    assert.deepEqual(Array.from(a), Array.from(b), 'same seed, same dropped patches');
    assert.notDeepEqual(Array.from(a), Array.from(c), 'another seed drops other patches');
    m.dispose();
    plain.dispose();
    assert.throws(() => buildModel({ ...base, patchDropout: 1 }, 1), /patchDropout/);
  });
});

describe('a gated run with every option of the gates study (end to end)', function () {
  this.timeout(300_000);
  it('trains gACNN on misleading occluders with gate supervision and patch dropout, and reports gates and norms', async () => {
    const { mkdtempSync, writeFileSync, readFileSync, readdirSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { runCli } = await import('./helpers/cli.js');
    const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-gates-'));
    const spec = path.join(work, 'g.yaml');
    writeFileSync(
      spec,
      `name: g
datasets:
  synthetic: {format: synthetic, train: 32, test: 16, seed: 4, imageSize: 32}
model: {backbone: vgg16, variant: gacnn, inputSize: 32, width: 0.125, dropout: 0, classifierInit: zeros, patchDropout: 0.25}
train:
  data: [{dataset: synthetic, split: train}]
  occlusion: {ratio: 0.5, protocol: random-square, occluders: misleading}
  gateSupervision: {weight: 1}
  optimizer: adam
  batchSize: 8
  iterations: 4
test:
  occluded: {dataset: synthetic, split: test, occlusion: {protocol: random-square, occluders: misleading, seed: 3}}
`,
    );
    const res = await runCli(['run', spec, '--backend', 'wasm', '--results', path.join(work, 'r'), '--cache', path.join(work, 'c'), '--quiet', '--workers', '1'], { timeoutMs: 240_000 });
    assert.equal(res.code, 0, res.stderr);
    const base = path.join(work, 'r', 'g');
    const id = readdirSync(base).find((d) => /^[0-9a-f]{10}$/.test(d))!;
    const ev = JSON.parse(readFileSync(path.join(base, id, 'eval.json'), 'utf8'));
    const p = ev.tests.occluded.patches;
    assert.ok(p.meanAlpha > 0 && p.meanAlpha < 1 && p.meanAlphaGlobal > 0 && p.meanAlphaGlobal < 1, JSON.stringify(p));
    assert.equal(p.occlusion.patches, 16 * 24);
    assert.ok(p.occlusion.alpha.histogram.covered.length === 20 && Number.isFinite(p.occlusion.norm.auc));
  });
});
