import { CLASSES } from '../data/types.js';
import { meanStd } from '../util/stats.js';

/** Accuracy, per-class accuracy (recall) and the confusion matrix (rows = truth, columns = prediction). */
export function classificationMetrics(labels: ArrayLike<number>, preds: ArrayLike<number>, numClasses: number = CLASSES.length) {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    confusion[labels[i]][preds[i]]++;
    if (labels[i] === preds[i]) correct++;
  }
  const n = labels.length;
  const accuracy = n ? correct / n : 0;
  const perClass: Record<string, number> = {};
  for (let c = 0; c < numClasses; c++) {
    const total = confusion[c].reduce((a, b) => a + b, 0);
    perClass[CLASSES[c] ?? `class${c}`] = total ? confusion[c][c] / total : NaN;
  }
  // Binomial standard error of the accuracy: what a difference between two variants must beat.
  const stderr = n ? Math.sqrt((accuracy * (1 - accuracy)) / n) : 0;
  return { accuracy, n, stderr, perClass, confusion };
}

/** What one test set's evaluation reports (eval.json `tests.<name>`), gates aside. */
export interface TestSummary {
  accuracy: number;
  n: number;
  stderr: number;
  /** Mean of the per-class accuracies over the classes present. */
  meanClassAccuracy: number;
  /** Mean softmax cross-entropy. */
  loss: number;
  perClass: Record<string, number>;
  confusion: number[][];
  /** K-fold test sets evaluated whole: per-fold accuracies, their mean and std (the foldMean / foldStd metrics). */
  folds?: { k: number; accuracies: number[]; mean: number; std: number };
}

/**
 * Every metric the spec schema accepts for a test set, from per-sample labels, predictions
 * and losses (and folds, for a test set split into k folds).
 */
export function summariseTest(labels: number[], preds: number[], losses: number[], numClasses: number, folds?: { of: number[]; k: number }): TestSummary {
  const base = classificationMetrics(labels, preds, numClasses);
  const present = Object.values(base.perClass).filter((v) => Number.isFinite(v));
  const out: TestSummary = {
    ...base,
    meanClassAccuracy: present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0,
    loss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : NaN,
  };
  if (folds && folds.k > 1) {
    const accuracies: number[] = [];
    for (let f = 0; f < folds.k; f++) {
      let n = 0;
      let correct = 0;
      folds.of.forEach((fold, i) => {
        if (fold !== f) return;
        n++;
        if (labels[i] === preds[i]) correct++;
      });
      if (n) accuracies.push(correct / n);
    }
    out.folds = { k: folds.k, accuracies, ...meanStd(accuracies) };
  }
  return out;
}

/**
 * Area under the ROC curve of `scores` separating positives from negatives (Mann-Whitney U,
 * ties counted half). 0.5 means the score carries no information.
 */
export function rocAuc(positives: number[], negatives: number[]): number {
  if (!positives.length || !negatives.length) return NaN;
  const all = positives.map((s) => ({ s, p: 1 })).concat(negatives.map((s) => ({ s, p: 0 })));
  all.sort((a, b) => a.s - b.s);
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1..j share their average
    for (let k = i; k < j; k++) if (all[k].p) rankSumPos += avgRank;
    i = j;
  }
  const nPos = positives.length;
  const nNeg = negatives.length;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export { meanStd };

/** Learning rate at update `step` (0-based) of `total`, Caffe's policies plus linear warm-up. */
export interface LrPolicy {
  type: 'poly' | 'step' | 'constant';
  power?: number;
  gamma?: number;
  stepSize?: number;
}
export function learningRate(base: number, policy: LrPolicy, step: number, total: number, warmup = 0): number {
  if (warmup > 0 && step < warmup) return (base * (step + 1)) / warmup;
  switch (policy.type) {
    case 'poly':
      return base * Math.pow(Math.max(0, 1 - step / Math.max(1, total)), policy.power ?? 1);
    case 'step':
      return base * Math.pow(policy.gamma ?? 0.1, Math.floor(step / Math.max(1, policy.stepSize ?? total)));
    case 'constant':
      return base;
  }
}
