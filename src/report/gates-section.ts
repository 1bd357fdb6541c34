/**
 * Patch and gate diagnostics per patch-variant run (eval.json `tests.<name>.patches`, written by
 * train/patch-diagnostics.ts): does the gate lower the weight of occluded patches (alpha AUC),
 * and do the patch features go quiet on their own (feature-norm AUC)?
 */
import { runLabel, type Condition } from './conditions.js';
import type { OcclusionDiagnostics, ReportRun, ScoreDiagnostics } from './source.js';
import { SIGNIFICANT_SE, aucSe, signed } from './stats.js';
import { mdTable, num } from './markdown.js';

export const GATES_MEANING = [
  '**How to read this.** For every patch of every test face, evaluation knows how much of the patch window the occluder covers;',
  'a patch counts as *covered* when the occluder covers at least half of its window. Two scores are compared against that:',
  "the gate weight α of the patch's PG-unit (gated variants) and the norm of the unit's feature before the gate (every patch variant).",
  '**AUC** is the probability that a covered patch scores lower than an uncovered one: 0.5 means the score ignores occlusion,',
  '1 means every covered patch scores below every uncovered one, below 0.5 the score is *higher* on covered patches.',
  "The paper's claim is that the gates learn α AUC well above 0.5. The norm AUC is the baseline a gate must beat: a PG-unit can",
  "silence an occluded patch without any gate. **ρ** is Spearman's correlation of the score with the visible fraction of the window.",
  "± on an AUC is Hanley and McNeil's standard error, which treats the patches as independent; the 24 patches of one face are not,",
  'so the real uncertainty is larger. The global weight is the GG-unit\'s α of the whole-face branch (gACNN).',
].join('\n');

interface GateRow {
  condition: Condition;
  run: ReportRun;
  test: string;
  meanAlpha?: number;
  meanAlphaGlobal?: number;
  occlusion?: OcclusionDiagnostics;
}

/** Every (finished patch-variant run, test set) with patch diagnostics, in plan and test order. */
export function gateRows(conditions: Condition[]): GateRow[] {
  const rows: GateRow[] = [];
  for (const condition of conditions) {
    for (const run of condition.done) {
      for (const [test, result] of Object.entries(run.eval!.tests)) {
        const p = result.patches;
        if (p) rows.push({ condition, run, test, meanAlpha: p.meanAlpha, meanAlphaGlobal: p.meanAlphaGlobal, occlusion: p.occlusion });
      }
    }
  }
  return rows;
}

const auc = (s: ScoreDiagnostics | undefined, occ: OcclusionDiagnostics | undefined): string => {
  if (!s || !occ) return '–';
  const se = aucSe(s.auc, occ.covered, occ.patches - occ.covered);
  return se === undefined ? num(s.auc, 3) : `${num(s.auc, 3)} ± ${se.toFixed(3)}`;
};

export function gatesTable(rows: GateRow[]): string {
  const header = ['run', 'test', 'mean α', 'global α', 'covered / patches', 'α covered', 'α uncovered', 'α AUC', 'α ρ', 'norm covered', 'norm uncovered', 'norm AUC', 'norm ρ'];
  const body = rows.map((r) => {
    const o = r.occlusion;
    return [
      runLabel(r.condition, r.run),
      r.test,
      num(r.meanAlpha, 3),
      num(r.meanAlphaGlobal, 3),
      o ? `${o.covered} / ${o.patches}` : 'no occluder',
      num(o?.alpha?.meanCovered, 3),
      num(o?.alpha?.meanUncovered, 3),
      auc(o?.alpha, o),
      num(o?.alpha?.spearman, 3),
      num(o?.norm.meanCovered, 2),
      num(o?.norm.meanUncovered, 2),
      auc(o?.norm, o),
      num(o?.norm.spearman, 3),
    ];
  });
  return mdTable(header, body, ['l', 'l', ...header.slice(2).map(() => 'r' as const)]);
}

/** What an AUC says, in words, judged against its standard error. */
function aucWords(s: ScoreDiagnostics, occ: OcclusionDiagnostics, subject: string): string {
  // eval.json stores an undefined AUC (no patch covered enough, or none left uncovered) as null.
  if (!Number.isFinite(s.auc)) return `${subject}: no AUC (no covered or no uncovered patches)`;
  const se = aucSe(s.auc, occ.covered, occ.patches - occ.covered);
  const value = `AUC ${s.auc.toFixed(3)}${se === undefined ? '' : ` ± ${se.toFixed(3)}`}`;
  if (se === undefined || Math.abs(s.auc - 0.5) < SIGNIFICANT_SE * se) return `${subject} do not tell covered from uncovered patches (${value})`;
  const means = `mean ${s.meanCovered.toFixed(3)} covered vs ${s.meanUncovered.toFixed(3)} uncovered`;
  return s.auc > 0.5 ? `${subject} are lower on covered patches (${value}; ${means})` : `${subject} are higher on covered patches, the opposite of down-weighting them (${value}; ${means})`;
}

/** Findings per run, derived from the numbers: gates, feature norms, and the global weight clean vs occluded. */
export function gateFindings(rows: GateRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const o = r.occlusion;
    if (!o) continue;
    const label = `${runLabel(r.condition, r.run)}, ${r.test}`;
    const parts: string[] = [];
    if (o.alpha) parts.push(aucWords(o.alpha, o, 'the gates'));
    parts.push(aucWords(o.norm, o, 'the patch feature norms'));
    if (o.alpha && Number.isFinite(o.alpha.auc) && Number.isFinite(o.norm.auc)) {
      parts.push(`the gate's AUC is ${signed(o.alpha.auc - o.norm.auc, 3)} from the norm's`);
    }
    out.push(`${label} (${o.covered} of ${o.patches} patches covered): ${parts.join('; ')}.`);
  }
  out.push(...globalWeightLines(rows));
  return out;
}

/** gACNN's global weight on sets without and with occluders, per run. */
function globalWeightLines(rows: GateRow[]): string[] {
  const out: string[] = [];
  const runs = [...new Set(rows.filter((r) => r.meanAlphaGlobal !== undefined).map((r) => r.run))];
  for (const run of runs) {
    const mine = rows.filter((r) => r.run === run && r.meanAlphaGlobal !== undefined);
    const clean = mine.filter((r) => !r.occlusion);
    const occluded = mine.filter((r) => r.occlusion);
    if (!clean.length || !occluded.length) continue;
    const c = clean[0];
    const o = occluded[0];
    out.push(
      `${runLabel(c.condition, run)}: global weight ${c.meanAlphaGlobal!.toFixed(3)} on ${c.test}, ${o.meanAlphaGlobal!.toFixed(3)} on ${o.test} (${signed(o.meanAlphaGlobal! - c.meanAlphaGlobal!, 3)}).`,
    );
  }
  return out;
}
