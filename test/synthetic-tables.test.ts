/**
 * The synthetic stand-ins for Tables III-V (configs/synthetic/) end to end through the real CLI,
 * at a tiny size: each spec extends the shipped config and shrinks only its datasets, input
 * size and number of updates (and Table III (b)'s fold axis to two folds), so the protocol is
 * the config's own. Every cell acnn runs must hold a value in the table CSV; paper-only cells
 * hold only the paper's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expandRuns, loadSpec } from '../src/spec/index.js';
import { isPaperOnly, type TableSpec } from '../src/report/tables.js';
import { DataCache, prepareRunData } from '../src/train/prepare-data.js';
import { repoRoot, runCli } from './helpers/cli.js';

/** The shrunk settings every tiny spec shares: 32 px inputs, 1/8 width (the configs'), 2 updates of 8. */
const TINY_TRAIN = 'train: {iterations: 2, batchSize: 8, logEvery: 1}';

describe('synthetic stand-ins for Tables III, IV and V: each protocol end to end (tiny)', function () {
  this.timeout(900_000);
  const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-synth-tables-'));
  const results = path.join(work, 'results');
  const cache = path.join(work, 'cache');
  after(() => rmSync(work, { recursive: true, force: true }));

  /** A spec extending configs/synthetic/<config> with tiny datasets (`body`) and the shared tiny settings. */
  function tiny(name: string, config: string, body: string, model = ''): string {
    const file = path.join(work, `${name}.yaml`);
    writeFileSync(file, `extends: ${path.join(repoRoot, 'configs', 'synthetic', config)}\nname: ${name}\nmodel: {inputSize: 32${model}}\n${TINY_TRAIN}\n${body}\n`);
    return file;
  }

  // One process: the runs are tiny, so a worker process per run would cost more than the run (the
  // worker executor is tested in runner.test.ts).
  async function run(file: string): Promise<void> {
    const r = await runCli(['run', file, '--backend', 'wasm', '--workers', '1', '--results', results, '--cache', cache, '--quiet'], { timeoutMs: 800_000 });
    assert.equal(r.code, 0, `${file}\n${r.stdout}\n${r.stderr}`);
  }

  /** The table CSV, checked cell by cell against the spec's table: a value wherever acnn runs, NA elsewhere. */
  async function checkTable(file: string): Promise<string[][]> {
    const loaded = await loadSpec(file);
    const table = (loaded.spec as { table: TableSpec }).table;
    const csv = readFileSync(path.join(results, loaded.name, `${table.id}.csv`), 'utf8').trim().split('\n').map((l) => l.split(','));
    const header = csv[0];
    assert.equal(csv.length, table.rows.length + 1);
    for (const [i, row] of table.rows.entries()) {
      const line = csv[i + 1];
      assert.equal(line[0], row.name);
      for (const col of table.columns) {
        const ours = line[header.indexOf(col.name)];
        if (isPaperOnly(row) || isPaperOnly(col)) assert.equal(ours, 'NA', `${row.name} / ${col.name} is paper-only`);
        else assert.match(ours, /^\d+\.\d\d( ± \d+\.\d\d)?$/, `${loaded.name}: ${row.name} / ${col.name} = ${ours}`);
      }
    }
    return csv;
  }

  const t3 = () => tiny('t3', 'table3.yaml', 'datasets: {affectnet: {train: 16}, ckplus: {subjects: 10, expressions: 1, imageSize: 64}}');

  it('Table III (a): trained on wild faces, evaluated on lab faces in 10 subject-independent folds', async () => {
    const file = t3();
    await run(file);
    const csv = await checkTable(file);
    assert.match(csv[1].join(','), /^non-occlusion,\d+\.\d\d ± \d+\.\d\d,97\.03,/, 'foldMean ± foldStd beside the paper');
    const [id] = readdirSync(path.join(results, 't3')).filter((d) => /^[0-9a-f]{10}$/.test(d));
    const ev = JSON.parse(readFileSync(path.join(results, 't3', id, 'eval.json'), 'utf8'));
    for (const t of ['nonocc', 'r8', 'r16', 'r24', 'eyes', 'mouth']) assert.equal(ev.tests[t].folds.accuracies.length, 10, t);
  });

  it('Table III (b): fine-tuned from (a) on 9 folds, tested on the held-out fold', async () => {
    const file = tiny(
      't3b',
      'table3-finetune.yaml',
      `datasets: {affectnet: {train: 16}, ckplus: {subjects: 10, expressions: 1, imageSize: 64}}
matrix: {train.data.0.folds.hold: [0, 7]}`,
      `, init: {spec: ${path.join(work, 't3.yaml')}}`,
    );
    await run(file);
    await checkTable(file);
    const dirs = readdirSync(path.join(results, 't3b')).filter((d) => /^[0-9a-f]{10}$/.test(d));
    assert.equal(dirs.length, 4);
    for (const d of dirs) {
      const meta = JSON.parse(readFileSync(path.join(results, 't3b', d, 'meta.json'), 'utf8'));
      assert.match(meta.init.checkpoint.source, /t3\.yaml#[0-9a-f]{10}$/, 'starts from the (a) run of its variant');
    }
  });

  it('Table IV: trained on each wild set, tested on the lab stand-ins (clean, occluded) and the hard set', async () => {
    const file = tiny(
      't4',
      'table4.yaml',
      `datasets:
  affectnet: {train: 16}
  rafdb: {train: 16}
  ckplus: {subjects: 2, expressions: 1, imageSize: 64}
  mmi: {subjects: 2, expressions: 1, imageSize: 64}
  oulu: {subjects: 2, expressions: 1, imageSize: 64}
  sfew: {test: 7}`,
    );
    await run(file);
    await checkTable(file);
  });

  it('Table V: the weighted mix of two wild sets, tested under misleading occluders, VGG16 and ResNet-18', async () => {
    const file = tiny('t5', 'table5.yaml', 'datasets: {rafdb: {train: 8}, affectnet: {train: 12}, fedro: {test: 7}}');
    // The mix: the RAF-DB stand-in twice (weight 2), the AffectNet stand-in once.
    const [first] = expandRuns(await loadSpec(file));
    const data = await prepareRunData(first.config, new DataCache(cache));
    const parts = data.train.samples.map((s) => s.id.split('/').slice(0, 2).join('/'));
    assert.deepEqual([...new Set(parts)].sort(), ['affectnet/0', 'rafdb/0', 'rafdb/1']);
    assert.equal(data.train.samples.length, 2 * 8 + 12);
    await run(file);
    await checkTable(file);
  });
});
