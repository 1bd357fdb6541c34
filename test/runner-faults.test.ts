// Fault injection on real (tiny) runs through the CLI: SIGKILL at random points then resume,
// a disk that fills up while a checkpoint is written, two `acnn run` of one spec at once, and a
// resume on data other than the run began with.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/util/rng.js';
import { runCli, repoRoot } from './helpers/cli.js';
import * as fx from './fixtures/datasets/build.js';
import { tinyPacnnYaml } from './helpers/tiny-spec.js';

const mainTs = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** A real pACNN small enough to train in seconds (a 1.6 MB checkpoint), checkpointing every 2 of 8 steps. */
const TINY = tinyPacnnYaml('resnet18');

type Event = Record<string, unknown> & { type: string };
const events = (stdout: string): Event[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
const runArgs = (spec: string, results: string, cache: string) => ['run', spec, '--backend', 'wasm', '--results', results, '--cache', cache, '--json'];
const onlyRunDir = (results: string, spec = 'tiny') => {
  const ids = readdirSync(path.join(results, spec)).filter((d) => /^[0-9a-f]{10}$/.test(d));
  assert.equal(ids.length, 1, `run dirs: ${ids.join(', ')}`);
  return path.join(results, spec, ids[0]);
};

/** Starts `acnn run`; `until(events)` decides when to act; resolves with what it printed and how it ended. */
function startRun(args: string[], onEvents?: (evs: Event[], kill: (signal: NodeJS.Signals) => void) => void, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    onEvents?.(events(stdout), (signal) => child.kill(signal));
  });
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

