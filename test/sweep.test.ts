import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import {
  arraySpec,
  bestSpecText,
  combineStatus,
  parseSqueue,
  runLocal,
  sbatchScript,
  summarize,
  summaryCsv,
  sweepState,
  trialRunArgs,
  trialsFrom,
  writeManifest,
  manifestTrials,
  acnnCommand,
} from '../src/sweep/index.js';
import { flatDiff, formatSetValue } from '../src/sweep/overrides.js';
import type { Trial } from '../src/sweep/index.js';
import { FAKE_RUNNER, REPO, RecordingDisplay, gridTrials, invocations, tinySpec } from './sweep-helpers.js';

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

  it('formats --set values so YAML reads them back as the same value', () => {
    for (const v of [0.001, 3, true, 'pcnn', '1', 'true', 'a b', [1, 2], { k: 1 }, null]) {
      assert.deepEqual(YAML.parse(formatSetValue(v)), v, `value ${JSON.stringify(v)} -> ${formatSetValue(v)}`);
    }
    assert.equal(formatSetValue('pcnn'), 'pcnn');
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

  it('builds the trial command line for acnn run, user --set first', () => {
    const args = trialRunArgs({ id: 'abc', overrides: { 'train.lr': 0.001, 'model.variant': 'pcnn' } }, { specFile: 'x.yaml', sets: ['train.iterations=5'], backend: 'cpu', json: true });
    assert.deepEqual(args, ['run', path.resolve('x.yaml'), '--only', 'abc', '--set', 'train.iterations=5', '--set', 'train.lr=0.001', '--set', 'model.variant=pcnn', '--backend', 'cpu', '--json']);
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
      command: ['/usr/bin/node', '/acnn/dist/cli/main.js', 'sweep', '/s/k.yaml', '--task', '$SLURM_ARRAY_TASK_ID', '--manifest', '/r/k/sweep/manifest.json'],
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
      'exec /usr/bin/node /acnn/dist/cli/main.js sweep /s/k.yaml --task "$SLURM_ARRAY_TASK_ID" --manifest /r/k/sweep/manifest.json',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing line: ${line}\n${text}`);
    }
    assert.ok(text.startsWith('#!/bin/bash\n'));
    assert.ok(!text.includes('--gpus=0'));
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

describe('sweep: local executor (fake runner processes)', function () {
  this.timeout(60_000);
  let root: string;
  let specFile: string;
  const specResults = () => path.join(root, 'results', 'fake');
  const command = (t: Trial, env: NodeJS.ProcessEnv = {}) => ({
    file: process.execPath,
    args: [FAKE_RUNNER, ...trialRunArgs(t, { specFile, json: true })],
    env: { ...process.env, ...env },
  });
  beforeEach(() => {
    root = tmp();
    specFile = path.join(root, 'fake.yaml');
    writeFileSync(specFile, 'name: fake\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs a 2x2 grid x 2 seeds with 2 workers, then redoes nothing', async () => {
    const trials = gridTrials({ 'train.lr': [0.01, 0.001], 'model.width': [0.25, 0.5], 'train.seed': [1, 2] });
    let concurrent = 0;
    let maxConcurrent = 0;
    const display = new RecordingDisplay((_v, what) => {
      if (what === 'start') maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      if (what === 'end') concurrent--;
    });
    const first = await runLocal({ trials, specResultsDir: specResults(), workers: 2, cwd: root, display, command: (t) => command(t) });
    assert.deepEqual(first.views.map((v) => v.status), Array(8).fill('done'));
    assert.equal(readdirSync(specResults()).length, 8);
    assert.equal(maxConcurrent, 2);
    assert.ok(display.events.some((e) => e.what === 'progress' && e.step > 0), 'progress from the child events');

    const again = new RecordingDisplay();
    const second = await runLocal({ trials, specResultsDir: specResults(), workers: 2, cwd: root, display: again, command: (t) => command(t) });
    assert.deepEqual(second.views.map((v) => v.status), Array(8).fill('done'));
    assert.equal(again.events.filter((e) => e.what === 'start').length, 0);
    for (const t of trials) assert.equal(invocations(specResults(), t.id).length, 1);
  });

  it('a SIGKILLed trial is contained; the others finish; a rerun resumes it', async () => {
    const trials = gridTrials({ 'train.lr': [0.1, 0.01, 0.001] });
    let killed = false;
    const display = new RecordingDisplay((v, what) => {
      if (!killed && what === 'progress' && v.trial.index === 0 && v.step >= 2 && v.pid) {
        killed = true;
        process.kill(v.pid, 'SIGKILL');
      }
    });
    const first = await runLocal({ trials, specResultsDir: specResults(), workers: 2, cwd: root, display, command: (t) => command(t, { FAKE_STEP_MS: '150' }) });
    assert.ok(killed);
    assert.equal(first.views[0].status, 'failed');
    assert.match(first.views[0].note!, /SIGKILL/);
    assert.deepEqual(first.views.slice(1).map((v) => v.status), ['done', 'done']);

    const second = await runLocal({ trials, specResultsDir: specResults(), workers: 2, cwd: root, display: new RecordingDisplay(), command: (t) => command(t) });
    assert.deepEqual(second.views.map((v) => v.status), ['done', 'done', 'done']);
    const runs = invocations(specResults(), trials[0].id);
    assert.equal(runs.length, 2);
    assert.match(runs[1], /from [2-5]$/, 'resumed from its last saved step');
    assert.equal(invocations(specResults(), trials[1].id).length, 1);
  });

  it('a failure does not stop the others; failed trials rerun only with retryFailed', async () => {
    const trials = gridTrials({ fail: [0, 1, 0, 0] as unknown[] }).map((t, i) => ({ ...t, id: `t${i}`, overrides: { fail: i === 1 ? 1 : 0 } }));
    const r = await runLocal({ trials, specResultsDir: specResults(), workers: 2, cwd: root, display: new RecordingDisplay(), command: (t) => command(t) });
    assert.deepEqual(r.views.map((v) => v.status), ['done', 'failed', 'done', 'done']);
    assert.equal(r.views[1].note, 'fake failure');
    const again = await runLocal({ trials, specResultsDir: specResults(), workers: 2, cwd: root, display: new RecordingDisplay(), command: (t) => command(t) });
    assert.equal(again.views[1].status, 'failed');
    assert.equal(invocations(specResults(), 't1').length, 1);
    const retried = await runLocal({ trials, specResultsDir: specResults(), workers: 2, retryFailed: true, cwd: root, display: new RecordingDisplay(), command: (t) => command(t) });
    assert.equal(retried.views[1].status, 'failed');
    assert.equal(invocations(specResults(), 't1').length, 2);
  });

  it('--fail-fast stops running trials (they checkpoint) and starts no more', async () => {
    const trials = gridTrials({ x: [0, 1, 2, 3, 4] }).map((t, i) => ({ ...t, id: `t${i}`, overrides: { fail: i === 0 ? 1 : 0 } }));
    const r = await runLocal({
      trials, specResultsDir: specResults(), workers: 2, failFast: true, cwd: root, display: new RecordingDisplay(),
      command: (t) => command(t, { FAKE_STEP_MS: t.index === 0 ? '100' : '400' }),
    });
    assert.equal(r.stopped, true);
    assert.equal(r.views[0].status, 'failed');
    assert.equal(r.views[1].status, 'interrupted');
    assert.deepEqual(r.views.slice(2).map((v) => v.status), ['queued', 'queued', 'queued']);
    assert.ok(!existsSync(path.join(specResults(), 't4')));
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
