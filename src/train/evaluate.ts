import * as tf from '@tensorflow/tfjs';
import { regionPoints } from '../model/regions.js';
import type { AcnnModel } from '../model/types.js';
import { classificationMetrics, meanStd, rocAuc } from './metrics.js';
import type { GateDiagnostics, TestResult } from './run-dir.js';
import type { TestData } from './run-config.js';

/**
 * Accuracy (the paper's metric), per-class accuracy and confusion on one test set; K-fold
 * accuracies when the set is split into folds; and, for gated variants, what the gates did.
 */
export async function evaluateTestSet(model: AcnnModel, test: TestData, inputSize: number, batchSize: number): Promise<TestResult> {
  const labels: number[] = [];
  const preds: number[] = [];
  const folds: number[] = [];
  const gates = new GateCollector();
  for await (const batch of test.batches(batchSize)) {
    const points = regionPoints(batch.landmarks, inputSize, { round: false });
    const out = tf.tidy(() => {
      const images = tf.tensor4d(batch.images, [batch.size, inputSize, inputSize, 3]);
      const o = model.forward(images, points, false);
      return { pred: o.logits.argMax(1), alpha: o.alpha, alphaGlobal: o.alphaGlobal };
    });
    const pred = Array.from(await out.pred.data());
    out.pred.dispose();
    const alpha = out.alpha ? await out.alpha.data() : undefined;
    const alphaGlobal = out.alphaGlobal ? await out.alphaGlobal.data() : undefined;
    out.alpha?.dispose();
    out.alphaGlobal?.dispose();
    for (let i = 0; i < batch.size; i++) {
      labels.push(batch.labels[i]);
      preds.push(pred[i]);
      folds.push(test.foldOf ? test.foldOf(batch.ids[i]) : 0);
    }
    if (alpha) gates.add(batch.size, inputSize, alpha as Float32Array, points, batch.occluderMasks, alphaGlobal as Float32Array | undefined);
  }
  const result: TestResult = classificationMetrics(labels, preds, model.options.numClasses);
  if (test.folds && test.folds > 1) {
    const accuracies: number[] = [];
    for (let f = 0; f < test.folds; f++) {
      const idx = folds.map((fold, i) => (fold === f ? i : -1)).filter((i) => i >= 0);
      if (!idx.length) continue;
      accuracies.push(idx.filter((i) => labels[i] === preds[i]).length / idx.length);
    }
    result.folds = { k: test.folds, accuracies, ...meanStd(accuracies) };
  }
  const diag = gates.result();
  if (diag) result.gates = diag;
  return result;
}

/**
 * Gate diagnostics: where acnn knows the occluder's mask, each patch is "covered" when the
 * occluder covers its centre. If the gates learned what the paper claims, covered patches get
 * lower alpha: AUC of (1 - alpha) for covered vs uncovered above 0.5.
 */
class GateCollector {
  private readonly all: number[] = [];
  private readonly globals: number[] = [];
  private readonly covered: number[] = [];
  private readonly uncovered: number[] = [];
  private sawMasks = false;

  add(n: number, size: number, alpha: Float32Array, points: Float32Array, masks: Uint8Array | undefined, alphaGlobal?: Float32Array) {
    const patches = alpha.length / n;
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < patches; p++) {
        const a = alpha[i * patches + p];
        this.all.push(a);
        if (!masks) continue;
        const x = Math.min(size - 1, Math.max(0, Math.round(points[(i * patches + p) * 2])));
        const y = Math.min(size - 1, Math.max(0, Math.round(points[(i * patches + p) * 2 + 1])));
        (masks[i * size * size + y * size + x] ? this.covered : this.uncovered).push(a);
      }
      if (alphaGlobal) this.globals.push(alphaGlobal[i]);
    }
    if (masks) this.sawMasks = true;
  }

  result(): GateDiagnostics | undefined {
    if (!this.all.length) return undefined;
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const out: GateDiagnostics = { meanAlpha: mean(this.all) };
    if (this.globals.length) out.meanAlphaGlobal = mean(this.globals);
    if (this.sawMasks) {
      out.covered = { n: this.covered.length, meanAlpha: this.covered.length ? mean(this.covered) : NaN };
      out.uncovered = { n: this.uncovered.length, meanAlpha: this.uncovered.length ? mean(this.uncovered) : NaN };
      out.auc = rocAuc(
        this.covered.map((a) => 1 - a),
        this.uncovered.map((a) => 1 - a),
      );
    }
    return out;
  }
}
