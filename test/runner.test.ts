import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, repoRoot } from './helpers/cli.js';
import { tinyPacnnYaml } from './helpers/tiny-spec.js';

const mainTs = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** A spec small enough to train in seconds: real synthetic faces, a real (tiny) pACNN. */
function tinySpec(dir: string, extra = ''): string {
  const file = path.join(dir, 'tiny.yaml');
  writeFileSync(
    file,
    `${tinyPacnnYaml()}table:
  id: tiny
  rows: [{name: pACNN, where: {model.variant: pacnn}}, {name: GAN-Inpainting}]
  columns: [{name: clean, metric: clean.accuracy}, {name: occluded, metric: occluded.accuracy}]
  paper: {pACNN: {clean: 83.27, occluded: 78.05}}
${extra}`,
  );
  return file;
}

const args = (spec: string, results: string, cache: string) => ['run', spec, '--backend', 'wasm', '--results', results, '--cache', cache, '--json'];
const events = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
const runDirOf = (results: string) => {
  const base = path.join(results, 'tiny');
  const id = readdirSync(base).find((d) => /^[0-9a-f]{6,}$/.test(d))!;
  return path.join(base, id);
};

describe('acnn run (end to end, WebAssembly backend)', function () {
  this.timeout(240_000);
  const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-run-'));
  const cache = path.join(work, 'cache');
  const spec = tinySpec(work);
  const resultsA = path.join(work, 'a');

  it('trains, evaluates, writes the run directory and the table; a second run redoes nothing', async () => {
    const first = await runCli(args(spec, resultsA, cache), { timeoutMs: 180_000 });
    assert.equal(first.code, 0, first.stderr);
    const dir = runDirOf(resultsA);
    for (const f of ['config.json', 'meta.json', 'metrics.jsonl', 'eval.json', 'confusion-clean.csv', 'confusion-occluded.csv']) {
      assert.ok(existsSync(path.join(dir, f)), `${f} missing`);
    }
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    assert.equal(meta.status, 'done');
    assert.equal(meta.backend.name, 'wasm');
    assert.equal(meta.step, 8);
    const evalFile = JSON.parse(readFileSync(path.join(dir, 'eval.json'), 'utf8'));
    assert.equal(evalFile.tests.clean.n, 24);
    assert.equal(evalFile.tests.clean.confusion.flat().reduce((a: number, b: number) => a + b, 0), 24);
    // Every metric a table may name: mean class accuracy and the mean test cross-entropy too.
    assert.ok(evalFile.tests.clean.meanClassAccuracy >= 0 && evalFile.tests.clean.meanClassAccuracy <= 1);
    assert.ok(Number.isFinite(evalFile.tests.clean.loss) && evalFile.tests.clean.loss > 0);
    // pACNN has gates: the occluded set reports how alpha and the feature norms treat covered patches.
    const occ = evalFile.tests.occluded.patches.occlusion;
    assert.ok(occ.covered > 0 && occ.covered < occ.patches, JSON.stringify(occ));
    for (const score of [occ.alpha, occ.norm]) assert.ok(score.auc >= 0 && score.auc <= 1 && Math.abs(score.spearman) <= 1, JSON.stringify(score));
    assert.equal(evalFile.tests.clean.patches.occlusion, undefined);
    // The attention-map figure's input: the first test images with their gates.
    const samples = JSON.parse(readFileSync(path.join(dir, 'samples', 'occluded.json'), 'utf8')).samples;
    assert.equal(samples.length, 8);
    assert.equal(samples[0].alpha.length, 24);
    assert.equal(samples[0].coverage.length, 24);
    assert.ok(existsSync(path.join(dir, 'samples', samples[0].image)));
    const rows = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 8);
    // Tensor memory stays flat over the run (from the second step: the first creates optimizer slots).
    assert.deepEqual(new Set(rows.slice(1).map((r) => r.tensors)).size, 1, JSON.stringify(rows.map((r) => r.tensors)));
    const csv = readFileSync(path.join(resultsA, 'tiny', 'tiny.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'method,clean,clean (paper),occluded,occluded (paper)');
    assert.match(csv[1], new RegExp(`^pACNN,${(100 * evalFile.tests.clean.accuracy).toFixed(2)},83.27,`));
    assert.equal(csv[2], 'GAN-Inpainting,NA,NA,NA,NA');

    const evalMtime = statSync(path.join(dir, 'eval.json')).mtimeMs;
    const second = await runCli(args(spec, resultsA, cache), { timeoutMs: 60_000 });
    assert.equal(second.code, 0, second.stderr);
    const ev = events(second.stdout);
    assert.ok(ev.some((e) => e.type === 'run-skip'));
    assert.ok(!ev.some((e) => e.type === 'step'), 'a finished run was trained again');
    assert.equal(statSync(path.join(dir, 'eval.json')).mtimeMs, evalMtime);

    const status = await runCli(['status', spec, '--results', resultsA]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /done\s+8\/8/);
    const tables = await runCli(['tables', spec, '--results', resultsA]);
    assert.equal(tables.code, 0, tables.stderr);
    assert.equal(tables.stdout.trim().split('\n')[1], csv[1]);
  });

  it('a run killed with SIGKILL resumes from its checkpoint and ends with the same metrics', async () => {
    const resultsB = path.join(work, 'b');
    const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args(spec, resultsB, cache)], { cwd: repoRoot });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        // Kill right after the second checkpoint (step 4 of 8): mid-run, with work after it to lose.
        if (events(out).some((e) => e.type === 'checkpoint' && (e.step as number) >= 4)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`run ended before it could be killed:\n${out}`)));
    }).catch((e) => {
      throw e;
    });
    await new Promise((r) => child.on('close', r));
    const dir = runDirOf(resultsB);
    assert.notEqual(JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')).status, 'done');

    const resumed = await runCli(args(spec, resultsB, cache), { timeoutMs: 180_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    const start = events(resumed.stdout).find((e) => e.type === 'run-start')!;
    assert.ok((start.resumeStep as number) >= 4, `did not resume: ${JSON.stringify(start)}`);

    const a = JSON.parse(readFileSync(path.join(runDirOf(resultsA), 'eval.json'), 'utf8'));
    const b = JSON.parse(readFileSync(path.join(dir, 'eval.json'), 'utf8'));
    assert.deepEqual(b, a);
    const losses = (d: string) =>
      readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).loss);
    assert.deepEqual(losses(dir), losses(runDirOf(resultsA)));
  });

  it('Ctrl-C (SIGINT) checkpoints, marks the run interrupted and exits 130; the next run finishes it', async () => {
    const results = path.join(work, 'sigint');
    const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args(spec, results, cache)], { cwd: repoRoot });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!child.killed && events(out).some((e) => e.type === 'step' && (e.step as number) >= 3)) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    assert.equal(code, 130, out);
    const dir = runDirOf(results);
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    assert.equal(meta.status, 'interrupted');
    assert.ok(meta.step >= 3 && meta.step < 8, `step ${meta.step}`);
    assert.ok(existsSync(path.join(dir, 'checkpoint', 'model.json')));
    const again = await runCli(args(spec, results, cache), { timeoutMs: 180_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(events(again.stdout).find((e) => e.type === 'run-start')!.resumeStep, meta.step);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'eval.json'), 'utf8')), JSON.parse(readFileSync(path.join(runDirOf(resultsA), 'eval.json'), 'utf8')));
  });

  it('a loss that becomes NaN stops the run with a clear message and keeps the last good checkpoint', async () => {
    const results = path.join(work, 'nan');
    const res = await runCli([...args(spec, results, cache), '--set', 'train.lr=1e30'], { timeoutMs: 180_000 });
    assert.equal(res.code, 1, res.stderr);
    const end = events(res.stdout).find((e) => e.type === 'run-end')!;
    assert.equal(end.status, 'failed');
    assert.match(String(end.error), /loss became (NaN|Infinity|-Infinity) at step \d+.*last good checkpoint/);
    const meta = JSON.parse(readFileSync(path.join(runDirOf(results), 'meta.json'), 'utf8'));
    assert.equal(meta.status, 'failed');
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  });

  it('--workers 2 trains the runs of a spec in two processes and writes one table; --force redoes them', async () => {
    const file = path.join(work, 'two.yaml');
    writeFileSync(
      file,
      `name: two
datasets:
  synthetic: {format: synthetic, train: 32, test: 16, seed: 3, imageSize: 32}
model: {backbone: vgg16, variant: base, inputSize: 32, width: 0.125}
train: {data: [{dataset: synthetic, split: train}], batchSize: 8, iterations: 2}
test: {clean: {dataset: synthetic, split: test}}
matrix: {model.variant: [base, pcnn]}
table:
  id: two
  rows: [{name: VGG16, where: {model.variant: base}}, {name: pCNN, where: {model.variant: pcnn}}]
  columns: [{name: clean, metric: clean.accuracy}]
`,
    );
    const results = path.join(work, 'two');
    const run = (...extra: string[]) => runCli(['run', file, '--backend', 'wasm', '--workers', '2', '--results', results, '--cache', cache, '--set', 'train.iterations=3', ...extra], { timeoutMs: 180_000 });
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /runs: 2 done/);
    const csv = readFileSync(path.join(results, 'two', 'two.csv'), 'utf8').trim().split('\n');
    assert.match(csv[1], /^VGG16,\d+\.\d\d,NA$/);
    assert.match(csv[2], /^pCNN,\d+\.\d\d,NA$/);
    const dirs = readdirSync(path.join(results, 'two')).filter((d) => /^[0-9a-f]{10}$/.test(d));
    assert.equal(dirs.length, 2);
    const meta = (d: string) => JSON.parse(readFileSync(path.join(results, 'two', d, 'meta.json'), 'utf8'));
    for (const d of dirs) assert.equal(meta(d).totalSteps, 3, 'the --set reached the workers');

    // `acnn tables` needs no --set: the runs come from plan.json, their configs from the run directories.
    const tables = await runCli(['tables', file, '--results', results]);
    assert.equal(tables.code, 0, tables.stderr);
    assert.deepEqual(tables.stdout.trim().split('\n'), csv);
    assert.match(tables.stderr, /plan\.json/);

    const started = dirs.map((d) => meta(d).startedAt);
    const again = await run();
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(dirs.map((d) => meta(d).startedAt), started, 'finished runs are not redone without --force');
    const forced = await run('--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /runs: 2 done/);
    for (const [i, d] of dirs.entries()) {
      assert.notEqual(meta(d).startedAt, started[i], `run ${d} was not redone with --force`);
      assert.equal(meta(d).status, 'done');
    }
  });

  it('stops before any training when a dataset is missing, naming the path and the env variable', async () => {
    // Without the ImageNet weights the run would stop at those first (runner-init.test.ts): trained from scratch here.
    const res = await runCli(['run', path.join(repoRoot, 'configs', 'table2.yaml'), '--set', 'model.pretrained=null', '--results', path.join(work, 't2')], {
      env: { RAFDB_ROOT: path.join(work, 'no-such-rafdb'), AFFECTNET_ROOT: path.join(work, 'no-such-affectnet') },
      timeoutMs: 60_000,
    });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /no-such-rafdb/);
    assert.match(res.stderr, /RAFDB_ROOT/);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
    assert.equal(existsSync(path.join(work, 't2')), false);
  });
});
