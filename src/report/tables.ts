import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { RunDir, metricIsPercent, metricValue as storedMetric, type EvalFile, type RunMeta } from '../rundir/index.js';
import { meanStd } from '../util/stats.js';
import { getPath } from '../util/dotted.js';
import { writeFileAtomic } from '../util/atomic.js';

/** A row or column: which runs belong to it, and (on rows or on columns) the metric of its cells. */
export interface TableLine {
  name: string;
  where?: Record<string, unknown>;
  metric?: string;
}

/** The spec's table section, as the report needs it (mirrors schemas/spec.schema.json). */
export interface TableSpec {
  id: string;
  title?: string;
  rows: TableLine[];
  columns: TableLine[];
  paper?: Record<string, Record<string, number | null>>;
}

/** A line with neither `where` nor `metric` is a method acnn does not run: paper values only. */
export function isPaperOnly(line: TableLine): boolean {
  return line.where === undefined && line.metric === undefined;
}

/** What a finished run directory contributes to a table. */
export interface RunRecord {
  id: string;
  config: Record<string, unknown>;
  meta?: RunMeta;
  eval?: EvalFile;
}

export interface Cell {
  row: string;
  column: string;
  values: number[];
  mean?: number;
  std?: number;
  paper?: number;
  /** Runs that match the cell but have no result yet. */
  pending: number;
  /** The finished runs behind `values`, in the same order. */
  runs: string[];
  /** Finished runs that do not have the metric (a gate metric of an ungated variant). */
  missing: number;
  /** What std is over: the runs (seeds, fold runs), or the folds of a single run's foldMean. */
  spread?: 'runs' | 'folds';
}

/**
 * Reads the run directories of the given runs (reports never touch models). A run's config is
 * its config.json; `planned` (plan.json's copy) stands in for runs that have not started.
 */
export async function readRuns(resultsDir: string, specName: string, runs: { id: string; config?: unknown }[]): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const run of runs) {
    const dir = RunDir.for(resultsDir, specName, run.id);
    const config = (await dir.readConfig<Record<string, unknown>>()) ?? (run.config as Record<string, unknown> | undefined);
    if (!config) {
      out.push({ id: run.id, config: {} });
      continue;
    }
    out.push({ id: run.id, config, meta: await dir.readMeta(), eval: await dir.readEval() });
  }
  return out;
}

function matches(config: Record<string, unknown>, where: Record<string, unknown> | undefined): boolean {
  if (!where) return true;
  return Object.entries(where).every(([k, v]) => JSON.stringify(getPath(config, k)) === JSON.stringify(v));
}

/** A metric of eval.json (rundir/metrics.ts: `clean.accuracy`, `clean.foldMean`, ...), fractions as percentages. */
export function metricValue(evalFile: EvalFile | undefined, metric: string): number | undefined {
  const v = storedMetric(evalFile, metric);
  if (v === undefined) return undefined;
  return metricIsPercent(metric) ? 100 * v : v;
}

/** The metric of a cell: the column's, else the row's, else `<column name>.accuracy`. */
export function cellMetric(row: TableLine, col: TableLine): string {
  return col.metric ?? row.metric ?? `${col.name}.accuracy`;
}

export function assembleCells(table: TableSpec, runs: RunRecord[], plannedConfigs: Map<string, Record<string, unknown>>): Cell[] {
  const cells: Cell[] = [];
  for (const row of table.rows) {
    for (const col of table.columns) {
      const paper = table.paper?.[row.name]?.[col.name] ?? undefined;
      const cell: Cell = { row: row.name, column: col.name, values: [], runs: [], pending: 0, missing: 0, paper: paper ?? undefined };
      // A method acnn does not run (GAN-Inpainting, WLS-RF): paper value only.
      if (!isPaperOnly(row) && !isPaperOnly(col)) {
        const metric = cellMetric(row, col);
        let foldStd: number | undefined;
        for (const run of runs) {
          const config = plannedConfigs.get(run.id) ?? run.config;
          if (!matches(config, row.where) || !matches(config, col.where)) continue;
          const v = run.meta?.status === 'done' ? metricValue(run.eval, metric) : undefined;
          if (v === undefined && run.meta?.status === 'done') cell.missing++;
          else if (v === undefined) cell.pending++;
          else {
            cell.values.push(v);
            cell.runs.push(run.id);
            if (metric.endsWith('.foldMean')) foldStd = metricValue(run.eval, metric.replace(/foldMean$/, 'foldStd'));
          }
        }
        if (cell.values.length) Object.assign(cell, meanStd(cell.values), { spread: 'runs' });
        // One run's mean over folds: its spread is the std over those folds (Table III, protocol a).
        if (cell.values.length === 1 && foldStd !== undefined) Object.assign(cell, { std: foldStd, spread: 'folds' });
      }
      cells.push(cell);
    }
  }
  return cells;
}

const MISSING = 'NA';

/** Paired columns: ours (mean, "± std" over seeds when several) then the paper's value. */
export function tableCsv(table: TableSpec, cells: Cell[]): string {
  const header = ['method'];
  for (const col of table.columns) header.push(col.name, `${col.name} (paper)`);
  const records: string[][] = [header];
  for (const row of table.rows) {
    const rec = [row.name];
    for (const col of table.columns) {
      const cell = cells.find((c) => c.row === row.name && c.column === col.name)!;
      rec.push(formatOurs(cell), cell.paper === undefined ? MISSING : cell.paper.toFixed(2));
    }
    records.push(rec);
  }
  return stringify(records);
}

function formatOurs(cell: Cell): string {
  if (cell.mean === undefined) return MISSING;
  return cell.values.length > 1 || cell.spread === 'folds' ? `${cell.mean.toFixed(2)} ± ${cell.std!.toFixed(2)}` : cell.mean.toFixed(2);
}

export async function writeTable(resultsDir: string, specName: string, table: TableSpec, cells: Cell[]): Promise<string> {
  const file = path.join(resultsDir, specName, `${table.id}.csv`);
  await writeFileAtomic(file, tableCsv(table, cells));
  return file;
}
