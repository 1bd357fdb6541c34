import path from 'node:path';
import { expandRuns, runLabel, type LoadedSpec } from '../spec/index.js';
import { readPlan, type PlanRun } from '../rundir/index.js';
import { assembleCells, readRuns, writeTable, type TableSpec } from './tables.js';

/** The runs a report covers, and where that list came from. */
export interface ReportRuns {
  runs: PlanRun[];
  /** plan.json of the last `acnn run`, or the spec expanded now (no plan.json, or --set asked for a new plan). */
  source: 'plan' | 'spec';
  /** plan.json's createdAt, when read from it. */
  plannedAt?: string;
  /** Why plan.json was not used, when there is one. */
  ignoredPlan?: string;
}

/**
 * The spec's runs for tables and status: those `acnn run` planned and recorded in
 * results/<spec>/plan.json, so no --set flags need repeating; the spec's expansion when there is
 * no plan yet, or when `replan` (explicit --set flags) asks for it.
 */
export async function reportRuns(loaded: LoadedSpec, resultsDir: string, opts: { replan?: boolean } = {}): Promise<ReportRuns> {
  const plan = opts.replan ? undefined : await readPlan(resultsDir, loaded.name);
  // Another spec file with the same name (a sweep's best.yaml) shares the results folder: its plan is not this spec's.
  const foreign = plan && path.resolve(plan.specFile) !== path.resolve(loaded.file) ? `plan.json is of ${plan.specFile}` : undefined;
  if (plan && !foreign) return { runs: plan.runs, source: 'plan', plannedAt: plan.createdAt };
  const runs = expandRuns(loaded).map((r) => ({ id: r.id, index: r.index, label: runLabel(r), config: r.config }));
  return { runs, source: 'spec', ignoredPlan: foreign };
}

/**
 * Rebuilds the spec's table CSV from the run directories of `runs`: the layout (rows, columns,
 * paper values) is the spec's as it is now, each run's config its run directory's. Returns the
 * file, or undefined when the spec has no table.
 */
export async function buildTables(loaded: LoadedSpec, resultsDir: string, runs: PlanRun[]): Promise<string | undefined> {
  const table = loaded.spec.table as TableSpec | undefined;
  if (!table) return undefined;
  const records = await readRuns(resultsDir, loaded.name, runs);
  return writeTable(resultsDir, loaded.name, table, assembleCells(table, records, new Map()));
}

/** Where a report's runs came from, in a few words for the user. */
export function describeSource(s: ReportRuns): string {
  if (s.source === 'plan') return `runs of the acnn run of ${s.plannedAt} (plan.json)`;
  return `runs from expanding the spec now: ${s.ignoredPlan ?? 'no plan.json, or --set given'}`;
}
