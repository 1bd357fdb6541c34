import * as tf from '@tensorflow/tfjs';
import { regionPoints } from '../model/regions.js';
import { FEATURE_STRIDE, cropCorners } from '../model/crop.js';
import type { AcnnModel } from '../model/types.js';
import type { Batch } from '../data/types.js';
import { summariseTest } from './metrics.js';
import type { AttentionSample, TestResult } from '../rundir/index.js';
import type { TestData } from './run-config.js';
import { patchCoverage, patchGeometry } from './patch-coverage.js';
import { PatchCollector } from './patch-diagnostics.js';

/** Test images kept with their gates for the attention-map figure (the first ones, in test order). */
export const ATTENTION_SAMPLES = 8;

export interface Evaluation {
  result: TestResult;
  /** The first ATTENTION_SAMPLES images with their pixels (RGB bytes, inputSize square). */
  samples: (AttentionSample & { rgb: Uint8Array })[];
}

/**
 * Accuracy (the paper's metric), mean class accuracy, mean cross-entropy, per-class accuracy
 * and confusion on one test set; K-fold accuracies when the set is split into folds; for patch
 * variants, what gates and features do with occluded patches (train/patch-diagnostics.ts); and
 * the first few images with their gates, for the attention-map figure.
 */
export async function evaluateTestSet(model: AcnnModel, test: TestData, inputSize: number, batchSize: number): Promise<Evaluation> {
  const labels: number[] = [];
  const preds: number[] = [];
  const losses: number[] = [];
  const folds: number[] = [];
  const patches = new PatchCollector();
  const samples: Evaluation['samples'] = [];
  const geometry = patchGeometry(model.options);
  for await (const batch of test.batches(batchSize)) {
    const points = regionPoints(batch.landmarks, inputSize);
    const out = tf.tidy(() => {
      const images = tf.tensor4d(batch.images, [batch.size, inputSize, inputSize, 3]);
      // Host points: the model needs no read-back of them (a device sync on GPU backends).
      const o = model.forward(images, points, false);
      const onehot = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), o.logits.shape[1]);
      const loss = tf.losses.softmaxCrossEntropy(onehot, o.logits, undefined, undefined, tf.Reduction.NONE);
      return { pred: o.logits.argMax(1), loss, alpha: o.alpha, alphaGlobal: o.alphaGlobal, norms: o.patchNorms };
    });
    const read = async (t: tf.Tensor | undefined) => {
      if (!t) return undefined;
      const v = (await t.data()) as Float32Array;
      t.dispose();
      return v;
    };
    const pred = Array.from((await read(out.pred))!);
    const loss = Array.from((await read(out.loss))!);
    const alpha = await read(out.alpha);
    const alphaGlobal = await read(out.alphaGlobal);
    const norms = await read(out.norms);
    for (let i = 0; i < batch.size; i++) {
      labels.push(batch.labels[i]);
      preds.push(pred[i]);
      losses.push(loss[i]);
      folds.push(test.foldOf ? test.foldOf(batch.ids[i]) : 0);
    }
    const coverage = norms ? patchCoverage(batch.occluderMasks, batch.size, inputSize, points, geometry) : undefined;
    if (norms && coverage) patches.add(norms, coverage, !!batch.occluderMasks, alpha, alphaGlobal);
    keepSamples(samples, batch, { pred, points, alpha, alphaGlobal, coverage, inputSize, geometry });
  }
  const result: TestResult = summariseTest(labels, preds, losses, model.options.numClasses, test.folds && test.folds > 1 ? { of: folds, k: test.folds } : undefined);
  const diag = patches.result();
  if (diag) result.patches = diag;
  return { result, samples };
}

interface BatchOutputs {
  pred: number[];
  points: Float32Array;
  alpha?: Float32Array;
  alphaGlobal?: Float32Array;
  coverage?: Float32Array;
  inputSize: number;
  geometry: { mapSide: number; patchSide: number };
}

function keepSamples(samples: Evaluation['samples'], batch: Batch, o: BatchOutputs): void {
  const R = 24;
  const px = o.inputSize * o.inputSize * 3;
  for (let i = 0; i < batch.size && samples.length < ATTENTION_SAMPLES; i++) {
    const rgb = Uint8Array.from(batch.images.subarray(i * px, (i + 1) * px), (v) => Math.round(v * 255));
    const slice = (a: Float32Array | undefined) => (a ? Array.from(a.subarray(i * R, (i + 1) * R), round4) : undefined);
    const points = o.points.subarray(i * R * 2, (i + 1) * R * 2);
    // The windows the model crops, in input pixels (map corners are row, column: swapped to x, y).
    const cells = cropCorners(points, o.geometry.mapSide, o.geometry.patchSide);
    const corners = Array.from({ length: R * 2 }, (_, k) => cells[k ^ 1] * FEATURE_STRIDE);
    const s: Evaluation['samples'][number] = {
      id: batch.ids[i],
      label: batch.labels[i],
      pred: o.pred[i],
      image: '',
      points: Array.from(points),
      window: o.geometry.patchSide * FEATURE_STRIDE,
      corners,
      rgb,
    };
    const alpha = slice(o.alpha);
    if (alpha) s.alpha = alpha;
    if (o.alphaGlobal) s.alphaGlobal = round4(o.alphaGlobal[i]);
    if (batch.occluderMasks && o.coverage) s.coverage = slice(o.coverage);
    samples.push(s);
  }
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;
