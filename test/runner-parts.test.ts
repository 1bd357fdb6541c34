import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, watch, writeFileSync, existsSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomic.js';
import { acquireRunLock, RunLockedError } from '../src/rundir/index.js';
import { classificationMetrics, learningRate, rocAuc, meanStd } from '../src/train/metrics.js';
import { assembleCells, tableCsv, type TableSpec, type RunRecord } from '../src/report/tables.js';
import { reportRuns } from '../src/report/build.js';
import { writePlan, type PlanFile } from '../src/rundir/index.js';
import { loadSpec, expandRuns } from '../src/spec/index.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'acnn-runner-'));

describe('atomic writes', () => {
  it('replaces a file whole and leaves no temp file behind', async () => {
    const dir = tmp();
    const file = path.join(dir, 'eval.json');
    await writeJsonAtomic(file, { a: 1 });
    await writeFileAtomic(file, 'second');
    assert.equal(readFileSync(file, 'utf8'), 'second');
    assert.deepEqual(readdirSync(dir), ['eval.json']);
  });

  it('a writer killed mid-write never leaves a half-written target', async () => {
    const dir = tmp();
    const file = path.join(dir, 'big.json');
    writeFileSync(file, 'old complete content');
    // A child writes 200 MB atomically and is killed while writing.
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      '-e',
      `import('${path.resolve('src/util/atomic.ts')}').then(m => m.writeFileAtomic(${JSON.stringify(file)}, 'x'.repeat(200e6)))`,
    ]);
    // Killed at the first write into its temp file: mid-write.
    const watcher = watch(dir, (event, name) => {
      if (event === 'change' && String(name).endsWith('.tmp')) child.kill('SIGKILL');
    });
    const [, signal] = await once(child, 'exit');
    watcher.close();
    assert.equal(signal, 'SIGKILL', 'the writer was not killed while writing');
    const content = readFileSync(file, 'utf8');
    assert.ok(content === 'old complete content' || content.length === 200e6, `target is half-written (${content.length} bytes)`);
  });
});

describe('run lock (proper-lockfile)', () => {
  /** A real process that takes the lock of `dir`, says so on stdout, and holds it until killed. */
  async function holder(dir: string) {
    const code = `import('${path.resolve('src/rundir/lock.ts')}').then((m) => m.acquireRunLock(${JSON.stringify(dir)})).then(() => { console.log('locked'); setInterval(() => {}, 1000); })`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout, 'data');
    return child;
  }

  it('stops a second holder and frees on release', async () => {
    const dir = tmp();
    const lock = await acquireRunLock(dir);
    await assert.rejects(acquireRunLock(dir), (e: unknown) => e instanceof RunLockedError && e.holder.pid === process.pid);
    await lock.release();
    const again = await acquireRunLock(dir);
    await again.release();
    assert.equal(existsSync(path.join(dir, 'lock')), false);
    assert.equal(existsSync(path.join(dir, 'lock.owner.json')), false);
  });

  it('two processes never hold one run; the lock of a process that died (SIGKILL) is taken over at once', async () => {
    const dir = tmp();
    const child = await holder(dir);
    await assert.rejects(acquireRunLock(dir), (e: unknown) => e instanceof RunLockedError && e.holder.pid === child.pid);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = await acquireRunLock(dir);
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'lock.owner.json'), 'utf8')).pid, process.pid);
    await lock.release();
  });

  it('from another host, only a stale heartbeat is taken over', async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'lock'));
    writeFileSync(path.join(dir, 'lock.owner.json'), JSON.stringify({ pid: 1, host: 'other-node', startedAt: 'x' }));
    await assert.rejects(acquireRunLock(dir, 60_000), (e: unknown) => e instanceof RunLockedError && e.holder.host === 'other-node');
    const old = new Date(Date.now() - 120_000);
    utimesSync(path.join(dir, 'lock'), old, old);
    const lock = await acquireRunLock(dir, 60_000);
    await lock.release();
  });
});

