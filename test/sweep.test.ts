import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { bestSpecText, combineStatus, flatDiff, summarize, summaryCsv, sweepState, trialsFrom, writeManifest, manifestTrials } from '../src/sweep/index.js';
import type { Trial } from '../src/sweep/index.js';
import { LocalLauncher, acnnCommand, arraySpec, parseSqueue, runDirArgs, sbatchScript, type LocalLauncherOptions } from '../src/launch/index.js';
import { FAKE_PROGRAM, RecordingDisplay, gridTrials, invocations, jobsOf, tinySpec } from './sweep-helpers.js';

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'acnn-sweep-'));
}

function writeRun(specResults: string, id: string, meta: Record<string, unknown>, evalTests?: Record<string, unknown>) {
  const dir = path.join(specResults, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ runId: id, step: 0, totalSteps: 5, ...meta }));
  if (evalTests) writeFileSync(path.join(dir, 'eval.json'), JSON.stringify({ tests: evalTests }));
}

describe('sweep: planning pieces', () => {
  it('flatDiff finds changed leaves; lists are replaced whole', () => {
    assert.deepEqual(flatDiff({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { b: 2, c: [1, 2] }, d: 'x', e: true }), { 'a.b': 2, e: true });
    assert.deepEqual(flatDiff({ a: [1] }, { a: [1, 2] }), { a: [1, 2] });
  });

  it('flatDiff indexes lists of maps (util/dotted.ts), so a changed entry is one key', () => {
    const a = { train: { data: [{ dataset: 'a', split: 'train' }] } };
    const b = { train: { data: [{ dataset: 'b', split: 'train' }] } };
    assert.deepEqual(flatDiff(a, b), { 'train.data.0.dataset': 'b' });
  });

  it('trials get their differences from the nearest base run as overrides, varying keys as values', () => {
    const base = { model: { variant: 'base', width: 0.25 }, train: { lr: 0.01, seed: 1 }, tags: {} };
    const mk = (id: string, lr: number, seed: number) => ({ id, index: 0, config: { ...base, train: { lr, seed } }, differs: { 'train.lr': lr } });
    const runs = [mk('a', 0.01, 1), mk('b', 0.1, 1), mk('c', 0.01, 2)] as unknown as Parameters<typeof trialsFrom>[0];
    const trials = trialsFrom(runs, [{ id: 'base', index: 0, config: base, differs: {} }] as unknown as Parameters<typeof trialsFrom>[1]);
    assert.deepEqual(trials.map((t) => t.overrides), [{}, { 'train.lr': 0.1 }, { 'train.seed': 2 }]);
    assert.deepEqual(trials[2].values, { 'train.lr': 0.01, 'train.seed': 2 });
    assert.deepEqual(trials.map((t) => t.index), [0, 1, 2]);
  });

  it('a job runs as `acnn run-dir <dir>` with every flag of the launch', () => {
    assert.deepEqual(runDirArgs('/r/k/abc', { force: true, backend: 'cpu', cacheDir: '/c' }, true), ['run-dir', '/r/k/abc', '--json', '--force', '--backend', 'cpu', '--cache', '/c']);
    assert.deepEqual(runDirArgs('/r/k/abc', {}, false), ['run-dir', '/r/k/abc']);
    const cmd = acnnCommand();
    assert.equal(cmd[0], process.execPath);
    assert.ok(existsSync(cmd[cmd.length - 1]), cmd.join(' '));
  });
});

