import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  acnnCommand,
  arraySpec,
  manifestTrials,
  runLocal,
  sbatchScript,
  submitArray,
  summarize,
  summaryCsv,
  sweepState,
  trialRunArgs,
  writeManifest,
  type SweepState,
} from '../src/sweep/index.js';
import { FAKE_RUNNER, REPO, RecordingDisplay, gridTrials, tinySpec } from './sweep-helpers.js';

/**
 * Against a real Slurm: the one-node cluster of test/slurm/start-cluster.sh. Skips (saying why)
 * when none is up, except under ACNN_SLURM_TEST=1 (CI starts the cluster), where that is a failure.
 */
function clusterProblem(): string | undefined {
  const conf = process.env.SLURM_CONF ?? path.join(process.env.ACNN_SLURM_DIR ?? '/tmp/acnn-slurm', 'slurm.conf');
  if (!existsSync(conf)) return `no Slurm configuration at ${conf} (start one with test/slurm/start-cluster.sh)`;
  process.env.SLURM_CONF = conf;
  const r = spawnSync('sinfo', ['-h', '-o', '%P %a %t'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `sinfo: ${r.error.message}`;
  if (r.status !== 0) return `sinfo failed: ${r.stderr.trim()}`;
  if (!/\bup\b/.test(r.stdout) || !/(idle|mix|alloc)/.test(r.stdout)) return `no usable partition: ${r.stdout.trim()}`;
  return undefined;
}

async function waitFor(results: string, spec: string, done: (s: SweepState) => boolean, timeoutMs: number): Promise<SweepState> {
  const end = Date.now() + timeoutMs;
  let seen: SweepState | undefined;
  while (Date.now() < end) {
    seen = await sweepState(results, spec);
    if (seen && done(seen)) return seen;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`sweep did not finish in ${timeoutMs} ms: ${JSON.stringify(seen?.counts)}`);
}

describe('sweep: Slurm executor on a real cluster', function () {
  this.timeout(600_000);
  let root: string;
  before(function () {
    const problem = clusterProblem();
    if (problem) {
      if (process.env.ACNN_SLURM_TEST === '1') throw new Error(`ACNN_SLURM_TEST=1 but the Slurm cluster is not usable: ${problem}`);
      console.log(`      (skipped: ${problem})`);
      this.skip();
    }
    root = mkdtempSync(path.join(os.tmpdir(), 'acnn-sweep-slurm-'));
  });
  after(() => root && !process.env.ACNN_KEEP_TMP && rmSync(root, { recursive: true, force: true }));

  it('an array job of (fake-runner) trials gives the same summary as the local executor', async () => {
    const trials = gridTrials({ 'train.lr': [0.1, 0.01], 'model.width': [0.25, 0.5] });
    const env = { ...process.env, FAKE_STEPS: '3', FAKE_STEP_MS: '50' };

    const localDir = path.join(root, 'local');
    mkdirSync(localDir, { recursive: true });
    const specLocal = path.join(root, 'fake.yaml');
    writeFileSync(specLocal, 'name: fake\n');
    await runLocal({
      trials, specResultsDir: path.join(localDir, 'results', 'fake'), workers: 2, cwd: localDir, display: new RecordingDisplay(),
      command: (t) => ({ file: process.execPath, args: [FAKE_RUNNER, ...trialRunArgs(t, { specFile: specLocal, json: true })], env }),
    });

    const slurmDir = path.join(root, 'slurm');
    const results = path.join(slurmDir, 'results');
    const sweepDir = path.join(results, 'fake', 'sweep');
    const manifestFile = path.join(sweepDir, 'manifest.json');
    const manifest = {
      version: 1 as const, spec: 'fake', specFile: specLocal, cwd: slurmDir, resultsDir: results, createdAt: new Date().toISOString(),
      sets: [], sweptKeys: ['model.width', 'train.lr'], trials: manifestTrials(trials),
    };
    await writeManifest(manifestFile, manifest);
    const [node, ...pre] = acnnCommand();
    const script = sbatchScript({
      jobName: 'acnn-fake',
      array: arraySpec(trials.map((t) => t.index), 2),
      settings: { partition: 'debug', time: '00:05:00', cpus: 1, mem: '256M' },
      logDir: path.join(sweepDir, 'slurm'),
      cwd: slurmDir,
      command: [node, ...pre.slice(0, -1), path.join(REPO, 'test', 'slurm', 'fake-task.ts'), manifestFile, '$SLURM_ARRAY_TASK_ID'],
      env: { FAKE_STEPS: '3', FAKE_STEP_MS: '50' },
    });
    const jobId = await submitArray(path.join(sweepDir, 'sweep.sbatch'), script);
    await writeManifest(manifestFile, { ...manifest, slurm: { jobId, script: path.join(sweepDir, 'sweep.sbatch'), array: '0-3%2' } });
    const first = await sweepState(results, 'fake');
    assert.equal(first!.jobId, jobId);
    assert.equal(first!.squeue, true, 'squeue was consulted');
    const final = await waitFor(results, 'fake', (s) => s.counts.done + s.counts.failed === trials.length, 90_000);
    assert.equal(final.counts.done, trials.length, JSON.stringify(final.trials));
    assert.ok(existsSync(path.join(sweepDir, 'slurm', `${jobId}_0.out`)), 'per-task Slurm log');

    const objective = { metric: 'clean.accuracy', mode: 'max' as const };
    const a = summaryCsv(await summarize(path.join(localDir, 'results', 'fake'), trials, objective));
    const b = summaryCsv(await summarize(path.join(results, 'fake'), trials, objective));
    assert.equal(b, a);
    assert.equal(b.trim().split('\n').length, trials.length + 1);
  });

  it('acnn sweep --executor slurm with the real runner: same summary as --executor local', async function () {
    const grid = ['--grid', 'train.lr=0.01,0.001'];
    const spec = tinySpec('tiny').replace(/sweep:[\s\S]*$/, 'sweep:\n  seeds: [1]\n  objective: {metric: clean.accuracy, mode: max}\n');
    const acnn = (cwd: string, ...args: string[]) => {
      const [file, ...p] = acnnCommand();
      return spawnSync(file, [...p, ...args], { cwd, encoding: 'utf8', timeout: 540_000 });
    };
    const dirs = { local: path.join(root, 'e2e-local'), slurm: path.join(root, 'e2e-slurm') };
    for (const d of Object.values(dirs)) {
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'tiny.yaml'), spec);
    }
    const sub = acnn(dirs.slurm, 'sweep', 'tiny.yaml', ...grid, '--executor', 'slurm', '--partition', 'debug', '--mem', '1G', '--time', '00:10:00', '--parallel', '2', '--backend', 'cpu', '--json');
    assert.equal(sub.status, 0, sub.stderr + sub.stdout);
    const submitted = JSON.parse(sub.stdout.trim().split('\n').pop()!);
    assert.match(submitted.jobId, /^\d+$/);
    const local = acnn(dirs.local, 'sweep', 'tiny.yaml', ...grid, '--workers', '2', '--backend', 'cpu', '--json');
    assert.equal(local.status, 0, local.stderr);
    const final = await waitFor(path.join(dirs.slurm, 'results'), 'tiny', (s) => s.counts.done + s.counts.failed === s.trials.length, 420_000);
    assert.equal(final.counts.done, 2, JSON.stringify(final.trials));
    const summary = acnn(dirs.slurm, 'sweep', 'tiny.yaml', ...grid, '--summary');
    assert.equal(summary.status, 0, summary.stderr);
    const csv = (d: string) => readFileSync(path.join(d, 'results', 'tiny', 'sweep', 'summary.csv'), 'utf8');
    assert.equal(csv(dirs.slurm), csv(dirs.local));
  });
});
