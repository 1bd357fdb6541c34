import { expandRuns, type LoadedSpec } from '../spec/index.js';
import { assembleCells, readRuns, writeTable, type TableSpec } from './tables.js';

/** Rebuilds the spec's table CSV from its run directories; returns the file, or undefined without a table. */
export async function buildTables(loaded: LoadedSpec, resultsDir: string): Promise<string | undefined> {
  const table = (loaded.spec as { table?: TableSpec }).table;
  if (!table) return undefined;
  const planned = expandRuns(loaded);
  const runs = await readRuns(resultsDir, loaded.name, planned.map((r) => r.id));
  const configs = new Map(planned.map((r) => [r.id, r.config as unknown as Record<string, unknown>]));
  return writeTable(resultsDir, loaded.name, table, assembleCells(table, runs, configs));
}