describe('sweep: slurm pieces', () => {
  it('array specs are compact ranges with the %P throttle', () => {
    assert.equal(arraySpec([0, 1, 2, 3, 4, 5, 6, 7], 2), '0-7%2');
    assert.equal(arraySpec([5, 0, 1, 3], 0), '0-1,3,5');
    assert.equal(arraySpec([4]), '4');
  });

  it('writes one sbatch array script from settings', () => {
    const text = sbatchScript({
      jobName: 'acnn-k',
      array: '0-7%2',
      settings: { partition: 'gpu', time: '02:00:00', gpus: 1, cpus: 4, mem: '8G', extraArgs: ['--constraint=a100'] },
      logDir: '/r/k/sweep/slurm',
      cwd: '/work dir',
      tasks: [{ index: 0, dir: '/r/k/aaa' }, { index: 7, dir: '/r/k/my run' }],
      program: ['/usr/bin/node', '/acnn/dist/cli/main.js'],
      flags: { backend: 'cpu', cacheDir: '/w/.cache' },
    });
    for (const line of [
      '#SBATCH --array=0-7%2',
      '#SBATCH --partition=gpu',
      '#SBATCH --time=02:00:00',
      '#SBATCH --gpus=1',
      '#SBATCH --cpus-per-task=4',
      '#SBATCH --mem=8G',
      '#SBATCH --requeue',
      '#SBATCH --output=/r/k/sweep/slurm/%A_%a.out',
      '#SBATCH --chdir=/work dir',
      '#SBATCH --constraint=a100',
      'RUN_DIRS[0]=/r/k/aaa',
      "RUN_DIRS[7]='/r/k/my run'",
      'exec /usr/bin/node /acnn/dist/cli/main.js run-dir "$dir" --backend cpu --cache /w/.cache',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing line: ${line}\n${text}`);
    }
    assert.ok(text.startsWith('#!/bin/bash\n'));
    assert.ok(!text.includes('--gpus=0'));
  });

  it("each array task execs the run directory listed for its index; an index not listed fails", () => {
    const root = tmp();
    const file = path.join(root, 'array.sbatch');
    const tasks = [{ index: 2, dir: '/r/k/two' }, { index: 5, dir: "/r/k/it's five" }];
    writeFileSync(file, sbatchScript({ jobName: 'j', array: '2,5', settings: {}, logDir: root, cwd: root, tasks, program: ['/bin/echo', 'runner'], flags: { force: true } }));
    const task = (id: number) => spawnSync('bash', [file], { encoding: 'utf8', env: { ...process.env, SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_JOB_ID: '9' } });
    assert.match(task(5).stdout, /^runner run-dir \/r\/k\/it's five --force$/m);
    assert.match(task(2).stdout, /^runner run-dir \/r\/k\/two --force$/m);
    const missing = task(3);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /array task 3 has no run directory/);
    rmSync(root, { recursive: true, force: true });
  });

  it('parses squeue array task lines', () => {
    const q = parseSqueue('12_0|RUNNING|None\n12_3|PENDING|JobArrayTaskLimit\n13_1|RUNNING|None\n', '12');
    assert.deepEqual([...q.keys()], [0, 3]);
    assert.equal(q.get(3)!.reason, 'JobArrayTaskLimit');
  });

  it('combines run directory and queue into one status', () => {
    const q = { jobId: '1', taskId: 0, state: 'PENDING' };
    assert.equal(combineStatus({ status: 'done' }, undefined, true), 'done');
    assert.equal(combineStatus(undefined, q, true), 'queued');
    assert.equal(combineStatus({ status: 'running' }, { ...q, state: 'RUNNING' }, true), 'running');
    assert.equal(combineStatus({ status: 'running' }, undefined, true), 'interrupted');
    assert.equal(combineStatus({ status: 'running', host: os.hostname(), pid: process.pid }, undefined, false), 'running');
    assert.equal(combineStatus({ status: 'running', host: os.hostname(), pid: 2 ** 22 + 7 }, undefined, false), 'interrupted');
    assert.equal(combineStatus(undefined, undefined, false), 'pending');
    assert.equal(combineStatus(undefined, undefined, true), 'failed');
  });

  it('rebuilds a sweep state from the manifest and hand-made run directories', async () => {
    const root = tmp();
    const results = path.join(root, 'results');
    const trials = gridTrials({ 'train.lr': [0.1, 0.01], 'train.seed': [1, 2] });
    const specResults = path.join(results, 'k');
    writeRun(specResults, trials[0].id, { status: 'done', step: 5 });
    writeRun(specResults, trials[1].id, { status: 'failed', step: 2, error: 'NaN loss' });
    writeRun(specResults, trials[2].id, { status: 'running', step: 3, host: os.hostname(), pid: 2 ** 22 + 11 });
    await writeManifest(path.join(specResults, 'sweep', 'manifest.json'), {
      version: 1, spec: 'k', specFile: '/x/k.yaml', cwd: root, resultsDir: results, createdAt: '', sets: [], sweptKeys: ['train.lr', 'train.seed'],
      trials: manifestTrials(trials),
    });
    const state = (await sweepState(results, 'k', { squeue: false }))!;
    assert.deepEqual(state.trials.map((t) => t.status), ['done', 'failed', 'interrupted', 'pending']);
    assert.equal(state.trials[1].error, 'NaN loss');
    assert.equal(state.trials[2].step, 3);
    assert.deepEqual(state.counts, { pending: 1, queued: 0, running: 0, interrupted: 1, failed: 1, done: 1 });
    assert.equal(await sweepState(results, 'nosuch'), undefined);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('sweep: summary and best spec', () => {
  it('sorts trials by the objective, unfinished last, swept values and every accuracy as columns', async () => {
    const root = tmp();
    const trials = gridTrials({ 'train.lr': [0.1, 0.01, 0.001, 0.0001] });
    writeRun(root, trials[0].id, { status: 'done' }, { clean: { accuracy: 0.5, n: 10 }, occluded: { accuracy: 0.4, n: 10 } });
    writeRun(root, trials[1].id, { status: 'done' }, { clean: { accuracy: 0.7, n: 10 }, occluded: { accuracy: 0.3, n: 10 } });
    writeRun(root, trials[2].id, { status: 'failed' });
    writeRun(root, trials[3].id, { status: 'done' }, { clean: { accuracy: 0.6, n: 10 }, occluded: { accuracy: 0.45, n: 10 } });
    const max = await summarize(root, trials, { metric: 'clean.accuracy', mode: 'max' });
    assert.deepEqual(max.rows.map((r) => r.index), [1, 3, 0, 2]);
    assert.equal(max.best!.index, 1);
    const min = await summarize(root, trials, { metric: 'tests.occluded.accuracy', mode: 'min' });
    assert.deepEqual(min.rows.map((r) => r.index), [1, 0, 3, 2]);
    const csv = summaryCsv(max).trim().split('\n');
    assert.equal(csv[0], 'rank,trial,run_id,status,train.lr,clean.accuracy,occluded.accuracy');
    assert.equal(csv[1], `1,1,${trials[1].id},done,0.01,0.7,0.3`);
    assert.equal(csv[4], `,2,${trials[2].id},failed,0.001,,`);
    rmSync(root, { recursive: true, force: true });
  });

  it('writes the best trial as a one-run spec with its settings baked in', () => {
    const source = `# yaml-language-server: $schema=../schemas/spec.schema.json
name: k   # the name stays: same results folder
extends: base.yaml
seeds: [1, 2]
model: {variant: dlpcnn}
train:
  lr: 0.01
sweep:
  grid: {model.dlp.k: [4, 8]}
`;
    const trial: Trial = {
      index: 3,
      id: 'abc',
      values: { 'model.dlp.k': 8, 'train.seed': 2 },
      overrides: { 'model.dlp.k': 8 },
      config: { model: { variant: 'dlpcnn', dlp: { k: 8 } }, train: { lr: 0.005, seed: 2 }, tags: {} },
    };
    const text = bestSpecText({ sourceFile: '/w/configs/k.yaml', sourceText: source, outFile: '/w/results/k/sweep/best.yaml', trial, sets: ['train.lr=0.005'] });
    const doc = YAML.parse(text);
    assert.equal(doc.sweep, undefined);
    assert.equal(doc.seeds, undefined);
    assert.equal(doc.name, 'k');
    assert.equal(doc.extends, '../../../configs/base.yaml');
    assert.deepEqual(doc.model, { variant: 'dlpcnn', dlp: { k: 8 } });
    assert.deepEqual(doc.train, { lr: 0.005, seed: 2 });
    assert.match(text, /\$schema=\.\.\/\.\.\/\.\.\/schemas\/spec\.schema\.json/);
    assert.match(text, /# the name stays/);
  });
});

describe('launch: local workers (fake runner processes)', function () {
  this.timeout(60_000);
  let root: string;
  const specResults = () => path.join(root, 'results', 'fake');
  /** Launches the trials' jobs with the fake runner as the program. */
  const launch = async (trials: Trial[], o: Partial<LocalLauncherOptions> & { retryFailed?: boolean; force?: boolean; fakeEnv?: Record<string, string> } = {}) => {
    const jobs = await jobsOf(specResults(), trials);
    const launcher = new LocalLauncher({ workers: 2, display: new RecordingDisplay(), cwd: root, program: FAKE_PROGRAM, env: { ...process.env, ...o.fakeEnv }, ...o });
    return launcher.launch(jobs, { force: o.force }, { retryFailed: o.retryFailed });
  };
  beforeEach(() => {
    root = tmp();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs a 2x2 grid x 2 seeds with 2 workers from their config.json, then redoes nothing', async () => {
    const trials = gridTrials({ 'train.lr': [0.01, 0.001], 'model.width': [0.25, 0.5], 'train.seed': [1, 2] });
    let concurrent = 0;
    let maxConcurrent = 0;
    const display = new RecordingDisplay((_v, what) => {
      if (what === 'start') maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      if (what === 'end') concurrent--;
    });
    const first = await launch(trials, { display });
    assert.deepEqual(first.views.map((v) => v.status), Array(8).fill('done'));
    assert.equal(readdirSync(specResults()).length, 8);
    assert.equal(maxConcurrent, 2);
    assert.ok(display.events.some((e) => e.what === 'progress' && e.step > 0), 'progress from the child events');
    // The config each child ran is the one the launcher wrote, not one re-derived from a spec.
    for (const t of trials) assert.deepEqual(JSON.parse(readFileSync(path.join(specResults(), t.id, 'config.json'), 'utf8')), t.config);

    const again = new RecordingDisplay();
    const second = await launch(trials, { display: again });
    assert.deepEqual(second.views.map((v) => v.status), Array(8).fill('done'));
    assert.equal(again.events.filter((e) => e.what === 'start').length, 0);
    for (const t of trials) assert.equal(invocations(specResults(), t.id).length, 1);
  });

  it('--force reaches every job: finished runs are run again from the start', async () => {
    const trials = gridTrials({ 'train.lr': [0.1, 0.01] });
    await launch(trials);
    const forced = await launch(trials, { force: true, fakeEnv: { FAKE_STEPS: '2' } });
    assert.deepEqual(forced.views.map((v) => v.status), ['done', 'done']);
    for (const t of trials) {
      const runs = invocations(specResults(), t.id);
      assert.equal(runs.length, 2);
      assert.match(runs[1], / force from 0$/);
      assert.equal(JSON.parse(readFileSync(path.join(specResults(), t.id, 'meta.json'), 'utf8')).totalSteps, 2);
    }
  });

  it('a SIGKILLed job is contained; the others finish; a rerun resumes it', async () => {
    const trials = gridTrials({ 'train.lr': [0.1, 0.01, 0.001] });
    let killed = false;
    // Job 0 stalls after its first step and is killed there.
    const display = new RecordingDisplay((v, what) => {
      if (!killed && what === 'progress' && v.job.index === 0 && v.step >= 1 && v.pid) {
        killed = true;
        process.kill(v.pid, 'SIGKILL');
      }
    });
    const first = await launch(trials, { display, fakeEnv: { FAKE_STALL_RUN: trials[0].id } });
    assert.ok(killed);
    assert.equal(first.views[0].status, 'failed');
    assert.match(first.views[0].note!, /SIGKILL/);
    assert.deepEqual(first.views.slice(1).map((v) => v.status), ['done', 'done']);

    const second = await launch(trials);
    assert.deepEqual(second.views.map((v) => v.status), ['done', 'done', 'done']);
    const runs = invocations(specResults(), trials[0].id);
    assert.equal(runs.length, 2);
    assert.match(runs[1], /from 1$/, 'resumed from its last saved step');
    assert.equal(invocations(specResults(), trials[1].id).length, 1);
  });

  it('a failure does not stop the others; failed jobs rerun only with retryFailed', async () => {
    const trials = gridTrials({ fail: [0, 1, 2, 3] }).map((t, i) => ({ ...t, id: `t${i}`, config: { fail: i === 1 ? 1 : 0 } }));
    const r = await launch(trials);
    assert.deepEqual(r.views.map((v) => v.status), ['done', 'failed', 'done', 'done']);
    assert.equal(r.views[1].note, 'fake failure');
    const again = await launch(trials);
    assert.equal(again.views[1].status, 'failed');
    assert.equal(invocations(specResults(), 't1').length, 1);
    const retried = await launch(trials, { retryFailed: true });
    assert.equal(retried.views[1].status, 'failed');
    assert.equal(invocations(specResults(), 't1').length, 2);
  });

  it('--fail-fast stops running jobs (they checkpoint) and starts no more', async () => {
    // Job 0 fails at once; job 1's steps outlast any test, so it ends only when the launcher stops it.
    const trials = gridTrials({ x: [0, 1, 2, 3, 4] }).map((t, i) => ({ ...t, id: `t${i}`, config: i === 0 ? { fail: 1, fakeStepMs: 1 } : { fail: 0 } }));
    const r = await launch(trials, { failFast: true, fakeEnv: { FAKE_STEP_MS: '600000' } });
    assert.equal(r.stopped, true);
    assert.equal(r.views[0].status, 'failed');
    assert.equal(r.views[1].status, 'interrupted');
    assert.deepEqual(r.views.slice(2).map((v) => v.status), ['queued', 'queued', 'queued']);
    assert.ok(!existsSync(path.join(specResults(), 't4', 'meta.json')));
  });
});

describe('sweep: end to end through `acnn sweep` and the real runner', function () {
  this.timeout(600_000);
  let root: string;
  const acnn = (...args: string[]) => {
    const [file, ...pre] = acnnCommand();
    return spawnSync(file, [...pre, ...args], { cwd: root, encoding: 'utf8', timeout: 540_000 });
  };
  before(async function () {
    root = tmp();
    writeFileSync(path.join(root, 'tiny.yaml'), tinySpec('tiny'));
  });
  after(() => root && rmSync(root, { recursive: true, force: true }));

  it('--dry-run lists 8 trials with run ids', () => {
    const r = acnn('sweep', 'tiny.yaml', '--dry-run', '--json');
    assert.equal(r.status, 0, r.stderr);
    const trials = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(trials.length, 8);
    assert.equal(new Set(trials.map((t) => t.runId)).size, 8);
  });

  it('2x2 grid x 2 seeds with --workers 2: 8 run directories and one summary; the second run redoes nothing', () => {
    const r = acnn('sweep', 'tiny.yaml', '--workers', '2', '--json', '--backend', 'cpu');
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const dirs = readdirSync(path.join(root, 'results', 'tiny')).filter((d) => d !== 'sweep');
    assert.equal(dirs.length, 8);
    const csv = readFileSync(path.join(root, 'results', 'tiny', 'sweep', 'summary.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 9);
    assert.ok(existsSync(path.join(root, 'results', 'tiny', 'sweep', 'best.yaml')));
    const mtimes = dirs.map((d) => readFileSync(path.join(root, 'results', 'tiny', d, 'meta.json'), 'utf8'));
    const again = acnn('sweep', 'tiny.yaml', '--workers', '2', '--json', '--backend', 'cpu');
    assert.equal(again.status, 0, again.stderr);
    const events = again.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events.filter((e) => e.type === 'trial-start').length, 0);
    assert.equal(events.filter((e) => e.type === 'trial-skip').length, 8);
    assert.deepEqual(dirs.map((d) => readFileSync(path.join(root, 'results', 'tiny', d, 'meta.json'), 'utf8')), mtimes);
  });

  it('best.yaml is a runnable spec of the best trial (same run id)', () => {
    const r = acnn('plan', path.join('results', 'tiny', 'sweep', 'best.yaml'), '--json');
    assert.equal(r.status, 0, r.stderr);
    const bestId = readFileSync(path.join(root, 'results', 'tiny', 'sweep', 'summary.csv'), 'utf8').split('\n')[1].split(',')[2];
    assert.ok(r.stdout.includes(bestId), `plan of best.yaml should list ${bestId}:\n${r.stdout}`);
  });
});