describe('fault injection (real runs, WebAssembly backend)', function () {
  this.timeout(600_000);
  const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-faults-'));
  const cache = path.join(work, 'cache');
  const spec = path.join(work, 'tiny.yaml');
  writeFileSync(spec, TINY);
  let referenceEval: string;
  let referenceLosses: number[];
  const losses = (dir: string) =>
    readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { loss: number }).loss);

  before(async () => {
    const ref = await runCli(runArgs(spec, path.join(work, 'reference'), cache), { timeoutMs: 300_000 });
    assert.equal(ref.code, 0, ref.stderr);
    const dir = onlyRunDir(path.join(work, 'reference'));
    referenceEval = readFileSync(path.join(dir, 'eval.json'), 'utf8');
    referenceLosses = losses(dir);
  });

  it('SIGKILL at random points (seeded), then resume: eval.json is byte-identical every time', async () => {
    const rng = new Rng(20250612);
    const trials = 3;
    for (let t = 0; t < trials; t++) {
      const results = path.join(work, `kill-${t}`);
      // Kill after a random number of events (between spec start and evaluation), plus a random
      // delay inside whatever the run does next: a step, a metrics append, a checkpoint swap.
      const kills = t === trials - 1 ? 2 : 1; // the last trial is killed again while resuming
      for (let k = 0; k < kills; k++) {
        const afterEvents = rng.int(2, 14);
        const delayMs = rng.int(0, 400);
        let armed = false;
        const killed = await startRun(runArgs(spec, results, cache), (evs, kill) => {
          if (armed || evs.length < afterEvents) return;
          armed = true;
          setTimeout(() => kill('SIGKILL'), delayMs);
        });
        if (killed.signal !== 'SIGKILL') assert.equal(killed.code, 0, `trial ${t}: ended without the kill and failed:\n${killed.stderr}`);
      }
      const resumed = await runCli(runArgs(spec, results, cache), { timeoutMs: 300_000 });
      assert.equal(resumed.code, 0, `trial ${t}: ${resumed.stderr}`);
      const dir = onlyRunDir(results);
      assert.equal(readFileSync(path.join(dir, 'eval.json'), 'utf8'), referenceEval, `trial ${t}: eval.json differs after resume`);
      assert.deepEqual(losses(dir), referenceLosses, `trial ${t}: the loss curve differs after resume`);
      assert.equal(JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')).status, 'done');
    }
  });

  it('two acnn run of the same spec at once train each run exactly once', async () => {
    const two = path.join(work, 'two.yaml');
    writeFileSync(two, TINY.replace('name: tiny', 'name: two').replace('iterations: 8', 'iterations: 4') + 'seeds: [1, 2]\n');
    const results = path.join(work, 'concurrent');
    // --workers 1: the runs of each process in that process (worker processes are sweep.test.ts's).
    const args = [...runArgs(two, results, cache), '--workers', '1'];
    const [a, b] = await Promise.all([startRun(args), startRun(args)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const started = [...events(a.stdout), ...events(b.stdout)].filter((e) => e.type === 'run-start');
    const ids = readdirSync(path.join(results, 'two')).filter((d) => /^[0-9a-f]{10}$/.test(d));
    assert.equal(ids.length, 2);
    assert.deepEqual(started.map((e) => e.runId).sort(), [...ids].sort(), `each run starts once: ${JSON.stringify(started)}`);
    for (const id of ids) assert.equal(JSON.parse(readFileSync(path.join(results, 'two', id, 'meta.json'), 'utf8')).status, 'done');
  });

  it('a disk that fills up while a checkpoint is written: one message naming the file, the last checkpoint kept and resumable', async function () {
    if (process.getuid?.() !== 0) {
      console.log('      (skipped: mounting a small tmpfs needs root; run the suite as root to try a full disk)');
      this.skip();
    }
    const mnt = path.join(work, 'small-disk');
    await fs.mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    } catch (err) {
      console.log(`      (skipped: cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]})`);
      this.skip();
    }
    try {
      const results = path.join(mnt, 'results');
      const filler = path.join(mnt, 'filler');
      let filled = false;
      // Once the first checkpoint is down, fill the disk but for 256 KB: enough for the metric
      // lines and meta.json of the next steps, not for the next 1.6 MB checkpoint.
      const full = await startRun(runArgs(spec, results, cache), (evs) => {
        if (filled || !evs.some((e) => e.type === 'checkpoint')) return;
        filled = true;
        const { bavail, bsize } = require_statfs(mnt);
        writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 256 * 1024)));
      });
      assert.ok(filled, full.stderr);
      assert.equal(full.code, 1, full.stderr);
      const end = events(full.stdout).find((e) => e.type === 'run-end')!;
      assert.equal(end.status, 'failed');
      const message = String(end.error);
      assert.match(message, /^run [0-9a-f]{10} stopped at step 4: cannot write checkpoint file \S+\/checkpoint\.tmp-[^/]+\/weights\.bin: no space left on the device \(ENOSPC\); the last checkpoint \(step 2\) is kept in \S+checkpoint\. Free some space and run acnn run again to resume from it\.$/);
      assert.equal((full.stdout + full.stderr).split('no space left').length - 1, 1, `said once:\n${full.stdout}\n${full.stderr}`);
      assert.doesNotMatch(full.stderr, /\n\s+at /);
      const dir = onlyRunDir(results);
      assert.equal(JSON.parse(readFileSync(path.join(dir, 'checkpoint', 'model.json'), 'utf8')).meta.step, 2);
      assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp')), [], 'no half-written checkpoint left');

      await fs.rm(filler);
      const resumed = await runCli(runArgs(spec, results, cache), { timeoutMs: 300_000 });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(events(resumed.stdout).find((e) => e.type === 'run-start')!.resumeStep, 2);
      assert.equal(readFileSync(path.join(dir, 'eval.json'), 'utf8'), referenceEval);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

/** statfs of a mount (free blocks for unprivileged use, block size). */
function require_statfs(dir: string): { bavail: number; bsize: number } {
  const out = execFileSync('stat', ['-f', '-c', '%a %S', dir], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { bavail: out[0], bsize: out[1] };
}

describe('resume on other data (run ids leave the dataset root out)', function () {
  this.timeout(600_000);
  const work = mkdtempSync(path.join(os.tmpdir(), 'acnn-moved-'));
  const cache = path.join(work, 'cache');
  const spec = path.join(work, 'moved.yaml');

  /** A manifest dataset of 16 small images with their points, 12 to train on and 4 to test. */
  async function buildData(root: string): Promise<void> {
    const classes = ['happy', 'sad', 'fear', 'anger'];
    const rows = ['path,label,split'.concat(Array.from({ length: 68 }, (_, i) => `,x${i + 1},y${i + 1}`).join(''))];
    for (let i = 0; i < 16; i++) {
      const file = `img/${i}.png`;
      await fx.writeImage(path.join(root, file), 32, 32, 'png');
      rows.push([file, classes[i % 4], i < 12 ? 'train' : 'test', ...fx.points68(4, 4, 24).map((v) => v.toFixed(1))].join(','));
    }
    await fs.writeFile(path.join(root, 'data.csv'), rows.join('\n') + '\n');
  }

  /** Marks the finished run as one killed after its last checkpoint, so the next acnn run resumes it. */
  const interrupt = (dir: string) => {
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ ...meta, status: 'interrupted' }));
  };

  it('moved data resumes; changed data stops before training, says what changed and how to start again', async () => {
    const a = path.join(work, 'a');
    await buildData(a);
    writeFileSync(
      spec,
      `name: moved
datasets:
  ds: {format: manifest, root: "\${env:DS_ROOT}", file: data.csv, crop: none}
model: {backbone: resnet18, variant: base, inputSize: 32, width: 0.125}
train: {data: [{dataset: ds, split: train}], batchSize: 4, iterations: 4, checkpointEvery: 2}
test: {clean: {dataset: ds, split: test}}
`,
    );
    const results = path.join(work, 'results');
    const args = runArgs(spec, results, cache);
    const first = await runCli(args, { env: { DS_ROOT: a }, timeoutMs: 300_000 });
    assert.equal(first.code, 0, first.stderr);
    const dir = onlyRunDir(results, 'moved');
    const runId = path.basename(dir);
    const evalA = readFileSync(path.join(dir, 'eval.json'), 'utf8');
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')).data['train.data.0'].samples, 12);

    // The same data in another place (new mtimes): same run id, resumed, same result.
    const b = path.join(work, 'b');
    await fs.cp(a, b, { recursive: true });
    interrupt(dir);
    const moved = await runCli(args, { env: { DS_ROOT: b }, timeoutMs: 300_000 });
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(events(moved.stdout).find((e) => e.type === 'run-start')!.resumeStep, 4);
    assert.equal(onlyRunDir(results, 'moved'), dir);
    assert.equal(readFileSync(path.join(dir, 'eval.json'), 'utf8'), evalA);

    // Other images under the same names: stopped before any training, exit 2.
    const c = path.join(work, 'c');
    await fs.cp(a, c, { recursive: true });
    await fx.writeImage(path.join(c, 'img', '3.png'), 40, 40, 'png');
    interrupt(dir);
    const changed = await runCli(args, { env: { DS_ROOT: c }, timeoutMs: 300_000 });
    assert.equal(changed.code, 2, changed.stderr);
    assert.ok(!events(changed.stdout).some((e) => e.type === 'run-start' || e.type === 'step'), 'nothing may train');
    assert.match(changed.stderr, new RegExp(`run ${runId} would resume from its checkpoint \\(step 4\\) on other data than it was trained on:\\n  train\\.data\\.0 \\(ds/train\\): the same samples, but files of other sizes`));
    assert.match(changed.stderr, new RegExp(`acnn run \\S*moved\\.yaml --force --only ${runId}`));
    assert.doesNotMatch(changed.stderr, /\n\s+at /);

    // --force --only: trained again from the start on the new data.
    const forced = await runCli([...args, '--force', '--only', runId], { env: { DS_ROOT: c }, timeoutMs: 300_000 });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(events(forced.stdout).find((e) => e.type === 'run-start')!.resumeStep, 0);
    assert.ok(existsSync(path.join(dir, 'eval.json')));
  });
});
