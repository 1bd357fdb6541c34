import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manifestTrials, summarize, summaryCsv, sweepState, writeManifest, type SweepState } from '../src/sweep/index.js';
import { LocalLauncher, SlurmLauncher, acnnCommand } from '../src/launch/index.js';
import { FAKE_PROGRAM, RecordingDisplay, gridTrials, jobsOf, tinySpec } from './sweep-helpers.js';
import { skipBecause } from './helpers/skip.js';

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

/**
 * Resolves when every task of Slurm job `jobId` has ended: Slurm itself says so, by starting a
 * no-op job that depends on it (afterany) and that `sbatch --wait` waits for. Then the state.
 */
/**
 * A temporary folder for a suite on the real cluster; the suite is skipped, saying why, when the
 * cluster is not usable (or fails, when ACNN_SLURM_TEST=1 says it must be).
 */
function clusterRootOrSkip(ctx: Mocha.Context, prefix: string): string {
  const problem = clusterProblem();
  if (problem) {
    if (process.env.ACNN_SLURM_TEST === '1') throw new Error(`ACNN_SLURM_TEST=1 but the Slurm cluster is not usable: ${problem}`);
    skipBecause(ctx, `${problem} (set ACNN_SLURM_TEST=1 to make that a failure)`);
  }
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function afterJob(jobId: string, results: string, spec: string, timeoutMs: number): Promise<SweepState> {
  const args = ['--wait', '--quiet', `--dependency=afterany:${jobId}`, '--partition=debug', '--time=00:01:00', '--mem=64M', '--output=/dev/null', '--wrap=true'];
  await new Promise<void>((resolve, reject) =>
    execFile('sbatch', args, { timeout: timeoutMs }, (err, _out, stderr) => (err ? reject(new Error(`waiting for job ${jobId}: ${stderr || err.message}`)) : resolve())),
  );
  return (await sweepState(results, spec))!;
}

describe('sweep: Slurm executor on a real cluster', function () {
  this.timeout(600_000);
  let root: string;
  before(function () {
    root = clusterRootOrSkip(this, 'acnn-sweep-slurm-');
  });
  after(() => root && !process.env.ACNN_KEEP_TMP && rmSync(root, { recursive: true, force: true }));

  it('the Slurm launcher runs (fake-runner) jobs to the same summary as the local launcher', async () => {
    const trials = gridTrials({ 'train.lr': [0.1, 0.01], 'model.width': [0.25, 0.5] });
    const fake = { FAKE_STEPS: '3', FAKE_STEP_MS: '50' };

    const localResults = path.join(root, 'local', 'results', 'fake');
    const local = new LocalLauncher({ workers: 2, display: new RecordingDisplay(), program: FAKE_PROGRAM, env: { ...process.env, ...fake } });
    await local.launch(await jobsOf(localResults, trials), {});

    const slurmDir = path.join(root, 'slurm');
    const results = path.join(slurmDir, 'results');
    const sweepDir = path.join(results, 'fake', 'sweep');
    const manifestFile = path.join(sweepDir, 'manifest.json');
    const manifest = {
      version: 1 as const, spec: 'fake', specFile: path.join(root, 'fake.yaml'), cwd: slurmDir, resultsDir: results, createdAt: new Date().toISOString(),
      sets: [], sweptKeys: ['model.width', 'train.lr'], trials: manifestTrials(trials),
    };
    await writeManifest(manifestFile, manifest);
    const slurm = new SlurmLauncher({
      jobName: 'acnn-fake', settings: { partition: 'debug', time: '00:05:00', cpus: 1, mem: '256M', parallel: 2 },
      dir: sweepDir, scriptName: 'sweep.sbatch', cwd: slurmDir, program: FAKE_PROGRAM, env: fake,
    });
    const { submitted, views } = await slurm.launch(await jobsOf(path.join(results, 'fake'), trials), {});
    assert.deepEqual(views.map((v) => v.status), Array(trials.length).fill('queued'));
    const jobId = submitted!.jobId!;
    assert.match(jobId, /^\d+$/);
    await writeManifest(manifestFile, { ...manifest, slurm: { jobId, script: submitted!.script, array: submitted!.array } });
    const first = await sweepState(results, 'fake');
    assert.equal(first!.jobId, jobId);
    assert.equal(first!.squeue, true, 'squeue was consulted');
    const final = await afterJob(jobId, results, 'fake', 90_000);
    assert.equal(final.counts.done, trials.length, JSON.stringify(final.trials));
    assert.ok(existsSync(path.join(sweepDir, 'slurm', `${jobId}_0.out`)), 'per-task Slurm log');

    const objective = { metric: 'clean.accuracy', mode: 'max' as const };
    const a = summaryCsv(await summarize(localResults, trials, objective));
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
    const final = await afterJob(submitted.jobId, path.join(dirs.slurm, 'results'), 'tiny', 420_000);
    assert.equal(final.counts.done, 2, JSON.stringify(final.trials));
    const summary = acnn(dirs.slurm, 'sweep', 'tiny.yaml', ...grid, '--summary');
    assert.equal(summary.status, 0, summary.stderr);
    const csv = (d: string) => readFileSync(path.join(d, 'results', 'tiny', 'sweep', 'summary.csv'), 'utf8');
    assert.equal(csv(dirs.slurm), csv(dirs.local));
  });
});

describe('Slurm: a task cancelled or requeued mid-run resumes', function () {
  this.timeout(900_000);
  let root: string;
  before(function () {
    root = clusterRootOrSkip(this, 'acnn-slurm-requeue-');
  });
  after(() => root && !process.env.ACNN_KEEP_TMP && rmSync(root, { recursive: true, force: true }));

  /** meta.json of the sweep's one run, once it exists. */
  const metaOf = (results: string): { status?: string; step?: number; checkpointStep?: number; resumedFrom?: number[] } => {
    const base = path.join(results, 'req');
    const id = existsSync(base) ? readdirSync(base).find((d) => /^[0-9a-f]{10}$/.test(d)) : undefined;
    const file = id && path.join(base, id, 'meta.json');
    return file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  };
  const until = async (what: string, ok: () => boolean, timeoutMs: number) => {
    const end = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('scontrol requeue, then scancel, then acnn sweep again: the run ends as an uninterrupted one', async () => {
    // One trial, long enough (24 steps, a checkpoint every 3) to be caught mid-run twice.
    const spec = tinySpec('req')
      .replace('iterations: 5', 'iterations: 24\n  checkpointEvery: 3\n  logEvery: 1')
      .replace(/sweep:[\s\S]*$/, 'sweep:\n  seeds: [1]\n  objective: {metric: clean.accuracy, mode: max}\n');
    const acnn = (cwd: string, ...args: string[]) => {
      const [file, ...p] = acnnCommand();
      return spawnSync(file, [...p, ...args], { cwd, encoding: 'utf8', timeout: 540_000 });
    };
    const dirs = { local: path.join(root, 'local'), slurm: path.join(root, 'slurm') };
    for (const d of Object.values(dirs)) {
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'req.yaml'), spec);
    }
    const submit = () => {
      const sub = acnn(dirs.slurm, 'sweep', 'req.yaml', '--executor', 'slurm', '--partition', 'debug', '--mem', '1G', '--time', '00:10:00', '--backend', 'cpu', '--json');
      assert.equal(sub.status, 0, sub.stderr + sub.stdout);
      return (JSON.parse(sub.stdout.trim().split('\n').pop()!) as { jobId: string }).jobId;
    };
    const results = path.join(dirs.slurm, 'results');
    const jobId = submit();
    const task = `${jobId}_0`;

    // Requeued (preemption, a node failure): Slurm stops the task and starts it again; it resumes.
    await until('a checkpoint of the first attempt', () => metaOf(results).status === 'running' && (metaOf(results).checkpointStep ?? 0) >= 3, 300_000);
    assert.ok((metaOf(results).step ?? 0) < 24, 'the run finished before it could be requeued');
    execFileSync('scontrol', ['requeue', task]);
    await until('the requeued task to resume', () => (metaOf(results).resumedFrom ?? []).length >= 1 && metaOf(results).status === 'running', 300_000);

    // Cancelled: the task checkpoints on SIGTERM (or is killed after KillWait); acnn sweep again resumes it.
    const resumedAt = metaOf(results).resumedFrom![0];
    await until('a checkpoint after the resume', () => (metaOf(results).checkpointStep ?? 0) > resumedAt, 300_000);
    assert.ok((metaOf(results).step ?? 0) < 24, 'the run finished before it could be cancelled');
    execFileSync('scancel', [task]);
    await afterJob(jobId, results, 'req', 120_000);
    assert.notEqual(metaOf(results).status, 'done');
    const second = submit();
    const local = acnn(dirs.local, 'sweep', 'req.yaml', '--workers', '1', '--backend', 'cpu', '--json');
    assert.equal(local.status, 0, local.stderr);
    await afterJob(second, results, 'req', 420_000);

    const meta = metaOf(results);
    assert.equal(meta.status, 'done');
    assert.equal(meta.resumedFrom!.length, 2, JSON.stringify(meta.resumedFrom));
    const evalOf = (r: string) => {
      const base = path.join(r, 'req');
      return readFileSync(path.join(base, readdirSync(base).find((d) => /^[0-9a-f]{10}$/.test(d))!, 'eval.json'), 'utf8');
    };
    assert.equal(evalOf(results), evalOf(path.join(dirs.local, 'results')));
  });
});
