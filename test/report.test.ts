/**
 * acnn report: REPORT.md's tables (values, standard errors and their kind, run counts), the
 * derived comparisons and gate findings, the figures (valid PNGs of the expected size), and
 * byte-identical regeneration; run directories written directly with chosen numbers, and one
 * real tiny run through `acnn run --report`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadSpec, expandRuns } from '../src/spec/index.js';
import { writeReport } from '../src/report/write-report.js';
import { aucSe, seOfMean, verdict } from '../src/report/stats.js';
import { comparisonLines, type CellStat } from '../src/report/table-section.js';
import { protocolDifferences } from '../src/report/paper-protocol.js';
import { conditionsOf } from '../src/report/conditions.js';
import type { ReportRun } from '../src/report/source.js';
import { runCli, repoRoot } from './helpers/cli.js';
import { plannedRuns, writeReportSpec, writeRunDir, type RunSpec } from './helpers/report-fixture.js';
import { tinyPacnnYaml } from './helpers/tiny-spec.js';

/** base, pacnn, gacnn x seeds 1, 2 (plan order); gACNN seed 2 unfinished. */
const FIXTURE: RunSpec[] = [
  { clean: { correct: 35 }, occluded: { correct: 28 } },
  { clean: { correct: 42 }, occluded: { correct: 31 } },
  { clean: { correct: 49 }, occluded: { correct: 28, alphaAuc: 0.7, normAuc: 0.3 } },
  { clean: { correct: 56 }, occluded: { correct: 35, alphaAuc: 0.5, normAuc: 0.5 } },
  { clean: { correct: 42, globalClean: 0.4 }, occluded: { correct: 35, alphaAuc: 0.6, normAuc: 0.5, globalClean: 0.4, globalOccluded: 0.55 } },
  { clean: { correct: 0 }, occluded: { correct: 0 }, unfinished: true },
];

async function fixture(): Promise<{ work: string; spec: string; results: string }> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-report-'));
  const spec = writeReportSpec(work);
  const results = path.join(work, 'results');
  const runs = await plannedRuns(spec);
  for (const [i, run] of runs.entries()) await writeRunDir(results, run, FIXTURE[i]);
  return { work, spec, results };
}

