import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/engine/backend.js';
import { describeModel, torchvisionSource } from '../src/model/arch.js';
import { buildModel, localityPreservingLoss } from '../src/model/build.js';
import { loadCheckpoint, saveCheckpoint, readCheckpointOptions } from '../src/model/checkpoint.js';
import { cropCorners, cropPatches } from '../src/model/crop.js';
import { batchNormTrain, type BnStats } from '../src/model/layers.js';
import { CROP_IMPLS } from '../src/model/execution.js';
import { loadPretrained, toTfLayout } from '../src/model/pretrained.js';
import { regionPoints } from '../src/model/regions.js';
import { encodeSafetensors, parseSafetensors } from '../src/model/safetensors.js';
import { regionsForRows } from '../src/model/summary.js';
import { readLandmarkFile } from '../src/data/landmarks/file.js';
import { skipBecause } from './helpers/skip.js';
import type { Backbone, ModelOptions, Variant } from '../src/model/types.js';

const VARIANTS: Variant[] = ['base', 'pcnn', 'pacnn', 'gcnn', 'gacnn', 'dlpcnn'];
const BACKBONES: Backbone[] = ['vgg16', 'resnet18'];

function small(backbone: Backbone, variant: Variant, extra: Partial<ModelOptions> = {}): ModelOptions {
  return { backbone, variant, inputSize: 32, width: 0.125, numClasses: 7, dropout: 0, ...extra };
}

function batch(S: number, B: number, seed = 3) {
  const images = tf.randomUniform([B, S, S, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  const points = tf.randomUniform([B, 24, 2], 0, S, 'float32', seed + 1) as tf.Tensor3D;
  const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 7), 'int32');
  return { images, points, labels, onehot: tf.oneHot(labels, 7) as tf.Tensor2D };
}

/** A landmark set where point i (1-based) is at (10 i + 0.3, 500 - 7 i + 0.1), so every index is distinct. */
function fakeLandmarks(): Float32Array {
  const l = new Float32Array(136);
  for (let i = 1; i <= 68; i++) {
    l[(i - 1) * 2] = 10 * i + 0.3;
    l[(i - 1) * 2 + 1] = 500 - 7 * i + 0.1;
  }
  return l;
}

