import { flatten, getPath, isPlainObject } from '../util/dotted.js';
import type { EvalFile } from './types.js';

/**
 * Where each named metric lives in eval.json's `tests.<name>` entry, and whether it is a
 * fraction shown in % (schemas/spec.schema.json $defs.metric lists the same names).
 */
export const METRICS: Record<string, { path: string; percent: boolean }> = {
  accuracy: { path: 'accuracy', percent: true },
  meanClassAccuracy: { path: 'meanClassAccuracy', percent: true },
  loss: { path: 'loss', percent: false },
  foldMean: { path: 'folds.mean', percent: true },
  foldStd: { path: 'folds.std', percent: true },
  // Patch variants on occluded sets (train/patch-diagnostics.ts): gates and feature norms.
  gateAuc: { path: 'patches.occlusion.alpha.auc', percent: false },
  gateSpearman: { path: 'patches.occlusion.alpha.spearman', percent: false },
  normAuc: { path: 'patches.occlusion.norm.auc', percent: false },
  normSpearman: { path: 'patches.occlusion.norm.spearman', percent: false },
};

/**
 * Metric paths name numbers of eval.json as `<test>.<metric>`: `clean.accuracy` is
 * tests.clean.accuracy ("tests." may be written out), `clean.foldMean` a named metric
 * (METRICS), anything else a path inside the test's entry (`occluded.patches.meanAlpha`, for a
 * sweep objective). Table cells and sweep objectives read them through here. Values are as
 * stored (accuracy a fraction in [0, 1]).
 */
export function metricKey(metric: string): string {
  return metric.startsWith('tests.') ? metric.slice('tests.'.length) : metric;
}

export function metricValue(evalFile: EvalFile | undefined, metric: string): number | undefined {
  if (!evalFile) return undefined;
  const key = metricKey(metric);
  const dot = key.indexOf('.');
  if (dot < 0) return undefined;
  const name = key.slice(dot + 1);
  const v = getPath(evalFile.tests?.[key.slice(0, dot)], METRICS[name]?.path ?? name);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Whether a metric is a fraction that tables show in %. */
export function metricIsPercent(metric: string): boolean {
  const key = metricKey(metric);
  return METRICS[key.slice(key.indexOf('.') + 1)]?.percent ?? false;
}

/**
 * Every metric of eval.json by the path metricValue reads: each number of a test's entry
 * (per-class maps and confusion counts left out) and each named metric it has.
 */
export function evalMetrics(evalFile: unknown): Record<string, number> {
  const tests = isPlainObject(evalFile) && isPlainObject(evalFile.tests) ? evalFile.tests : {};
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(flatten(tests))) {
    if (typeof v === 'number' && !/\.(perClass|confusion)\./.test(key)) out[key] = v;
  }
  for (const [test, result] of Object.entries(tests)) {
    for (const [name, def] of Object.entries(METRICS)) {
      const v = getPath(result, def.path);
      if (typeof v === 'number') out[`${test}.${name}`] = v;
    }
  }
  return out;
}
