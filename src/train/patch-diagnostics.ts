/**
 * What the patch variants do with occluded patches (the paper's central claim: gates lower the
 * weight of occluded patches). For every patch of every test image we know how much of its
 * window the occluder covers (train/patch-coverage.ts). Two scores are compared against that:
 *  - alpha, the PG-unit's gate (gated variants): does the gate see occlusion?
 *  - the norm of the unit's feature before the gate (every patch variant): does the feature go
 *    quiet on its own? In an ungated variant this is the baseline a gate must beat, since a
 *    PG-unit can silence an occluded patch without any gate.
 * A patch counts as covered when the occluder covers at least half of its window. For each score:
 * its means on covered and uncovered patches, the AUC of "low score = covered" (0.5: the score
 * ignores occlusion; 1: every covered patch scores below every uncovered one), and the Spearman
 * rank correlation of the score with the visible fraction of the window.
 */
import { meanStd, rocAuc } from './metrics.js';
import type { OcclusionDiagnostics, PatchDiagnostics, ScoreDiagnostics } from '../rundir/index.js';

export const COVERED_THRESHOLD = 0.5;
const HISTOGRAM_BINS = 20;

/** Average ranks (1-based; ties share their mean rank). */
export function ranks(values: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Float64Array(values.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && values[idx[j]] === values[idx[i]]) j++;
    for (let k = i; k < j; k++) out[idx[k]] = (i + 1 + j) / 2;
    i = j;
  }
  return out;
}

/** Spearman's rank correlation; NaN when either side is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  if (n < 2) return NaN;
  const ma = meanStd(Array.from(ra)).mean;
  const mb = meanStd(Array.from(rb)).mean;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

const mean = (v: number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN);

function scoreDiagnostics(scores: number[], coverage: number[]): ScoreDiagnostics {
  const covered: number[] = [];
  const uncovered: number[] = [];
  scores.forEach((s, i) => (coverage[i] >= COVERED_THRESHOLD ? covered : uncovered).push(s));
  return {
    meanCovered: mean(covered),
    meanUncovered: mean(uncovered),
    // Low score = occluded, so the AUC ranks the negated score of covered patches above.
    auc: rocAuc(
      covered.map((s) => -s),
      uncovered.map((s) => -s),
    ),
    spearman: spearman(
      scores,
      coverage.map((c) => 1 - c),
    ),
  };
}

function histogram(values: number[]): number[] {
  const h = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const v of values) h[Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(v * HISTOGRAM_BINS)))]++;
  return h;
}

/** Collects per-patch alpha, feature norms and coverage over a test set's batches. */
export class PatchCollector {
  private readonly alpha: number[] = [];
  private readonly norms: number[] = [];
  private readonly coverage: number[] = [];
  private readonly globals: number[] = [];
  private sawMasks = false;

  /** alpha (gated variants) and norms are n * 24, coverage too (zeros when nothing is occluded). */
  add(norms: ArrayLike<number>, coverage: ArrayLike<number>, masked: boolean, alpha?: ArrayLike<number>, alphaGlobal?: ArrayLike<number>): void {
    for (let i = 0; i < norms.length; i++) {
      this.norms.push(norms[i]);
      this.coverage.push(coverage[i]);
      if (alpha) this.alpha.push(alpha[i]);
    }
    if (alphaGlobal) for (let i = 0; i < alphaGlobal.length; i++) this.globals.push(alphaGlobal[i]);
    if (masked) this.sawMasks = true;
  }

  result(): PatchDiagnostics | undefined {
    if (!this.norms.length) return undefined;
    const out: PatchDiagnostics = {};
    if (this.alpha.length) out.meanAlpha = mean(this.alpha);
    if (this.globals.length) out.meanAlphaGlobal = mean(this.globals);
    if (this.sawMasks) out.occlusion = this.occlusion();
    return out;
  }

  private occlusion(): OcclusionDiagnostics {
    const covered = this.coverage.filter((c) => c >= COVERED_THRESHOLD).length;
    const occ: OcclusionDiagnostics = {
      threshold: COVERED_THRESHOLD,
      patches: this.coverage.length,
      covered,
      meanCoverage: mean(this.coverage),
      norm: scoreDiagnostics(this.norms, this.coverage),
    };
    if (this.alpha.length) {
      const cov = this.alpha.filter((_, i) => this.coverage[i] >= COVERED_THRESHOLD);
      const unc = this.alpha.filter((_, i) => this.coverage[i] < COVERED_THRESHOLD);
      occ.alpha = { ...scoreDiagnostics(this.alpha, this.coverage), histogram: { bins: HISTOGRAM_BINS, covered: histogram(cov), uncovered: histogram(unc) } };
    }
    return occ;
  }
}
