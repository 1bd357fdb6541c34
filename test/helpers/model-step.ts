// One training-mode step of a small real model, read back asynchronously (the webgpu backend
// cannot read synchronously in Node): the execution-plan and WebGPU suites compare these maps
// across strategies and backends.
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/model/build.js';
import type { Backbone, ModelOptions, Variant } from '../../src/model/types.js';

/** A model at 32 px and 1/8 width: every part of the variant, small enough for the plain JS backend. */
export function small(backbone: Backbone, variant: Variant, extra: Partial<ModelOptions> = {}): ModelOptions {
  return { backbone, variant, inputSize: 32, width: 0.125, numClasses: 7, dropout: 0, ...extra };
}

export interface StepInputs {
  images: Float32Array;
  points: Float32Array;
  labels: Int32Array;
}

/** Deterministic inputs made on the host (identical on every backend); landmark points may fall outside the map by `overhang`. */
export function stepInputs(S: number, B: number, seed: number, overhang = 0): StepInputs {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const images = Float32Array.from({ length: B * S * S * 3 }, rnd);
  const points = Float32Array.from({ length: B * 24 * 2 }, () => rnd() * (S + 2 * overhang) - overhang);
  const labels = Int32Array.from({ length: B }, (_, i) => i % 7);
  return { images, points, labels };
}

/** Logits, alpha (gated variants), loss (with any auxiliary loss) and the gradient of every trainable variable. */
export async function stepOutputs(o: ModelOptions, data: StepInputs, B: number, modelSeed: number): Promise<Map<string, Float32Array>> {
  const m = buildModel(o, modelSeed);
  try {
    const kept = tf.tidy(() => {
      const images = tf.tensor4d(data.images, [B, o.inputSize, o.inputSize, 3]);
      const labels = tf.tensor1d(data.labels, 'int32');
      const out: [string, tf.Tensor][] = [];
      const { value, grads } = tf.variableGrads(() => {
        const f = m.forward(images, data.points, true, labels);
        out.push(['logits', tf.keep(f.logits)]);
        if (f.alpha) out.push(['alpha', tf.keep(f.alpha)]);
        const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, o.numClasses), f.logits) as tf.Scalar;
        return f.auxLoss ? (tf.add(ce, f.auxLoss) as tf.Scalar) : ce;
      }, m.trainableVariables());
      out.push(['loss', value]);
      for (const [name, g] of Object.entries(grads)) out.push([`grad ${name.replace(/^acnn\d+\//, '')}`, g]);
      return out;
    });
    const res = new Map<string, Float32Array>();
    for (const [k, t] of kept) res.set(k, (await t.data()) as Float32Array);
    tf.dispose(kept.map(([, t]) => t));
    return res;
  } finally {
    m.dispose();
  }
}
