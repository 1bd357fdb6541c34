/**
 * The report's table: ours beside the paper's, each of our values with its standard error and
 * what that error is over (seeds, runs, folds, or the test set's binomial error), the run count,
 * chance level, and the comparisons the paper makes (variant against variant), in words derived
 * from the numbers.
 */
import { assembleCells, cellMetric, isPaperOnly, type Cell, type TableSpec } from './tables.js';
import { METRICS } from '../rundir/index.js';
import { flatten, splitSettings } from './conditions.js';
import { isDone, type ReportRun } from './source.js';
import { SIGNIFICANT_SE, aucSe, inSe, seOfDifference, seOfMean, signed, verdict } from './stats.js';
import { mdTable, plural } from './markdown.js';

export type SeKind = 'seeds' | 'runs' | 'folds' | 'binomial' | 'auc' | 'none';

export interface CellStat {
  row: string;
  column: string;
  metric: string;
  /** Percent for accuracies, raw for loss. */
  mean?: number;
  se?: number;
  seKind: SeKind;
  /** Finished runs behind the value, and matching runs without a result yet. */
  runs: number;
  pending: number;
  /** Finished runs without the metric (a gate metric of an ungated variant). */
  missing: number;
  paper?: number;
  paperOnly: boolean;
  /** model.variant when every run of the cell has the same one. */
  variant?: string;
  runIds: string[];
}

export const SE_WORDS: Record<SeKind, string> = {
  seeds: 'standard error of the mean over seeds (std / √n)',
  runs: 'standard error of the mean over the runs of the cell (std / √n)',
  folds: "standard error of one run's mean over its test folds (std over folds / √k)",
  binomial: 'binomial standard error of the accuracy over the test set (one run: no seeds to spread over)',
  auc: "Hanley-McNeil standard error of one run's AUC over its patches (treating patches as independent, which understates it)",
  none: 'no standard error (one run, and the metric has no binomial error)',
};

/** Mean, standard error and its kind for every cell of the table. */
export function tableStats(table: TableSpec, runs: ReportRun[]): CellStat[] {
  const cells = assembleCells(table, runs, new Map());
  const byId = new Map(runs.map((r) => [r.id, r]));
  return cells.map((cell) => {
    const row = table.rows.find((r) => r.name === cell.row)!;
    const col = table.columns.find((c) => c.name === cell.column)!;
    const metric = cellMetric(row, col);
    const cellRuns = cell.runs.map((id) => byId.get(id)!);
    const variants = new Set(cellRuns.map((r) => flatten(r.config)['model.variant']));
    return {
      row: cell.row,
      column: cell.column,
      metric,
      mean: cell.mean,
      ...standardError(cell, metric, cellRuns),
      runs: cell.values.length,
      pending: cell.pending,
      missing: cell.missing,
      paper: cell.paper,
      paperOnly: isPaperOnly(row) || isPaperOnly(col),
      variant: variants.size === 1 ? String([...variants][0]) : undefined,
      runIds: cell.runs,
    };
  });
}

function standardError(cell: Cell, metric: string, runs: ReportRun[]): { se?: number; seKind: SeKind } {
  if (cell.values.length > 1) {
    const seeds = splitSettings(runs.map((r) => r.config)).differing.every((k) => k === 'train.seed');
    return { se: seOfMean(cell.values), seKind: seeds ? 'seeds' : 'runs' };
  }
  if (cell.values.length === 0) return { seKind: 'none' };
  if (cell.spread === 'folds') {
    const folds = testOf(runs[0], metric)?.folds;
    return folds ? { se: (100 * folds.std) / Math.sqrt(folds.accuracies.length), seKind: 'folds' } : { seKind: 'none' };
  }
  const name = metric.slice(metric.indexOf('.') + 1);
  const test = testOf(runs[0], metric);
  if (name === 'accuracy' && test) return { se: 100 * test.stderr, seKind: 'binomial' };
  const occ = test?.patches?.occlusion;
  const score = name === 'gateAuc' ? occ?.alpha : name === 'normAuc' ? occ?.norm : undefined;
  if (occ && score) {
    const se = aucSe(score.auc, occ.covered, occ.patches - occ.covered);
    if (se !== undefined) return { se, seKind: 'auc' };
  }
  return { seKind: 'none' };
}

const testOf = (run: ReportRun, metric: string) => run.eval?.tests[metric.slice(0, metric.indexOf('.'))];

const isPercent = (metric: string): boolean => METRICS[metric.slice(metric.indexOf('.') + 1)]?.percent ?? false;

/**
 * The table in Markdown: per column ours ± SE, then the paper's value where the paper has one for
 * that column; run counts per row, or per cell when they differ.
 */
