// The replacement WebAssembly kernels against the plain JS backend, and a small conv net's
// training step on wasm against the same step on cpu.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend.js';
import { REDUCE_MATMUL_MIN_R } from '../src/engine/wasm-kernels.js';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** Deterministic normal-ish values, identical on every backend (made in JS, not by a backend RNG). */
function values(n: number, seed: number, shift = 0): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < 3; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      acc += s / 4294967296 - 0.5;
    }
    out[i] = acc * 2 + shift;
  }
  return out;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, 'length');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Runs `f` on cpu then on wasm; returns both results as plain arrays. Leaves wasm active. */
async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const res: Record<string, Float32Array[]> = {};
  for (const b of ['cpu', 'wasm']) {
    await tf.setBackend(b);
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    res[b] = list.map((t) => t.dataSync() as Float32Array);
    tf.dispose(list);
  }
  return { cpu: res.cpu!, wasm: res.wasm! };
}

function assertClose(r: { cpu: Float32Array[]; wasm: Float32Array[] }, what: string, tol = 1e-4): void {
  r.cpu.forEach((want, i) => {
    const e = relErr(r.wasm[i]!, want);
    assert.ok(e < tol, `${what}[${i}]: relative error ${e.toExponential(2)} >= ${tol}`);
  });
}

function numDataIds(): number {
  return tf.engine().backend.numDataIds();
}