describe('metrics', () => {
  it('accuracy, per-class accuracy, confusion and standard error', () => {
    const m = classificationMetrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3);
    assert.equal(m.accuracy, 3 / 5);
    assert.deepEqual(m.confusion, [
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    assert.equal(m.perClass.neutral, 0.5);
    assert.equal(m.perClass.anger, 1);
    assert.equal(m.perClass.disgust, 0);
    assert.ok(Math.abs(m.stderr - Math.sqrt(0.6 * 0.4 / 5)) < 1e-12);
  });

  it('AUC: 1 for perfect separation, 0.5 for none, ties count half', () => {
    assert.equal(rocAuc([0.9, 0.8], [0.1, 0.2]), 1);
    assert.equal(rocAuc([0.1, 0.2], [0.9, 0.8]), 0);
    assert.equal(rocAuc([0.5, 0.5], [0.5, 0.5]), 0.5);
    assert.equal(rocAuc([0.3, 0.7], [0.5]), 0.5);
  });

  it('learning-rate policies follow Caffe', () => {
    assert.equal(learningRate(0.01, { type: 'poly', power: 1 }, 0, 100), 0.01);
    assert.ok(Math.abs(learningRate(0.01, { type: 'poly', power: 1 }, 50, 100) - 0.005) < 1e-15);
    assert.ok(Math.abs(learningRate(0.01, { type: 'step', gamma: 0.1, stepSize: 10 }, 25, 100) - 0.0001) < 1e-15);
    assert.equal(learningRate(0.01, { type: 'constant' }, 99, 100), 0.01);
    assert.equal(learningRate(0.01, { type: 'constant' }, 0, 100, 4), 0.0025);
    assert.deepEqual(meanStd([1, 3]), { mean: 2, std: Math.SQRT2 });
  });
});

describe('table assembly', () => {
  const table: TableSpec = {
    id: 't',
    rows: [
      { name: 'VGG16', where: { 'model.variant': 'base' } },
      { name: 'pCNN', where: { 'model.variant': 'pcnn' } },
      { name: 'GAN-Inpainting' },
    ],
    columns: [
      { name: 'clean', metric: 'clean.accuracy' },
      { name: 'occ', metric: 'occluded.accuracy' },
    ],
    paper: { VGG16: { clean: 80.96, occ: 75.26 }, 'GAN-Inpainting': { clean: 81.87 } },
  };
  const run = (id: string, variant: string, seed: number, clean?: number, occ?: number): RunRecord => ({
    id,
    config: { model: { variant }, train: { seed } },
    meta: { runId: id, spec: 's', status: clean === undefined ? 'running' : 'done', step: 0, totalSteps: 1 },
    eval: clean === undefined ? undefined : { tests: { clean: { accuracy: clean } as never, occluded: { accuracy: occ } as never } },
  });

  it('averages seeds, pairs paper values, and marks missing cells instead of dropping them', () => {
    const runs = [run('a', 'base', 1, 0.8, 0.7), run('b', 'base', 2, 0.9, 0.6), run('c', 'pcnn', 1)];
    const cells = assembleCells(table, runs, new Map());
    const vggClean = cells.find((c) => c.row === 'VGG16' && c.column === 'clean')!;
    assert.ok(Math.abs(vggClean.mean! - 85) < 1e-9);
    assert.equal(cells.find((c) => c.row === 'pCNN' && c.column === 'clean')!.pending, 1);
    const csv = tableCsv(table, cells).trim().split('\n');
    assert.equal(csv[0], 'method,clean,clean (paper),occ,occ (paper)');
    assert.equal(csv[1], 'VGG16,85.00 ± 7.07,80.96,65.00 ± 7.07,75.26');
    assert.equal(csv[2], 'pCNN,NA,NA,NA,NA');
    assert.equal(csv[3], 'GAN-Inpainting,NA,81.87,NA,NA');
  });
});

describe('which runs a report covers', () => {
  it("plan.json of this spec file; the spec's expansion without one, with --set, or when the plan is another file's", async () => {
    const results = tmp();
    const loaded = await loadSpec(path.resolve('test/fixtures/specs/good.yaml'));
    const expanded = expandRuns(loaded).map((r) => r.id);
    assert.deepEqual((await reportRuns(loaded, results)).source, 'spec');
    const plan: PlanFile = { version: 1, spec: 'good', specFile: loaded.file, sets: ['train.iterations=2'], createdAt: 'then', runs: [{ id: 'abc', index: 0, label: 'x', config: {} as never }] };
    await writePlan(results, plan);
    const fromPlan = await reportRuns(loaded, results);
    assert.equal(fromPlan.source, 'plan');
    assert.deepEqual(fromPlan.runs.map((r) => r.id), ['abc']);
    assert.deepEqual((await reportRuns(loaded, results, { replan: true })).runs.map((r) => r.id), expanded);
    await writePlan(results, { ...plan, specFile: '/elsewhere/best.yaml' });
    const foreign = await reportRuns(loaded, results);
    assert.equal(foreign.source, 'spec');
    assert.match(foreign.ignoredPlan!, /best\.yaml/);
    assert.deepEqual(foreign.runs.map((r) => r.id), expanded);
  });
});
