/**
 * Every configs/table*.yaml and configs/synthetic/table*.yaml renders a complete table from finished runs: run directories are
 * built for each planned run, with eval.json made by the evaluation's own summary function
 * (every metric evaluation produces), and each cell acnn runs must have a value (no NA);
 * paper-only lines keep only the paper's values.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expandRuns, loadSpec, type RunConfig } from '../src/spec/index.js';
import { buildTables, reportRuns } from '../src/report/build.js';
import { assembleCells, isPaperOnly, readRuns, type Cell, type TableLine, type TableSpec } from '../src/report/tables.js';
import { summariseTest } from '../src/train/metrics.js';
import { perFoldOf } from '../src/train/prepare-data.js';
import { RunDir, type EvalFile } from '../src/rundir/index.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { Rng } from '../src/util/rng.js';

/** What a finished run of this config writes to eval.json, from random predictions. */
function fakeEval(cfg: RunConfig, rng: Rng): EvalFile {
  const tests: EvalFile['tests'] = {};
  for (const [name, t] of Object.entries(cfg.test)) {
    const n = 60;
    const labels = Array.from({ length: n }, () => rng.int(0, 6));
    const preds = labels.map((l) => (rng.next() < 0.7 ? l : rng.int(0, 6)));
    const losses = labels.map(() => rng.next() * 2);
    const folds = perFoldOf(t);
    tests[name] = summariseTest(labels, preds, losses, 7, folds ? { of: labels.map((_, i) => i % folds.k), k: folds.k } : undefined);
  }
  return { tests };
}

const tableFiles = (dir: string) => readdirSync(path.join('configs', dir)).filter((f) => /^table.*\.yaml$/.test(f)).sort().map((f) => path.join(dir, f));
const configs = [...tableFiles(''), ...tableFiles('synthetic')];

describe('tables: every configs/table*.yaml and configs/synthetic/table*.yaml renders from finished runs', function () {
  this.timeout(60_000);
  let results: string;
  before(() => {
    results = mkdtempSync(path.join(os.tmpdir(), 'acnn-tables-'));
  });
  after(() => rmSync(results, { recursive: true, force: true }));

  it('finds the table configs', () => {
    assert.ok(configs.includes('table3-finetune.yaml') && configs.length >= 6, configs.join(', '));
    for (const t of ['table3', 'table3-finetune', 'table4', 'table5']) assert.ok(configs.includes(path.join('synthetic', `${t}.yaml`)), `synthetic/${t}.yaml`);
  });

  for (const file of configs) {
    it(`${file}: every cell acnn runs has a value; paper-only lines hold only the paper's`, async () => {
      const loaded = await loadSpec(path.join('configs', file));
      const table = (loaded.spec as { table?: TableSpec }).table;
      if (!table) {
        // The DLP-CNN K sweep has no table of its own (acnn sweep ranks its trials).
        assert.ok(loaded.spec.sweep, `${file} has neither a table nor a sweep`);
        return;
      }
      const runs = expandRuns(loaded);
      const rng = new Rng(7);
      for (const run of runs) {
        const dir = RunDir.for(results, loaded.name, run.id);
        await writeJsonAtomic(dir.configFile, run.config);
        await dir.writeMeta({ runId: run.id, spec: loaded.name, status: 'done', step: 1, totalSteps: 1 });
        await writeJsonAtomic(dir.evalFile, fakeEval(run.config, rng));
      }
      const records = await readRuns(results, loaded.name, runs);
      const cells = assembleCells(table, records, new Map(runs.map((r) => [r.id, r.config as unknown as Record<string, unknown>])));
      const columns: TableLine[] = table.columns;
      for (const row of table.rows) {
        for (const col of columns) {
          const cell: Cell = cells.find((c) => c.row === row.name && c.column === col.name)!;
          if (isPaperOnly(row) || isPaperOnly(col)) {
            assert.deepEqual(cell.values, [], `${row.name} / ${col.name} is paper-only`);
            continue;
          }
          assert.ok(cell.values.length > 0 && cell.mean !== undefined && Number.isFinite(cell.mean), `${file}: no value in ${row.name} / ${col.name}`);
          assert.equal(cell.pending, 0);
        }
      }
      const { runs: planned } = await reportRuns(loaded, results);
      const csvFile = await buildTables(loaded, results, planned);
      const lines = readFileSync(csvFile!, 'utf8').trim().split('\n');
      assert.equal(lines.length, table.rows.length + 1);
      if (path.basename(file) === 'table3.yaml') {
        // Protocol (a): one run per cell, mean ± std over its 10 folds.
        assert.ok(cells.filter((c) => c.values.length).every((c) => c.values.length === 1 && c.spread === 'folds'));
        assert.match(lines[1], /^non-occlusion,\d+\.\d\d ± \d+\.\d\d,97\.03,/);
      }
      if (path.basename(file) === 'table3-finetune.yaml') {
        // Protocol (b): ten fold runs per cell, mean ± std over them.
        assert.ok(cells.filter((c) => c.values.length).every((c) => c.values.length === 10 && c.spread === 'runs'));
      }
    });
  }
});