describe('engine: replacement wasm kernels vs the JS backend', function () {
  before(async () => {
    await initBackend('cpu');
    await initBackend('wasm');
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  // [batch, h, w, ci, co, kh, kw, strides, pad]
  const convConfigs: Array<[number, number, number, number, number, number, number, number | [number, number], Pad]> = [
    [2, 9, 7, 3, 5, 3, 3, 1, 'same'],
    [2, 9, 7, 3, 5, 3, 3, 2, 'same'],
    [3, 10, 8, 3, 4, 5, 5, 2, 'valid'],
    [2, 10, 8, 3, 4, 5, 5, 1, 'same'],
    [2, 10, 8, 3, 4, 1, 1, 2, 'valid'],
    [2, 8, 8, 3, 4, 1, 1, 1, 'same'],
    [2, 11, 9, 2, 3, 3, 3, 2, 1],
    [2, 9, 7, 3, 5, 5, 5, 1, 2],
    [2, 12, 12, 4, 4, 3, 3, 1, 'valid'],
    [2, 13, 6, 3, 2, 3, 1, [2, 1], 'same'],
    [2, 9, 10, 3, 4, 3, 5, [1, 2], [[0, 0], [1, 2], [0, 1], [0, 0]]],
  ];
  for (const [n, h, w, ci, co, kh, kw, s, p] of convConfigs) {
    const name = `conv x[${n},${h},${w},${ci}] f[${kh},${kw},${ci},${co}] strides ${JSON.stringify(s)} pad ${JSON.stringify(p)}`;
    it(`Conv2DBackpropFilter and Conv2DBackpropInput: ${name}`, async () => {
      const xShape = [n, h, w, ci], fShape = [kh, kw, ci, co];
      const r = await onBoth(() => {
        const x = tf.tensor4d(values(size(xShape), 1), xShape as [number, number, number, number]);
        const f = tf.tensor4d(values(size(fShape), 2), fShape as [number, number, number, number]);
        const yShape = tf.conv2d(x, f, s, p).shape;
        const dy = tf.tensor(values(size(yShape), 3), yShape);
        const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, s, p), dy)));
        return g([x, f]);
      });
      assertClose(r, name);
    });
  }

  // [h, w, c, filter, stride, pad, shift]: shift -3 makes most windows all-negative (the upstream bug).
  const poolConfigs: Array<[number, number, number, number, number, Pad, number]> = [
    [8, 8, 3, 2, 2, 'valid', 0],
    [8, 8, 3, 2, 2, 'valid', -3],
    [7, 9, 3, 3, 2, 'same', -3],
    [7, 9, 3, 3, 1, 'same', 0],
    [7, 9, 2, 2, 2, 'same', -3],
    [10, 6, 2, 3, 3, 'valid', -3],
    [9, 9, 2, 3, 2, 1, -3],
  ];
  for (const [h, w, c, k, s, p, shift] of poolConfigs) {
    const name = `pool x[2,${h},${w},${c}] ${k}x${k} s${s} pad ${JSON.stringify(p)} shift ${shift}`;
    it(`MaxPoolGrad and AvgPoolGrad: ${name}`, async () => {
      const r = await onBoth(() => {
        const x = tf.tensor4d(values(2 * h * w * c, 4, shift), [2, h, w, c]);
        const relu = tf.relu(x);
        const yShape = tf.maxPool(x, k, s, p).shape;
        const dy = tf.tensor(values(size(yShape), 5), yShape);
        const loss = (op: (t: tf.Tensor4D) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(op(t as tf.Tensor4D), dy));
        return [
          tf.grad(loss((t) => tf.maxPool(t, k, s, p)))(x),
          // After ReLU most windows tie at zero: the gradient must go to the first maximum.
          tf.grad(loss((t) => tf.maxPool(t, k, s, p)))(relu),
          tf.grad(loss((t) => tf.avgPool(t, k, s, typeof p === 'number' ? p : p === 'same' ? 'same' : 'valid')))(x),
        ];
      });
      assertClose(r, name);
    });
  }

  it('MaxPoolGrad sends an all-negative window\'s gradient to its maximum', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d([-5, -1, -3, -4], [1, 2, 2, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x);
    assert.deepEqual(Array.from(g.dataSync()), [0, 1, 0, 0]);
    tf.dispose([x, g]);
  });

  it('UnsortedSegmentSum (float and int, ids out of range dropped) and gather gradients', async () => {
    const ids = [0, 3, 3, 9, 1, 0, 7, -1, 10];
    const r = await onBoth(() => [
      tf.unsortedSegmentSum(tf.tensor2d(values(9 * 4, 6), [9, 4]), tf.tensor1d(ids, 'int32'), 10),
      tf.cast(tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8, 9], 'int32'), tf.tensor1d(ids, 'int32'), 10), 'float32'),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d([0, 3, 3, 9, 1, 0, 7], 'int32'), 0), tf.tensor(values(7 * 12, 7), [7, 4, 3]))))(
        tf.tensor3d(values(10 * 12, 8), [10, 4, 3]),
      ),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor2d([0, 3, 3, 9, 1, 0], [3, 2], 'int32'), 1), tf.tensor(values(5 * 18, 9), [5, 3, 2, 3]))))(
        tf.tensor3d(values(5 * 30, 10), [5, 10, 3]),
      ),
    ]);
    assertClose(r, 'segment sum');
  });

  it('Tile (float, int, bool; broadcast and repeat patterns) and batchNorm gradients', async () => {
    const cases: Array<[number[], number[]]> = [
      [[5], [3]],
      [[2, 3], [2, 1]],
      [[2, 3], [1, 3]],
      [[1, 1, 1, 5], [4, 6, 7, 1]],
      [[2, 1, 3, 2], [2, 3, 1, 2]],
      [[2, 2, 1, 1, 3], [1, 2, 3, 2, 1]],
    ];
    const r = await onBoth(() => {
      const outs: tf.Tensor[] = [];
      cases.forEach(([shape, reps], i) => {
        const x = tf.tensor(values(size(shape), 30 + i), shape);
        outs.push(tf.tile(x, reps));
        outs.push(tf.cast(tf.tile(tf.cast(tf.mul(x, 10), 'int32'), reps), 'float32'));
        outs.push(tf.cast(tf.tile(tf.greater(x, 0), reps), 'float32'));
      });
      const x = tf.tensor4d(values(2 * 5 * 4 * 3, 40), [2, 5, 4, 3]);
      const g = tf.grads((xx: tf.Tensor, sc: tf.Tensor, of: tf.Tensor) => {
        const { mean, variance } = tf.moments(xx, [0, 1, 2]);
        // A random weighting: sum(y^2) of a normalised y is nearly constant, so its gradient is pure cancellation.
        return tf.sum(tf.mul(tf.batchNorm(xx, mean, variance, of as tf.Tensor1D, sc as tf.Tensor1D, 1e-3), tf.tensor4d(values(120, 41), [2, 5, 4, 3])));
      });
      outs.push(...g([x, tf.tensor1d([1, 2, 0.5]), tf.tensor1d([0.1, -0.2, 0.3])]));
      return outs;
    });
    assertClose(r, 'tile');
  });

  it('Sum and Mean over axis blocks (matmul path above REDUCE_MATMUL_MIN_R, stock below) and their gradients', async () => {
    // [shape, axes, keepDims]: big blocks take the matmul path, the rest the stock kernel.
    const cases: Array<[number[], number | number[], boolean]> = [
      [[4, 48, 48, 5], [0, 1, 2], false],
      [[4, 48, 48, 5], [0, 1, 2], true],
      [[3, 70, 70, 2], [1, 2], false],
      [[2, 5000, 3], 1, true],
      [[6000, 4], 0, false],
      [[5, 7, 3], [0, 1], false],
      [[4, 48, 48, 5], [1, 3], false],
      [[4, 48, 48, 5], -1, false],
      [[8200], 0, false],
    ];
    assert.ok(size([4, 48, 48]) >= REDUCE_MATMUL_MIN_R && size([5, 7]) < REDUCE_MATMUL_MIN_R);
    const r = await onBoth(() =>
      cases.flatMap(([shape, axes, keep], i) => {
        const x = tf.tensor(values(size(shape), 50 + i, 0.3), shape);
        const w = tf.tensor(values(size(tf.sum(x, axes, keep).shape), 60 + i), tf.sum(x, axes, keep).shape);
        return [
          tf.sum(x, axes, keep),
          tf.mean(x, axes, keep),
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(tf.square(t), axes, keep), w)))(x),
        ];
      }),
    );
    assertClose(r, 'reductions', 2e-5);
  });

  it('BatchMatMul: transposeA (explicit transpose for wide right operands), transposeB (swapped product for short left operands), batched products (XNNPACK per batch entry, broadcast), and an int reduction', async () => {
    // [a shape, b shape, transposeA, transposeB]
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[16, 40], [16, 24], true, false],
      [[3, 16, 10], [3, 16, 7], true, false],
      [[1, 9, 10], [4, 9, 6], true, false],
      [[30, 5], [30, 1], true, false],
      [[6, 5], [7, 6], true, true],
      [[5, 6], [7, 6], false, true],
      [[4, 30], [50, 30], false, true],
      [[40, 30], [50, 30], false, true],
      [[2, 4, 30], [2, 50, 30], false, true],
      // batched (one XNNPACK product per batch entry): plain, each transpose, both, broadcast, rank 4
      [[24, 18, 40], [24, 40, 16], false, false],
      [[5, 40, 18], [5, 40, 16], true, false],
      [[5, 18, 40], [5, 16, 40], false, true],
      [[5, 40, 18], [5, 16, 40], true, true],
      [[1, 7, 9], [6, 9, 5], false, false],
      [[6, 7, 9], [9, 5], false, false],
      [[2, 3, 7, 9], [2, 3, 9, 4], false, false],
    ];
    const r = await onBoth(() => [
      ...cases.map(([as, bs, ta, tb], i) => tf.matMul(tf.tensor(values(size(as), 70 + i), as), tf.tensor(values(size(bs), 80 + i), bs), ta, tb)),
      tf.cast(tf.sum(tf.tensor3d(Int32Array.from({ length: 2 * 5000 * 3 }, (_, i) => i % 7), [2, 5000, 3], 'int32'), 1), 'float32'),
    ]);
    assertClose(r, 'matmul');
  });

  it('Slice (ranks 1-5, partial and whole axes, -1 sizes, int and bool), Identity and Cast', async () => {
    const cases: Array<[number[], number[], number[]]> = [
      [[10], [3], [4]],
      [[6, 5], [1, 0], [3, -1]],
      [[6, 5], [2, 1], [2, 3]],
      [[4, 3, 5], [1, 0, 0], [2, 3, 5]],
      [[4, 3, 5], [0, 1, 2], [-1, 2, 2]],
      [[5, 4, 3, 2], [1, 1, 0, 1], [3, 2, 3, 1]],
      [[3, 2, 4, 3, 2], [1, 0, 1, 0, 0], [2, 2, 2, 3, 1]],
      [[2, 3], [0, 0], [0, 3]],
    ];
    const r = await onBoth(() =>
      cases.flatMap(([shape, begin, sz], i) => {
        const x = tf.tensor(values(size(shape), 90 + i), shape);
        return [
          tf.slice(x, begin, sz),
          tf.cast(tf.slice(tf.cast(tf.mul(x, 10), 'int32'), begin, sz), 'float32'),
          tf.cast(tf.slice(tf.greater(x, 0), begin, sz), 'float32'),
          tf.clone(tf.slice(x, begin, sz)),
          tf.cast(tf.cast(x, 'float32'), 'int32').toFloat(),
        ];
      }),
    );
    assertClose(r, 'slice');
    // A clone shares its input's data; disposing one leaves the other intact.
    await tf.setBackend('wasm');
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    const c = tf.cast(a, 'float32');
    a.dispose();
    assert.deepEqual([Array.from(b.dataSync()), Array.from(c.dataSync())], [[1, 2, 3], [1, 2, 3]]);
    tf.dispose([b, c]);
  });

  it('SplitV and Unpack (the gradients of concat and stack: every piece, every axis, int), and their gradients', async () => {
    const r = await onBoth(() => {
      const x = tf.tensor(values(4 * 3 * 5 * 2, 120), [4, 3, 5, 2]);
      const xi = tf.cast(tf.mul(x, 10), 'int32');
      const w = tf.tensor(values(4 * 3 * 5 * 2, 121), [4, 3, 5, 2]);
      return [
        ...tf.split(x, [1, 2, 1], 0),
        ...tf.split(x, 3, 1),
        ...tf.split(x, [2, -1], 2),
        ...tf.split(x, 2, 3),
        ...tf.unstack(x, 0),
        ...tf.unstack(x, 2),
        ...tf.unstack(x, 3),
        ...tf.unstack(xi, 1).map((t) => tf.cast(t, 'float32')),
        // stack's gradient unstacks, concat's splits
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.stack(tf.unstack(tf.square(t), 1), 1), w)))(x),
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.concat(tf.split(tf.square(t), [3, 2], 2), 2), w)))(x),
      ];
    });
    assertClose(r, 'split/unstack', 1e-6);
  });

  it('Transpose (tiled copy): every permutation of ranks 2-4, size-1 axes, merged axes, int and bool, and its gradient', async () => {
    const perms = (n: number): number[][] => (n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)])));
    const shapes = [[37, 70], [3, 40, 33], [2, 1, 35, 3], [4, 3, 5, 2], [5, 34, 3, 33]];
    const r = await onBoth(() =>
      shapes.flatMap((shape, i) => {
        const x = tf.tensor(values(size(shape), 130 + i), shape);
        return perms(shape.length).flatMap((perm) => [
          tf.transpose(x, perm),
          tf.cast(tf.transpose(tf.cast(tf.mul(x, 10), 'int32'), perm), 'float32'),
          tf.cast(tf.transpose(tf.greater(x, 0), perm), 'float32'),
        ]);
      }).concat([tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.transpose(tf.square(t), [2, 0, 1]), tf.tensor(values(3 * 40 * 33, 140), [33, 3, 40]))))(tf.tensor(values(3 * 40 * 33, 141), [3, 40, 33]))]),
    );
    assertClose(r, 'transpose', 1e-6);
  });

  it('the kernels leak no tensors or wasm buffers across repeated calls', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(values(2 * 9 * 7 * 3, 1), [2, 9, 7, 3]);
    const f = tf.tensor4d(values(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    const ids = tf.tensor1d([0, 1, 1, 0], 'int32');
    const x2 = tf.reshape(x, [2, -1]);
    const step = () => {
      const gs = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), 2, 1, 'same')))([x, f]);
      const gg = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(x2);
      // batched products (per-entry XNNPACK operators, cached by the slices' ids), split, unstack
      const x3 = tf.reshape(x, [2, 9, 21]);
      const gm = tf.grad((t: tf.Tensor) => tf.sum(tf.matMul(tf.matMul(t as tf.Tensor3D, t as tf.Tensor3D, false, true), t as tf.Tensor3D)))(x3);
      const pieces = [...tf.split(x, 3, 1), ...tf.unstack(x, 3)];
      tf.dispose([...gs, gg, x3, gm, ...pieces]);
    };
    step();
    const before = { tensors: tf.memory().numTensors, ids: numDataIds() };
    for (let i = 0; i < 5; i++) step();
    assert.deepEqual({ tensors: tf.memory().numTensors, ids: numDataIds() }, before);
    tf.dispose([x, x2, f, ids]);
  });
});

