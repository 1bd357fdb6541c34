/**
 * The few statistics a report states: standard errors of a mean, of a difference, of an AUC,
 * and the words a difference earns. Every sentence the report writes about a comparison is
 * derived from these numbers.
 */

/** Standard error of the mean of `values` (sample std / sqrt(n)); undefined below two values. */
export function seOfMean(values: number[]): number | undefined {
  const n = values.length;
  if (n < 2) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return Math.sqrt(variance / n);
}

/** Standard error of a difference of two independent estimates. */
export function seOfDifference(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  return Math.sqrt(a * a + b * b);
}

/**
 * Hanley & McNeil's (1982) standard error of an AUC from `pos` positives and `neg` negatives.
 * It treats every patch as independent; the 24 patches of one face are not, so the true
 * uncertainty is larger (the report says so).
 */
export function aucSe(auc: number, pos: number, neg: number): number | undefined {
  if (!Number.isFinite(auc) || pos < 1 || neg < 1) return undefined;
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const v = (auc * (1 - auc) + (pos - 1) * (q1 - auc * auc) + (neg - 1) * (q2 - auc * auc)) / (pos * neg);
  return Math.sqrt(Math.max(0, v));
}

/** How far `diff` is from zero in units of its standard error (undefined without an SE). */
export function inSe(diff: number, se: number | undefined): number | undefined {
  return se && se > 0 ? Math.abs(diff) / se : undefined;
}

/** A difference is called a difference at 2 standard errors (about the 95% level). */
export const SIGNIFICANT_SE = 2;

/** "higher" / "lower" when the difference clears 2 SE, "level" otherwise (and when there is no SE). */
export function verdict(diff: number, se: number | undefined): 'higher' | 'lower' | 'level' | 'unknown' {
  const z = inSe(diff, se);
  if (z === undefined) return 'unknown';
  if (z < SIGNIFICANT_SE) return 'level';
  return diff > 0 ? 'higher' : 'lower';
}

/** A signed number with a fixed number of decimals: +2.1, -0.4, 0.0. */
export function signed(v: number, digits = 1): string {
  const s = v.toFixed(digits);
  return v > 0 && Number(s) !== 0 ? `+${s}` : s === `-${(0).toFixed(digits)}` ? (0).toFixed(digits) : s;
}