export function tableMarkdown(table: TableSpec, stats: CellStat[]): string {
  const at = (r: string, c: string) => stats.find((s) => s.row === r && s.column === c)!;
  const kinds = new Set(stats.filter((s) => s.mean !== undefined).map((s) => s.seKind));
  const markKinds = kinds.size > 1;
  const withPaper = new Set(table.columns.filter((col) => table.rows.some((row) => at(row.name, col.name).paper !== undefined)).map((c) => c.name));
  const header = ['method'];
  for (const col of table.columns) header.push(col.name, ...(withPaper.has(col.name) ? [`${col.name} (paper)`] : []));
  header.push('runs');
  const rows = table.rows.map((row) => {
    const cells = table.columns.map((col) => at(row.name, col.name));
    const out = [row.name];
    for (const s of cells) {
      out.push(ours(s, markKinds));
      if (withPaper.has(s.column)) out.push(s.paper === undefined ? '–' : s.paper.toFixed(2));
    }
    out.push(runCount(cells));
    return out;
  });
  const lines = [mdTable(header, rows, ['l', ...header.slice(1).map(() => 'r' as const)])];
  lines.push('');
  const legend = [...kinds].sort().map((k) => (markKinds ? `${KIND_MARK[k]} = ${SE_WORDS[k]}` : `± = ${SE_WORDS[k]}`));
  if (legend.length) lines.push(`${legend.join('; ')}.`);
  if (stats.some((s) => s.mean === undefined && !s.pending && s.missing)) lines.push('n/a: the runs of the cell have no such metric (a gate metric of an ungated variant).');
  return lines.join('\n');
}

const KIND_MARK: Record<SeKind, string> = { seeds: 's', runs: 'r', folds: 'f', binomial: 'b', auc: 'h', none: '–' };

function ours(s: CellStat, markKind: boolean): string {
  if (s.paperOnly) return 'not run';
  if (s.mean === undefined) return s.pending ? `pending (${s.pending})` : s.missing ? 'n/a' : 'no run';
  const d = isPercent(s.metric) ? 2 : 3;
  const se = s.se === undefined ? '' : ` ± ${s.se.toFixed(d)}`;
  return `${s.mean.toFixed(d)}${se}${markKind ? ` ${KIND_MARK[s.seKind]}` : ''}`;
}

/** "1" when every run cell of the row has one run; "3 (1 pending)"; per cell when they differ. */
function runCount(cells: CellStat[]): string {
  // Cells whose runs lack the metric (n/a) say nothing about how many runs there are.
  const run = cells.filter((c) => !c.paperOnly && !(c.mean === undefined && !c.pending && c.missing));
  if (!run.length) return '–';
  const text = (c: CellStat) => `${c.runs}${c.pending ? ` (+${c.pending} not finished)` : ''}`;
  const texts = [...new Set(run.map(text))];
  return texts.length === 1 ? texts[0] : run.map(text).join(' / ');
}

/** Chance level and the cells that do not clear it by 2 SE. */
export function chanceNotes(stats: CellStat[], runs: ReportRun[]): string[] {
  const done = runs.filter(isDone);
  if (!done.length) return [];
  const numClasses = Number(flatten(done[0].config)['model.numClasses'] ?? 7);
  const chance = 100 / numClasses;
  const notes = [`Chance is ${chance.toFixed(1)}% (${numClasses} classes, uniform guessing).`];
  const majority = majorityRates(done);
  if (majority.every((m) => Math.abs(m.rate - chance) < 0.05)) notes.push(`The test sets are balanced: every class is ${chance.toFixed(1)}% of each.`);
  else notes.push(`Always answering the most frequent class would score ${majority.map((m) => `${m.rate.toFixed(1)}% on ${m.test}`).join(', ')}.`);
  const atChance = stats.filter((s) => s.mean !== undefined && s.metric.endsWith('.accuracy') && s.se !== undefined && s.mean - chance < SIGNIFICANT_SE * s.se);
  if (atChance.length) {
    notes.push(`Not above chance by ${SIGNIFICANT_SE} SE: ${atChance.map((s) => `${s.row} ${s.column} (${s.mean!.toFixed(2)} ± ${s.se!.toFixed(2)})`).join(', ')}.`);
  } else if (stats.some((s) => s.mean !== undefined && s.metric.endsWith('.accuracy'))) {
    notes.push(`Every accuracy is above chance by more than ${SIGNIFICANT_SE} SE (or has no SE).`);
  }
  return notes;
}

/** Per test set of the first finished run: the share of its most frequent class. */
function majorityRates(done: ReportRun[]): { test: string; rate: number }[] {
  const out: { test: string; rate: number }[] = [];
  for (const [name, test] of Object.entries(done[0].eval!.tests)) {
    const totals = test.confusion.map((row) => row.reduce((a, b) => a + b, 0));
    const n = totals.reduce((a, b) => a + b, 0);
    if (n) out.push({ test: name, rate: (100 * Math.max(...totals)) / n });
  }
  return out;
}