describe('engine: a conv net trains on wasm like on cpu', function () {
  // conv-BN-relu-maxpool, strided conv, sigmoid, avgPool, pad/slice/concat, gather, dropout,
  // global pooling, dense: the ops a VGG/ResNet-style ACNN step uses.
  const shapes = {
    w1: [3, 3, 3, 8],
    gamma: [8],
    beta: [8],
    w2: [3, 3, 8, 6],
    w3: [1, 1, 8, 6],
    emb: [12, 4],
    dense: [16, 4],
    bias: [4],
  } as const;
  const batch = 4;
  const xShape = [batch, 12, 10, 3] as const;

  function makeVars(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    let seed = 20;
    for (const [k, shape] of Object.entries(shapes)) {
      const v = values(size([...shape]), seed++);
      const scaled = k === 'gamma' ? v.map((a) => 1 + 0.1 * a) : k === 'beta' || k === 'bias' ? v.map((a) => 0.1 * a) : v.map((a) => a * 0.4);
      out[k] = tf.variable(tf.tensor(scaled, [...shape]));
    }
    return out;
  }

  function lossFn(v: Record<string, tf.Variable>, x: tf.Tensor4D, labels: tf.Tensor2D, ids: tf.Tensor1D): tf.Scalar {
    const c1 = tf.conv2d(x, v.w1 as tf.Tensor4D, 1, 'same');
    const { mean, variance } = tf.moments(c1, [0, 1, 2]);
    const bn = tf.batchNorm(c1, mean, variance, v.beta as tf.Tensor1D, v.gamma as tf.Tensor1D, 1e-3);
    const p1 = tf.maxPool(tf.relu(bn) as tf.Tensor4D, 2, 2, 'valid'); // [B,6,5,8]
    const c2 = tf.sigmoid(tf.conv2d(p1, v.w2 as tf.Tensor4D, 2, 'same')); // [B,3,3,6]
    const c3 = tf.avgPool(tf.conv2d(p1, v.w3 as tf.Tensor4D, 1, 'valid'), 2, 2, 'valid'); // [B,3,2,6]
    const c3p = tf.pad(c3, [[0, 0], [0, 0], [0, 1], [0, 0]]); // [B,3,3,6]
    const cat = tf.concat([c2, tf.slice(c3p, [0, 0, 0, 0], [-1, -1, -1, 6])], 3); // [B,3,3,12]
    const pooled = tf.mean(tf.dropout(cat, 0.25, undefined, 5), [1, 2]); // [B,12]
    const emb = tf.gather(v.emb!, ids); // [B,4]: an embedding row per sample
    const feat = tf.concat([pooled, emb], 1); // [B,16]
    const logits = tf.add(tf.matMul(feat, v.dense as tf.Tensor2D), v.bias!);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  }

  function inputs() {
    const x = tf.tensor4d(values(size([...xShape]), 11), [...xShape]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4) as tf.Tensor2D;
    const ids = tf.tensor1d([3, 7, 3, 11], 'int32');
    return { x, labels, ids };
  }

  it('gives the same gradients on wasm as on cpu (relative error < 1e-4)', async () => {
    const res: Record<string, Float32Array[]> = {};
    for (const b of ['cpu', 'wasm']) {
      await tf.setBackend(b);
      const vars = makeVars();
      const { x, labels, ids } = inputs();
      const names = Object.keys(vars).sort();
      const { value, grads } = tf.variableGrads(() => lossFn(vars, x, labels, ids), names.map((k) => vars[k]!));
      res[b] = [value.dataSync() as Float32Array, ...names.map((k) => grads[vars[k]!.name]!.dataSync() as Float32Array)];
      tf.dispose([value, ...Object.values(grads), ...Object.values(vars), x, labels, ids]);
    }
    assertClose({ cpu: res.cpu!, wasm: res.wasm! }, 'loss and gradients');
  });

  it('lowers the loss over 5 SGD steps on wasm with flat tensor memory', async () => {
    await tf.setBackend('wasm');
    const vars = makeVars();
    const { x, labels, ids } = inputs();
    const opt = tf.train.sgd(0.1);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const loss = opt.minimize(() => lossFn(vars, x, labels, ids), true, Object.values(vars))!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
      counts.push(tf.memory().numTensors);
    }
    assert.ok(losses[4]! < losses[0]!, `loss did not decrease: ${losses.join(', ')}`);
    assert.ok(losses.every(Number.isFinite));
    assert.ok(counts.every((c) => c === counts[0]), `tensor count changed across steps: ${counts.join(', ')}`);
    opt.dispose();
    tf.dispose([...Object.values(vars), x, labels, ids]);
  });
});