describe('model: region rule (68 -> 24)', () => {
  const X = (i: number) => 10 * i + 0.3;
  const Y = (i: number) => 500 - 7 * i + 0.1;
  // Written out point by point from the facts file, not from the implementation's tables.
  const expected = (s: number): [number, number][] => [
    [X(19), Y(19) - 2 * s],
    [X(22), Y(22) - 10 * s],
    [X(23), Y(23) - 10 * s],
    [X(26), Y(26) - 2 * s],
    [X(39), Y(39)],
    [X(37), Y(37)],
    [X(44), Y(44)],
    [X(46), Y(46)],
    [X(28), Y(28)],
    [X(30), Y(30)],
    [X(49), Y(49)],
    [X(51), Y(51)],
    [X(53), Y(53)],
    [X(55), Y(55)],
    [X(59), Y(59)],
    [X(57), Y(57)],
    [(X(20) + X(38)) / 2, (Y(20) + Y(38)) / 2],
    [(X(25) + X(45)) / 2, (Y(25) + Y(45)) / 2],
    [(X(41) + X(42)) / 2, (Y(41) + Y(42)) / 2],
    [(X(47) + X(48)) / 2, (Y(47) + Y(48)) / 2],
    [(X(18) + X(59)) / 2, (Y(18) + Y(59)) / 2],
    [(X(27) + X(57)) / 2, (Y(27) + Y(57)) / 2],
    [X(49) - 16 * s, Y(49) - 16 * s],
    [X(55) + 16 * s, Y(55) - 16 * s],
  ];

  it('gives each of the 24 points in the 256 frame (unrounded)', () => {
    const got = regionPoints(fakeLandmarks(), 256, { round: false });
    const exp = expected(1);
    assert.equal(got.length, 48);
    exp.forEach(([x, y], i) => {
      assert.ok(Math.abs(got[2 * i] - x) < 1e-3, `point ${i + 1} x: ${got[2 * i]} vs ${x}`);
      assert.ok(Math.abs(got[2 * i + 1] - y) < 1e-3, `point ${i + 1} y: ${got[2 * i + 1]} vs ${y}`);
    });
  });

  it('scales offsets by inputSize/256 and rounds (224 frame), batch-wise', () => {
    const one = fakeLandmarks();
    const two = new Float32Array(272);
    two.set(one, 0);
    two.set(one.map((v) => v + 1), 136);
    const got = regionPoints(two, 224);
    const s = 224 / 256;
    const exp = expected(s);
    exp.forEach(([x, y], i) => {
      assert.equal(got[2 * i], Math.round(x), `point ${i + 1} x`);
      assert.equal(got[2 * i + 1], Math.round(y), `point ${i + 1} y`);
      assert.equal(got[48 + 2 * i], Math.round(x + 1), `sample 2 point ${i + 1} x`);
    });
  });

  it('rejects a wrong-length input', () => {
    assert.throws(() => regionPoints(new Float32Array(135), 224), /multiple of 136/);
  });

  it('reads CSV and JSON landmark files with clear errors', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'acnn-reg-'));
    try {
      const row = Array.from(fakeLandmarks()).join(',');
      writeFileSync(path.join(dir, 'a.csv'), `img1,${row}\n${row}\n`);
      const rows = await readLandmarkFile(path.join(dir, 'a.csv'));
      assert.deepEqual(rows.map((r) => r.id), ['img1', '2']);
      const pts = regionsForRows(rows, 256);
      assert.equal(pts[0].points.length, 48);
      writeFileSync(path.join(dir, 'b.json'), JSON.stringify([{ id: 'x', landmarks: Array.from(fakeLandmarks()) }]));
      assert.equal((await readLandmarkFile(path.join(dir, 'b.json')))[0].id, 'x');
      writeFileSync(path.join(dir, 'bad.csv'), `${row}\n1,2,3\n`);
      await assert.rejects(readLandmarkFile(path.join(dir, 'bad.csv')), /bad\.csv: line 2: expected 136 numbers/);
      writeFileSync(path.join(dir, 'bad2.csv'), `${row.replace(/^[^,]+/, 'abc')}\n`);
      await assert.rejects(readLandmarkFile(path.join(dir, 'bad2.csv')), /bad2\.csv: line 1: .*'abc' is not a number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model: parameter counts (no weights allocated)', () => {
  const facts: Partial<Record<Variant, number>> = { base: 134297671, pcnn: 148493895, pacnn: 150278799, gcnn: 207481415, gacnn: 209340690 };
  for (const [v, n] of Object.entries(facts)) {
    it(`VGG16 ${v} at 224 = ${n.toLocaleString('en-US')}`, () => {
      const d = describeModel({ backbone: 'vgg16', variant: v as Variant, inputSize: 224, width: 1, numClasses: 7, dropout: 0.5 });
      assert.equal(d.totalParams, n);
      assert.equal(d.mapSide, 28);
      assert.equal(d.patchSide, 6);
    });
  }
  it('ResNet-18 base at 224 = torchvision resnet18 with a 7-way fc', () => {
    assert.equal(describeModel({ backbone: 'resnet18', variant: 'base', inputSize: 224, width: 1, numClasses: 7, dropout: 0.5 }).totalParams, 11689512 - 513000 + 3591);
  });
  it('built variables are exactly the described parameters', () => {
    for (const v of VARIANTS) {
      const o = small('vgg16', v);
      const d = describeModel(o);
      const m = buildModel(o, 1);
      try {
        assert.deepEqual([...m.namedVariables().keys()].sort(), d.params.map((p) => p.name).sort());
        const trainable = m.trainableVariables().reduce((a, x) => a + x.size, 0);
        assert.equal(trainable, d.totalParams, v);
      } finally {
        m.dispose();
      }
    }
  });
});

describe('model: ImageNet import (safetensors)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'acnn-st-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function torchState(o: ModelOptions): Record<string, { shape: number[]; data: Float32Array }> {
    const m = buildModel(o, 5);
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    let k = 0;
    for (const [name, v] of m.namedVariables()) {
      const src = torchvisionSource(o.backbone, name);
      if (!src) continue;
      const s = v.shape as number[];
      const shape = src.layout === 'conv' ? [s[3], s[2], s[0], s[1]] : src.layout === 'vector' ? s : [s[1], s[0]];
      const n = shape.reduce((a, b) => a * b, 1);
      out[src.torch] = { shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(k * 7 + i * 0.37)) };
      k++;
    }
    m.dispose();
    out['bn1.num_batches_tracked'] = { shape: [], data: new Float32Array([1]) };
    return out;
  }

  it('imports ResNet-18 torchvision names with OIHW -> HWIO', async () => {
    const o = small('resnet18', 'gacnn');
    const st = torchState(o);
    const file = path.join(dir, 'r18.safetensors');
    writeFileSync(file, encodeSafetensors(st));
    const m = buildModel(o, 1);
    try {
      const r = await loadPretrained(m, file);
      assert.ok(r.loaded.includes('layer2.0.downsample'));
      assert.ok(r.fresh.includes('roi1_conv1'));
      assert.deepEqual(r.skipped, []);
      const k = m.namedVariables().get('layer1.0.conv2/kernel')!;
      const [H, W, I, O] = k.shape;
      const src = st['layer1.0.conv2.weight'];
      const got = k.dataSync();
      for (const [h, w, i, oo] of [[0, 0, 0, 0], [2, 1, 3, 5], [H - 1, W - 1, I - 1, O - 1]]) {
        assert.equal(got[((h * W + w) * I + i) * O + oo], src.data[((oo * I + i) * H + h) * W + w]);
      }
      assert.deepEqual(Array.from(m.namedVariables().get('layer3.1.conv1/bn/moving_variance')!.dataSync()), Array.from(st['layer3.1.bn1.running_var'].data));
    } finally {
      m.dispose();
    }
  });

  it('skips a layer with a missing or mis-shaped tensor, by name and reason, and loads the rest', async () => {
    const o = small('vgg16', 'pacnn');
    const st = torchState(o);
    delete st['features.28.running_mean'];
    st['features.3.weight'] = { shape: [1, 2, 3, 3], data: new Float32Array(18) };
    const file = path.join(dir, 'vgg.safetensors');
    writeFileSync(file, encodeSafetensors(st));
    const m = buildModel(o, 1);
    try {
      const before = Array.from(m.namedVariables().get('conv1_2/kernel')!.dataSync());
      const r = await loadPretrained(m, file);
      assert.deepEqual(r.skipped.map((s) => s.layer), ['conv1_2', 'conv4_2']);
      assert.match(r.skipped[0].reason, /'features\.3\.weight' is \[1,2,3,3\].*width is 0\.125, ImageNet weights fit width 1/);
      assert.match(r.skipped[1].reason, /'features\.28\.running_mean' is not in the checkpoint/);
      assert.deepEqual(Array.from(m.namedVariables().get('conv1_2/kernel')!.dataSync()), before, 'a skipped layer keeps its initialisation');
      assert.ok(r.loaded.includes('conv1_1') && r.loaded.includes('conv4_1'));
    } finally {
      m.dispose();
    }
  });

  it('reorders fc6 from torch C,H,W flattening to H,W,C', () => {
    const c = 2;
    const I = 49 * c;
    const O = 3;
    const data = Float32Array.from({ length: O * I }, (_, i) => i);
    const r = toTfLayout({ dtype: 'F32', shape: [O, I], data }, { torch: 'classifier.0.weight', layout: 'fc-from-chw' }, [I, O]);
    // our input index (h, w, ch) = (h*7 + w)*c + ch; torch's = ch*49 + h*7 + w
    const h = 3, w = 5, ch = 1, o = 2;
    assert.equal(r.data[((h * 7 + w) * c + ch) * O + o], data[o * I + ch * 49 + h * 7 + w]);
  });

  it('parses F16 and BF16 and rejects a corrupt header', () => {
    const hdr = JSON.stringify({ a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] } });
    const buf = new Uint8Array(8 + hdr.length + 6);
    new DataView(buf.buffer).setBigUint64(0, BigInt(hdr.length), true);
    buf.set(new TextEncoder().encode(hdr), 8);
    const dv = new DataView(buf.buffer, 8 + hdr.length);
    dv.setUint16(0, 0x3c00, true); // 1.0
    dv.setUint16(2, 0xc000, true); // -2.0
    dv.setUint16(4, 0x4049, true); // ~3.140625
    const t = parseSafetensors(buf);
    assert.deepEqual(Array.from(t.get('a')!.data), [1, -2]);
    assert.equal(t.get('b')!.data[0], 3.140625);
    assert.throws(() => parseSafetensors(buf.subarray(0, 12), 'x.safetensors'), /x\.safetensors: header length/);
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`model on the '${backend}' backend`, function () {
    before(async function () {
      try {
        await initBackend(backend);
      } catch (err) {
        // The wasm suite needs WebAssembly to start here; the plain-JS one must always run.
        if (backend === 'wasm') skipBecause(this, `the wasm backend did not start: ${(err as Error).message}`);
        throw err;
      }
    });

    it('crops exact windows with zeros outside the map (ops and host agree)', () => {
      const B = 2, M = 5, C = 3, P = 2;
      const map = tf.tensor4d(Float32Array.from({ length: B * M * M * C }, (_, i) => i + 1), [B, M, M, C]);
      // points (x, y) in input pixels: inside, top-left corner off-map, bottom-right off-map, far away
      const pts = [
        [20, 12], [1, 1], [39, 39], [-100, 500],
        [8, 8], [16, 24], [0, 40], [33, 3],
      ].flat();
      const corners = cropCorners(pts, M, P);
      // x=20,y=12: row round(1.5-1)=1 (half away from zero), col round(2.5-1)=2
      assert.deepEqual(Array.from(corners.slice(0, 2)), [1, 2]);
      const R = 4;
      const expected = new Float32Array(R * B * P * P * C);
      const md = map.dataSync();
      for (let r = 0; r < R; r++)
        for (let b = 0; b < B; b++)
          for (let i = 0; i < P; i++)
            for (let j = 0; j < P; j++)
              for (let c = 0; c < C; c++) {
                const y = corners[(b * R + r) * 2] + i;
                const x = corners[(b * R + r) * 2 + 1] + j;
                const v = y >= 0 && y < M && x >= 0 && x < M ? md[((b * M + y) * M + x) * C + c] : 0;
                expected[(((r * B + b) * P + i) * P + j) * C + c] = v;
              }
      for (const impl of CROP_IMPLS) {
        const got = cropPatches(map, corners, R, P, impl);
        assert.deepEqual(got.shape, [R * B, P, P, C]);
        assert.deepEqual(Array.from(got.dataSync()), Array.from(expected), impl);
        got.dispose();
      }
      map.dispose();
    });

    it('crop gradient scatters into the window (numerical check)', () => {
      const B = 2, M = 4, C = 2, P = 3, R = 3;
      const mapData = Float32Array.from({ length: B * M * M * C }, (_, i) => Math.sin(i));
      const pts = [[10, 10], [12, 14], [0, 30], [30, 2], [16, 16], [2, 2]].flat();
      const corners = cropCorners(pts, M, P);
      const W = tf.tensor4d(Float32Array.from({ length: R * B * P * P * C }, (_, i) => Math.cos(i * 1.3)), [R * B, P, P, C]);
      for (const impl of CROP_IMPLS) {
        const f = (m: tf.Tensor) => tf.sum(tf.mul(tf.square(cropPatches(m as tf.Tensor4D, corners, R, P, impl)), W));
        const g = tf.tidy(() => tf.grad(f)(tf.tensor4d(mapData, [B, M, M, C])).dataSync());
        const eps = 1e-2;
        for (let i = 0; i < mapData.length; i++) {
          const plus = Float32Array.from(mapData);
          plus[i] += eps;
          const minus = Float32Array.from(mapData);
          minus[i] -= eps;
          const fp = tf.tidy(() => f(tf.tensor4d(plus, [B, M, M, C])).dataSync()[0]);
          const fm = tf.tidy(() => f(tf.tensor4d(minus, [B, M, M, C])).dataSync()[0]);
          const num = (fp - fm) / (2 * eps);
          assert.ok(Math.abs(num - g[i]) < 2e-2 * Math.max(1, Math.abs(num)), `${impl} d/dmap[${i}]: analytic ${g[i]} numeric ${num}`);
        }
      }
      W.dispose();
    });

    it('fused training batch norm: values, statistics and gradients equal the autodiff formula; a folded bias cancels', () => {
      const [G, N, C] = [2, 37, 5];
      const x = tf.tensor3d(Float32Array.from({ length: G * N * C }, (_, i) => Math.sin(i * 0.7) * 3 + (i % C)), [G, N, C]);
      const gamma = tf.tensor3d(Float32Array.from({ length: G * C }, (_, i) => 0.5 + 0.1 * i), [G, 1, C]);
      const beta = tf.tensor3d(Float32Array.from({ length: G * C }, (_, i) => Math.cos(i)), [G, 1, C]);
      const bias = tf.tensor3d(Float32Array.from({ length: G * C }, (_, i) => 2 - 0.3 * i), [G, 1, C]);
      const w = tf.tensor3d(Float32Array.from({ length: G * N * C }, (_, i) => Math.cos(i * 1.3)), [G, N, C]);
      const reference = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bi: tf.Tensor) => {
        const z = tf.add(xx, bi);
        const { mean, variance } = tf.moments(z, 1, true);
        return tf.sum(tf.mul(tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b), w));
      };
      const stats: BnStats = {};
      const fused = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(xx, g, b, bi, stats), w));
      const want = tf.grads(reference)([x, gamma, beta, bias]);
      const got = tf.grads(fused)([x, gamma, beta, bias]);
      const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
        const [da, db] = [a.dataSync(), b.dataSync()];
        for (let i = 0; i < db.length; i++) assert.ok(Math.abs(da[i] - db[i]) <= 1e-5 * Math.max(1, Math.abs(db[i])), `${what}[${i}]: ${da[i]} vs ${db[i]}`);
      };
      close(tf.sum(tf.mul(batchNormTrain(x, gamma, beta, bias, stats), w)), reference(x, gamma, beta, bias), 'value');
      const m = tf.moments(x, 1, true);
      close(stats.mean!, m.mean, 'batch mean (before the bias)');
      close(stats.variance!, m.variance, 'batch variance');
      ['dx', 'dgamma', 'dbeta', 'dbias'].forEach((k, i) => close(got[i], want[i], k));
      assert.ok(Math.max(...Array.from(want[3].dataSync()).map(Math.abs)) < 1e-4, 'the bias gradient is zero up to rounding');
      tf.dispose([x, gamma, beta, bias, w, ...want, ...got, stats.mean!, stats.variance!, m.mean, m.variance]);
    });

    it('batched and looped PG-units give the same outputs', () => {
      const { images, points } = batch(32, 2);
      const a = buildModel(small('vgg16', 'gacnn', { pgUnits: 'batched' }), 9);
      const b = buildModel(small('vgg16', 'gacnn', { pgUnits: 'loop' }), 9);
      try {
        for (const training of [false, true]) {
          const oa = a.forward(images, points, training);
          const ob = b.forward(images, points, training);
          const la = oa.logits.dataSync();
          const lb = ob.logits.dataSync();
          for (let i = 0; i < la.length; i++) assert.ok(Math.abs(la[i] - lb[i]) < 1e-3 * (1 + Math.abs(la[i])), `logit ${i}: ${la[i]} vs ${lb[i]}`);
          const aa = oa.alpha!.dataSync();
          const ab = ob.alpha!.dataSync();
          for (let i = 0; i < aa.length; i++) assert.ok(Math.abs(aa[i] - ab[i]) < 1e-4);
          assert.deepEqual(oa.alpha!.shape, [2, 24]);
          assert.deepEqual(oa.alphaGlobal!.shape, [2]);
          tf.dispose([oa, ob] as unknown as tf.Tensor[]);
        }
        const ma = a.namedVariables().get('roi5_conv2/bn/moving_mean')!.dataSync();
        const mb = b.namedVariables().get('roi5_conv2/bn/moving_mean')!.dataSync();
        for (let i = 0; i < ma.length; i++) assert.ok(Math.abs(ma[i] - mb[i]) < 1e-4);
      } finally {
        a.dispose();
        b.dispose();
        tf.dispose([images, points]);
      }
    });

    // Plain JS conv filter gradients are very slow (element-wise TensorBuffer.get), so the JS
    // backend trains one variant per backbone; WebAssembly trains all twelve.
    const combos: [Backbone, Variant][] =
      backend === 'wasm' ? BACKBONES.flatMap((b) => VARIANTS.map((v) => [b, v] as [Backbone, Variant])) : [['vgg16', 'gacnn'], ['resnet18', 'dlpcnn']];
    for (const [bb, v] of combos) {
      it(`one SGD step lowers the loss: ${bb} ${v}`, () => {
        const o = small(bb, v, v === 'dlpcnn' ? { dlp: { k: 4, lpLoss: true, lambda: 0.003, neighbours: 2 } } : {});
        const m = buildModel(o, 2);
        const { images, points, labels, onehot } = batch(32, 4);
        const opt = tf.train.momentum(0.01, 0.9);
        const before = tf.memory().numTensors;
        const lossFn = () => {
          const out = m.forward(images, points, true, labels);
          const ce = tf.losses.softmaxCrossEntropy(onehot, out.logits) as tf.Scalar;
          return out.auxLoss ? (tf.add(ce, out.auxLoss) as tf.Scalar) : ce;
        };
        try {
          const l0 = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(lossFn, m.trainableVariables());
            opt.applyGradients(namedTensors(grads));
            return value;
          });
          const l1 = tf.tidy(lossFn);
          const [a, b] = [l0.dataSync()[0], l1.dataSync()[0]];
          tf.dispose([l0, l1]);
          assert.ok(Number.isFinite(a) && b < a, `loss ${a} -> ${b}`);
          // momentum accumulators are the only tensors the step may leave behind
          assert.ok(tf.memory().numTensors - before <= m.trainableVariables().length + 1, 'leak');
        } finally {
          opt.dispose();
          m.dispose();
          tf.dispose([images, points, labels, onehot]);
        }
      });
    }

    it('checkpoint round trip gives identical logits and optimizer state; bad checkpoints are named', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'acnn-ckpt-'));
      const o = small('vgg16', 'pacnn', { dropout: 0.5 });
      const a = buildModel(o, 1);
      const b = buildModel(o, 2);
      const { images, points, labels, onehot } = batch(32, 3);
      const opt = tf.train.momentum(0.01, 0.9);
      try {
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(onehot, a.forward(images, points, true, labels).logits) as tf.Scalar, a.trainableVariables());
          opt.applyGradients(namedTensors(grads));
        });
        const ck = path.join(dir, 'ckpt');
        await saveCheckpoint(ck, a, { optimizer: await opt.getWeights(), meta: { step: 1 } });
        await saveCheckpoint(ck, a, { optimizer: await opt.getWeights(), meta: { step: 1 } }); // overwrite in place
        assert.deepEqual((await readCheckpointOptions(ck)).variant, 'pacnn');
        const json = JSON.parse(readFileSync(path.join(ck, 'model.json'), 'utf8'));
        const decoded = tf.io.decodeWeights(new Uint8Array(readFileSync(path.join(ck, 'weights.bin'))).buffer, json.weightsManifest[0].weights);
        assert.ok(decoded['model/roi3_conv1/bn/moving_variance'] && decoded['optimizer/conv1_1/kernel/momentum']);
        tf.dispose(Object.values(decoded));
        const r = await loadCheckpoint(ck, b);
        assert.deepEqual(r.meta, { step: 1 });
        const la = tf.tidy(() => a.forward(images, points, false).logits.dataSync());
        const lb = tf.tidy(() => b.forward(images, points, false).logits.dataSync());
        assert.deepEqual(Array.from(lb), Array.from(la));
        const mom = r.optimizer.find((t) => t.name === `${b.namedVariables().get('conv4_2/kernel')!.name}/momentum`);
        assert.ok(mom, 'momentum renamed for the new model');
        const orig = (await opt.getWeights()).find((t) => t.name === `${a.namedVariables().get('conv4_2/kernel')!.name}/momentum`)!;
        assert.deepEqual(Array.from(mom.tensor.dataSync()), Array.from(orig.tensor.dataSync()));
        tf.dispose(r.optimizer.map((t) => t.tensor));
        assert.ok(!existsSync(`${ck}.tmp`));

        // a mismatched model
        const c = buildModel({ ...o, width: 0.25 }, 1);
        await assert.rejects(loadCheckpoint(ck, c), /model\.json was saved for a different model: width 0\.125 \(model: 0\.25\)/);
        c.dispose();
        // a tensor with the wrong shape in the manifest
        const bad = path.join(dir, 'bad');
        await saveCheckpoint(bad, a);
        const bj = JSON.parse(readFileSync(path.join(bad, 'model.json'), 'utf8'));
        const e = bj.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'model/conv2_1/bias');
        e.shape = [e.shape[0] / 2, 2];
        writeFileSync(path.join(bad, 'model.json'), JSON.stringify(bj));
        await assert.rejects(loadCheckpoint(bad, b), /weights\.bin: tensor 'model\/conv2_1\/bias' has shape/);
        // a truncated weights file
        const bin = readFileSync(path.join(bad, 'weights.bin'));
        writeFileSync(path.join(bad, 'weights.bin'), bin.subarray(0, bin.length - 8));
        await assert.rejects(loadCheckpoint(bad, b), /weights\.bin holds \d+ bytes.*truncated or corrupt/);
        await assert.rejects(loadCheckpoint(path.join(dir, 'nope'), b), /nope\/model\.json does not exist/);
      } finally {
        opt.dispose();
        a.dispose();
        b.dispose();
        tf.dispose([images, points, labels, onehot]);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe('model: DLP locality-preserving loss', () => {
  it('matches a hand computation', () => {
    // classes 0,0,0,1: sample 3 has no neighbour and is left out; k = 1
    const x = tf.tensor2d([[0, 0], [1, 0], [3, 0], [9, 9]]);
    const y = tf.tensor1d([0, 0, 0, 1], 'int32');
    const l = localityPreservingLoss(x, y, 1, 2).dataSync()[0];
    // nearest same-class: 0->1 (d 1), 1->0 (d 1), 2->1 (d 4): mean 2, times lambda/2 = 1
    assert.ok(Math.abs(l - 2) < 1e-6, String(l));
    tf.dispose([x, y]);
  });
});

/** Gradients as the optimizers' applyGradients types them. */
function namedTensors(grads: tf.NamedTensorMap): { name: string; tensor: tf.Tensor }[] {
  return Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
}