/** The Markdown table row whose first cells are `cells`, split into cells. */
function tableRow(md: string, ...cells: string[]): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${cells.join(' | ')} |`));
  assert.ok(line, `no table row for ${cells.join(' | ')}`);
  return line.split('|').slice(1, -1).map((c) => c.trim());
}

const hashFiles = (dir: string) =>
  Object.fromEntries(
    ['REPORT.md', ...readdirSync(path.join(dir, 'figures')).map((f) => `figures/${f}`)].sort().map((f) => [f, readFileSync(path.join(dir, f)).toString('base64')]),
  );

describe('report statistics', () => {
  it('standard error of a mean, of an AUC (Hanley-McNeil), and the 2-SE verdict', () => {
    assert.equal(seOfMean([50, 60]), 5);
    assert.equal(seOfMean([50]), undefined);
    // A = 0.5, 100 positives, 100 negatives: sqrt((0.25 + 99/6) / 100^2) = 0.04093.
    assert.ok(Math.abs(aucSe(0.5, 100, 100)! - 0.04093) < 1e-5);
    assert.equal(aucSe(0.5, 0, 10), undefined);
    assert.equal(verdict(5, 2), 'higher');
    assert.equal(verdict(-5, 2), 'lower');
    assert.equal(verdict(3, 2), 'level');
    assert.equal(verdict(3, undefined), 'unknown');
  });

  it("lists how the paper's Table II config departs from the paper: only the occluders", async () => {
    const runs = expandRuns(await loadSpec(path.join(repoRoot, 'configs', 'table2.yaml'))).map(
      (r, index): ReportRun => ({ id: r.id, index, config: r.config as unknown as Record<string, unknown>, metrics: [], dir: '' }),
    );
    assert.deepEqual(
      protocolDifferences(runs).map((d) => d.what),
      ['occluders'],
    );
    const quick = expandRuns(await loadSpec(path.join(repoRoot, 'configs', 'quickstart.yaml'))).map(
      (r, index): ReportRun => ({ id: r.id, index, config: r.config as unknown as Record<string, unknown>, metrics: [], dir: '' }),
    );
    const what = protocolDifferences(quick).map((d) => d.what);
    for (const w of ['data', 'input size', 'channel width', 'initialisation', 'optimiser', 'batch', 'updates', 'dropout']) assert.ok(what.includes(w), `${w} missing: ${what}`);
    // Seeds are one condition; the tags name it.
    assert.deepEqual(
      conditionsOf(quick).map((c) => c.label),
      ['VGG16', 'DLP-CNN', 'pCNN', 'pACNN', 'gCNN', 'gACNN'],
    );
  });
});

describe('acnn report (run directories written directly)', function () {
  this.timeout(120_000);
  let fx: Awaited<ReturnType<typeof fixture>>;
  let md: string;
  const outDir = () => path.join(fx.results, 'rep');

  before(async () => {
    fx = await fixture();
    const r = await writeReport(await loadSpec(fx.spec), { resultsDir: fx.results });
    assert.equal(r.file, path.join(outDir(), 'REPORT.md'));
    assert.equal(r.finished, 5);
    assert.equal(r.planned, 6);
    md = readFileSync(r.file, 'utf8');
  });

  it('tables: mean ± SE over seeds (s) or binomial (b), paper values, run counts, paper-only rows', () => {
    assert.deepEqual(tableRow(md, 'VGG16'), ['VGG16', '55.00 ± 5.00 s', '80.96', '42.14 ± 2.14 s', '75.26', '2']);
    assert.deepEqual(tableRow(md, 'pACNN'), ['pACNN', '75.00 ± 5.00 s', '83.27', '45.00 ± 5.00 s', '78.05', '2']);
    // sqrt(0.6 * 0.4 / 70) = 5.86 points; sqrt(0.25 / 70) = 5.98.
    assert.deepEqual(tableRow(md, 'gACNN'), ['gACNN', '60.00 ± 5.86 b', '85.07', '50.00 ± 5.98 b', '80.54', '1 (+1 not finished)']);
    assert.deepEqual(tableRow(md, 'GAN-Inpainting'), ['GAN-Inpainting', 'not run', '81.87', 'not run', '75.66', '–']);
    assert.match(md, /s = standard error of the mean over seeds/);
    assert.match(md, /b = binomial standard error of the accuracy over the test set/);
    assert.match(md, /Chance is 14\.3% \(7 classes/);
    assert.match(md, /The test sets are balanced/);
    assert.match(md, /5 finished runs of 6 planned \(1 not finished: left out of every number and figure\)/);
  });

  it("comparisons are derived from the numbers: difference, SE of the difference, verdict, the paper's difference", () => {
    // 75 - 55 = +20, SE sqrt(5^2 + 5^2) = 7.07: 2.8 SE.
    assert.match(md, /pACNN vs VGG16 \(the gated patch model over the plain backbone\), clean: \+20\.0 points \(2\.8 SE of the difference\): pACNN higher; paper \+2\.31, same direction/);
    // 45 - 42.14 = +2.9, SE sqrt(25 + 4.59) = 5.44: 0.5 SE.
    assert.match(md, /pACNN vs VGG16 \([^)]*\), occluded: \+2\.9 points \(0\.5 SE of the difference\): not distinguishable at 2 SE; paper \+2\.79/);
    // 60 - 75 = -15, SE sqrt(5.86^2 + 25) = 7.70: 1.9 SE.
    assert.match(md, /gACNN vs pACNN \(the gated global branch\), clean: -15\.0 points \(1\.9 SE of the difference\): not distinguishable/);
  });

  it('comparisons name the cells by what differs: the columns when the variants are columns (Tables III and V)', () => {
    const cell = (row: string, column: string, variant: string, mean: number): CellStat => ({
      row, column, metric: 'fedro.accuracy', mean, se: 2, seKind: 'binomial', runs: 1, pending: 0, missing: 0, paperOnly: false, variant, runIds: [],
    });
    const lines = comparisonLines([
      { column: 'base / pCNN', a: cell('VGG16', 'base', 'base', 16), b: cell('VGG16', 'pCNN', 'pcnn', 39), what: 'region decomposition', diff: 23, se: 2.83 },
      { column: 'clean', a: cell('VGG16', 'clean', 'base', 50), b: cell('pCNN', 'clean', 'pcnn', 60), what: 'region decomposition', diff: 10, se: 2.83 },
    ]);
    assert.match(lines[0]!, /^pCNN vs base \(region decomposition\), VGG16: \+23\.0 points \(8\.1 SE of the difference\): pCNN higher$/);
    assert.match(lines[1]!, /^pCNN vs VGG16 \(region decomposition\), clean: \+10\.0 points/);
  });

  it('gate diagnostics: AUCs with their SE and what they say, per run; the global weight clean vs occluded', () => {
    const row = tableRow(md, 'pACNN, seed 1', 'occluded');
    assert.ok(row.includes('0.700 ± 0.037'), row.join(' | '));
    assert.match(md, /pACNN, seed 1, occluded \(100 of 200 patches covered\): the gates are lower on covered patches \(AUC 0\.700/);
    assert.match(md, /the patch feature norms are higher on covered patches, the opposite of down-weighting them \(AUC 0\.300/);
    assert.match(md, /pACNN, seed 2, occluded \(100 of 200 patches covered\): the gates do not tell covered from uncovered patches \(AUC 0\.500 ± 0\.041\)/);
    assert.match(md, /gACNN, seed 1: global weight 0\.400 on clean, 0\.550 on occluded \(\+0\.150\)/);
  });

  it('settings once, what differs per run, provenance from meta.json, the spec comment and protocol differences', () => {
    assert.match(md, /```yaml\n[^`]*model\.inputSize: 32\n/);
    assert.doesNotMatch(md, /```yaml\n[^`]*model\.variant:/, 'the variant differs between runs: not a shared setting');
    const run = tableRow(md, 'gACNN, seed 2');
    assert.ok(run.includes('running') && run.includes('4/10') && run.includes('gacnn'), run.join(' | '));
    assert.match(md, /- host: testhost\n- backend: wasm 4\.22\.0 \(WebAssembly SIMD, 1 thread\)\n/);
    assert.match(md, /- git commit: 0123456789ab\n/);
    assert.match(md, /5 finished runs: 6 min 40 s of training, 7 min 30 s of wall time/);
    assert.match(md, /> A small spec for report tests\.\n> Second comment line\./);
    assert.match(md, /\| input size \| 224 px \| 32 px \|/);
  });

  it('figures: each a valid PNG of the size its layout gives, linked from REPORT.md', async () => {
    const expected: Record<string, [number, number]> = {
      // 3 panels of 440 x 480 in a row, 10 px gaps, 36 px title.
      'confusion-clean.png': [1360, 536],
      'confusion-occluded.png': [1360, 536],
      // 2 gated conditions x (4 faces x 2 test sets) tiles of 150 px.
      'attention.png': [1432, 556],
      // loss, accuracy, and two eval panels of 600 x 360, two a row.
      'curves.png': [1230, 786],
      // pACNN seeds 1 and 2 and gACNN seed 1 on the occluded set, 560 x 340, two a row.
      'gate-histogram.png': [1150, 746],
    };
    const dir = path.join(outDir(), 'figures');
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(expected).sort());
    for (const [file, [w, h]] of Object.entries(expected)) {
      const img = sharp(path.join(dir, file));
      const meta = await img.metadata();
      assert.equal(meta.format, 'png', file);
      assert.deepEqual([meta.width, meta.height], [w, h], file);
      const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
      assert.equal(data.length, w * h * info.channels, `${file}: decodes whole`);
      // Not a blank canvas: some pixels are dark (text, lines).
      let dark = 0;
      for (let i = 0; i < data.length; i += info.channels) if (data[i] < 100) dark++;
      assert.ok(dark > 200, `${file}: only ${dark} dark pixels`);
      assert.ok(md.includes(`(figures/${file})`), `${file} not linked`);
    }
  });

  it('a second report from the same run directories is byte-identical; stale figures are removed', async () => {
    const first = hashFiles(outDir());
    writeFileSync(path.join(outDir(), 'figures', 'confusion-gone.png'), 'old');
    await writeReport(await loadSpec(fx.spec), { resultsDir: fx.results });
    assert.deepEqual(hashFiles(outDir()), first);
  });
});

describe('acnn report on configs/gates.yaml (30 runs, AUC columns, no paper values)', function () {
  this.timeout(120_000);

  it('gate metrics of ungated variants are n/a, AUCs have 3 decimals, conditions with one tag are told apart', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-report-gates-'));
    const loaded = await loadSpec(path.join(repoRoot, 'configs', 'gates.yaml'));
    const results = path.join(work, 'results');
    for (const run of expandRuns(loaded)) {
      // Seeds 1, 2, 3 give alpha AUC 0.55, 0.60, 0.65: mean 0.600, SE 0.05 / sqrt(3) = 0.029.
      const seed = (run.config as unknown as { train: { seed: number } }).train.seed;
      await writeRunDir(results, run, { clean: { correct: 35 }, occluded: { correct: 28, alphaAuc: 0.5 + seed / 20, normAuc: 0.45 } }, 'gates');
    }
    const r = await writeReport(loaded, { resultsDir: results });
    const md = readFileSync(r.file, 'utf8');
    assert.equal(r.finished, 30);
    const header = md.split('\n').find((l) => l.startsWith('| method |'))!;
    assert.doesNotMatch(header, /paper/, 'no paper column when the paper has no value for it');
    const pcnn = tableRow(md, 'pCNN');
    assert.deepEqual([pcnn[3], pcnn[pcnn.length - 1]], ['n/a', '3']);
    assert.equal(tableRow(md, 'pACNN')[3], '0.600 ± 0.029');
    assert.match(md, /n\/a: the runs of the cell have no such metric/);
    assert.ok(md.includes('| pACNN + gate loss (occluders=misleading), seed 3 | occluded |'), 'gate rows name the occluder family');
  });
});

describe('acnn report when no patch is covered enough for an AUC', function () {
  this.timeout(120_000);

  // Table III's R8 blocks never cover half of a patch window: evaluation's AUCs are undefined,
  // and eval.json stores them as null. The report says so instead of failing (it once did).
  it('undefined AUCs (null in eval.json) read as "no AUC" in the text, n/a in the histogram titles', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-report-noauc-'));
    const loaded = await loadSpec(path.join(repoRoot, 'configs', 'gates.yaml'));
    const results = path.join(work, 'results');
    for (const run of expandRuns(loaded)) {
      await writeRunDir(results, run, { clean: { correct: 35 }, occluded: { correct: 28, alphaAuc: Number.NaN, normAuc: Number.NaN } }, 'gates');
    }
    const r = await writeReport(loaded, { resultsDir: results });
    const md = readFileSync(r.file, 'utf8');
    assert.match(md, /the gates: no AUC \(no covered or no uncovered patches\)/);
    assert.match(md, /the patch feature norms: no AUC/);
    assert.ok(r.figures.some((f) => f.endsWith('gate-histogram.png')), 'the histogram is still drawn');
  });
});

describe('acnn report (command line)', function () {
  this.timeout(180_000);

  it('--out writes elsewhere and says where; no finished run is exit 2 naming acnn run', async () => {
    const fx = await fixture();
    const out = path.join(fx.work, 'elsewhere');
    const res = await runCli(['report', fx.spec, '--results', fx.results, '--out', out]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.split('\n')[0], path.join(out, 'REPORT.md'));
    assert.match(readFileSync(path.join(out, 'REPORT.md'), 'utf8'), /from the run directories in `\.\.\/results\/rep`/);
    assert.ok(existsSync(path.join(out, 'figures', 'attention.png')));
    const empty = path.join(fx.work, 'empty');
    mkdirSync(empty);
    const none = await runCli(['report', fx.spec, '--results', empty]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no finished run .*acnn run/);
  });

  it('acnn run --report trains a tiny real pACNN and writes the report with its attention map', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-run-report-'));
    const spec = path.join(work, 'tiny.yaml');
    writeFileSync(spec, tinyPacnnYaml());
    const results = path.join(work, 'results');
    const res = await runCli(['run', spec, '--backend', 'wasm', '--workers', '1', '--results', results, '--cache', path.join(work, 'cache'), '--report'], { timeoutMs: 170_000 });
    assert.equal(res.code, 0, res.stderr);
    const report = path.join(results, 'tiny', 'REPORT.md');
    assert.match(res.stderr, new RegExp(`report: ${report.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(1 of 1 runs finished, 5 figures\\)`));
    const md = readFileSync(report, 'utf8');
    assert.match(md, /The spec has no `table:` section/);
    assert.match(md, /\| pacnn \| occluded \|/);
    const png = await sharp(path.join(results, 'tiny', 'figures', 'attention.png')).metadata();
    // One gated condition, 4 faces x 2 test sets.
    assert.deepEqual([png.width, png.height], [1432, 340]);
    // Evaluation saved the crop windows the attention map shades.
    const runDir = readdirSync(path.join(results, 'tiny')).find((d) => /^[0-9a-f]{6,}$/.test(d))!;
    const sample = JSON.parse(readFileSync(path.join(results, 'tiny', runDir, 'samples', 'occluded.json'), 'utf8')).samples[0];
    assert.equal(sample.corners.length, 48);
    assert.ok(sample.corners.every((c: number) => c % 8 === 0));
    // Without --report, acnn run names the report: up to date while no run finished after it...
    const again = await runCli(['run', spec, '--backend', 'wasm', '--results', results, '--cache', path.join(work, 'cache')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /report: .*REPORT\.md \(up to date with the finished runs\)/);
    // ...and from an earlier acnn report once a run's evaluation is newer.
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(results, 'tiny', runDir, 'eval.json'), later, later);
    const third = await runCli(['run', spec, '--backend', 'wasm', '--results', results, '--cache', path.join(work, 'cache')]);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, /report: .*REPORT\.md is from an earlier acnn report; acnn report /);
  });
});
