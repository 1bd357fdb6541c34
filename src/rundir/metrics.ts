import { flatten, getPath, isPlainObject } from '../util/dotted.js';
import type { EvalFile } from './types.js';

/**
 * Metric paths name numbers of eval.json: `clean.accuracy` is tests.clean.accuracy ("tests." may
 * be written out), `occluded.gates.auc` a nested diagnostic. Table cells and sweep objectives
 * read them through here. Values are as stored (accuracy a fraction in [0, 1]).
 */
export function metricKey(metric: string): string {
  return metric.startsWith('tests.') ? metric.slice('tests.'.length) : metric;
}

export function metricValue(evalFile: EvalFile | undefined, metric: string): number | undefined {
  if (!evalFile) return undefined;
  const v = getPath(evalFile.tests, metricKey(metric));
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Every metric of eval.json by its path (what metricValue reads); per-class maps and confusion counts left out. */
export function evalMetrics(evalFile: unknown): Record<string, number> {
  const tests = isPlainObject(evalFile) && isPlainObject(evalFile.tests) ? evalFile.tests : {};
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(flatten(tests))) {
    if (typeof v === 'number' && !/\.(perClass|confusion)\./.test(key)) out[key] = v;
  }
  return out;
}