/** The paper's ablations: what each pair of variants isolates (Section IV-D). */
const PAIRS: [string, string, string][] = [
  ['base', 'pcnn', 'region decomposition'],
  ['pcnn', 'pacnn', 'patch gates'],
  ['gcnn', 'gacnn', 'gates with the global branch'],
  ['pcnn', 'gcnn', 'the global branch'],
  ['pacnn', 'gacnn', 'the gated global branch'],
  ['base', 'dlpcnn', 'DLP-CNN over the plain backbone'],
  ['base', 'pacnn', 'the gated patch model over the plain backbone'],
  ['base', 'gacnn', 'the full model over the plain backbone'],
];

export interface Comparison {
  column: string;
  a: CellStat;
  b: CellStat;
  what: string;
  diff: number;
  se?: number;
  paperDiff?: number;
}

/**
 * Pairs of cells with the same metric whose runs differ only in the variant (and the seed):
 * the paper's ablations, B minus A.
 */
export function comparisons(stats: CellStat[], runs: ReportRun[]): Comparison[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const out: Comparison[] = [];
  for (const [va, vb, what] of PAIRS) {
    for (const a of stats) {
      if (a.variant !== va || a.mean === undefined) continue;
      for (const b of stats) {
        if (b.variant !== vb || b.mean === undefined || b.metric !== a.metric || !sameApartFromVariant(a, b, byId)) continue;
        out.push({
          column: a.column === b.column ? a.column : `${a.column} / ${b.column}`,
          a,
          b,
          what,
          diff: b.mean - a.mean!,
          se: seOfDifference(a.se, b.se),
          paperDiff: a.paper !== undefined && b.paper !== undefined ? b.paper - a.paper : undefined,
        });
      }
    }
  }
  return out;
}

function sameApartFromVariant(a: CellStat, b: CellStat, byId: Map<string, ReportRun>): boolean {
  const key = (ids: string[]) =>
    [
      ...new Set(
        ids.map((id) => {
          const flat = flatten(byId.get(id)!.config);
          for (const k of Object.keys(flat)) if (k === 'model.variant' || k === 'train.seed' || k.startsWith('tags.')) delete flat[k];
          return JSON.stringify(flat);
        }),
      ),
    ]
      .sort()
      .join('\n');
  return key(a.runIds) === key(b.runIds);
}

/** One line per comparison: the difference, its SE, the verdict, and the paper's difference. */
export function comparisonLines(list: Comparison[]): string[] {
  return list.map((c) => {
    const percent = isPercent(c.a.metric);
    const unit = percent ? 'points' : '';
    const z = inSe(c.diff, c.se);
    const size = z === undefined ? 'no SE' : `${z.toFixed(1)} SE of the difference`;
    const v = verdict(c.diff, c.se);
    const { a, b, where } = sides(c);
    const word = v === 'level' ? `not distinguishable at ${SIGNIFICANT_SE} SE` : v === 'unknown' ? 'no SE to judge by' : `${b} ${v}`;
    const paper = c.paperDiff === undefined ? '' : `; paper ${signed(c.paperDiff, 2)}${paperAgreement(c, v)}`;
    return `${b} vs ${a} (${c.what})${where ? `, ${where}` : ''}: ${signed(c.diff, percent ? 1 : 3)} ${unit} (${size}): ${word}${paper}`.replace('  ', ' ');
  });
}

/**
 * How to name the two cells: by what tells them apart. Variants as rows (Table II): the rows,
 * in the shared column; variants as columns (Tables III and V): the columns, in the shared row.
 */
function sides(c: Comparison): { a: string; b: string; where: string } {
  if (c.a.column === c.b.column) return { a: c.a.row, b: c.b.row, where: c.column };
  if (c.a.row === c.b.row) return { a: c.a.column, b: c.b.column, where: c.a.row };
  return { a: `${c.a.row} ${c.a.column}`, b: `${c.b.row} ${c.b.column}`, where: '' };
}

function paperAgreement(c: Comparison, v: ReturnType<typeof verdict>): string {
  if (v === 'level' || v === 'unknown' || c.paperDiff === undefined || c.paperDiff === 0) return '';
  return (c.diff > 0) === (c.paperDiff > 0) ? ', same direction' : ', opposite direction';
}

/** Ours against the paper's numbers, in one sentence per metric kind. */
export function paperGapLine(stats: CellStat[]): string | undefined {
  const both = stats.filter((s) => s.mean !== undefined && s.paper !== undefined && isPercent(s.metric));
  if (!both.length) return undefined;
  const below = both.filter((s) => s.mean! < s.paper!).length;
  const gap = both.reduce((a, s) => a + (s.mean! - s.paper!), 0) / both.length;
  return `Ours is below the paper's value in ${below} of ${plural(both.length, 'cell')} with both; mean difference ${signed(gap)} points.`;
}
